// gen-hooks apply (A -> B, again, --try, --confirm) under the real init of Debian 13 (trixie); see apply-proof.ts.
import { applySuite } from "./apply-proof.js";

applySuite("trixie");
