// One command apply runs on the host: what the transition plans and the
// in-place changes add to it.
export interface Step {
  argv: string[];
  /** Lines for its standard input (ip -batch -). */
  input?: string;
  /** A step that may find nothing to do (an interface already down, a rule already gone). */
  mayFail?: boolean;
}
