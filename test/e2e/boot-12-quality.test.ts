// Loss thresholds and hold-down with the packaged prober under the real init of Debian 12 (bookworm); see boot-suite.ts.
import { bootSuite } from "./boot-suite.js";

bootSuite("bookworm", "quality");
