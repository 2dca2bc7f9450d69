// parsePrefix's fast IPv4 path must answer exactly as the general one
// (ipaddr.js): the same text for valid prefixes, an error for the others.
import ipaddr from "ipaddr.js";
import { describe, expect, it } from "vitest";
import { parsePrefix } from "../../src/model/addr.js";

/** The general path alone: what parsePrefix answered before the fast path. */
function reference(text: string): string | undefined {
  const [addr, len] = text.includes("/") ? text.split("/") : [text, "32"];
  if (!ipaddr.IPv4.isValidFourPartDecimal(addr) || !/^\d{1,3}$/.test(len) || Number(len) > 32) return undefined;
  const net = ipaddr.IPv4.networkAddressFromCIDR(`${addr}/${len}`).toString();
  return net === ipaddr.IPv4.parse(addr).toString() ? `${net}/${Number(len)}` : undefined;
}

describe("parsePrefix", () => {
  it("agrees with ipaddr.js on 20,000 random and edge-case IPv4 texts", () => {
    let seed = 7;
    const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
    const octet = () => [String(rnd(256)), "0", "255", "256", "00", "010", "1"][rnd(7)];
    const texts = ["0.0.0.0/0", "1.0.0.0/0", "255.255.255.255", "255.255.255.255/32", "198.18.0.0/15", "198.19.0.0/15", "1.2.3.4/33", "1.2.3", "1.2.3.4.5"];
    for (let i = 0; i < 20_000; i++) {
      const len = rnd(3) === 0 ? "" : `/${[rnd(33), 0, 8, 24, 32, 33][rnd(6)]}`;
      texts.push(`${octet()}.${octet()}.${octet()}.${octet()}${len}`);
    }
    let valid = 0;
    for (const t of texts) {
      const got = parsePrefix(t);
      const want = reference(t);
      if (want === undefined) expect(typeof got, t).toBe("string");
      else {
        valid++;
        expect(got, t).toEqual({ family: 4, text: want });
      }
    }
    expect(valid).toBeGreaterThan(1000); // both kinds were exercised
  });
});
