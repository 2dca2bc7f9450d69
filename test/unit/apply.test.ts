// apply's bookkeeping with a stand-in for the host's commands: a failing
// command leaves the previous files and plan; a rollback puts them back.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadModelFile } from "../../src/model/load.js";
import { validateModel } from "../../src/model/validate.js";
import { buildPlan } from "../../src/plan/plan.js";
import { apply, readApplied, rollback, type ApplyIo } from "../../src/host/apply.js";
import { readTree } from "../helpers/tree.js";
import { tempFolders } from "../helpers/tmp.js";

const model = (m: string) => `test/e2e/apply/${m}.yaml`;
const plan = (m: string) => buildPlan(validateModel(loadModelFile(model(m))));
const tmp = tempFolders("apply");

/** A host that records the commands and fails the one given, the first time (or every time). */
function host(fail?: string, always = false): ApplyIo & { ran: string[] } {
  const ran: string[] = [];
  return {
    ran,
    out: () => {},
    run: (argv) => {
      const failing = argv.join(" ") === fail && (always || !ran.includes(fail));
      ran.push(argv.join(" "));
      return failing ? { status: 1, stdout: "", stderr: "RTNETLINK answers: no" } : { status: 0, stdout: "", stderr: "" };
    },
  };
}

const files = (root: string) => new Map([...readTree(root)].filter(([p]) => !p.startsWith("var/lib/gen-hooks")));

describe("apply", () => {
  it("records the plan; the same model again runs nothing", () => {
    const root = tmp();
    const io = host();
    expect(apply({ root, modelPath: model("a"), plan: plan("a"), stack: "ifupdown", dryRun: false }, io)).toBe(true);
    expect(readApplied(root)?.plan.uplinks.map((u) => u.name)).toEqual(["fibre", "cable", "lte"]);
    const again = host();
    expect(apply({ root, modelPath: model("a"), plan: plan("a"), stack: "ifupdown", dryRun: false }, again)).toBe(false);
    expect(again.ran).toEqual([]);
  });

  it("a failing command: the previous files and plan are back, and the host is moved back to them", () => {
    const root = tmp();
    apply({ root, modelPath: model("b"), plan: plan("b"), stack: "ifupdown", dryRun: false }, host());
    const before = files(root);
    const io = host("ifup eth1");
    expect(() => apply({ root, modelPath: model("c"), plan: plan("c"), stack: "ifupdown", dryRun: false }, io)).toThrow(/ifup eth1 failed: RTNETLINK answers: no; the previous configuration is back/);
    expect(files(root), "the files of B").toEqual(before);
    expect(readApplied(root)?.model).toBe(model("b"));
    // C's eth1 went down with B's stanza, failed to come up with C's, and came back with B's
    expect(io.ran.filter((c) => /^if(up|down)/.test(c))).toEqual(["ifdown eth1", "ifup eth1", "ifdown eth1", "ifup eth1"]);
    // and when even that fails, it says so
    expect(() => apply({ root, modelPath: model("c"), plan: plan("c"), stack: "ifupdown", dryRun: false }, host("ifup eth1", true))).toThrow(/putting the previous configuration back failed too/);
  });

  it("--try's rollback is armed after the previous files are kept and before the first change; if it cannot be, nothing changes", () => {
    const root = tmp();
    apply({ root, modelPath: model("b"), plan: plan("b"), stack: "ifupdown", dryRun: false }, host());
    const before = files(root);
    const io = host();
    let ranAtArming: string[] | undefined;
    apply({ root, modelPath: model("c"), plan: plan("c"), stack: "ifupdown", dryRun: false }, io, () => {
      expect(readTree(root).has("var/lib/gen-hooks/previous/absent.json")).toBe(true);
      ranAtArming = [...io.ran];
    });
    expect(ranAtArming).toEqual([]);
    expect(io.ran.length).toBeGreaterThan(0);
    rollback(root, host());
    const refused = host();
    expect(() => apply({ root, modelPath: model("c"), plan: plan("c"), stack: "ifupdown", dryRun: false }, refused, () => { throw new Error("systemd-run: no"); })).toThrow("systemd-run: no");
    expect(refused.ran).toEqual([]);
    expect(files(root)).toEqual(before);
    expect(readTree(root).has("var/lib/gen-hooks/previous/absent.json")).toBe(false);
  });

  it("an apply whose session died half way (interfaces down, no file installed) is rolled back with its interfaces up again", () => {
    const root = tmp();
    apply({ root, modelPath: model("b"), plan: plan("b"), stack: "ifupdown", dryRun: false }, host());
    const before = files(root);
    const dying: ApplyIo & { ran: string[] } = {
      ...host(),
      run(argv) {
        this.ran.push(argv.join(" "));
        if (argv[0] === "ifdown") throw new Error("killed"); // the process dies during its first change
        return { status: 0, stdout: "", stderr: "" };
      },
    };
    expect(() => apply({ root, modelPath: model("c"), plan: plan("c"), stack: "ifupdown", dryRun: false }, dying, () => {})).toThrow("killed");
    expect(dying.ran).toEqual(["ifdown eth1"]);
    const io = host();
    rollback(root, io);
    expect(files(root)).toEqual(before);
    expect(io.ran).toEqual(["ifup eth1"]);
  });

  it("refuses while the admin's ifupdown files are in the way (nothing changed); --dry-run says so", () => {
    const root = tmp();
    mkdirSync(join(root, "etc/network"), { recursive: true });
    writeFileSync(join(root, "etc/network/interfaces"), "auto lo\niface lo inet loopback\n\nauto eth1\niface eth1 inet dhcp\n\nsource /etc/network/interfaces.d/*\n");
    const io = host();
    let said = "";
    expect(() => apply({ root, modelPath: model("a"), plan: plan("a"), stack: "ifupdown", dryRun: false }, { ...io, out: (s) => (said += s) })).toThrow(/the host's own configuration is in the way of the model \(above\); nothing was changed/);
    expect(said).toContain(`gen-hooks: in the way: ${root}/etc/network/interfaces:5 defines eth1, which gen-hooks configures in /etc/network/interfaces.d/gen-hooks; remove that stanza`);
    expect(io.ran).toEqual([]);
    expect([...files(root).keys()]).toEqual(["etc/network/interfaces"]);
    let dry = "";
    expect(apply({ root, modelPath: model("a"), plan: plan("a"), stack: "ifupdown", dryRun: true }, { ...host(), out: (s) => (dry += s) })).toBe(true);
    expect(dry).toContain("gen-hooks: apply would refuse while the host's own configuration is in the way (above)");
    // the same host on networkd: the ifupdown file is not in the way, an admin's .network for a model interface is
    mkdirSync(join(root, "etc/systemd/network"), { recursive: true });
    writeFileSync(join(root, "etc/systemd/network/20-mgmt.network"), "[Match]\nName=eth0\n\n[Network]\nAddress=10.0.0.5/24\n");
    const onNetworkd = host();
    expect(() => apply({ root, modelPath: model("a"), plan: plan("a"), stack: "networkd", dryRun: false }, onNetworkd)).toThrow(/in the way/);
    expect(onNetworkd.ran).toEqual([]);
    writeFileSync(join(root, "etc/systemd/network/20-mgmt.network"), "[Match]\nName=mgmt0\n\n[Network]\nAddress=10.0.0.5/24\n");
    expect(apply({ root, modelPath: model("a"), plan: plan("a"), stack: "networkd", dryRun: false }, host())).toBe(true);
  });

  it("rollback: the files and plan of before the last apply", () => {
    const root = tmp();
    apply({ root, modelPath: model("a"), plan: plan("a"), stack: "networkd", dryRun: false }, host());
    const onA = files(root);
    apply({ root, modelPath: model("b"), plan: plan("b"), stack: "networkd", dryRun: false }, host());
    expect(files(root)).not.toEqual(onA);
    const io = host();
    rollback(root, io);
    expect(files(root)).toEqual(onA);
    expect(readApplied(root)?.model).toBe(model("a"));
    expect(io.ran).toContain("networkctl reconfigure eth3");
    expect(() => rollback(root, host())).toThrow(/nothing to roll back/);
  });
});
