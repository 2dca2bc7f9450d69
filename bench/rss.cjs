// Preloaded by the bench: report the process's peak resident memory on exit.
process.on("exit", () => {
  require("node:fs").writeSync(2, `\nGEN_HOOKS_MAX_RSS_KIB=${process.resourceUsage().maxRSS}\n`);
});
