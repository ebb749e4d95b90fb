// The front end of `app.inspector()` (nbreactive/widgets/inspector.py).
import "./inspector.css";

/** @param {string} tag @param {string} [cls] @param {string} [text] */
function h(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

/** @param {any} w */
function describeWrite(w) {
  const head = `${w.op} ${w.table}/${w.id.slice(0, 10)}…`;
  const keys = w.keys
    .filter((/** @type {any} */ k) => JSON.stringify(k.old) !== JSON.stringify(k.new))
    .map((/** @type {any} */ k) => {
      const show = (/** @type {string[] | null} */ v) => (v === null ? "∅" : `(${v.join(", ")})`);
      return `  ${k.index} [${k.fields.join(", ")}]: ${show(k.old)} → ${show(k.new)}`;
    });
  return [head, ...keys].join("\n");
}

/** @type {import("@anywidget/types").Render<any>} */
function render({ model, el }) {
  const root = h("div", "nbr-insp");
  const left = h("div", "nbr-pane");
  const right = h("div", "nbr-pane");
  root.append(left, right);
  el.append(root);
  /** @type {string | null} */
  let selected = null;

  const draw = () => {
    const subs = model.get("subscriptions") || [];
    const commits = (model.get("commits") || []).slice().reverse(); // newest first
    const chosen = commits.find((/** @type {any} */ c) => c.ts === selected);
    const hits = new Set(chosen ? chosen.invalidated : []);

    left.replaceChildren(h("h4", "", `Live queries (${subs.length})`));
    if (!subs.length) left.append(h("div", "nbr-empty", "No live queries. app.subscribe(...) or app.live(...) makes one."));
    for (const s of subs) {
      const q = h("div", `nbr-q${hits.has(s.id) ? " nbr-hit" : ""}`);
      q.dataset.id = String(s.id);
      q.append(h("span", "nbr-q-name", `#${s.id} ${s.function}(${s.args})`));
      q.append(h("span", "nbr-meta", ` ×${s.subscribers} · ${s.runs} run${s.runs === 1 ? "" : "s"} · ${s.last_run_ms} ms${s.stale ? " · stale" : ""}`));
      if (s.error) q.append(h("div", "nbr-err", s.error));
      for (const r of s.reads) q.append(h("div", "nbr-read", `reads ${r}`));
      left.append(q);
    }

    right.replaceChildren(h("h4", "", `Commits (newest first; click one to see what it invalidated)`));
    if (!commits.length) right.append(h("div", "nbr-empty", "No commits yet."));
    for (const c of commits) {
      const row = h("div", `nbr-c${c.ts === selected ? " nbr-selected" : ""}`);
      row.dataset.ts = c.ts;
      const when = new Date(c.time * 1000).toLocaleTimeString();
      row.append(h("span", "nbr-meta", `${when} · ${c.source} · ${c.num_writes} write${c.num_writes === 1 ? "" : "s"} `));
      const inv = c.invalidated.length ? `invalidated ${c.invalidated.map((/** @type {number} */ i) => `#${i}`).join(", ")}` : "invalidated nothing";
      row.append(h("span", "nbr-inv", inv));
      if (c.cache_dropped) row.append(h("span", "nbr-meta", ` · ${c.cache_dropped} cached result${c.cache_dropped === 1 ? "" : "s"} dropped`));
      if (c.whole_tables.length) row.append(h("div", "nbr-w", `rewrote ${c.whole_tables.join(", ")}`));
      for (const w of c.writes) row.append(h("div", "nbr-w", describeWrite(w)));
      if (c.num_writes > c.writes.length) row.append(h("div", "nbr-meta", `… and ${c.num_writes - c.writes.length} more`));
      row.addEventListener("click", () => {
        selected = selected === c.ts ? null : c.ts;
        draw();
      });
      right.append(row);
    }
  };
  model.on("change", draw);
  draw();
  return () => model.off("change", draw);
}

export default { render };
