// gen-hooks apply under the real init, run by the release's own nodejs: a
// host installed with model A (as a package would) is moved to B (an uplink
// removed, one renamed, a pinned destination changed) by apply; the kernel
// must then equal a fresh boot with B. Apply of the same model changes
// nothing; changes that keep every link and address (weights, a selector,
// NAT) lose no packet and no TCP connection on ifupdown, and on networkd
// 257; an address change costs only its own uplink; a --try of a model
// that cuts the lab's path to the host is rolled back within the time given
// plus 2 s; --confirm keeps the change.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadModelFile } from "../../src/model/load.js";
import { validateModel } from "../../src/model/validate.js";
import { buildPlan } from "../../src/plan/plan.js";
import { labUnavailable, readText, waitFor } from "./lab.js";
import { echoSessions } from "./health-lab.js";
import { installBin, measured, MODELS, shownLosses } from "./apply-lab.js";
import { settle, withTopology } from "./stacks.js";
import { render, tally } from "./proofs.js";
import { addManagement, Container, MGMT } from "./boot.js";
import { hostState, planned, stateDiff } from "./boot-suite.js";
import { bootUnavailable, ensureRoot, selectedReleases, type Release } from "./releases.js";
import type { Topology } from "./topology.js";

const TRY_S = 5;

/** The changes made in place after B (each must lose nothing on ifupdown), between two changes of mode. */
const CHANGES = [
  { model: "d", what: "failover -> balance (cycles the uplinks)", hitless: false },
  { model: "e", what: "a weight changed", hitless: true },
  { model: "f", what: "a uid selector added", hitless: true },
  { model: "g", what: "masquerade -> snat", hitless: true },
  { model: "b", what: "balance -> failover (cycles the uplinks)", hitless: false },
];

/** The admin's SSH session stand-in: a TCP connection from the management network to the host's management address. */
const adminSession = (topo: Topology, dir: string) =>
  echoSessions(topo, { server: "host", client: "mgmt", to: MGMT.host.split("/")[0], port: 7022, froms: [MGMT.peer.split("/")[0]], dir })[0];


const nftOf = (topo: Topology) => topo.lab.run("host", ["nft", "list", "ruleset"]);

export async function applyProof(release: Release, root: string, stack: "ifupdown" | "networkd"): Promise<void> {
  const label = `apply/${stack}/Debian ${release.version}`;
  const load = (m: string) => validateModel(loadModelFile(join(MODELS, `${m}.yaml`)));
  const [a, b] = [load("a"), load("b")];
  const [planA, planB] = [buildPlan(a), buildPlan(b)];
  const dir = mkdtempSync(join(tmpdir(), "gh-boot-apply-"));
  const renderedA = render(`apply-a-${stack}`, join(MODELS, "a.yaml"), stack);
  const renderedB = render(`apply-b-${stack}`, join(MODELS, "b.yaml"), stack);
  try {
    const applied = await withTopology(a, async (topo) => {
      const { lab } = topo;
      addManagement(topo);
      const c = new Container(topo, release, root, stack, join(dir, "first"));
      c.install(renderedA);
      try {
        await c.boot();
        expect(await waitFor(() => planned(topo, planA), 60_000, 20), `${label}: model A after boot`).toBe(true);
        installBin(c);
        // the admin's SSH session stand-in: a TCP connection from the management
        // network to the management address (the admin's own configuration), which
        // must outlive every apply, try, rollback and confirmation below
        const admin = adminSession(topo, dir);
        // the release's own nodejs package runs it: Debian 12's 18.20, Debian 13's 20.19
        const nodeVersion = c.exec(["node", "--version"]).stdout.trim();
        expect(nodeVersion, `${label}: the release's node`).toMatch(release.version === 12 ? /^v18\.20\./ : /^v20\.19\./);
        tally.switches.push(`${label}: gen-hooks run by Debian ${release.version}'s nodejs ${nodeVersion}`);
        // as root at a shell: none of the test runner's environment
        const apply = (args: string[]) => ["env", "-i", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "node", "/usr/local/lib/gen-hooks/gen-hooks.cjs", "apply", ...args, ...(args.includes("--model") ? ["--stack", stack] : [])];
        const gh = (...args: string[]) => c.run(apply(args), 120_000);

        // A as a package installed it (its headers name another path): recorded, nothing run
        const stateA = hostState(topo);
        let r = await gh("--model", "/etc/gen-hooks/a.yaml");
        expect(r.status, `${label}: apply of the installed model\n${r.stdout}${r.stderr}`).toBe(0);
        expect(r.stdout.split("\n").filter((l) => l.startsWith("$ ")), `${label}: what apply of the installed model ran`).toEqual([]);
        expect(hostState(topo), `${label}: the state after apply of the installed model`).toBe(stateA);

        // The admin's own configuration for an interface of the model (a netplan
        // file in /run on networkd, a stanza of their own on ifupdown): check
        // warns, apply refuses, and nothing changes (files, kernel, links).
        const admins =
          stack === "networkd"
            ? { file: "/run/systemd/network/10-netplan-eth1.network", text: "[Match]\nName=eth1\n\n[Network]\nDHCP=ipv4\n", words: /10-netplan-eth1\.network selects eth1/ }
            : { file: "/etc/network/interfaces.d/admin", text: "auto eth1\niface eth1 inet dhcp\n", words: /interfaces\.d\/admin:2 defines eth1/ };
        mkdirSync(dirname(c.path(admins.file)), { recursive: true });
        writeFileSync(c.path(admins.file), admins.text);
        const etcBefore = c.exec(["sh", "-c", "find /etc/network /etc/systemd /etc/gen-hooks /etc/sysctl.d /etc/nftables.d -type f 2>/dev/null | sort | xargs md5sum"]).stdout;
        const checked = await c.run(["env", "-i", "PATH=/usr/local/bin:/usr/bin:/bin", "node", "/usr/local/lib/gen-hooks/gen-hooks.cjs", "check", "--model", "/etc/gen-hooks/b.yaml", "--stack", stack]);
        expect([checked.status, checked.stderr], `${label}: check names the admin's file`).toEqual([0, expect.stringMatching(admins.words)]);
        r = await gh("--model", "/etc/gen-hooks/b.yaml");
        expect([r.status, r.stdout, r.stderr], `${label}: apply refuses while the admin's file is in the way`).toEqual([2, expect.stringMatching(admins.words), expect.stringMatching(/in the way of the model .*nothing was changed/)]);
        expect(r.stdout.split("\n").filter((l) => l.startsWith("$ ")), `${label}: what the refused apply ran`).toEqual([]);
        expect(hostState(topo), `${label}: the kernel after the refused apply`).toBe(stateA);
        expect(c.exec(["sh", "-c", "find /etc/network /etc/systemd /etc/gen-hooks /etc/sysctl.d /etc/nftables.d -type f 2>/dev/null | sort | xargs md5sum"]).stdout, `${label}: the files after the refused apply`).toBe(etcBefore);
        rmSync(c.path(admins.file));

        // B: what it would do, then do it
        r = await gh("--model", "/etc/gen-hooks/b.yaml", "--dry-run");
        expect(r.status, `${label}: apply --dry-run\n${r.stderr}`).toBe(0);
        expect(r.stdout, `${label}: --dry-run names what it would run`).toMatch(/would change \d+ file\(s\)/);
        // eth1 (a pinned destination changed) and eth2 (its uplink renamed) keep their
        // links and addresses: on ifupdown they change in place, and a 50-per-second
        // ping to each address, answered through its own uplink, loses nothing
        mkdirSync(join(dir, "a-b"), { recursive: true });
        let applyMs = 0;
        const losses = await measured(topo, dir, "a-b", async () => {
          const t0 = Date.now();
          r = await gh("--model", "/etc/gen-hooks/b.yaml");
          applyMs = Date.now() - t0;
        });
        expect(r.status, `${label}: apply B\n${r.stdout}${r.stderr}`).toBe(0);
        if (stack === "ifupdown") expect(r.stdout, `${label}: apply B says what changed in place`).toMatch(/eth0, eth1, eth2 changed in place/);
        if (stack === "ifupdown" || release.version >= 13) {
          expect(losses.pings.map((l) => [l.to, l.lost]), `${label}: pings lost while apply B changed eth1 and eth2 in place (${shownLosses(losses)})`).toEqual([["198.51.100.2", 0], ["203.0.113.2", 0]]);
          expect(losses.tcp, `${label}: TCP connections through eth1 and eth2 during apply B`).toEqual([undefined, undefined]);
          expect(losses.pings.every((l) => l.sent > 200), `${label}: pings sent during apply B (${shownLosses(losses)})`).toBe(true);
        }
        tally.switches.push(`${label}: lost during apply A -> B (a pinned destination changed, an uplink renamed, one removed): ${shownLosses(losses)}`);
        const onB = { ...topo, model: b, plan: planB };
        expect(await settle(onB, () => planned(onB, planB), 30_000), `${label}: model B's rules and routes after apply\n${hostState(topo)}`).toBe(true);
        const stateB = hostState(topo);

        // the same model again: nothing changes, nothing is touched
        const log = join(dir, "monitor.log");
        const monitor = lab.spawn("host", ["ip", "monitor", "address", "route", "rule"], log);
        r = await gh("--model", "/etc/gen-hooks/b.yaml");
        lab.stop(monitor);
        expect([r.status, r.stdout.trim().split("\n").pop()], `${label}: apply of B again\n${r.stdout}`).toEqual([0, "gen-hooks: nothing to change"]);
        expect(readText(log).trim(), `${label}: what apply of B again changed in the kernel`).toBe("");

        // status, by the release's own node
        const status = await c.run(["env", "-i", "PATH=/usr/local/bin:/usr/bin:/bin", "node", "/usr/local/lib/gen-hooks/gen-hooks.cjs", "status", "--model", "/etc/gen-hooks/b.yaml", "--json"]);
        expect(status.status, `${label}: gen-hooks status on the host\n${status.stdout}${status.stderr}`).toBe(0);
        expect((JSON.parse(status.stdout) as { uplinks: { state: string }[] }).uplinks.map((u) => u.state), `${label}: status of B`).toEqual(["as planned", "as planned"]);

        // changes that keep every link and address: made in place on ifupdown, nothing lost
        for (const change of CHANGES) {
          mkdirSync(join(dir, change.model), { recursive: true });
          const lost = await measured(topo, dir, change.model, async () => {
            r = await gh("--model", `/etc/gen-hooks/${change.model}.yaml`);
          });
          expect(r.status, `${label}: apply ${change.model} (${change.what})\n${r.stdout}${r.stderr}`).toBe(0);
          if (stack === "ifupdown" && change.hitless)
            expect(r.stdout.split("\n").filter((l) => /^\$ if(up|down) /.test(l)), `${label}: ${change.what}: interfaces cycled`).toEqual([]);
          // networkd 252 (Debian 12) drops and adds again the routes of a link it reconfigures (a
          // packet or two, netplan apply the same: bench/hitless.ts); networkd 257 keeps them
          if (change.hitless && (stack === "ifupdown" || release.version >= 13)) {
            expect(lost.pings.map((l) => l.lost), `${label}: ${change.what}: pings lost (${shownLosses(lost)})`).toEqual([0, 0]);
            expect(lost.tcp, `${label}: ${change.what}: TCP connections through eth1 and eth2`).toEqual([undefined, undefined]);
          }
          const want = buildPlan(load(change.model));
          const onIt = { ...topo, model: load(change.model), plan: want };
          expect(await settle(onIt, () => planned(onIt, want), 30_000), `${label}: ${change.what}: the plan in the kernel\n${hostState(topo)}`).toBe(true);
          tally.switches.push(`${label}: lost during ${change.what}: ${shownLosses(lost)}`);
        }
        expect(await settle(onB, () => hostState(topo) === stateB, 30_000), `${label}: B's state after the changes in place and back\n${stateDiff(stateB, hostState(topo))}`).toBe(true);

        // a try that cuts the lab's path to fibre's address: rolled back unless confirmed,
        // even when the session that ran it dies (killed 2 s into its wait)
        const path = () => lab.ping("net", "198.51.100.2", { count: 1, waitS: 1 });
        expect(path(), `${label}: the lab reaches 198.51.100.2`).toBe(true);
        const dropped = c.run(["timeout", "-s", "KILL", "4", ...apply(["--model", "/etc/gen-hooks/c.yaml", "--try", String(TRY_S)])], 60_000);
        expect(await waitFor(() => !path(), 30_000, 50), `${label}: apply --try of C cuts the path (its session then dies)`).toBe(true);
        const droppedCut = Date.now();
        // timeout kills its whole process group, as a dropped SSH session's hangup would
        expect([137, -1], `${label}: the session of apply --try was killed`).toContain((await dropped).status);
        expect(await waitFor(path, (TRY_S + 10) * 1000, 50), `${label}: the path is back after the rollback of a dead session's try`).toBe(true);
        const droppedMs = Date.now() - droppedCut;
        expect(droppedMs, `${label}: a dead session's try rolled back within ${TRY_S} s + 2 s of the cut`).toBeLessThanOrEqual((TRY_S + 2) * 1000);
        expect(await settle(onB, () => hostState(topo) === stateB, 15_000), `${label}: B's state after the rollback of a dead session's try\n${stateDiff(stateB, hostState(topo))}`).toBe(true);

        // a session killed during the apply itself (its process group, as a hangup
        // would), the moment apply has started changing the host: rolled back too
        const midway = await c.run(["sh", "-c", `setsid ${apply(["--model", "/etc/gen-hooks/c.yaml", "--try", String(TRY_S)]).join(" ")} > /dev/null 2>&1 & p=$!; i=0; while [ $i -lt 3000 ] && [ ! -e /var/lib/gen-hooks/applying ]; do sleep 0.01; i=$((i + 1)); done; kill -9 -- -$p; [ $i -lt 3000 ]`], 60_000);
        expect(midway.status, `${label}: apply --try of C killed while it changes the host\n${midway.stderr}`).toBe(0);
        const midwayKilled = Date.now();
        expect(await settle(onB, () => hostState(topo) === stateB && path(), (TRY_S + 15) * 1000), `${label}: B's state after the rollback of a try killed mid-apply\n${stateDiff(stateB, hostState(topo))}`).toBe(true);
        const midwayMs = Date.now() - midwayKilled;
        expect(c.exec(["systemctl", "is-active", "gen-hooks-rollback.timer"]).stdout.trim(), `${label}: no rollback timer left after a try killed mid-apply`).not.toBe("active");

        const trying = gh("--model", "/etc/gen-hooks/c.yaml", "--try", String(TRY_S));
        expect(await waitFor(() => !path(), 30_000, 50), `${label}: apply --try of C cuts the path to 198.51.100.2`).toBe(true);
        const cut = Date.now();
        expect(await waitFor(path, (TRY_S + 10) * 1000, 50), `${label}: the path is back after the rollback`).toBe(true);
        const backMs = Date.now() - cut;
        expect(backMs, `${label}: rolled back within ${TRY_S} s + 2 s of the cut`).toBeLessThanOrEqual((TRY_S + 2) * 1000);
        r = await trying;
        expect([r.status, r.stderr.trim()], `${label}: apply --try's own report\n${r.stdout}`).toEqual([1, `gen-hooks: not confirmed within ${TRY_S} s: rolled back`]);
        expect(await settle(onB, () => hostState(topo) === stateB, 15_000), `${label}: B's state after the rollback\n${stateDiff(stateB, hostState(topo))}`).toBe(true);
        expect(c.journal(["-t", "gen-hooks", "-o", "cat"]), `${label}: the journal says it rolled back`).toMatch(/rolled back/);

        // a confirmed try stays; fibre's address changes: what goes is fibre's alone
        // (its old address answers no more, its connection from it ends), coax loses nothing
        mkdirSync(join(dir, "b-c"), { recursive: true });
        let confirmed = r;
        const renumbered = await measured(topo, dir, "b-c", async () => {
          const kept = gh("--model", "/etc/gen-hooks/c.yaml", "--try", "60");
          expect(await waitFor(() => !path(), 30_000, 50), `${label}: apply --try of C again`).toBe(true);
          r = await gh("--confirm");
          expect(r.status, `${label}: apply --confirm\n${r.stderr}`).toBe(0);
          confirmed = await kept;
        });
        if (stack === "ifupdown" || release.version >= 13) {
          expect(renumbered.pings[1].lost, `${label}: fibre renumbered: pings to coax lost (${shownLosses(renumbered)})`).toBe(0);
          expect(renumbered.tcp[1], `${label}: fibre renumbered: coax's TCP connection`).toBeUndefined();
        }
        tally.switches.push(`${label}: lost during fibre's address change (B -> C, confirmed --try): ${shownLosses(renumbered)}`);
        r = confirmed;
        expect([r.status, r.stdout.trim().split("\n").pop()], `${label}: the waiting apply --try, confirmed\n${r.stderr}`).toEqual([0, "gen-hooks: confirmed; the applied configuration stays"]);
        expect(c.exec(["systemctl", "is-active", "gen-hooks-rollback.timer"]).stdout.trim(), `${label}: no rollback timer left`).not.toBe("active");
        expect(lab.ping("net", "198.51.100.3", { count: 2, waitS: 2 }) && !path(), `${label}: C stays`).toBe(true);

        // and back to B, for the comparison with a fresh boot
        r = await gh("--model", "/etc/gen-hooks/b.yaml");
        expect(r.status, `${label}: apply B after C\n${r.stdout}${r.stderr}`).toBe(0);
        expect(await settle(onB, () => hostState(topo) === stateB, 30_000), `${label}: B's state after C\n${stateDiff(stateB, hostState(topo))}`).toBe(true);
        const adminEnd = admin.stop();
        expect(adminEnd, `${label}: the admin's session over ${MGMT.dev} through every apply, try, rollback and confirmation`).toBeUndefined();
        tally.switches.push(`${label}: the admin's TCP session over ${MGMT.dev} lived through ${admin.echoes()} echoes, 0 resets`);
        tally.switches.push(`${label}: A -> B applied in ${applyMs} ms (the apply command); an unconfirmed --try ${TRY_S} rolled back ${backMs} ms after it cut the path (${droppedMs} ms with its session killed; B again ${midwayMs} ms after a session killed mid-apply)`);
        return { state: stateB, nft: nftOf(topo) };
      } finally {
        await c.poweroff();
      }
    });

    // A fresh boot with B installed as a package: the same kernel state.
    await withTopology(b, async (topo) => {
      addManagement(topo);
      const c = new Container(topo, release, root, stack, join(dir, "fresh"));
      c.install(renderedB);
      try {
        await c.boot();
        expect(await waitFor(() => planned(topo, planB), 60_000, 20), `${label}: model B after a fresh boot`).toBe(true);
        expect(await settle(topo, () => hostState(topo) === applied.state, 15_000), `${label}: a fresh boot with B against A moved to B by apply\n${stateDiff(applied.state, hostState(topo))}`).toBe(true);
        expect(nftOf(topo), `${label}: the nft ruleset of a fresh boot with B against apply's`).toBe(applied.nft);
      } finally {
        await c.poweroff();
      }
    });
  } finally {
    for (const d of [dir, renderedA, renderedB]) rmSync(d, { recursive: true, force: true });
  }
}

/**
 * An uplink whose link is not there (a USB NIC not plugged in: this kernel
 * has no 8021q driver for a VLAN) fails neither a boot nor an apply, status
 * says absent, and the uplink comes into use when the link appears: by
 * networkd itself, or on ifupdown (hotplug: true, an allow-hotplug stanza)
 * by what udev's hotplug rule runs (the booted container has no udev).
 * Unplugging moves the host's end of the wire into the wire's namespace;
 * plugging moves it back, a new link for the host as a USB NIC is.
 */
export async function lateLinkProof(release: Release, root: string, stack: "ifupdown" | "networkd"): Promise<void> {
  const label = `late link/${stack}/Debian ${release.version}`;
  const load = (m: string) => validateModel(loadModelFile(join(MODELS, `${m}.yaml`)));
  const [a, b] = [load("h"), load("b")];
  const [planA, planB] = [buildPlan(a), buildPlan(b)];
  const dir = mkdtempSync(join(tmpdir(), "gh-boot-late-"));
  const renderedA = render(`late-h-${stack}`, join(MODELS, "h.yaml"), stack);
  const late = "eth3";
  try {
    await withTopology(a, async (topo) => {
      const { lab } = topo;
      addManagement(topo);
      const wire = topo.wire.get(late)!;
      const c = new Container(topo, release, root, stack, join(dir, "boot"));
      let booted = false;
      const unplug = () => {
        lab.run("host", ["ip", "link", "set", late, "netns", lab.ns(wire.role)]);
        // what systemd runs when the device of an allow-hotplug link goes (ifup@IF.service's ExecStop=)
        if (stack === "ifupdown" && booted) c.exec(["ifdown", late]);
      };
      const plug = () => {
        lab.run(wire.role, ["ip", "link", "set", late, "netns", lab.ns("host")]);
        // what udev's ifupdown-hotplug starts for an allow-hotplug link (ifup@IF.service's command):
        // the container has no udev
        if (stack === "ifupdown") expect(c.exec(["ifup", "--allow=hotplug", late]).status, `${label}: ifup --allow=hotplug ${late} once it is there`).toBe(0);
      };
      const status = async (m: string) => {
        const r = await c.run(["env", "-i", "PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin", "node", "/usr/local/lib/gen-hooks/gen-hooks.cjs", "status", "--model", `/etc/gen-hooks/${m}.yaml`, "--json"]);
        return { status: r.status, uplinks: Object.fromEntries(((JSON.parse(r.stdout || "{}") as { uplinks?: { name: string; link: string; state: string }[] }).uplinks ?? []).map((u) => [u.name, `${u.link} ${u.state}`])) };
      };
      unplug();
      c.install(renderedA);
      try {
        // a boot with lte's link missing: no unit fails, the others as planned, status says absent
        await c.boot();
        booted = true;
        const system = await c.systemState();
        expect(system, `${label}: the boot with ${late} missing`).toEqual({ state: "running", failed: [] });
        installBin(c);
        let st = await status("h");
        expect(st, `${label}: status with ${late} missing`).toEqual({ status: 1, uplinks: { fibre: "up as planned", cable: "up as planned", lte: "absent down" } });
        plug();
        expect(await waitFor(() => planned(topo, planA), 30_000, 50), `${label}: lte in use once ${late} is plugged in\n${hostState(topo)}`).toBe(true);
        st = await status("h");
        expect(st.status, `${label}: status once ${late} is there: ${JSON.stringify(st)}`).toBe(0);

        // applies with the link missing: B takes lte away, A brings it back; both succeed and say so
        const gh = (m: string) => c.run(["env", "-i", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "node", "/usr/local/lib/gen-hooks/gen-hooks.cjs", "apply", "--model", `/etc/gen-hooks/${m}.yaml`, "--stack", stack], 120_000);
        // the installed model applied first, as on a host adopting gen-hooks: recorded, nothing run
        let r = await gh("h");
        expect([r.status, r.stdout.split("\n").filter((l) => l.startsWith("$ "))], `${label}: apply of the installed model\n${r.stdout}${r.stderr}`).toEqual([0, []]);
        unplug();
        r = await gh("b");
        expect(r.status, `${label}: apply B with ${late} missing\n${r.stdout}${r.stderr}`).toBe(0);
        const onB = { ...topo, model: b, plan: planB };
        expect(await settle(onB, () => planned(onB, planB), 30_000), `${label}: B with ${late} missing\n${hostState(topo)}`).toBe(true);
        r = await gh("h");
        expect(r.status, `${label}: apply H with ${late} missing\n${r.stdout}${r.stderr}`).toBe(0);
        expect(r.stdout, `${label}: apply H names the missing link`).toContain(`${late} is not on this host now`);
        plug();
        expect(await waitFor(() => planned(topo, planA), 30_000, 50), `${label}: lte in use once ${late} is plugged in after apply\n${hostState(topo)}`).toBe(true);
        tally.switches.push(`${label}: boot and two applies with ${late} missing: no unit failed, status said absent, lte in use once plugged in`);
      } finally {
        await c.poweroff();
      }
    });
  } finally {
    for (const d of [dir, renderedA]) rmSync(d, { recursive: true, force: true });
  }
}

/** The apply proof for one release, on both stacks; skipped like the rest of the booted lab. */
export function applySuite(codename: Release["codename"]): void {
  const unavailable = labUnavailable() ?? bootUnavailable();
  if (unavailable && process.env.CI === "true") throw new Error(`booted-lab tests cannot run under CI: ${unavailable}`);
  const release = selectedReleases().find((r) => r.codename === codename);
  const skip = unavailable ?? (release ? undefined : `GEN_HOOKS_RELEASES=${process.env.GEN_HOOKS_RELEASES} leaves ${codename} out`);
  let root = "";
  beforeAll(async () => {
    if (!skip) root = await ensureRoot(release!);
  }, 20 * 60_000);
  afterAll(() => {
    if (!skip && tally.switches.length) console.log(`gen-hooks apply under the real init:\n  ${tally.switches.join("\n  ")}`);
  });
  describe.skipIf(!!skip)(`gen-hooks apply under the real init of Debian ${release?.version ?? codename} (${codename})`, () => {
    for (const stack of ["ifupdown", "networkd"] as const) it(`A -> B, again, --try, --confirm: ${stack}`, () => applyProof(release!, root, stack), 300_000);
    for (const stack of ["ifupdown", "networkd"] as const) it(`a link plugged in after the boot and the apply: ${stack}`, () => lateLinkProof(release!, root, stack), 180_000);
  });
}
