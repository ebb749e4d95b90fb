// js/widgets/inspector.js
function h(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== void 0) e.textContent = text;
  return e;
}
function describeWrite(w) {
  const head = `${w.op} ${w.table}/${w.id.slice(0, 10)}\u2026`;
  const keys = w.keys.filter((k) => JSON.stringify(k.old) !== JSON.stringify(k.new)).map((k) => {
    const show = (v) => v === null ? "\u2205" : `(${v.join(", ")})`;
    return `  ${k.index} [${k.fields.join(", ")}]: ${show(k.old)} \u2192 ${show(k.new)}`;
  });
  return [head, ...keys].join("\n");
}
function render({ model, el }) {
  const root = h("div", "nbr-insp");
  const left = h("div", "nbr-pane");
  const right = h("div", "nbr-pane");
  root.append(left, right);
  el.append(root);
  let selected = null;
  const draw = () => {
    const subs = model.get("subscriptions") || [];
    const commits = (model.get("commits") || []).slice().reverse();
    const chosen = commits.find((c) => c.ts === selected);
    const hits = new Set(chosen ? chosen.invalidated : []);
    left.replaceChildren(h("h4", "", `Live queries (${subs.length})`));
    if (!subs.length) left.append(h("div", "nbr-empty", "No live queries. app.subscribe(...) or app.live(...) makes one."));
    for (const s of subs) {
      const q = h("div", `nbr-q${hits.has(s.id) ? " nbr-hit" : ""}`);
      q.dataset.id = String(s.id);
      q.append(h("span", "nbr-q-name", `#${s.id} ${s.function}(${s.args})`));
      q.append(h("span", "nbr-meta", ` \xD7${s.subscribers} \xB7 ${s.runs} run${s.runs === 1 ? "" : "s"} \xB7 ${s.last_run_ms} ms${s.stale ? " \xB7 stale" : ""}`));
      if (s.error) q.append(h("div", "nbr-err", s.error));
      for (const r of s.reads) q.append(h("div", "nbr-read", `reads ${r}`));
      left.append(q);
    }
    right.replaceChildren(h("h4", "", `Commits (newest first; click one to see what it invalidated)`));
    if (!commits.length) right.append(h("div", "nbr-empty", "No commits yet."));
    for (const c of commits) {
      const row = h("div", `nbr-c${c.ts === selected ? " nbr-selected" : ""}`);
      row.dataset.ts = c.ts;
      const when = new Date(c.time * 1e3).toLocaleTimeString();
      row.append(h("span", "nbr-meta", `${when} \xB7 ${c.source} \xB7 ${c.num_writes} write${c.num_writes === 1 ? "" : "s"} `));
      const inv = c.invalidated.length ? `invalidated ${c.invalidated.map((i) => `#${i}`).join(", ")}` : "invalidated nothing";
      row.append(h("span", "nbr-inv", inv));
      if (c.cache_dropped) row.append(h("span", "nbr-meta", ` \xB7 ${c.cache_dropped} cached result${c.cache_dropped === 1 ? "" : "s"} dropped`));
      if (c.whole_tables.length) row.append(h("div", "nbr-w", `rewrote ${c.whole_tables.join(", ")}`));
      for (const w of c.writes) row.append(h("div", "nbr-w", describeWrite(w)));
      if (c.num_writes > c.writes.length) row.append(h("div", "nbr-meta", `\u2026 and ${c.num_writes - c.writes.length} more`));
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
var inspector_default = { render };
export {
  inspector_default as default
};
