// Parse argv, run one command, map failures to exit codes:
// 0 ok, 1 diff found differences, 2 bad model or usage, 3 internal error.
import { readFileSync } from "node:fs";
import { Command, CommanderError, Option } from "commander";
import { ModelError, UsageError } from "./errors.js";
import { DEFAULT_MODEL, checkTargets, ownedPatterns, planFromFile, renderTargets } from "./pipeline.js";
import { targets } from "./targets/index.js";
import { hostWarnings } from "./host/warnings.js";
import type { Plan } from "./plan/types.js";
import type { Stack } from "./model/types.js";
import { staleFiles, writeTree } from "./render/writer.js";
import { diffTree } from "./render/differ.js";
import { explain, formatAnswer } from "./plan/explain.js";
import { parseIp } from "./model/addr.js";
import { didYouMean } from "./model/validate.js";
import { formatStatus, hostStatus, type IpRunner } from "./host/status.js";
import { applyCommand } from "./host/apply-command.js";
import { childProcess } from "./host/child.js";

// The bundle defines it; from the sources (tests), read package.json.
declare const GEN_HOOKS_VERSION: string | undefined;
const version = typeof GEN_HOOKS_VERSION === "string" ? GEN_HOOKS_VERSION : JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")).version;

interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
}

const targetHelp = `\nTargets:\n${targets.map((t) => `  ${t.name.padEnd(10)} ${t.summary}`).join("\n")}\n  ${"all".padEnd(10)} every target above (needs --root)\n\nExit status: 0 done, 1 diff found differences, 2 bad model or usage, 3 internal error.\nSee gen-hooks(1) and, for the model, gen-hooks(5).\n`;

export function runCli(argv: string[], io: Io = { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s) }): number {
  let code = 0;
  const modelOption = () => new Option("-m, --model <file>", "the model file").default(DEFAULT_MODEL);
  const stackOption = () => new Option("-s, --stack <name>", "the host's stack for this run, instead of the model's options.stack").choices(["ifupdown", "networkd"]);
  const program = new Command("gen-hooks")
    .description("Render policy routing for a host with several uplinks from one model.")
    .version(version, "-V, --version")
    .configureOutput({ writeOut: io.out, writeErr: io.err })
    .exitOverride()
    .showHelpAfterError(false)
    .addHelpText("after", targetHelp);

  program
    .command("render", { isDefault: true })
    .description("render one target to stdout, or every file of the targets under --root")
    .requiredOption("-t, --target <name>", "a target name, or all")
    .addOption(modelOption())
    .option("-r, --root <dir>", "write each file at its install path under DIR (atomic)")
    .addOption(stackOption())
    .action((opts: { target: string; model: string; root?: string; stack?: Stack }) => {
      const plan = planFromFile(opts.model);
      const stack = opts.stack ?? plan.stack;
      const files = renderTargets(plan, opts.target, stack);
      if (opts.root) {
        warnAboutHost(opts.root, plan, opts.target, stack); // before: it names what the write replaces
        writeTree(opts.root, files, staleFiles(opts.root, ownedPatterns(opts.target, stack), files));
      } else if (files.length === 0) {
        throw new UsageError(`target '${opts.target}' renders no file for this model`);
      } else if (files.length === 1) {
        io.out(files[0].content);
      } else {
        throw new UsageError(`target '${opts.target}' produces ${files.length} files; give --root DIR to write them`);
      }
    });

  program
    .command("check")
    .description("validate the model and what the targets can express; print a one-line summary")
    .addOption(modelOption())
    .option("-t, --target <name>", "the targets whose limits to check too (default all)", "all")
    .option("-r, --root <dir>", "the root whose installed configuration to check against (default /)", "/")
    .addOption(stackOption())
    .action((opts: { model: string; target: string; root: string; stack?: Stack }) => {
      const plan = planFromFile(opts.model);
      const stack = opts.stack ?? plan.stack;
      checkTargets(plan, opts.target, stack);
      warnAboutHost(opts.root, plan, opts.target, stack);
      const rules = (f: number) => plan.rules.filter((r) => r.family === f).length;
      const leased = plan.uplinks.filter((u) => u.learned.length > 0).length;
      io.out(`${opts.model}: ok: ${plan.uplinks.length} uplink(s)${leased > 0 ? ` (${leased} leased)` : ""}, ${plan.mode}, ${plan.tables.length} table(s), ${rules(4)} IPv4 rule(s), ${rules(6)} IPv6 rule(s)\n`);
    });

  program
    .command("diff")
    .description("compare generated files with those installed under --root; exit 1 when they differ")
    .requiredOption("-t, --target <name>", "a target name, or all")
    .addOption(modelOption())
    .requiredOption("-r, --root <dir>", "the root the files are installed under, / for this host")
    .option("-q, --quiet", "print nothing; exit status only")
    .addOption(stackOption())
    .action((opts: { target: string; model: string; root: string; quiet?: boolean; stack?: Stack }) => {
      const plan = planFromFile(opts.model);
      const stack = opts.stack ?? plan.stack;
      const files = renderTargets(plan, opts.target, stack);
      if (!opts.quiet) warnAboutHost(opts.root, plan, opts.target, stack);
      const diffs = diffTree(opts.root, files, staleFiles(opts.root, ownedPatterns(opts.target, stack), files));
      const changed = diffs.filter((d) => d.patch);
      if (!opts.quiet) for (const d of changed) io.out(d.patch);
      code = changed.length > 0 ? 1 : 0;
    });

  /** The admin's own files under root that would keep the rendered ones from working, or that writing would replace: warnings on stderr. */
  const warnAboutHost = (root: string, plan: Plan, target: string, stack: Stack) => {
    for (const w of hostWarnings(root, plan, target, stack)) io.err(`gen-hooks: warning: ${w.text}\n`);
  };

  const seconds = (value: string) => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || n < 1 || n > 86400) throw new UsageError(`--try '${value}' is not a number of seconds from 1 to 86400`);
    return n;
  };
  const address = (what: string) => (value: string) => {
    if (!parseIp(value)) throw new UsageError(`${what} '${value}' is not an IPv4 or IPv6 address`);
    return value;
  };
  const number = (what: string) => (value: string) => {
    const n = Number(value);
    if (!/^(0x[0-9a-f]+|\d+)$/i.test(value) || n > 4294967295) throw new UsageError(`${what} '${value}' is not a number from 0 to 4294967295`);
    return n;
  };
  program
    .command("explain")
    .description("show which rule, table, route and uplink a packet would take, worked out from the plan")
    .addOption(modelOption())
    .requiredOption("--to <addr>", "destination address", address("--to"))
    .option("--from <addr>", "source address (a local address, or a LAN host with --iif)", address("--from"))
    .option("--mark <n>", "fwmark the packet carries", number("--mark"))
    .option("--uid <n>", "uid of the sending socket (default 0, as ip route get)", number("--uid"))
    .option("--iif <name>", "the packet is forwarded, arriving on this interface")
    .option("--json", "print the answer as JSON")
    .action((opts: { model: string; to: string; from?: string; mark?: number; uid?: number; iif?: string; json?: boolean }) => {
      const answer = explain(planFromFile(opts.model), { to: opts.to, from: opts.from, mark: opts.mark, uid: opts.uid, iif: opts.iif });
      io.out(opts.json ? JSON.stringify(answer, null, 2) + "\n" : formatAnswer(answer));
    });

  program
    .command("status")
    .description("on the host: each uplink's link, address, gateway and health, whether its rules and routes are in the kernel as planned, and which uplink carries the main default; exit 1 when an uplink is down or something planned is missing (only reads)")
    .addOption(modelOption())
    .option("--json", "print the status as JSON")
    .action((opts: { model: string; json?: boolean }) => {
      const plan = planFromFile(opts.model);
      const s = hostStatus(plan, ipRunner, process.env.GEN_HOOKS_STATE || undefined);
      io.out(opts.json ? JSON.stringify(s, null, 2) + "\n" : formatStatus(s));
      code = s.ok ? 0 : 1;
    });

  program
    .command("apply")
    .description("on the host (root): render --target all, show the change, keep the files it replaces, install them and move the kernel to the new plan through the host's stack; --try rolls back unless confirmed")
    .addOption(modelOption())
    .addOption(stackOption())
    .option("-n, --dry-run", "print the file changes and the commands, change nothing")
    .option("--try <seconds>", "roll back after SECONDS unless confirmed (Enter, or apply --confirm from another shell)", seconds)
    .option("--confirm", "keep the change a running apply --try waits on")
    .option("--rollback", "put back the files and state of before the last apply")
    .option("-r, --root <dir>", "the files' root; commands run only for / (give --dry-run otherwise)", "/")
    .action((opts: { model: string; stack?: Stack; dryRun?: boolean; try?: number; confirm?: boolean; rollback?: boolean; root: string }) => {
      code = applyCommand(opts, io);
    });

  try {
    // render is the default command, so a misspelt one would read as render's stray argument
    const commands = program.commands.map((c) => c.name());
    if (argv.length > 0 && !argv[0].startsWith("-") && !commands.includes(argv[0]) && argv[0] !== "help") {
      const guess = didYouMean(argv[0], commands);
      throw new UsageError(`unknown command '${argv[0]}'${guess ? `; did you mean '${guess}'?` : "."} Commands: ${commands.join(", ")}, help`);
    }
    program.parse(argv, { from: "user" });
    return code;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === "commander.helpDisplayed" || err.code === "commander.version" || err.code === "commander.help") return 0;
      return 2; // commander already printed its message
    }
    if (err instanceof ModelError) {
      io.err(err.render() + "\n");
      return 2;
    }
    if (err instanceof UsageError) {
      io.err(`gen-hooks: ${err.message}\n`);
      return 2;
    }
    if (process.env.GEN_HOOKS_DEBUG) io.err(`${(err as Error).stack}\n`);
    const e = err as NodeJS.ErrnoException;
    // A file system refusal (EACCES, ENOSPC, EROFS) is the host's, not a bug: say it plainly.
    io.err(e.code && e.path ? `gen-hooks: ${e.message}\n` : `gen-hooks: internal error: ${e.message} (set GEN_HOOKS_DEBUG=1 for a stack trace)\n`);
    return 3;
  }
}


/** iproute2's ip, read-only; a refusal (no such device) is no answer. */
const ipRunner: IpRunner = (args) => {
  try {
    return childProcess().execFileSync("ip", args, { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"], maxBuffer: 256 * 1024 * 1024 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") throw new UsageError("status reads the kernel with iproute2's ip, which this host lacks");
    return undefined;
  }
};
