// The front end of `app.live(...)`: a live query's result (nbreactive/widgets/live.py).
import "./live.css";
import { VirtualTable, modelHooks } from "../lib/table.js";

/** @type {import("@anywidget/types").Render<any>} */
function render({ model, el }) {
  const root = document.createElement("div");
  root.className = "nbr-live";
  const title = document.createElement("div");
  title.className = "nbr-title";
  const dot = document.createElement("span");
  dot.className = "nbr-dot";
  const fn = document.createElement("span");
  fn.className = "nbr-fn";
  const count = document.createElement("span");
  count.className = "nbr-count";
  title.append(dot, fn, count);
  const error = document.createElement("div");
  error.className = "nbr-error";
  const value = document.createElement("pre");
  value.className = "nbr-value";
  const tableHost = document.createElement("div");
  root.append(title, error, value, tableHost);
  el.append(root);

  const table = new VirtualTable(tableHost, modelHooks(model));

  const pulse = () => {
    dot.classList.remove("nbr-pulse");
    void dot.offsetWidth; // restart the animation
    dot.classList.add("nbr-pulse");
  };

  const draw = () => {
    fn.textContent = `${model.get("function")}(${model.get("args_text")})`;
    const err = model.get("error");
    const kind = model.get("kind");
    if (err) {
      error.style.display = "";
      // (an AppError's data is its message: shown once)
      const data = err.data != null && err.data !== err.message ? `\ndata: ${err.data}` : "";
      error.textContent = `${err.type}: ${err.message}${data}`;
    } else {
      error.style.display = "none";
    }
    const showTable = !err && kind === "table";
    tableHost.style.display = showTable ? "" : "none";
    value.style.display = !err && kind !== "table" ? "" : "none";
    value.textContent = model.get("formatted");
    const n = model.get("row_count");
    let rows = `${n.toLocaleString()} row${n === 1 ? "" : "s"}`;
    if (model.get("loading")) rows += " · loading…";
    else if (model.get("capped")) rows = `the first ${rows} (max_rows)`;
    count.textContent = err ? "failing" : kind === "table" ? rows : "";
    table.setColumns(model.get("columns"), model.get("sort"));
    if (showTable) table.render();
  };

  /** @param {any} msg @param {DataView[]} buffers */
  const onMessage = (msg, buffers) => {
    if (!msg || typeof msg !== "object") return;
    const used = table.receive(msg, buffers);
    if (used === "patch" || used === "reset") pulse();
  };

  const onChange = () => {
    draw();
  };
  model.on("msg:custom", onMessage);
  model.on("change", onChange);
  draw();
  table.reset(model.get("row_count"));
  return () => {
    model.off("msg:custom", onMessage);
    model.off("change", onChange);
    table.destroy();
  };
}

export default { render };
