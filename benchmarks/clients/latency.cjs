// Mutation from one ConvexClient -> the update at another, subscribed ConvexClient.
// node latency.cjs URL N  -> prints {"p50_ms", "p99_ms", "max_ms", "n"}
const { ConvexClient } = require("convex/browser");
const [url, nText] = process.argv.slice(2);
const n = Number(nText || 200);
const sub = new ConvexClient(url);
const writer = new ConvexClient(url);
const pct = (xs, p) => xs[Math.min(xs.length - 1, Math.max(0, Math.ceil((p / 100) * xs.length) - 1))];

(async () => {
  let expect = null;
  let resolve = null;
  sub.onUpdate("bench:latest", { channel: "lat" }, (doc) => {
    if (doc && expect !== null && doc.body === expect && resolve) resolve(performance.now());
  });
  await new Promise((r) => setTimeout(r, 300));
  const lat = [];
  for (let i = 0; i < n + 20; i++) {
    expect = `m${i}`;
    const seen = new Promise((r) => (resolve = r));
    const t0 = performance.now();
    await writer.mutation("bench:send", { channel: "lat", body: expect });
    const t1 = await seen;
    if (i >= 20) lat.push(t1 - t0); // 20 warm-up
  }
  lat.sort((a, b) => a - b);
  console.log(JSON.stringify({ n: lat.length, p50_ms: pct(lat, 50), p99_ms: pct(lat, 99), max_ms: lat[lat.length - 1] }));
  await sub.close();
  await writer.close();
})();
