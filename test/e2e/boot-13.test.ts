// The fixtures with static addresses under the real init of Debian 13 (trixie); see boot-suite.ts.
import { bootSuite } from "./boot-suite.js";

bootSuite("trixie", "static");
