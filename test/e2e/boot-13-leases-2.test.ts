// Fixtures whose uplinks lease their address (DHCP, router advertisements, ppp) under the real init of Debian 13 (trixie), part 2 of 2; see boot-suite.ts.
import { bootSuite } from "./boot-suite.js";

bootSuite("trixie", "leased", { index: 1, of: 2 });
