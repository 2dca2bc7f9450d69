// The rendered shell (the event script, its library, the DHCP clients' and
// pppd's hooks) is code: shellcheck reads every fixture's, as it lands on a host.
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { fixturesDir, scenarios } from "../helpers/fixtures.js";

const available = spawnSync("shellcheck", ["--version"]).status === 0;
// CI installs it (.ci/run); elsewhere the test says why it did not run.
const run = available || process.env.CI === "true" ? describe : describe.skip;

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : [join(dir, e.name)]));
}

/** A file that is shell: a #!/bin/sh script, or a sourced file that says its shell to shellcheck. */
const isShell = (path: string) => statSync(path).size < 1_000_000 && /^(#!\/bin\/sh\n|[^]*^# shellcheck shell=sh)/m.test(readFileSync(path, "utf8"));

const shellcheck = (paths: string[]) => spawnSync("shellcheck", ["--format=gcc", "--external-sources", "--source-path=SCRIPTDIR", ...paths], { encoding: "utf8" });

run("shellcheck on the rendered shell", () => {
  it("finds what it should (a word split of $1)", () => {
    const r = spawnSync("shellcheck", ["--format=gcc", "-"], { input: "#!/bin/sh\necho $1\n", encoding: "utf8" });
    expect(r.stdout).toContain("SC2086");
  });

  const all = scenarios().map((name) => ({ name, shell: files(join(fixturesDir, name, "expected")).filter(isShell).sort() }));
  it("covers the event script, its library and the hooks", () => {
    const names = new Set(all.flatMap((s) => s.shell.map((p) => p.replace(/^.*\/expected/, ""))));
    expect([...names].sort()).toEqual(
      ["/etc/dhcp/dhclient-exit-hooks.d/gen-hooks", "/etc/gen-hooks/uplink-event", "/etc/gen-hooks/uplink-lib.sh", "/etc/ppp/ip-down.d/gen-hooks", "/etc/ppp/ip-up.d/gen-hooks", "/usr/lib/dhcpcd/dhcpcd-hooks/62-gen-hooks"].sort(),
    );
  });

  for (const s of all.filter((x) => x.shell.length > 0))
    it(`${s.name}: no finding`, () => {
      const r = shellcheck(s.shell);
      expect(r.stdout + r.stderr, s.shell.join(" ")).toBe("");
      expect(r.status).toBe(0);
    });
});
