// The fixtures with static addresses under the real init of Debian 12 (bookworm); see boot-suite.ts.
import { bootSuite } from "./boot-suite.js";

bootSuite("bookworm", "static");
