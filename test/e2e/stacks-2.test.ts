// The host-process lab, part 2 of 2; see stacks-suite.ts.
import { stacksSuite } from "./stacks-suite.js";

stacksSuite({ index: 1, of: 2 });
