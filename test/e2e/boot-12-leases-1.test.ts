// Fixtures whose uplinks lease their address (DHCP, router advertisements, ppp) under the real init of Debian 12 (bookworm), part 1 of 2; see boot-suite.ts.
import { bootSuite } from "./boot-suite.js";

bootSuite("bookworm", "leased", { index: 0, of: 2 });
