// The helpers templates may call: they format, never decide. The build reads
// their names from this file (one "  name: (" line each) to refuse a template
// calling any other.
export const helpers = {
  ipflag: (family: number) => (family === 6 ? "-6" : "-4"),
  ipfamily: (family: number) => (family === 6 ? "ipv6" : "ipv4"),
  isset: (value: unknown) => value !== undefined && value !== null,
  eq: (a: unknown, b: unknown) => a === b,
  join: (items: unknown[], sep?: unknown) => items.join(typeof sep === "string" ? sep : " "),
};
