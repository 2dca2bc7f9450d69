// The other ifupdown implementations, run on the rendered drop-in as
// Debian's own is: ifupdown2 (Proxmox VE, Cumulus) and ifupdown-ng
// (Alpine). Both conflict with the ifupdown package, so they run from their
// extracted Debian packages (apt-get download, dpkg -x, cached once) in a
// private mount namespace where the packages' files lie over the machine's
// (overlays: nothing of the machine is written).
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import type { Topology } from "./topology.js";
import type { ExecResult } from "./lab.js";
import { inRenderedEtc } from "./stacks.js";
import { cacheDir } from "./releases.js";

export type AltName = "ifupdown2" | "ifupdown-ng";
export const ALT_IFUPDOWNS: AltName[] = ["ifupdown2", "ifupdown-ng"];

/**
 * The packages' extracted trees, fetched and unpacked once (a marker file
 * says the unpack finished); a reason string when they cannot be had.
 */
export function altPackages(): { dirs: Record<AltName, string> } | { unavailable: string } {
  const base = join(cacheDir(), "alt-ifupdown");
  const done = join(base, "unpacked");
  const dirs = { ifupdown2: join(base, "ifupdown2"), "ifupdown-ng": join(base, "ifupdown-ng") };
  if (existsSync(done)) return { dirs };
  rmSync(base, { recursive: true, force: true });
  mkdirSync(base, { recursive: true });
  const debs = mkdtempSync(join(base, "debs-"));
  const dl = spawnSync("apt-get", ["download", ...ALT_IFUPDOWNS], { cwd: debs, encoding: "utf8", timeout: 300_000 });
  if (dl.status !== 0) return { unavailable: `apt-get download ${ALT_IFUPDOWNS.join(" ")} failed: ${(dl.stderr ?? String(dl.error)).trim().slice(-300)}` };
  for (const name of ALT_IFUPDOWNS) {
    const deb = readdirSync(debs).find((f) => f.startsWith(`${name}_`) && f.endsWith(".deb"));
    if (!deb) return { unavailable: `apt-get download fetched no ${name} package` };
    const x = spawnSync("dpkg", ["-x", join(debs, deb), dirs[name]], { encoding: "utf8" });
    if (x.status !== 0) return { unavailable: `dpkg -x ${deb}: ${x.stderr}` };
  }
  // the programs find themselves by the name they are called with
  const bin2 = join(base, "bin-ifupdown2");
  const binNg = join(base, "bin-ifupdown-ng");
  mkdirSync(bin2);
  mkdirSync(binNg);
  for (const cmd of ["ifup", "ifdown", "ifreload", "ifquery"]) symlinkSync("/usr/share/ifupdown2/__main__.py", join(bin2, cmd));
  for (const cmd of ["ifup", "ifdown", "ifquery"]) symlinkSync(join(dirs["ifupdown-ng"], "sbin/ifupdown"), join(binNg, cmd));
  rmSync(debs, { recursive: true, force: true });
  writeFileSync(done, "");
  return { dirs };
}

/** One implementation on one rendered root, in the lab's host namespace. */
export class AltIfupdown {
  readonly stateDir: string;
  private readonly bin: string;

  constructor(
    private readonly topo: Topology,
    private readonly root: string,
    readonly name: AltName,
    private readonly pkg: string,
  ) {
    this.stateDir = join(root, `${name}-state`);
    mkdirSync(this.stateDir, { recursive: true });
    this.bin = join(cacheDir(), "alt-ifupdown", `bin-${name}`);
  }

  /** ifup, ifdown, ifreload (ifupdown2), ifquery with the drop-in's /etc/network/interfaces. */
  run(cmd: "ifup" | "ifdown" | "ifreload" | "ifquery", args: string[]): ExecResult {
    const etc = `mount -t overlay overlay -o lowerdir=${join(this.pkg, "etc")}:/etc /etc && mount -t tmpfs tmpfs /run && mkdir -p /run/network && `;
    if (this.name === "ifupdown2") {
      // its modules under /usr/share/ifupdown2, its state in /var/tmp/network
      const mounts =
        etc +
        `mount -t overlay overlay -o lowerdir=${join(this.pkg, "usr/share")}:/usr/share /usr/share && ` +
        `mount -t overlay overlay -o lowerdir=${join(this.pkg, "var/lib")}:/var/lib /var/lib && ` +
        `mount --bind ${this.stateDir} /var/tmp && `;
      return this.exec(["python3", join(this.bin, cmd), ...args], mounts);
    }
    const argv = [join(this.bin, cmd), "-E", join(this.pkg, "usr/libexec/ifupdown-ng"), "-S", join(this.stateDir, "ifstate"), ...args];
    return this.exec(argv, etc);
  }

  up(): ExecResult {
    return this.run("ifup", ["-a"]);
  }
  down(): ExecResult {
    return this.run("ifdown", ["-a"]);
  }

  private exec(argv: string[], mounts: string): ExecResult {
    // the package's /etc over the rendered tree over the machine's (the two share no file)
    return this.topo.lab.tryRun("host", inRenderedEtc(this.root, argv, mounts), { timeoutMs: 120_000 });
  }
}
