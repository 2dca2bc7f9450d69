import { describe, expect, it } from "vitest";
import { parseModelText } from "../../src/model/load.js";
import { validateModel } from "../../src/model/validate.js";
import { buildPlan } from "../../src/plan/plan.js";
import { mergePassThrough, parsePassThrough } from "../../src/model/passthrough.js";
import { ModelError } from "../../src/errors.js";

const plan = (text: string) => buildPlan(validateModel(parseModelText(text, "m.yaml")));
const refusal = (text: string): string => {
  try {
    validateModel(parseModelText(text, "m.yaml"));
  } catch (e) {
    if (e instanceof ModelError) return e.message;
    throw e;
  }
  return "";
};

describe("pass-through settings", () => {
  it("keeps the model's order, joins an ifupdown list with spaces, writes a networkd list once per value and booleans as yes/no", () => {
    const issues: string[] = [];
    const p = parsePassThrough(
      { ifupdown: { "wpa-conf": "/etc/wpa_supplicant/wlan1.conf", "dns-nameservers": ["192.0.2.53", "192.0.2.54"], mtu: 1492 }, networkd: { Network: { DNS: ["192.0.2.53", "192.0.2.54"], LLMNR: false } } },
      ["uplinks", 0],
      (_, m) => issues.push(m),
    );
    expect(issues).toEqual([]);
    expect(p.ifupdown).toEqual([
      { key: "wpa-conf", value: "/etc/wpa_supplicant/wlan1.conf" },
      { key: "dns-nameservers", value: "192.0.2.53 192.0.2.54" },
      { key: "mtu", value: "1492" },
    ]);
    expect(p.networkd).toEqual([{ section: "Network", entries: [{ key: "DNS", value: "192.0.2.53" }, { key: "DNS", value: "192.0.2.54" }, { key: "LLMNR", value: "no" }] }]);
  });

  it("refuses what gen-hooks writes itself and what would reach a shell", () => {
    const issues: string[] = [];
    parsePassThrough({ ifupdown: { "allow-hotplug": "eth1", gateway: "198.51.100.1", hwaddress: "02:00:00:00:00:01 `reboot`" }, networkd: { Match: { Name: "eth*" }, DHCPv4: { UseGateway: true } } }, [], (_, m) => issues.push(m));
    expect(issues).toEqual([
      "ifupdown option 'allow-hotplug' is not passed through: a stanza keyword, not an option",
      "ifupdown option 'gateway' is not passed through: gen-hooks adds the routes from 'gateway' and 'metric'",
      "ifupdown option 'hwaddress' has the value '02:00:00:00:00:01 `reboot`': give words of letters, digits and . _ : / @ + , = - separated by single spaces (ifupdown hands some values to a shell)",
      "networkd section [Match] is not passed through: gen-hooks matches the interface by name",
      "networkd setting [DHCPv4] UseGateway= is not passed through: gen-hooks puts the leased gateway into the tables",
    ]);
  });

  it("merges the uplinks of one interface; the same value twice is no clash, another value is", () => {
    const a = { ifupdown: [{ key: "mtu", value: "1492" }], networkd: [{ section: "Network", entries: [{ key: "DNS", value: "192.0.2.53" }] }] };
    const b = { ifupdown: [{ key: "mtu", value: "1492" }, { key: "wpa-conf", value: "/x" }], networkd: [{ section: "Network", entries: [{ key: "Domains", value: "example" }] }] };
    const m = mergePassThrough([a, b]);
    expect(m.clash).toBeUndefined();
    expect(m.merged.ifupdown.map((o) => o.key)).toEqual(["mtu", "wpa-conf"]);
    expect(m.merged.networkd[0].entries.map((e) => e.key)).toEqual(["DNS", "Domains"]);
    expect(mergePassThrough([a, { ifupdown: [{ key: "mtu", value: "1400" }], networkd: [] }]).clash).toBe("ifupdown option 'mtu'");
  });

  it("reaches the interface of the plan, for uplinks and LANs; a ppp uplink has none to carry them", () => {
    const p = plan(`version: 1
uplinks:
  - name: a
    interface: eth1
    address: 198.51.100.2/24
    gateway: 198.51.100.1
    ifupdown: { mtu: 1492 }
  - name: b
    interface: eth1
    address: 198.51.100.3/24
    gateway: 198.51.100.1
    networkd: { Link: { MTUBytes: 1492 } }
lan:
  - interface: br0
    address: 192.168.0.1/24
    ifupdown: { bridge_ports: eth5 eth6 }
`);
    const eth1 = p.interfaces.find((i) => i.name === "eth1")!;
    expect(eth1.pass).toEqual({ ifupdown: [{ key: "mtu", value: "1492" }], networkd: [{ section: "Link", entries: [{ key: "MTUBytes", value: "1492" }] }] });
    expect(p.interfaces.find((i) => i.name === "br0")!.pass.ifupdown).toEqual([{ key: "bridge_ports", value: "eth5 eth6" }]);
    expect(refusal("version: 1\nuplinks:\n  - name: vpn\n    interface: ppp0\n    address: ppp\n    networkd: { Link: { MTUBytes: 1400 } }\n")).toMatch(/m.yaml:6:15: uplinks\[0\]\.networkd: pppd creates ppp0/);
  });
});
