// Debian release roots for the booted lab: a minimal debootstrap of each
// release with the stacks' packages, built once per machine and cached. A
// root is never booted directly: each boot lays an overlay over it, so the
// cached root stays pristine.
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { missingTool, readText } from "./lab.js";
import { processAlive } from "../helpers/process.js";

export interface Release {
  codename: "bookworm" | "trixie";
  version: number;
  packages: string[];
}

/** ifplugd is gone from Debian 13: a root has it when its packages do. */
export const hasIfplugd = (r: Release): boolean => r.packages.includes("ifplugd");

// netbase: /etc/protocols, without which lsm finds no "icmp" and never probes
// nodejs: the release's own, which runs gen-hooks apply and status on the host, with
// ca-certificates, which it recommends (without it node warns on every start)
// prometheus-node-exporter: its textfile collector serves the event script's metrics
const common = ["systemd", "dbus", "ifupdown", "iproute2", "nftables", "iputils-ping", "procps", "conntrack", "dnsmasq-base", "ppp", "netbase", "nodejs", "ca-certificates", "prometheus-node-exporter"];

export const RELEASES: Release[] = [
  // Debian 12 as shipped: dhclient is ifupdown's DHCP client; ifplugd exists.
  { codename: "bookworm", version: 12, packages: [...common, "isc-dhcp-client", "ifplugd", "lsm"] },
  // Debian 13: dhcpcd. isc-dhcp-client stays out: ifupdown would still prefer it. lsm is foolsm now.
  { codename: "trixie", version: 13, packages: [...common, "dhcpcd-base", "foolsm"] },
];

/** The releases this run boots: GEN_HOOKS_RELEASES=trixie (or 13) limits it. */
export function selectedReleases(env = process.env.GEN_HOOKS_RELEASES): Release[] {
  if (!env) return RELEASES;
  const wanted = env.split(/[\s,]+/).filter(Boolean);
  const picked = RELEASES.filter((r) => wanted.includes(r.codename) || wanted.includes(String(r.version)));
  const unknown = wanted.filter((w) => !RELEASES.some((r) => r.codename === w || String(r.version) === w));
  if (unknown.length) throw new Error(`GEN_HOOKS_RELEASES: unknown release ${unknown.join(", ")}; known: ${RELEASES.map((r) => `${r.codename} (${r.version})`).join(", ")}`);
  return picked;
}

export const cacheDir = () => process.env.GEN_HOOKS_LAB_CACHE ?? "/var/cache/gen-hooks-lab";
const mirror = () => process.env.GEN_HOOKS_MIRROR ?? "http://deb.debian.org/debian";

// Units that cannot work in a container, or only add noise to its boot.
const MASKED = ["systemd-modules-load.service", "console-getty.service", "apt-daily.timer", "apt-daily-upgrade.timer", "dpkg-db-backup.timer", "e2scrub_reap.service"];

/** The cached root's folder: its name changes when the package list or its preparation does. */
export function rootPath(r: Release): string {
  const key = createHash("sha256").update(JSON.stringify([r.codename, r.packages, MASKED])).digest("hex").slice(0, 10);
  return join(cacheDir(), `${r.codename}-${key}`);
}

function run(argv: string[], what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0], argv.slice(1), { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d) => (out = (out + d).slice(-4000)));
    child.stderr.on("data", (d) => (out = (out + d).slice(-4000)));
    const timer = setTimeout(() => child.kill("SIGKILL"), 15 * 60_000);
    child.on("close", (code) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else reject(new Error(`${what}: ${argv.join(" ")} exited ${code}: ${out.trim().slice(-2000)}`));
    });
  });
}

/**
 * The release's root, built with debootstrap when missing. Built under a
 * temporary name and renamed when complete, so an interrupted build is never
 * taken for a root.
 */
export async function ensureRoot(r: Release): Promise<string> {
  const root = rootPath(r);
  if (existsSync(join(root, "etc/os-release"))) return root;
  mkdirSync(cacheDir(), { recursive: true });
  // Two test files boot each release: one builds, the other waits for it.
  const lock = `${root}.lock`;
  const deadline = Date.now() + 20 * 60_000;
  for (;;) {
    if (existsSync(join(root, "etc/os-release"))) return root;
    try {
      mkdirSync(lock);
      writeFileSync(join(lock, "pid"), String(process.pid));
      break;
    } catch {
      const holder = Number(readText(join(lock, "pid")));
      if (holder && !processAlive(holder)) rmSync(lock, { recursive: true, force: true }); // its builder died
      else if (Date.now() > deadline) throw new Error(`${lock}: another build of ${r.codename} did not finish in 20 minutes`);
      else await new Promise((res) => setTimeout(res, 1000));
    }
  }
  try {
    return await buildRoot(r, root);
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}


async function buildRoot(r: Release, root: string): Promise<string> {
  if (existsSync(join(root, "etc/os-release"))) return root;
  const tmp = `${root}.build-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  try {
    await run(["debootstrap", "--variant=minbase", `--include=${r.packages.join(",")}`, r.codename, tmp, mirror()], `debootstrap ${r.codename}`);
    await run(["systemctl", `--root=${tmp}`, "mask", ...MASKED], "masking units that cannot run in a container");
    // No stack runs unless a test enables it.
    await run(["systemctl", `--root=${tmp}`, "disable", "networking.service", "systemd-networkd.service"], "disabling the stacks");
    rmSync(join(tmp, "var/cache/apt/archives"), { recursive: true, force: true });
    mkdirSync(join(tmp, "var/cache/apt/archives/partial"), { recursive: true });
    try {
      renameSync(tmp, root);
    } catch (e) {
      if (!existsSync(join(root, "etc/os-release"))) throw e; // another run finished first
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return root;
}

/** Why release roots cannot be built or booted here, or undefined. */
export function bootUnavailable(): string | undefined {
  return missingTool(["debootstrap", "systemd-nspawn", "nsenter", "unshare"]);
}
