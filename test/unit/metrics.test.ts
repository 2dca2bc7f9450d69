// The uplinks' metrics for node_exporter's textfile collector, written by the
// rendered event script after every command it handles (and by
// "uplink-event metrics", which gen-hooks-metrics.service runs on every link
// change), driven with stubs (test/helpers/event-host.ts).
import { existsSync, readdirSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { eventHost } from "../helpers/event-host.js";

const MODEL = `version: 1
uplinks:
  - name: fibre
    interface: eth1
    address: 198.51.100.2/24
    gateway: 198.51.100.1
    check:
      targets: [198.18.0.1]
      hold: 0
  - name: cable
    interface: eth2
    address: dhcp
`;

const CARRIER = "2: eth1: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP mode DEFAULT group default qlen 1000";
const NO_CARRIER = "3: eth2: <NO-CARRIER,BROADCAST,MULTICAST,UP> mtu 1500 qdisc noqueue state DOWN mode DEFAULT group default qlen 1000";

/** The metrics file's samples: name{labels} -> value. */
function samples(text: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of text.split("\n").filter((l) => l && !l.startsWith("#"))) {
    const [key, value] = line.split(" ");
    m.set(key, value);
  }
  return m;
}

function host() {
  const h = eventHost(MODEL, { collector: true });
  return { ...h, folder: join(h.dir, "node-exporter"), metrics: () => samples(h.read("node-exporter/gen-hooks.prom")) };
}

describe("metrics: each uplink up or not, its changes and when, for node_exporter", () => {
  it("up needs carrier, an address (a lease, if it leases) and a health check that does not hold it out", () => {
    const h = host();
    h.link("eth1", CARRIER);
    h.link("eth2", NO_CARRIER);
    const t0 = Math.floor(Date.now() / 1000);
    h.event("metrics");
    let m = h.metrics();
    expect(m.get('gen_hooks_uplink_up{uplink="fibre",interface="eth1"}')).toBe("1");
    expect(m.get('gen_hooks_uplink_up{uplink="cable",interface="eth2"}')).toBe("0");
    expect(m.get('gen_hooks_uplink_changes_total{uplink="fibre"}')).toBe("0");
    const since = Number(m.get('gen_hooks_uplink_last_change_seconds{uplink="cable"}'));
    expect(since).toBeGreaterThanOrEqual(t0);
    expect(since).toBeLessThanOrEqual(t0 + 5);

    // carrier without a lease is not up; the lease makes it up
    h.link("eth2", CARRIER.replace("2: eth1", "3: eth2"));
    h.event("metrics");
    expect(h.metrics().get('gen_hooks_uplink_up{uplink="cable",interface="eth2"}')).toBe("0");
    h.event("lease", "eth2", "100.64.1.10", "24", "100.64.1.1");
    m = h.metrics();
    expect(m.get('gen_hooks_uplink_up{uplink="cable",interface="eth2"}')).toBe("1");
    expect(m.get('gen_hooks_uplink_changes_total{uplink="cable"}')).toBe("1");

    // the probes find fibre dead: out, though its link is fine
    h.event("down", "fibre", "198.18.0.1", "eth1");
    expect(h.metrics().get('gen_hooks_uplink_up{uplink="fibre",interface="eth1"}')).toBe("0");
    h.event("up", "fibre", "198.18.0.1", "eth1");
    m = h.metrics();
    expect(m.get('gen_hooks_uplink_up{uplink="fibre",interface="eth1"}')).toBe("1");
    expect(m.get('gen_hooks_uplink_changes_total{uplink="fibre"}')).toBe("2");

    // the lease goes, then the carrier; a command that changes nothing counts nothing
    h.event("lost", "eth2");
    h.link("eth2", NO_CARRIER);
    h.event("metrics");
    h.event("metrics");
    m = h.metrics();
    expect(m.get('gen_hooks_uplink_up{uplink="cable",interface="eth2"}')).toBe("0");
    expect(m.get('gen_hooks_uplink_changes_total{uplink="cable"}')).toBe("2");
  });

  it("the file is Prometheus' text format, whole, with no temporary file left beside it", () => {
    const h = host();
    h.link("eth1", CARRIER);
    h.event("metrics");
    const text = h.read("node-exporter/gen-hooks.prom");
    const lines = text.trimEnd().split("\n");
    for (const name of ["gen_hooks_uplink_up", "gen_hooks_uplink_changes_total", "gen_hooks_uplink_last_change_seconds"]) {
      const type = lines.findIndex((l) => l.startsWith(`# TYPE ${name} `));
      expect(type, name).toBeGreaterThan(0);
      expect(lines[type - 1]).toMatch(new RegExp(`^# HELP ${name} \\S`));
      // every sample of a metric follows its TYPE line, one per uplink
      expect(lines.slice(type + 1, type + 3).every((l) => l.startsWith(`${name}{uplink="`))).toBe(true);
    }
    for (const l of lines.filter((l) => !l.startsWith("#"))) expect(l).toMatch(/^[a-z_]+\{uplink="[a-z]+"(,interface="[a-z0-9]+")?\} \d+$/);
    expect(lines).toHaveLength(3 * 2 + 3 * 2);
    expect(readdirSync(h.folder)).toEqual(["gen-hooks.prom"]);
  });

  // Prometheus' own linter (package prometheus; CI installs it, elsewhere the test says why it did not run)
  const promtool = spawnSync("promtool", ["--version"]).status === 0;
  (promtool || process.env.CI === "true" ? it : it.skip)("promtool check metrics accepts the file, and finds fault with a broken one", () => {
    const h = host();
    h.link("eth1", CARRIER);
    h.event("lease", "eth2", "100.64.1.10", "24", "100.64.1.1");
    h.event("down", "fibre");
    const text = h.read("node-exporter/gen-hooks.prom");
    const check = (input: string) => spawnSync("promtool", ["check", "metrics"], { input, encoding: "utf8", timeout: 10_000 });
    const r = check(text);
    expect([r.status, r.stdout + r.stderr], text).toEqual([0, ""]);
    // the linter is not a yes-sayer: a counter without _total is a finding
    expect(check(text.replaceAll("gen_hooks_uplink_changes_total", "gen_hooks_uplink_changes")).status).not.toBe(0);
  });

  it("nothing is written while the collector's folder does not exist", () => {
    const h = eventHost(MODEL);
    h.event("metrics");
    expect(existsSync(join(h.dir, "node-exporter"))).toBe(false);
    // the states are kept all the same, so the counts are right once it exists
    expect(existsSync(join(h.state, "fibre.metric"))).toBe(true);
  });
});
