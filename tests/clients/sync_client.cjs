// npm ConvexClient (WebSocket sync) against an nbreactive server: node sync_client.cjs URL
// Prints one JSON line per step.
const { ConvexClient } = require("convex/browser");

const url = process.argv[2];
const out = (o) => console.log(JSON.stringify(o, (_k, x) => (typeof x === "bigint" ? { bigint: x.toString() } : x)));
const deadline = (ms, what) => new Promise((_, rej) => setTimeout(() => rej(new Error("timed out: " + what)), ms).unref());

(async () => {
  const a = new ConvexClient(url);
  const b = new ConvexClient(url);
  try {
    // a subscribes; b writes; a sees it
    const seen = [];
    let resolveSeen;
    const twoSeen = new Promise((r) => (resolveSeen = r));
    const unsub = a.onUpdate("messages:list", { channel: "live" }, (docs) => {
      seen.push(docs.map((d) => d.body));
      if (docs.length >= 2) resolveSeen();
    });
    const id1 = await Promise.race([b.mutation("messages:send", { channel: "live", body: "one" }), deadline(10000, "mutation one")]);
    out({ step: "mutation", ok: typeof id1 === "string" });
    // read your writes: after the mutation resolves, a query on the same client sees it
    const t0 = Date.now();
    await b.mutation("messages:send", { channel: "live", body: "two" });
    const afterB = await b.query("messages:list", { channel: "live" });
    out({ step: "read_your_writes", bodies: afterB.map((d) => d.body), ms: Date.now() - t0 });
    await Promise.race([twoSeen, deadline(10000, "the subscription's update")]);
    out({ step: "subscription", seen });
    unsub();
    // errors: ConvexError data, unknown function, failing query
    try {
      await b.mutation("messages:refuse", {});
      out({ step: "apperror", ok: false });
    } catch (e) {
      out({ step: "apperror", kind: e.constructor.name, data: e.data, message: e.message });
    }
    try {
      await b.query("messages:nope", {});
    } catch (e) {
      out({ step: "missing", message: e.message });
    }
    out({ step: "action", value: await b.action("messages:shout", { text: "ws" }) });
    out({ step: "int64", value: await b.query("messages:double", { n: 5n }) });
  } catch (e) {
    out({ step: "crash", error: String(e && e.stack || e) });
  } finally {
    await a.close();
    await b.close();
  }
})();
