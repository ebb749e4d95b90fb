// The front end of `app.browser()`: a live data browser (nbreactive/widgets/browser.py).
//
// Sidebar: the tables and their document counts. Main area: the selected table's
// documents (the kernel holds them; js/lib/table.js asks for the rows it shows), its
// schema, an index chooser with range inputs, and an editor (insert / save / delete,
// with the kernel's validation errors shown inline).
import "./browser.css";
import { ROW_HEIGHT, VirtualTable, modelHooks } from "../lib/table.js";

/**
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag @param {string} [cls] @param {string} [text]
 * @returns {HTMLElementTagNameMap[K]}
 */
function h(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

/** @param {number} n */
function fmt(n) {
  return n.toLocaleString();
}

/** The shared virtual table, plus a highlighted (selected) row. */
class BrowserTable extends VirtualTable {
  /** @param {HTMLElement} parent @param {import("../lib/table.js").TableHooks} hooks */
  constructor(parent, hooks) {
    super(parent, hooks);
    /** @type {string | null} */
    this.selected = null;
  }

  render() {
    super.render();
    for (const tr of this.rows.children) {
      const row = /** @type {HTMLElement} */ (tr);
      row.classList.toggle("nbr-selected", this.selected !== null && row.dataset.id === this.selected);
    }
  }
}

/**
 * @typedef {{ field: string, eq: HTMLInputElement, lowOp: HTMLSelectElement, low: HTMLInputElement,
 *             highOp: HTMLSelectElement, high: HTMLInputElement }} FieldInputs
 */

/** @type {import("@anywidget/types").Render<any>} */
function render({ model, el }) {
  const root = h("div", "nbr-browser");
  const side = h("div", "nbr-side");
  const main = h("div", "nbr-main");
  root.append(side, main);
  el.append(root);

  // -- header: table name, counts, schema toggle, insert --------------------------------
  const head = h("div", "nbr-bhead");
  const dot = h("span", "nbr-dot");
  const title = h("span", "nbr-tname");
  const count = h("span", "nbr-count");
  const spacer = h("span", "nbr-spacer");
  const schemaBtn = h("button", "nbr-btn", "Schema");
  schemaBtn.title = "Show the table's schema";
  const insertBtn = h("button", "nbr-btn nbr-primary", "+ Insert");
  insertBtn.title = "Insert a document into this table";
  head.append(dot, title, count, spacer, schemaBtn, insertBtn);
  const schema = h("pre", "nbr-schema");
  schema.style.display = "none";

  // -- toolbar: index chooser, range inputs, order ------------------------------------
  const toolbar = h("div", "nbr-toolbar");
  const indexSel = h("select", "nbr-index");
  indexSel.title = "Index";
  const orderSel = h("select", "nbr-order");
  for (const [v, t] of [["asc", "ascending"], ["desc", "descending"]]) {
    const o = h("option", "", t);
    o.value = v;
    orderSel.append(o);
  }
  const applyBtn = h("button", "nbr-btn nbr-primary", "Apply");
  const clearBtn = h("button", "nbr-btn", "Clear");
  const indexLabel = h("label", "nbr-label", "Index ");
  indexLabel.append(indexSel);
  const orderLabel = h("label", "nbr-label", "Order ");
  orderLabel.append(orderSel);
  toolbar.append(indexLabel, orderLabel, applyBtn, clearBtn);
  const fieldsBox = h("div", "nbr-fields");
  const rangeError = h("div", "nbr-error nbr-range-error");
  const note = h("div", "nbr-note");

  // -- the table and the editor -------------------------------------------------------
  const body = h("div", "nbr-bbody");
  const tableHost = h("div", "nbr-thost");
  const empty = h("div", "nbr-empty");
  const editor = h("div", "nbr-editor");
  editor.style.display = "none";
  const edTitle = h("div", "nbr-ed-title");
  const edMeta = h("div", "nbr-ed-meta");
  const edNotice = h("div", "nbr-ed-notice");
  const textarea = h("textarea", "nbr-ed-text");
  textarea.spellcheck = false;
  textarea.rows = 14;
  textarea.setAttribute("aria-label", "Document (JSON)");
  const edError = h("div", "nbr-error nbr-ed-error");
  const edStatus = h("div", "nbr-ed-status");
  const edButtons = h("div", "nbr-ed-buttons");
  const saveBtn = h("button", "nbr-btn nbr-primary", "Save");
  const deleteBtn = h("button", "nbr-btn nbr-danger", "Delete");
  const closeBtn = h("button", "nbr-btn", "Close");
  edButtons.append(saveBtn, deleteBtn, closeBtn);
  editor.append(edTitle, edMeta, edNotice, textarea, edError, edStatus, edButtons);
  body.append(tableHost, editor);
  main.append(head, schema, toolbar, fieldsBox, rangeError, note, body);

  const table = new BrowserTable(tableHost, modelHooks(model));

  tableHost.append(empty); // below the table's header

  const pulse = () => {
    dot.classList.remove("nbr-pulse");
    void dot.offsetWidth; // restart the animation
    dot.classList.add("nbr-pulse");
  };

  // -- sidebar ------------------------------------------------------------------------
  const drawSide = () => {
    const tables = model.get("tables") || [];
    const current = model.get("table");
    side.replaceChildren(h("div", "nbr-side-title", "Tables"));
    if (!tables.length) side.append(h("div", "nbr-empty", "No tables yet."));
    for (const t of tables) {
      const b = h("button", `nbr-tbl${t.name === current ? " nbr-current" : ""}`);
      b.dataset.table = t.name;
      b.append(h("span", "nbr-tbl-name", t.name), h("span", "nbr-tbl-count", fmt(t.count)));
      b.addEventListener("click", () => model.send({ type: "select", table: t.name }));
      side.append(b);
    }
  };

  // -- index chooser and range inputs -------------------------------------------------
  /** @type {FieldInputs[]} */
  let inputs = [];

  /** @param {string[][]} ops */
  const fillInputs = (ops) => {
    for (const f of inputs) {
      f.eq.value = f.low.value = f.high.value = "";
      f.lowOp.value = "gte";
      f.highOp.value = "lte";
    }
    for (const [op, field, text] of ops) {
      const f = inputs.find((x) => x.field === field);
      if (!f) continue;
      if (op === "eq") f.eq.value = text;
      else if (op === "gt" || op === "gte") {
        f.lowOp.value = op;
        f.low.value = text;
      } else {
        f.highOp.value = op;
        f.high.value = text;
      }
    }
  };

  /** @param {string[][]} pairs */
  const opSelect = (pairs) => {
    const s = h("select", "nbr-op");
    for (const [v, t] of pairs) {
      const o = h("option", "", t);
      o.value = v;
      s.append(o);
    }
    return s;
  };

  /** @param {string} name */
  const buildInputs = (name) => {
    const idx = (model.get("indexes") || []).find((/** @type {any} */ i) => i.name === name);
    const fields = idx ? idx.fields : [];
    fieldsBox.replaceChildren();
    inputs = [];
    if (fields.length) {
      const hint = h(
        "div",
        "nbr-hint",
        "Values are JSON: \"text\", 3 (int64), 3.0 (float64), true, null. Equalities on leading fields, then bounds on the next one.",
      );
      fieldsBox.append(hint);
    }
    for (const field of fields) {
      const row = h("div", "nbr-frow");
      const eq = h("input", "nbr-in");
      eq.placeholder = "= value";
      const lowOp = opSelect([["gte", "≥"], ["gt", ">"]]);
      const low = h("input", "nbr-in");
      low.placeholder = "lower bound";
      const highOp = opSelect([["lte", "≤"], ["lt", "<"]]);
      const high = h("input", "nbr-in");
      high.placeholder = "upper bound";
      // (the placeholders alone named every field's inputs alike, the selects not at all)
      eq.setAttribute("aria-label", `${field} equals`);
      lowOp.setAttribute("aria-label", `${field} lower bound operator`);
      low.setAttribute("aria-label", `${field} lower bound`);
      highOp.setAttribute("aria-label", `${field} upper bound operator`);
      high.setAttribute("aria-label", `${field} upper bound`);
      for (const inp of [eq, low, high]) {
        inp.addEventListener("keydown", (ev) => {
          if (ev.key === "Enter") apply();
        });
      }
      row.append(h("span", "nbr-fname", field), eq, lowOp, low, highOp, high);
      row.dataset.field = field;
      fieldsBox.append(row);
      inputs.push({ field, eq, lowOp, low, highOp, high });
    }
  };

  const drawIndexes = () => {
    const indexes = model.get("indexes") || [];
    indexSel.replaceChildren(
      ...indexes.map((/** @type {any} */ i) => {
        const o = h("option", "", `${i.name} (${i.fields.join(", ")})`);
        o.value = i.name;
        return o;
      }),
    );
    indexSel.value = model.get("index");
    orderSel.value = model.get("order");
    buildInputs(model.get("index"));
    fillInputs(model.get("index_range") || []);
  };

  const apply = () => {
    /** @type {string[][]} */
    const range = [];
    for (const f of inputs) if (f.eq.value.trim() !== "") range.push(["eq", f.field, f.eq.value]);
    for (const f of inputs) {
      if (f.low.value.trim() !== "") range.push([f.lowOp.value, f.field, f.low.value]);
      if (f.high.value.trim() !== "") range.push([f.highOp.value, f.field, f.high.value]);
    }
    model.send({ type: "query", index: indexSel.value, range, order: orderSel.value });
  };

  indexSel.addEventListener("change", () => buildInputs(indexSel.value));
  applyBtn.addEventListener("click", apply);
  clearBtn.addEventListener("click", () => {
    fillInputs([]);
    model.send({ type: "query", index: indexSel.value, range: [], order: orderSel.value });
  });
  schemaBtn.addEventListener("click", () => {
    const show = schema.style.display === "none";
    schema.style.display = show ? "" : "none";
    schemaBtn.classList.toggle("nbr-on", show);
  });

  // -- the editor ---------------------------------------------------------------------
  /** @type {{ mode: "edit" | "insert" | null, id: string | null, dirty: boolean, request: number, pending: number | null, exists: boolean }} */
  const ed = { mode: null, id: null, dirty: false, request: 0, pending: null, exists: true };
  let confirmDelete = false;

  const resetDelete = () => {
    confirmDelete = false;
    deleteBtn.textContent = "Delete";
  };

  const closeEditor = () => {
    ed.mode = null;
    ed.id = null;
    ed.pending = null;
    editor.style.display = "none";
    table.selected = null;
    table.render();
    model.send({ type: "close_doc" });
  };

  /** @param {string} id */
  const openDoc = (id) => {
    ed.mode = "edit";
    ed.id = id;
    ed.dirty = false;
    ed.exists = true;
    ed.pending = null;
    resetDelete();
    editor.style.display = "";
    edTitle.textContent = `Document ${id}`;
    edMeta.textContent = "";
    edNotice.textContent = "";
    edError.textContent = "";
    edStatus.textContent = "loading…";
    textarea.value = "";
    textarea.readOnly = true; // until the document arrives
    saveBtn.textContent = "Save";
    saveBtn.disabled = false;
    deleteBtn.style.display = "";
    deleteBtn.disabled = false;
    table.selected = id;
    table.render();
    model.send({ type: "open", id });
  };

  const openInsert = () => {
    if (ed.mode === "edit") model.send({ type: "close_doc" });
    ed.mode = "insert";
    ed.id = null;
    ed.dirty = false;
    ed.exists = true;
    ed.pending = null;
    resetDelete();
    editor.style.display = "";
    edTitle.textContent = `New document in ${model.get("table")}`;
    edMeta.textContent = "_id and _creationTime are set by the system.";
    edNotice.textContent = "";
    edError.textContent = "";
    edStatus.textContent = "";
    textarea.readOnly = false;
    textarea.value = model.get("template") || "{}";
    saveBtn.textContent = "Insert";
    saveBtn.disabled = false;
    deleteBtn.style.display = "none";
    table.selected = null;
    table.render();
    textarea.focus();
  };

  tableHost.addEventListener("click", (ev) => {
    const tr = /** @type {HTMLElement | null} */ (/** @type {HTMLElement} */ (ev.target).closest(".nbr-tr"));
    if (tr && tr.dataset.id) openDoc(tr.dataset.id);
  });
  insertBtn.addEventListener("click", openInsert);
  closeBtn.addEventListener("click", closeEditor);
  textarea.addEventListener("input", () => {
    ed.dirty = true;
    edStatus.textContent = "";
  });
  textarea.addEventListener("keydown", (ev) => {
    if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey)) {
      ev.preventDefault();
      if (!saveBtn.disabled) saveBtn.click();
    }
  });
  saveBtn.title = "Ctrl+Enter";
  saveBtn.addEventListener("click", () => {
    if (ed.mode === null) return;
    ed.request += 1;
    ed.pending = ed.request;
    edError.textContent = "";
    edStatus.textContent = ed.mode === "insert" ? "inserting…" : "saving…";
    if (ed.mode === "insert") model.send({ type: "insert", request: ed.request, json: textarea.value });
    else model.send({ type: "save", request: ed.request, id: ed.id, json: textarea.value });
  });
  deleteBtn.addEventListener("click", () => {
    if (ed.mode !== "edit" || ed.id === null) return;
    if (!confirmDelete) {
      confirmDelete = true;
      deleteBtn.textContent = "Confirm delete";
      return;
    }
    resetDelete();
    ed.request += 1;
    ed.pending = ed.request;
    edError.textContent = "";
    edStatus.textContent = "deleting…";
    model.send({ type: "delete", request: ed.request, id: ed.id });
  });

  // The open document as stored; sent again when a commit changes it. A change
  // arriving while our own save is pending is that save (the kernel sends the new
  // document before the result): it replaces the text without a notice.
  /** @param {any} msg */
  const onDoc = (msg) => {
    if (ed.mode !== "edit" || msg.id !== ed.id) return;
    ed.exists = msg.exists;
    textarea.readOnly = false;
    if (edStatus.textContent === "loading…") edStatus.textContent = "";
    if (!msg.exists) {
      edMeta.textContent = "";
      edNotice.textContent = "This document does not exist (it was deleted).";
      saveBtn.disabled = true;
      deleteBtn.disabled = true;
      return;
    }
    saveBtn.disabled = false;
    deleteBtn.disabled = false;
    edMeta.textContent = `_creationTime ${msg.creation_time} (UTC) · edit the user fields; Save replaces them`;
    const own = ed.pending !== null;
    if (msg.changed && ed.dirty && !own) {
      edNotice.textContent = "Changed in the database since you opened it: Save replaces it with your text.";
      return;
    }
    edNotice.textContent = msg.changed && !own ? "Updated from the database." : "";
    textarea.value = msg.json;
    ed.dirty = false;
  };

  /** @param {any} msg */
  const onResult = (msg) => {
    if (msg.request !== ed.pending) return;
    ed.pending = null;
    if (!msg.ok) {
      const e = msg.error || {};
      edStatus.textContent = "";
      edError.textContent = `${e.type}: ${e.message}${e.path ? `\nat ${e.path}` : ""}`;
      return;
    }
    edError.textContent = "";
    if (msg.op === "delete") {
      closeEditor();
      return;
    }
    if (msg.op === "insert") openDoc(msg.id);
    ed.dirty = false;
    edStatus.textContent = msg.op === "insert" ? "Inserted ✓" : "Saved ✓";
    if (typeof msg.index === "number") {
      const sc = table.scroll;
      const top = msg.index * ROW_HEIGHT;
      if (top < sc.scrollTop || top > sc.scrollTop + sc.clientHeight - ROW_HEIGHT * 2) {
        sc.scrollTop = Math.max(0, top - sc.clientHeight / 2);
      }
    }
  };

  // -- drawing ------------------------------------------------------------------------
  const drawMain = () => {
    const name = model.get("table");
    title.textContent = name || "No table";
    const n = model.get("row_count");
    const matched = model.get("matched");
    const info = (model.get("tables") || []).find((/** @type {any} */ t) => t.name === name);
    const whole = !(model.get("index_range") || []).length;
    let text = `${fmt(n)} document${n === 1 ? "" : "s"}`;
    if (!whole) text += ` in range${info ? ` · ${fmt(info.count)} in table` : ""}`;
    count.textContent = name ? text : "";
    if (matched > n) {
      note.style.display = "";
      note.textContent = `Showing the first ${fmt(n)} of ${fmt(matched)} documents: the browser holds at most ${fmt(model.get("max_rows"))}. Narrow the range with an index to see the others.`;
    } else {
      note.style.display = "none";
    }
    const err = model.get("range_error");
    rangeError.style.display = err ? "" : "none";
    rangeError.textContent = err ? `${err.type}: ${err.message}` : "";
    schema.textContent = model.get("schema_text");
    insertBtn.disabled = !name;
    toolbar.style.display = name ? "" : "none";
    empty.style.display = name && n === 0 ? "" : "none";
    empty.textContent = whole ? "This table is empty." : "No documents in this range.";
    table.setColumns(model.get("columns"), model.get("sort"));
    table.render();
  };

  /** @param {any} msg @param {DataView[]} buffers */
  const onMessage = (msg, buffers) => {
    if (!msg || typeof msg !== "object") return;
    const used = table.receive(msg, buffers);
    if (used === "patch" || used === "reset") pulse();
    else if (msg.type === "doc") {
      onDoc(msg);
    } else if (msg.type === "result") {
      onResult(msg);
    }
  };

  const onTable = () => {
    if (ed.mode !== null) closeEditor();
    table.scroll.scrollTop = 0;
  };
  const onChange = () => drawMain();
  const onSide = () => drawSide();
  const onIndexes = () => drawIndexes();
  model.on("msg:custom", onMessage);
  model.on("change", onChange);
  model.on("change:tables", onSide);
  model.on("change:table", onSide);
  model.on("change:table", onTable);
  model.on("change:indexes", onIndexes);
  model.on("change:index", onIndexes);
  model.on("change:index_range", onIndexes);
  model.on("change:order", onIndexes);
  drawSide();
  drawIndexes();
  drawMain();
  table.reset(model.get("row_count"));
  return () => {
    model.off("msg:custom", onMessage);
    model.off("change", onChange);
    model.off("change:tables", onSide);
    model.off("change:table", onSide);
    model.off("change:table", onTable);
    model.off("change:indexes", onIndexes);
    model.off("change:index", onIndexes);
    model.off("change:index_range", onIndexes);
    model.off("change:order", onIndexes);
    table.destroy();
  };
}

export default { render };
