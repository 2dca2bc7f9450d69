// The admin's networkd files under a root, as networkd reads them: every
// folder, a name in /etc hiding the same name elsewhere, /dev/null masks,
// file name order, [Match] by name globs, negation and MAC address.
import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseModelText } from "../../src/model/load.js";
import { validateModel } from "../../src/model/validate.js";
import { buildPlan } from "../../src/plan/plan.js";
import { matches, networkdWarnings, networkFiles } from "../../src/host/networkd.js";
import { tempFolders } from "../helpers/tmp.js";

const tmp = tempFolders("networkd-host");
const plan = buildPlan(validateModel(parseModelText("version: 1\noptions: {stack: networkd}\nuplinks:\n  - {name: a, interface: eth1, address: 198.51.100.2/24, gateway: 198.51.100.1}\nlan:\n  - {interface: eth0, address: 192.168.0.1/24}\n", "m.yaml")));

function put(root: string, path: string, text: string): void {
  mkdirSync(join(root, path, ".."), { recursive: true });
  writeFileSync(join(root, path), text);
}

describe("networkd: the admin's files that select an interface of the model", () => {
  it("[Match]: globs, negation, MAC address, what cannot be known", () => {
    expect(matches([["Name", "eth*"]], "eth1")).toBe("yes");
    expect(matches([["Name", "en* eth[0-1]"]], "eth1")).toBe("yes");
    expect(matches([["Name", "eth[!1]"]], "eth1")).toBe("no");
    expect(matches([["Name", "!eth1"]], "eth1")).toBe("no");
    expect(matches([["Name", "!eth1"]], "eth0")).toBe("yes");
    expect(matches([["Name", "eth1"], ["Driver", "e1000"]], "eth1")).toBe("maybe");
    expect(matches([["Type", "ether"]], "eth1")).toBe("unknown");
    expect(matches([["MACAddress", "52:54:00:12:34:56"]], "eth1", "52:54:00:12:34:56")).toBe("yes");
    expect(matches([["MACAddress", "52:54:00:12:34:56"]], "eth1", "52:54:00:ff:ff:ff")).toBe("no");
    expect(matches([], "eth1")).toBe("yes"); // no [Match]: every link
  });

  it("every folder networkd reads, in its order; /etc hides a name; /dev/null masks", () => {
    const root = tmp();
    put(root, "usr/lib/systemd/network/20-mgmt.network", "[Match]\nName=eth0\n");
    put(root, "etc/systemd/network/20-mgmt.network", "[Match]\nName=mgmt0\n");
    put(root, "run/systemd/network/10-netplan-eth1.network", "[Match]\nName=eth1\n");
    mkdirSync(join(root, "lib/systemd/network"), { recursive: true });
    symlinkSync("/dev/null", join(root, "etc/systemd/network/80-wifi-adhoc.network"));
    put(root, "lib/systemd/network/80-wifi-adhoc.network", "[Match]\nType=wlan\n");
    expect(networkFiles(root)).toEqual([
      { name: "10-netplan-eth1.network", path: "/run/systemd/network/10-netplan-eth1.network" },
      { name: "20-mgmt.network", path: "/etc/systemd/network/20-mgmt.network" },
      { name: "80-wifi-adhoc.network", path: "/etc/systemd/network/80-wifi-adhoc.network" },
    ]);
    const w = networkdWarnings(root, plan);
    expect(w.map((x) => [x.blocking, x.text.split(",")[0]])).toEqual([[true, "/run/systemd/network/10-netplan-eth1.network selects eth1"]]);
  });

  it("says which file wins and what the admin loses; a file by type alone warns only when it is the admin's", () => {
    const root = tmp();
    put(root, "etc/systemd/network/05-lan.network", "[Match]\nName=eth*\n\n[Network]\nDHCP=yes\n");
    put(root, "etc/systemd/network/20-mgmt.network", "[Match]\nName=eth0\n\n[Network]\nAddress=10.0.0.5/24\n");
    put(root, "etc/systemd/network/90-any.network", "[Match]\nType=ether\n");
    put(root, "usr/lib/systemd/network/80-wifi-adhoc.network", "[Match]\nType=wlan\nWLANInterfaceType=ad-hoc\n");
    const w = networkdWarnings(root, plan);
    expect(w.filter((x) => x.blocking).map((x) => x.text)).toEqual([
      "/etc/systemd/network/05-lan.network selects eth0, an interface of the model, and sorts before 10-gen-hooks-eth0.network: networkd gives eth0 the admin's file (DHCP=yes) and none of gen-hooks' routing; change its [Match] to leave eth0 out, or take eth0 out of the model",
      "/etc/systemd/network/05-lan.network selects eth1, an interface of the model, and sorts before 10-gen-hooks-eth1.network: networkd gives eth1 the admin's file (DHCP=yes) and none of gen-hooks' routing; change its [Match] to leave eth1 out, or take eth1 out of the model",
      "/etc/systemd/network/20-mgmt.network selects eth0, an interface of the model, and sorts after 10-gen-hooks-eth0.network: networkd gives eth0 gen-hooks' file, and the admin's (Address=10.0.0.5/24) is lost on it; change its [Match] to leave eth0 out and put what eth0 needs into the model's networkd: keys, or take eth0 out of the model",
    ]);
    expect(w.filter((x) => !x.blocking).map((x) => x.text.split(",")[0])).toEqual([
      "/etc/systemd/network/90-any.network may select eth0 (its [Match] also asks Type)",
      "/etc/systemd/network/90-any.network may select eth1 (its [Match] also asks Type)",
    ]);
    // by MAC address, where the host can tell
    put(root, "etc/systemd/network/30-by-mac.network", "[Match]\nMACAddress=52:54:00:12:34:56\n");
    const byMac = networkdWarnings(root, plan, (i) => (i === "eth1" ? "52:54:00:12:34:56" : "52:54:00:00:00:01"));
    expect(byMac.filter((x) => x.text.startsWith("/etc/systemd/network/30-by-mac")).map((x) => [x.blocking, x.text.split(",")[0]])).toEqual([[true, "/etc/systemd/network/30-by-mac.network selects eth1"]]);
  });
});
