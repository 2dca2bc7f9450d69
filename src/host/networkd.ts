// The admin's own networkd configuration, read (never written) under a root.
// networkd gives a link the first .network file, in file name order across
// /etc, /run and /usr/lib (/lib), whose [Match] selects it; a file in /etc
// hides one of the same name in /run or /usr/lib (a link to /dev/null masks
// it). So an admin's file that selects an interface of the model either
// shadows gen-hooks' 10-gen-hooks-IF.network (sorts first) or is shadowed by
// it, and its settings (a management address, the SSH session over it) are
// lost. Both are reported; apply refuses while one stands.
import { readdirSync, readFileSync, readlinkSync, lstatSync } from "node:fs";
import { join } from "node:path";
import type { Plan } from "../plan/types.js";

export const NETWORKD_DIRS = ["/etc/systemd/network", "/run/systemd/network", "/usr/lib/systemd/network", "/lib/systemd/network"];
const OURS = /^10-gen-hooks-.+\.network$/;

/** The .network files networkd reads under root, each name once (the first directory's), in the order it tries them. */
export function networkFiles(root: string): { name: string; path: string }[] {
  const byName = new Map<string, string>();
  for (const dir of NETWORKD_DIRS) {
    let names: string[] = [];
    try {
      names = readdirSync(join(root, dir));
    } catch {
      continue;
    }
    for (const name of names) if (name.endsWith(".network") && !byName.has(name)) byName.set(name, `${dir}/${name}`);
  }
  return [...byName].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([name, path]) => ({ name, path }));
}

/** A file's sections as key/value lists (systemd's syntax: [Section], Key=value, # and ; comments). */
function sections(text: string): Map<string, [string, string][]> {
  const out = new Map<string, [string, string][]>();
  let current: [string, string][] | undefined;
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";")) continue;
    const head = /^\[(.+)\]$/.exec(line);
    if (head) {
      if (!out.has(head[1])) out.set(head[1], []);
      current = out.get(head[1]);
      continue;
    }
    const eq = line.indexOf("=");
    if (current && eq > 0) current.push([line.slice(0, eq).trim(), line.slice(eq + 1).trim()]);
  }
  return out;
}

/** A shell glob (*, ?, [...]) as fnmatch(3) reads it, as a RegExp. */
function globRe(glob: string): RegExp {
  let re = "";
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === "*") re += ".*";
    else if (c === "?") re += ".";
    else if (c === "[") {
      const end = glob.indexOf("]", i + 2);
      if (end < 0) re += "\\[";
      else {
        re += `[${glob.slice(i + 1, end).replace(/^!/, "^").replace(/\\/g, "\\\\")}]`;
        i = end;
      }
    } else re += c.replace(/[.+^${}()|\\]/g, "\\$&");
  }
  return new RegExp(`^${re}$`);
}

/**
 * Whether a [Match] section selects the interface: "yes"; "no"; "maybe" when
 * its names (or MAC address) select it but it also asks what cannot be known
 * here (a driver, a type, a path); "unknown" when it asks only such things.
 * mac: the interface's address, where the host can tell (the live root).
 */
export function matches(match: [string, string][], iface: string, mac?: string): "yes" | "no" | "maybe" | "unknown" {
  let known = false;
  let unknown = false;
  for (const [key, value] of match) {
    const words = value.split(/\s+/).filter(Boolean);
    if (words.length === 0) continue; // an empty assignment resets the list
    if (key === "Name" || key === "OriginalName") {
      const negated = words[0].startsWith("!");
      if (words.some((w) => globRe(w.replace(/^!/, "")).test(iface)) === negated) return "no";
      known = true;
    } else if ((key === "MACAddress" || key === "PermanentMACAddress") && mac !== undefined) {
      if (!words.some((w) => w.toLowerCase() === mac.toLowerCase())) return "no";
      known = true;
    } else unknown = true;
  }
  return !unknown ? "yes" : known ? "maybe" : "unknown";
}

/** What an admin's file gives the links it selects, in a few words (what would be lost). */
function gives(s: Map<string, [string, string][]>): string {
  const shown = (s.get("Network") ?? []).filter(([k]) => ["Address", "DHCP", "Gateway", "IPv6AcceptRA", "Bridge", "Bond", "VLAN"].includes(k));
  for (const [, v] of s.get("Address") ?? []) shown.push(["Address", v]);
  const words = shown.map(([k, v]) => `${k}=${v}`);
  return words.length > 0 ? words.slice(0, 4).join(", ") + (words.length > 4 ? ", ..." : "") : "its settings";
}

export interface NetworkdWarning {
  text: string;
  /** The file surely or by its names selects the interface (apply refuses); otherwise it may, by what cannot be known here. */
  blocking: boolean;
}

/**
 * Warnings about the admin's .network files under root that select an
 * interface the model configures. The system's own files (/usr/lib, /lib)
 * that select by type or driver alone (wifi, containers) are not the
 * admin's: only a name or an address of theirs counts.
 */
export function networkdWarnings(root: string, plan: Plan, macOf: (iface: string) => string | undefined = () => undefined): NetworkdWarning[] {
  const files = networkFiles(root);
  const ifaces = [...plan.interfaces.map((i) => i.name), ...plan.vlanParents.map((p) => p.name)];
  const out: NetworkdWarning[] = [];
  for (const f of files) {
    if (OURS.test(f.name)) continue;
    const full = join(root, f.path);
    let text: string;
    try {
      if (lstatSync(full).isSymbolicLink() && readlinkSync(full) === "/dev/null") continue; // masked
      text = readFileSync(full, "utf8");
    } catch {
      continue;
    }
    const s = sections(text);
    const match = s.get("Match") ?? [];
    const vendors = !f.path.startsWith("/etc/") && !f.path.startsWith("/run/");
    for (const iface of ifaces) {
      const verdict = matches(match, iface, macOf(iface));
      if (verdict === "no" || (verdict === "unknown" && vendors)) continue;
      const ours = `10-gen-hooks-${iface}.network`;
      const asks = match.filter(([k]) => !["Name", "OriginalName", "MACAddress", "PermanentMACAddress"].includes(k)).map(([k]) => k).join(", ");
      const selects = verdict === "yes" ? `selects ${iface}` : `may select ${iface} (its [Match] also asks ${asks})`;
      const what = gives(s);
      out.push({
        blocking: verdict !== "unknown",
        text:
          f.name < ours
            ? `${f.path} ${selects}, an interface of the model, and sorts before ${ours}: networkd gives ${iface} the admin's file (${what}) and none of gen-hooks' routing; change its [Match] to leave ${iface} out, or take ${iface} out of the model`
            : `${f.path} ${selects}, an interface of the model, and sorts after ${ours}: networkd gives ${iface} gen-hooks' file, and the admin's (${what}) is lost on it; change its [Match] to leave ${iface} out and put what ${iface} needs into the model's networkd: keys, or take ${iface} out of the model`,
      });
    }
  }
  return out;
}
