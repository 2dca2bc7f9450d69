// What only a lease does (a renumbering ISP, a refused renewal, ten down/up cycles) under the real init of Debian 12 (bookworm); see boot-suite.ts.
import { bootSuite } from "./boot-suite.js";

bootSuite("bookworm", "lease-proofs");
