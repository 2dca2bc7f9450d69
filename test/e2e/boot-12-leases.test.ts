// Uplinks that lease their address (DHCP, ppp) under the real init of Debian 12 (bookworm); see boot-suite.ts.
import { bootSuite } from "./boot-suite.js";

bootSuite("bookworm", "leased");
