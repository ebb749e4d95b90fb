// POST /api/query load: node http_load.cjs URL SECONDS CONCURRENCY -> {"requests", "rps", "errors", "p50_ms", "p99_ms"}
const http = require("http");
const [url, secondsText, concText] = process.argv.slice(2);
const seconds = Number(secondsText || 5);
const conc = Number(concText || 16);
const target = new URL(url + "/api/query");
const agent = new http.Agent({ keepAlive: true, maxSockets: conc });
const body = JSON.stringify({ path: "bench:latest", args: [{ channel: "hot" }], format: "convex_encoded_json" });
const lat = [];
let errors = 0;
const end = Date.now() + seconds * 1000;
function one() {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const req = http.request(
      { hostname: target.hostname, port: target.port, path: target.pathname, method: "POST", agent,
        headers: { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(body) } },
      (res) => {
        let data = "";
        res.on("data", (c) => (data += c));
        res.on("end", () => {
          if (res.statusCode !== 200 || !data.includes('"success"')) errors++;
          lat.push(performance.now() - t0);
          resolve();
        });
      },
    );
    req.on("error", () => { errors++; resolve(); });
    req.end(body);
  });
}
async function worker() {
  while (Date.now() < end) await one();
}
(async () => {
  const t0 = Date.now();
  await Promise.all(Array.from({ length: conc }, worker));
  const took = (Date.now() - t0) / 1000;
  lat.sort((a, b) => a - b);
  const pct = (p) => lat[Math.min(lat.length - 1, Math.ceil((p / 100) * lat.length) - 1)];
  console.log(JSON.stringify({ requests: lat.length, rps: lat.length / took, errors, p50_ms: pct(50), p99_ms: pct(99) }));
  agent.destroy();
})();
