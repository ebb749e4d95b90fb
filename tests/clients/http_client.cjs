// npm ConvexHttpClient against an nbreactive server: node http_client.cjs URL
// Prints one JSON line per step: {"step", "ok", "value" | "error", "data"?}.
const { ConvexHttpClient } = require("convex/browser");

const url = process.argv[2];
const client = new ConvexHttpClient(url);

async function step(name, fn) {
  try {
    const value = await fn();
    console.log(JSON.stringify({ step: name, ok: true, value: encode(value) }));
  } catch (err) {
    console.log(JSON.stringify({ step: name, ok: false, error: String(err.message || err), data: err.data === undefined ? null : encode(err.data), kind: err.constructor.name }));
  }
}

function encode(v) {
  return JSON.parse(JSON.stringify(v, (_k, x) => (typeof x === "bigint" ? { bigint: x.toString() } : x)));
}

(async () => {
  await step("query", () => client.query("messages:list", { channel: "a" }));
  await step("int64", () => client.query("messages:double", { n: 21n }));
  await step("mutation", () => client.mutation("messages:send", { channel: "a", body: "from node" }));
  await step("after", () => client.query("messages:list", { channel: "a" }));
  await step("action", () => client.action("messages:shout", { text: "hi" }));
  await step("apperror", () => client.mutation("messages:refuse", {}));
  await step("missing", () => client.query("messages:nope", {}));
  await step("internal", () => client.query("messages:secret", {}));
  await step("badargs", () => client.mutation("messages:send", { channel: 1 }));
})();
