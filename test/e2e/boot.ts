// The host under test booted for real: a container with systemd as PID 1 on
// a cached Debian release root (releases.ts), joined to the lab's "host"
// network namespace. The rendered tree is installed into an overlay's upper
// folder the way a package would put it, the stack is chosen by enabling its
// service, and the container boots, reboots and powers off like a machine.
// The overlay is mounted in a private mount namespace that dies with
// systemd-nspawn, so nothing is left mounted on the machine.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { chmodSync, cpSync, existsSync, mkdirSync, readdirSync, rmdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { execResult, readText, sleep, sleepSync, waitFor, type ExecResult } from "./lab.js";
import { networkdComplaints } from "./stacks.js";
import type { Topology } from "./topology.js";
import { hasIfplugd, type Release } from "./releases.js";

export type Stack = "ifupdown" | "networkd" | "ifplugd";

/** The admin's management NIC, configured by the admin's own files, not by gen-hooks. */
export const MGMT = { dev: "mgmt0", host: "100.64.250.2/24", peer: "100.64.250.1/24" };

/** A management network in the lab: mgmt0 on the host, its far end in the namespace "mgmt". */
export function addManagement(topo: Topology): void {
  topo.lab.addNs("mgmt");
  topo.lab.veth("host", MGMT.dev, "mgmt", "m0");
  topo.lab.run("mgmt", ["ip", "addr", "add", MGMT.peer, "dev", "m0"]);
}

/** The management address answers from the management network. */
export const managementUp = (topo: Topology): boolean => topo.lab.ping("mgmt", MGMT.host.split("/")[0], { count: 1, waitS: 1 });

/** Remove a container's cgroup once its processes are gone (killing any left). */
function removeCgroup(cgroup: string): void {
  for (let i = 0; i < 50; i++) {
    try {
      rmdirSync(cgroup);
      return;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return;
      // children first (the container's own slices), then what still runs
      for (const d of readdirSync(cgroup, { withFileTypes: true }).filter((d) => d.isDirectory())) removeCgroup(join(cgroup, d.name));
      try {
        writeFileSync(join(cgroup, "cgroup.kill"), "1");
      } catch {
        /* older kernels: the lab kills the namespace's processes */
      }
      sleepSync(100);
    }
  }
}

export class Container {
  private readonly upper: string;
  private readonly work: string;
  private readonly merged: string;
  readonly console: string;
  private child?: ChildProcess;
  /** PID (in the machine's namespace) of the container's systemd. */
  private initPid = 0;

  constructor(
    private readonly topo: Topology,
    readonly release: Release,
    private readonly lower: string,
    readonly stack: Stack,
    dir: string,
  ) {
    this.upper = join(dir, "upper");
    this.work = join(dir, "work");
    this.merged = join(dir, "merged");
    this.console = join(dir, "console.log");
    for (const d of [this.upper, this.work, this.merged]) {
      mkdirSync(d, { recursive: true });
      // The container's "/" takes this mode: 0700 would lock out networkd's and dbus's users.
      chmodSync(d, 0o755);
    }
  }

  private mountOverlay(): string {
    return `mount -t overlay overlay -o lowerdir=${this.lower},upperdir=${this.upper},workdir=${this.work} ${this.merged}`;
  }

  /** A shell script run in a private mount namespace with the overlay mounted. */
  private inOverlay(script: string): ExecResult {
    return execResult(spawnSync("unshare", ["-m", "--propagation", "private", "sh", "-ec", `${this.mountOverlay()}\n${script}`], { encoding: "utf8", timeout: 60_000 }));
  }

  /**
   * Install the rendered tree (its etc/) as a package would, then do what
   * its postinst and the admin would: enable the stack's service, the units
   * gen-hooks rendered with an [Install] section, and nftables.service.
   */
  install(rendered: string): void {
    // /etc, and /usr where a hook lives in its client's own folder (dhcpcd's)
    for (const top of readdirSync(rendered)) cpSync(join(rendered, top), join(this.upper, top), { recursive: true });
    const unitsDir = join(rendered, "etc/systemd/system");
    const installable = existsSync(unitsDir)
      ? readdirSync(unitsDir).filter((u) => /\.(service|path|timer)$/.test(u) && /^\[Install\]/m.test(readText(join(unitsDir, u))))
      : [];
    const sc = `systemctl --root=${this.merged} --quiet`;
    // nftables.service as an admin with a firewall has it: Debian's
    // /etc/nftables.conf, whose "flush ruleset" gen-hooks-nftables.service outlives.
    const steps = [`${sc} enable nftables.service`, ...installable.map((u) => `${sc} enable ${u}`)];
    const noIfplugd = hasIfplugd(this.release) ? [`${sc} mask ifplugd.service`] : [];
    if (this.stack === "networkd") steps.push(`${sc} enable systemd-networkd.service`, ...noIfplugd);
    if (this.stack === "ifupdown") steps.push(`${sc} enable networking.service`, ...noIfplugd);
    if (this.stack === "ifplugd") {
      if (!hasIfplugd(this.release)) throw new Error(`Debian ${this.release.version} has no ifplugd`);
      steps.push(`${sc} enable networking.service`); // ifplugd's init script is enabled by its package
    }
    // The admin's own configuration beside gen-hooks's: a management NIC.
    if (this.stack === "networkd") {
      writeFileSync(join(this.upper, "etc/systemd/network/05-admin-mgmt0.network"), `[Match]\nName=${MGMT.dev}\n\n[Network]\nAddress=${MGMT.host}\n`);
    } else {
      mkdirSync(join(this.upper, "etc/network"), { recursive: true });
      writeFileSync(
        join(this.upper, "etc/network/interfaces"),
        `# interfaces(5) file used by ifup(8) and ifdown(8)\nauto lo\niface lo inet loopback\n\nauto ${MGMT.dev}\niface ${MGMT.dev} inet static\n    address ${MGMT.host}\n\n# Include files from /etc/network/interfaces.d:\nsource /etc/network/interfaces.d/*\n`,
      );
    }
    if (this.stack === "networkd") {
      // The lab's own addition: debug messages, so that the journal says when
      // networkd configured each link (complaints are read at info and above).
      const dropIn = join(this.upper, "etc/systemd/system/systemd-networkd.service.d");
      mkdirSync(dropIn, { recursive: true });
      writeFileSync(join(dropIn, "zz-lab-debug.conf"), "[Service]\nEnvironment=SYSTEMD_LOG_LEVEL=debug\n");
    }
    const r = this.inOverlay(steps.join("\n"));
    if (r.status !== 0) throw new Error(`installing into the overlay failed: ${r.stderr}`);
  }

  /** Start systemd-nspawn -b; resolves once the container's systemd runs. */
  /**
   * The container's own cgroup. Without systemd as the machine's PID 1 and
   * with --keep-unit, nspawn puts the container under the caller's cgroup:
   * two containers booted side by side then shared ".../payload/system.slice/
   * networking.service" and stopped each other's services.
   */
  private cgroup(): string {
    const mount = readText("/proc/self/mountinfo").split("\n").find((l) => l.includes(" - cgroup2 "))?.split(" ")[4];
    if (!mount) throw new Error("no cgroup2 hierarchy is mounted");
    return join(mount, "gen-hooks-lab", this.topo.lab.ns("host"));
  }

  async boot(): Promise<void> {
    const cgroup = this.cgroup();
    mkdirSync(cgroup, { recursive: true });
    this.topo.lab.onDestroy(() => {
      removeCgroup(cgroup);
      try {
        rmdirSync(dirname(cgroup)); // the last container out removes gen-hooks-lab
      } catch {
        /* another container still runs */
      }
    });
    const script = [
      `echo $$ > ${cgroup}/cgroup.procs`,
      this.mountOverlay(),
      // systemd 257 needs the unified cgroup hierarchy; networkd and
      // systemd-sysctl need a writable /proc/sys/net.
      "export SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=1 SYSTEMD_NSPAWN_API_VFS_WRITABLE=network",
      `exec systemd-nspawn -q -D ${this.merged} --network-namespace-path=/run/netns/${this.topo.lab.ns("host")} -b --capability=CAP_NET_ADMIN,CAP_BPF --system-call-filter=bpf --register=no --keep-unit --console=read-only --machine=${this.topo.lab.ns("host")}`,
    ].join("\n");
    // Not through "ip netns exec": it mounts a /sys of its own, without the cgroup hierarchy.
    const child = this.topo.lab.spawnHere(["unshare", "-m", "--propagation", "private", "sh", "-ec", script], this.console);
    this.child = child;
    this.initPid = 0;
    await waitFor(() => this.findInit() || child.exitCode !== null, 30_000, 20);
    if (!this.initPid) throw new Error(`the container's systemd did not start:\n${readText(this.console).slice(-3000)}`);
  }

  /** The container's PID 1 is nspawn's child once it runs systemd. */
  private findInit(previous = 0): boolean {
    const pid = this.child?.pid;
    if (!pid) return false;
    const children = readText(`/proc/${pid}/task/${pid}/children`).trim().split(/\s+/).filter(Boolean).map(Number);
    for (const c of children) {
      if (c !== previous && readText(`/proc/${c}/comm`).trim() === "systemd") {
        this.initPid = c;
        return true;
      }
    }
    return false;
  }

  /** A path inside the running container, as the machine sees it (its /run is the container's own). */
  path(inside: string): string {
    return `/proc/${this.initPid}/root${inside}`;
  }

  /** argv run inside the container (all its namespaces). */
  exec(argv: string[], timeoutMs = 60_000): ExecResult {
    return execResult(spawnSync("nsenter", ["-t", String(this.initPid), "-a", ...argv], { encoding: "utf8", timeout: timeoutMs }));
  }

  /**
   * argv run inside the container without blocking the test's worker: a
   * command that takes long (a restart that waits for DHCP leases, a boot's
   * "is-system-running --wait") must not hold its event loop, or vitest's
   * own calls to the worker time out.
   */
  run(argv: string[], timeoutMs = 60_000): Promise<ExecResult> {
    return new Promise((resolve) => {
      const child = spawn("nsenter", ["-t", String(this.initPid), "-a", ...argv], { stdio: ["ignore", "pipe", "pipe"] });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
      child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
      const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
      child.on("close", (code, signal) => {
        clearTimeout(timer);
        resolve({ status: code ?? -1, stdout, stderr: stderr + (signal ? `killed by ${signal} after ${timeoutMs} ms` : "") });
      });
      child.on("error", (e) => {
        clearTimeout(timer);
        resolve({ status: -1, stdout, stderr: stderr + String(e) });
      });
    });
  }

  sh(script: string, timeoutMs = 60_000): ExecResult {
    return this.exec(["sh", "-c", script], timeoutMs);
  }

  /** systemctl is-system-running --wait: "running", or "degraded" with the failed units. */
  async systemState(timeoutMs = 60_000): Promise<{ state: string; failed: string[] }> {
    let state = "";
    // The bus may not be up in the first milliseconds; retry until it answers.
    const t0 = Date.now();
    while (Date.now() - t0 < timeoutMs) {
      state = (await this.run(["systemctl", "is-system-running", "--wait"], timeoutMs)).stdout.trim();
      if (["running", "degraded", "maintenance", "stopping"].includes(state)) break;
      await sleep(100);
    }
    const failed = this.exec(["systemctl", "--failed", "--no-legend", "--plain"]).stdout.trim().split("\n").filter(Boolean);
    return { state, failed };
  }

  journal(args: string[]): string {
    return this.exec(["journalctl", "-b", "--no-pager", ...args]).stdout;
  }

  /** Lines of networkd's journal where it skipped a setting or failed. */
  networkdComplaints(): string[] {
    return networkdComplaints(this.journal(["-u", "systemd-networkd", "-o", "cat", "-p", "info"]));
  }

  systemctl(...args: string[]): Promise<ExecResult> {
    return this.run(["systemctl", ...args], 120_000);
  }

  /** A unit's properties as a map. */
  show(unit: string, props: string[]): Record<string, string> {
    const out = this.exec(["systemctl", "show", unit, ...props.map((p) => `--property=${p}`)]).stdout;
    return Object.fromEntries(out.split("\n").filter(Boolean).map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]));
  }

  /**
   * systemctl reboot. With --keep-unit, systemd-nspawn exits with status 133
   * on a reboot and leaves the restart to its caller, as
   * systemd-nspawn@.service does with RestartForceExitStatus=133: boot again
   * over the same overlay, in the same network namespace, where the first
   * boot's kernel state is still present (a boot over leftovers).
   */
  async reboot(): Promise<void> {
    const child = this.child!;
    this.exec(["systemctl", "reboot"]);
    await waitFor(() => child.exitCode !== null || child.signalCode !== null, 60_000, 20);
    if (child.exitCode !== 133) throw new Error(`systemd-nspawn did not exit for a reboot (status ${child.exitCode}, signal ${child.signalCode}):\n${readText(this.console).slice(-3000)}`);
    await this.boot();
  }

  /** Power off in order (SIGTERM to nspawn); SIGKILL after the time given. */
  async poweroff(timeoutMs = 30_000): Promise<void> {
    const child = this.child;
    if (!child?.pid || child.exitCode !== null) return;
    try {
      process.kill(child.pid, "SIGTERM");
    } catch {
      return;
    }
    const end = Date.now() + timeoutMs;
    while (child.exitCode === null && child.signalCode === null && Date.now() < end) await sleep(50);
    if (child.exitCode === null && child.signalCode === null) this.topo.lab.stop(child);
    this.child = undefined;
  }
}
