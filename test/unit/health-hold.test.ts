// check.hold in the rendered event script and its library, driven as lsm
// drives them (uplink-event up|down NAME ...), with stubs for the commands
// that would change the kernel and the journal (test/helpers/event-host.ts).
import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { eventHost } from "../helpers/event-host.js";

const model = (hold: number) => `version: 1
uplinks:
  - name: fibre
    interface: eth1
    address: 198.51.100.2/24
    gateway: 198.51.100.1
    users: [1001]
    check:
      targets: [198.18.0.1]
      hold: ${hold}
  - name: cable
    interface: eth2
    address: 203.0.113.2/24
    gateway: 203.0.113.1
`;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The rendered script with stubs; the fibre uplink's marks of its state. */
function host(hold: number) {
  const h = eventHost(model(hold));
  return { ...h, marks: () => ["down", "rising"].filter((m) => existsSync(join(h.state, `fibre.${m}`))) };
}

/** Until the condition holds (event.d's executables run in the background), 6 s at most. */
async function until(what: () => boolean): Promise<boolean> {
  for (let i = 0; i < 120 && !what(); i++) await sleep(50);
  return what();
}

describe("check.hold: a down uplink is used again only after answering for its hold", () => {
  it("down at once; up only once its hold has passed, with one change each way", async () => {
    const h = host(2);
    h.event("down", "fibre", "198.18.0.1", "eth1");
    expect(h.marks()).toEqual(["down"]);
    expect(h.commands()).toContain("ip -4 rule add priority 4000 uidrange 1001-1001 goto 4002");
    expect(await until(() => h.changes().length === 1)).toBe(true);
    const t0 = Date.now();
    h.event("up", "fibre", "198.18.0.1", "eth1");
    expect(h.marks(), "answering, still out").toEqual(["down", "rising"]);
    expect(h.journal().at(-1)).toContain("fibre: probe targets answer through eth1 again; in use again after 2 s without a down");
    await sleep(300);
    expect(h.marks(), "half way through the hold").toEqual(["down", "rising"]);
    // a second up meanwhile (lsm reports every group again after a restart) does not start a second timer
    h.event("up", "fibre", "198.18.0.1", "eth1");
    expect(await until(() => h.marks().length === 0)).toBe(true);
    expect(Date.now() - t0, "not before its hold").toBeGreaterThanOrEqual(2000);
    expect(await until(() => h.changes().length === 2)).toBe(true);
    expect(h.changes()).toEqual(["fibre down eth1", "fibre up eth1"]);
    expect(h.commands()).toContain("ip -4 rule del priority 4000 uidrange 1001-1001 goto 4002");
  });

  it("a down within the hold calls it off: the uplink stays out, and a later hold counts from its own up", async () => {
    const h = host(2);
    h.event("down", "fibre");
    const t0 = Date.now();
    h.event("up", "fibre");
    await sleep(300);
    h.event("down", "fibre");
    expect(h.marks()).toEqual(["down"]);
    expect(h.journal().at(-1)).toContain("fibre: down again within its hold of 2 s; it stays out");
    await sleep(300);
    h.event("up", "fibre");
    // the first timer fires 2 s after the first up and must find its hold
    // called off; the second cannot fire before 2.6 s
    await sleep(Math.max(0, t0 + 2300 - Date.now()));
    expect(h.marks(), "the first hold's timer did not bring it back").toEqual(["down", "rising"]);
    expect(await until(() => h.marks().length === 0)).toBe(true);
    expect(await until(() => h.changes().length === 2)).toBe(true);
    expect(h.changes(), "one change each way").toEqual(["fibre down eth1", "fibre up eth1"]);
  });

  it("flapping: five drops within the hold make one change each way", async () => {
    const h = host(3);
    for (let i = 0; i < 5; i++) {
      h.event("down", "fibre");
      h.event("up", "fibre");
      await sleep(200);
    }
    expect(await until(() => h.marks().length === 0)).toBe(true);
    expect(await until(() => h.changes().length === 2)).toBe(true);
    expect(h.changes()).toEqual(["fibre down eth1", "fibre up eth1"]);
  });

  it("hold: 0 is up at once; health-reset ends a hold", async () => {
    const now = host(0);
    now.event("down", "fibre");
    now.event("up", "fibre");
    expect(now.marks()).toEqual([]);
    const reset = host(2);
    reset.event("down", "fibre");
    reset.event("up", "fibre");
    expect(reset.marks()).toEqual(["down", "rising"]);
    reset.event("health-reset");
    expect(reset.marks()).toEqual([]);
  });
});
