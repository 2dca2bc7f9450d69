// What only a lease does (a renumbering ISP, a refused renewal, ten down/up cycles) under the real init of Debian 13 (trixie); see boot-suite.ts.
import { bootSuite } from "./boot-suite.js";

bootSuite("trixie", "lease-proofs");
