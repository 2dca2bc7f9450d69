// Apply rendered files with the real programs inside the lab's host namespace.
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { spawnSync, type ChildProcess } from "node:child_process";
import { buildTopology, type Topology } from "./topology.js";
import { Lab, readText, waitFor } from "./lab.js";
import type { Model } from "../../src/model/types.js";
import { METRICS_FILE } from "../../src/plan/metrics.js";

const METRICS_DIR = METRICS_FILE.slice(0, METRICS_FILE.lastIndexOf("/"));

export const SYSCTL_FILE = "etc/sysctl.d/60-gen-hooks.conf";
export const NFT_FILE = "etc/nftables.d/gen-hooks.nft";

/**
 * A fresh lab around the model's host with the rendered sysctl and nft files
 * loaded; fn gets the topology; the lab is destroyed whatever happens.
 */
export function withHost<T>(model: Model, root: string, fn: (topo: Topology) => Promise<T> | T): Promise<T> {
  return withTopology(model, (topo) => {
    applyKernelFiles(topo, root);
    return fn(topo);
  });
}

/** A fresh lab around the model's host, nothing applied; destroyed whatever happens. */
export async function withTopology<T>(model: Model, fn: (topo: Topology) => Promise<T> | T): Promise<T> {
  const lab = new Lab();
  try {
    return await fn(buildTopology(lab, model));
  } finally {
    lab.destroy();
  }
}

/** sysctl -p and nft -f of the rendered files, in the host namespace. */
export function applyKernelFiles(topo: Topology, root: string): void {
  topo.lab.run("host", ["sysctl", "-q", "-p", join(root, SYSCTL_FILE)]);
  topo.lab.run("host", ["nft", "-f", join(root, NFT_FILE)]);
}

/**
 * argv run in a private mount namespace where the rendered tree lies over
 * /etc (an overlay; the machine's /etc is untouched), so that files refer to
 * each other by their install paths, as on a real host.
 */
export function inRenderedEtc(root: string, argv: string[], before = ""): string[] {
  const quoted = argv.map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(" ");
  // the event script's metrics stay in this mount namespace, should this machine run node_exporter
  const metrics = `{ [ ! -d ${METRICS_DIR} ] || mount -t tmpfs tmpfs ${METRICS_DIR}; } && `;
  return ["unshare", "-m", "--propagation", "private", "sh", "-c", `mount -t overlay overlay -o lowerdir=${join(root, "etc")}:/etc /etc && ${metrics}${before}exec ${quoted}`];
}

export const KILL_UNIT_FILE = "etc/systemd/system/gen-hooks-killswitch.service";

/** What systemd does with gen-hooks-killswitch.service (when rendered): its ExecStart= (on) or ExecStop= (off) lines. */
export function killSwitch(topo: Topology, root: string, state: "on" | "off"): void {
  const file = join(root, KILL_UNIT_FILE);
  if (!existsSync(file)) return;
  const key = state === "on" ? "ExecStart" : "ExecStop";
  for (const m of readText(file).matchAll(new RegExp(`^${key}=(.+)$`, "gm"))) topo.lab.run("host", inRenderedEtc(root, ["sh", "-c", m[1]]));
}

export class Ifupdown {
  readonly stateDir: string;
  constructor(
    private readonly topo: Topology,
    private readonly root: string,
  ) {
    this.stateDir = join(root, "ifupdown-state");
    mkdirSync(this.stateDir, { recursive: true });
  }

  private ifupdown(cmd: "ifup" | "ifdown", targets: string[]) {
    return this.topo.lab.tryRun("host", inRenderedEtc(this.root, [cmd, ...targets, "-i", "/etc/network/interfaces", "--state-dir", this.stateDir]), { timeoutMs: 60_000 });
  }
  up(targets = ["-a"]) {
    return this.ifupdown("ifup", targets);
  }
  down(targets = ["-a"]) {
    return this.ifupdown("ifdown", targets);
  }
  /** Forget what ifupdown knew, as after an unclean stop. */
  loseState(): void {
    this.topo.lab.run("host", ["sh", "-c", `rm -rf ${this.stateDir}/*`]);
  }
}

/**
 * systemd-networkd in a private mount namespace: tmpfs on /run/systemd and
 * /etc/systemd, the rendered folders bind-mounted in place, /sys read-only so
 * that it does not wait for udev.
 */
export class Networkd {
  private child?: ChildProcess;
  readonly log: string;
  private readonly script: string;

  constructor(
    private readonly topo: Topology,
    private readonly root: string,
  ) {
    this.log = join(root, "networkd.log");
    this.script = join(root, "networkd.sh");
    writeFileSync(
      this.script,
      [
        "set -e",
        "mount -t tmpfs tmpfs /run/systemd",
        "mkdir -p /run/systemd/netif",
        "chown systemd-network: /run/systemd/netif 2>/dev/null || true",
        `mount -t overlay overlay -o lowerdir=${join(root, "etc")}:/etc /etc`,
        "mount -t tmpfs tmpfs /etc/systemd",
        "mkdir -p /etc/systemd/network /etc/systemd/networkd.conf.d",
        `mount --bind ${join(root, "etc/systemd/network")} /etc/systemd/network`,
        `mount --bind ${join(root, "etc/systemd/networkd.conf.d")} /etc/systemd/networkd.conf.d`,
        "mount -o remount,ro /sys",
        "export SYSTEMD_LOG_LEVEL=info",
        "exec /lib/systemd/systemd-networkd",
      ].join("\n") + "\n",
    );
  }

  start(): void {
    this.child = this.topo.lab.spawn("host", ["unshare", "-m", "--propagation", "private", "sh", this.script], this.log);
  }

  stop(): void {
    if (this.child) {
      this.runUnits("ExecStop"); // PartOf=systemd-networkd.service: stopped with it
      this.topo.lab.stop(this.child);
    }
    this.child = undefined;
  }

  /** The services the rendered drop-in makes systemd-networkd.service want. */
  units(): string[] {
    const dropIn = readText(join(this.root, "etc/systemd/system/systemd-networkd.service.d/gen-hooks.conf"));
    return [...dropIn.matchAll(/^Wants=(.+)$/gm)].map((m) => m[1]);
  }

  /**
   * Do what systemd does with those services (Type=oneshot, After= and
   * PartOf=systemd-networkd.service): their ExecStart= lines in order, or
   * their ExecStop= lines, inside networkd's namespaces so that
   * systemd-networkd-wait-online sees its state. Returns the failures.
   */
  runUnits(which: "ExecStart" | "ExecStop"): string[] {
    const failures: string[] = [];
    if (!this.child?.pid) return ["networkd is not running"];
    for (const unit of this.units()) {
      const text = readText(join(this.root, "etc/systemd/system", unit));
      for (const m of text.matchAll(new RegExp(`^${which}=(.+)$`, "gm"))) {
        const r = spawnSync("nsenter", ["-t", String(this.child.pid), "-m", "-n", "sh", "-c", m[1]], { encoding: "utf8", timeout: 60_000 });
        if (r.status !== 0) failures.push(`${unit}: ${m[1]}: exit ${r.status}: ${r.stderr}`);
      }
    }
    return failures;
  }

  running(): boolean {
    return this.child !== undefined && this.child.exitCode === null;
  }

  logText(): string {
    return readText(this.log);
  }

  /** Lines where networkd says it skipped a setting or failed. */
  complaints(): string[] {
    return networkdComplaints(this.logText());
  }
}

/** Lines of a networkd log where it skipped a setting ("..., ignoring") or failed. */
export function networkdComplaints(log: string): string[] {
  return log.split("\n").filter((l) => /ignoring|Failed|failed|Invalid|invalid|Unknown/.test(l));
}

/**
 * The admin's /etc/network/interfaces in a rendered root, which gen-hooks
 * never writes. It reads gen-hooks's drop-in by name: through the overlay
 * over this machine's /etc (inRenderedEtc), a glob would also read the
 * machine's own drop-ins.
 */
export function writeAdminInterfaces(root: string): void {
  writeFileSync(join(root, "etc/network/interfaces"), "source /etc/network/interfaces.d/gen-hooks\n");
}

/** Wait until the host's rules and routes stop changing (and cond holds). */
export function settle(topo: Topology, cond: () => boolean, timeoutMs = 15_000): Promise<boolean> {
  let last = "";
  let stable = 0;
  return waitFor(() => {
    const now = topo.lab.snapshot("host");
    stable = now === last ? stable + 1 : 0;
    last = now;
    return stable >= 2 && cond();
  }, timeoutMs, 250);
}


/**
 * ifplugd, one process per watched interface as Debian's init script starts
 * it, with the rendered INTERFACES and ARGS; its action script runs ifup or
 * ifdown on the rendered interfaces file. A tmpfs on /run keeps its pid files
 * apart from any other ifplugd.
 */
export class Ifplugd {
  readonly log: string;
  readonly actionLog: string;
  private readonly action: string;
  private readonly children: ChildProcess[] = [];
  readonly interfaces: string[];
  readonly args: string[];

  constructor(
    private readonly topo: Topology,
    private readonly root: string,
    ifupdown: Ifupdown,
  ) {
    this.log = join(root, "ifplugd.log");
    this.actionLog = join(root, "ifplugd-action.log");
    this.action = join(root, "ifplugd.action");
    const defaults = join(root, "etc/default/ifplugd");
    const vars = topo.lab.run("host", ["sh", "-c", `. ${defaults}; printf '%s\\n%s\\n' "$INTERFACES" "$ARGS"`]).split("\n");
    this.interfaces = vars[0].split(/\s+/).filter(Boolean);
    this.args = vars[1].split(/\s+/).filter(Boolean);
    const ifupdownArgs = `-i /etc/network/interfaces --state-dir ${ifupdown.stateDir}`;
    writeFileSync(
      this.action,
      `#!/bin/sh
echo "$(date +%s%3N) $1 $2" >> ${this.actionLog}
case "$2" in
  up) exec ifup "$1" ${ifupdownArgs} ;;
  down) exec ifdown "$1" ${ifupdownArgs} ;;
esac
`,
      { mode: 0o755 },
    );
  }

  start(): void {
    for (const iface of this.interfaces) {
      this.children.push(this.topo.lab.spawn("host", inRenderedEtc(this.root, ["ifplugd", "-n", "-s", "-i", iface, ...this.args, "-r", this.action], "mount -t tmpfs tmpfs /run && "), this.log));
    }
  }

  stop(): void {
    for (const c of this.children.splice(0)) this.topo.lab.stop(c);
  }

  actions(): string[] {
    return readText(this.actionLog).split("\n").filter(Boolean);
  }
}
