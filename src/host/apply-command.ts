// The apply command: its options put together, the host's commands run, and
// --try's wait for a confirmation (Enter, or apply --confirm from another
// shell) while a systemd timer stands ready to roll back.
import { existsSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import { dirname } from "node:path";
import type { Stack } from "../model/types.js";
import { planFromFile } from "../pipeline.js";
import { UsageError } from "../errors.js";
import { childProcess } from "./child.js";
import { apply, confirmFile, forget, hasPrevious, rollback, ROLLBACK_UNIT, sleep, type ApplyIo, type Runner } from "./apply.js";

interface Options {
  model: string;
  stack?: Stack;
  dryRun?: boolean;
  try?: number;
  confirm?: boolean;
  rollback?: boolean;
  root: string;
}


const run: Runner = (argv, input) => {
  const r = childProcess().spawnSync(argv[0], argv.slice(1), { encoding: "utf8", input, stdio: [input === undefined ? "ignore" : "pipe", "pipe", "pipe"], maxBuffer: 64 * 1024 * 1024 });
  if (r.error && (r.error as NodeJS.ErrnoException).code === "ENOENT") return { status: 127, stdout: "", stderr: `${argv[0]}: not found` };
  return { status: r.status ?? 1, stdout: r.stdout ?? "", stderr: r.stderr ?? "" };
};


export function applyCommand(opts: Options, io: { out: (s: string) => void; err: (s: string) => void }): number {
  const modes = [opts.dryRun, opts.try !== undefined, opts.confirm, opts.rollback].filter(Boolean).length;
  if (modes > 1) throw new UsageError("give one of --dry-run, --try, --confirm and --rollback");
  if (opts.root !== "/" && !opts.dryRun) throw new UsageError(`apply runs the host's commands only for --root /; give --dry-run to see what it would do under ${opts.root}`);
  const aio: ApplyIo = { out: io.out, run };
  /** The change stays: no rollback is to come, and its kept files are not needed. */
  const keep = () => {
    run(["systemctl", "stop", `${ROLLBACK_UNIT}.timer`]);
    forget(opts.root);
    io.out("gen-hooks: confirmed; the applied configuration stays\n");
    return 0;
  };

  if (opts.confirm) {
    // and tell a waiting apply --try
    mkdirSync(dirname(confirmFile(opts.root)), { recursive: true });
    writeFileSync(confirmFile(opts.root), "");
    return keep();
  }
  if (opts.rollback) {
    run(["systemctl", "stop", `${ROLLBACK_UNIT}.timer`]);
    rollback(opts.root, aio);
    run(["logger", "-t", "gen-hooks", "rolled back to the configuration before the last apply"]);
    return 0;
  }

  const plan = planFromFile(opts.model);
  const stack = opts.stack ?? plan.stack;
  rmSync(confirmFile(opts.root), { force: true });
  // --try: the timer is systemd's, not this process's, so a dropped session
  // does not stop the rollback; it is armed before the first change, so that
  // a session that dies during the apply itself is rolled back too.
  let armed = false;
  let armedAt = 0;
  const arm = () => {
    // a failed rollback of an earlier try would keep its unit's name taken
    run(["systemctl", "reset-failed", `${ROLLBACK_UNIT}.service`, `${ROLLBACK_UNIT}.timer`]);
    const timer = run([
      "systemd-run",
      `--unit=${ROLLBACK_UNIT}`,
      `--on-active=${opts.try}s`,
      "--timer-property=AccuracySec=100ms",
      "--description=gen-hooks: roll back an unconfirmed apply",
      process.execPath,
      process.argv[1],
      "apply",
      "--rollback",
    ]);
    if (timer.status !== 0) throw new UsageError(`systemd-run could not schedule the rollback (${timer.stderr.trim()}); nothing was changed`);
    armed = true;
    armedAt = Date.now();
  };
  let changed: boolean;
  try {
    changed = apply({ root: opts.root, modelPath: opts.model, plan, stack, dryRun: !!opts.dryRun }, aio, opts.try === undefined ? undefined : arm);
  } catch (err) {
    // the apply put the previous configuration back itself: no rollback is to come
    if (armed) run(["systemctl", "stop", `${ROLLBACK_UNIT}.timer`]);
    throw err;
  }
  if (opts.try === undefined || !changed) return 0;

  io.out(`gen-hooks: keep this configuration? Press Enter, or run "gen-hooks apply --confirm", within ${opts.try} s; otherwise it is rolled back\n`);
  const deadline = armedAt + opts.try * 1000; // the timer runs from before the change
  const tty = process.stdin.isTTY === true;
  while (Date.now() < deadline) {
    if (existsSync(confirmFile(opts.root))) break;
    if (tty) {
      const enter = childProcess().spawnSync("sh", ["-c", "read -t 1 line"], { stdio: ["inherit", "ignore", "ignore"] });
      if (enter.status === 0) return keep();
    } else sleep(200);
  }
  if (existsSync(confirmFile(opts.root))) {
    rmSync(confirmFile(opts.root), { force: true });
    io.out("gen-hooks: confirmed; the applied configuration stays\n");
    return 0;
  }
  // the timer's rollback runs now: say when it is done
  const until = Date.now() + 60_000;
  while (hasPrevious(opts.root) && Date.now() < until) sleep(200);
  io.err(`gen-hooks: not confirmed within ${opts.try} s: ${hasPrevious(opts.root) ? "the rollback has not finished yet (journalctl -u gen-hooks-rollback)" : "rolled back"}\n`);
  return 1;
}
