// Fixtures with static addresses under the real init of Debian 13 (trixie), part 2 of 2; see boot-suite.ts.
import { bootSuite } from "./boot-suite.js";

bootSuite("trixie", "static", { index: 1, of: 2 });
