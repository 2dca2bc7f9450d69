// A long-lived TCP connection for the lab: "server PORT" echoes what it
// gets; "client HOST PORT LOCAL" sends a line every 100 ms from LOCAL and
// writes the count of echoes to stdout each second; it exits 1 when the
// connection closes or fails, or an echo is 3 s late.
const net = require("node:net");
const [mode, a, b, c] = process.argv.slice(2);
if (mode === "server") {
  net.createServer((s) => s.pipe(s).on("error", () => {})).listen(Number(a));
} else {
  let echoed = 0;
  let last = Date.now();
  const s = net.connect({ host: a, port: Number(b), localAddress: c }, () => {
    setInterval(() => s.write("x\n"), 100);
    setInterval(() => {
      process.stdout.write(`${echoed}\n`);
      if (Date.now() - last > 3000) { process.stdout.write("late\n"); process.exit(1); }
    }, 1000);
  });
  s.on("data", (d) => { echoed += d.length / 2; last = Date.now(); });
  s.on("error", (e) => { process.stdout.write(`error ${e.code}\n`); process.exit(1); });
  s.on("close", () => { process.stdout.write("closed\n"); process.exit(1); });
}
