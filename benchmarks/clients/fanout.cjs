// C ConvexClients, each subscribed to its own channel's message; the benchmark rewrites
// {channel, body, sentMs} at a steady rate from Python. Each update's lag is the wall
// clock now minus sentMs (one machine, one clock). node fanout.cjs URL C SECONDS
const { ConvexClient } = require("convex/browser");
const [url, cText, secondsText] = process.argv.slice(2);
const c = Number(cText || 200);
const seconds = Number(secondsText || 60);
const clients = [];
const lags = [];
let updates = 0;
let errors = 0;
for (let i = 0; i < c; i++) {
  const client = new ConvexClient(url);
  clients.push(client);
  let first = true; // the value at subscription time is no update
  client.onUpdate(
    "bench:latest",
    { channel: `c${i}` },
    (doc) => {
      if (first) {
        first = false;
        return;
      }
      if (doc && doc.sentMs !== undefined) {
        updates++;
        lags.push(performance.timeOrigin + performance.now() - doc.sentMs);
      }
    },
    () => errors++,
  );
}
const pct = (xs, p) => xs[Math.min(xs.length - 1, Math.max(0, Math.ceil((p / 100) * xs.length) - 1))];
console.log(JSON.stringify({ step: "ready" }));
// the benchmark writes "stop" on stdin when its writes are over (or the run times out)
const finish = async () => {
  lags.sort((a, b) => a - b);
  console.log(JSON.stringify({ step: "done", clients: c, updates, errors, p50_ms: pct(lags, 50), p99_ms: pct(lags, 99), max_ms: lags[lags.length - 1] }));
  await Promise.all(clients.map((x) => x.close()));
  process.exit(0);
};
process.stdin.on("data", () => setTimeout(finish, 500));
setTimeout(finish, seconds * 1000 + 60000).unref();
