// Uplinks that lease their address (DHCP, ppp) under the real init of Debian 13 (trixie); see boot-suite.ts.
import { bootSuite } from "./boot-suite.js";

bootSuite("trixie", "leased");
