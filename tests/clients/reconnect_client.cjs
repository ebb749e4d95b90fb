// npm ConvexClient across a server restart: node reconnect_client.cjs URL
// Prints {"step": "ready"} once subscribed, then waits; the test restarts the server on
// the same port and writes; the subscription must see it and a mutation must work.
const { ConvexClient } = require("convex/browser");

const url = process.argv[2];
const out = (o) => console.log(JSON.stringify(o));
const client = new ConvexClient(url);
let seen = [];
let got = false;
let onSeen = null;
client.onUpdate("messages:list", { channel: "r" }, (docs) => {
  seen = docs.map((d) => d.body);
  got = true;
  if (onSeen) onSeen();
});

const until = (pred, ms, what) =>
  new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("timed out: " + what)), ms);
    const check = () => {
      if (pred()) {
        clearTimeout(timer);
        onSeen = null;
        resolve();
      }
    };
    onSeen = check;
    check();
  });

(async () => {
  try {
    await until(() => got, 10000, "the first result");
    out({ step: "ready", seen });
    await until(() => seen.includes("after the restart"), 30000, "the update after the restart");
    out({ step: "after_restart", seen });
    await client.mutation("messages:send", { channel: "r", body: "from node again" });
    await until(() => seen.includes("from node again"), 10000, "the mutation after the restart");
    out({ step: "mutation", seen });
  } catch (e) {
    out({ step: "crash", error: String(e.stack || e) });
  } finally {
    await client.close();
  }
})();
