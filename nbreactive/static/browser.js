// js/lib/table.js
var ROW_HEIGHT = 24;
var BUFFER = 60;
var KEEP = 1500;
var FLASH_MS = 1200;
var decoder = new TextDecoder();
function decodeJson(buf) {
  const bytes = buf instanceof ArrayBuffer ? new Uint8Array(buf) : new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  return JSON.parse(decoder.decode(bytes));
}
function modelHooks(model) {
  return {
    request: (start, end, id) => model.send({ type: "window", start, end, request: id }),
    view: (start, end) => model.send({ type: "view", start, end }),
    sort: (column) => {
      const sort = model.get("sort") || [];
      const dir = sort[0] !== column ? "asc" : sort[1] === "asc" ? "desc" : null;
      model.send({ type: "sort", column: dir ? column : null, dir });
    }
  };
}
var VirtualTable = class {
  /**
   * @param {HTMLElement} parent
   * @param {TableHooks} hooks
   */
  constructor(parent, hooks) {
    this.hooks = hooks;
    this.cache = /* @__PURE__ */ new Map();
    this.flash = /* @__PURE__ */ new Map();
    this.columns = [];
    this.widths = [];
    this.sort = null;
    this.rowCount = 0;
    this.version = -1;
    this.pending = null;
    this.requests = 0;
    this.reported = [0, 0];
    this.scroll = document.createElement("div");
    this.scroll.className = "nbr-scroll";
    this.head = document.createElement("div");
    this.head.className = "nbr-head";
    this.body = document.createElement("div");
    this.body.className = "nbr-body";
    this.rows = document.createElement("div");
    this.rows.className = "nbr-rows";
    this.body.append(this.rows);
    this.scroll.append(this.head, this.body);
    parent.append(this.scroll);
    this.onScroll = () => this.render();
    this.scroll.addEventListener("scroll", this.onScroll, { passive: true });
  }
  destroy() {
    this.scroll.removeEventListener("scroll", this.onScroll);
    this.scroll.remove();
  }
  /** @param {string[]} columns @param {string[] | null} sort */
  setColumns(columns, sort) {
    const same = columns.length === this.columns.length && columns.every((c, i) => c === this.columns[i]);
    if (!same) {
      const old = new Map(this.columns.map((c, i) => [c, this.widths[i]]));
      this.columns = columns;
      this.widths = columns.map((c) => old.get(c) ?? (c === "_id" ? 130 : c === "_creationTime" ? 190 : 160));
    }
    this.sort = sort && sort.length === 2 ? sort : null;
    this.renderHead();
  }
  template() {
    return this.widths.map((w) => `${w}px`).join(" ");
  }
  renderHead() {
    this.head.style.gridTemplateColumns = this.template();
    const active = (
      /** @type {HTMLElement | null} */
      document.activeElement
    );
    const focused = active && active.parentElement === this.head ? active.dataset.column : void 0;
    this.head.setAttribute("role", "row");
    this.head.replaceChildren(
      ...this.columns.map((c, i) => {
        const th = document.createElement("div");
        th.className = "nbr-th";
        th.title = `${c} (click to sort)`;
        th.textContent = c;
        th.dataset.column = c;
        th.tabIndex = 0;
        th.setAttribute("role", "columnheader");
        th.setAttribute("aria-label", c);
        const sorted = this.sort && this.sort[0] === c ? this.sort[1] : null;
        th.setAttribute("aria-sort", sorted === "desc" ? "descending" : sorted ? "ascending" : "none");
        if (sorted) {
          const s = document.createElement("span");
          s.className = "nbr-sort";
          s.setAttribute("aria-hidden", "true");
          s.textContent = sorted === "desc" ? "\u25BC" : "\u25B2";
          th.append(s);
        }
        th.addEventListener("click", (ev) => {
          if (
            /** @type {HTMLElement} */
            ev.target.classList.contains("nbr-resize")
          ) return;
          this.hooks.sort(c);
        });
        th.addEventListener("keydown", (ev) => {
          if (ev.key !== "Enter" && ev.key !== " ") return;
          ev.preventDefault();
          this.hooks.sort(c);
        });
        const grip = document.createElement("div");
        grip.className = "nbr-resize";
        grip.addEventListener("mousedown", (ev) => this.startResize(ev, i));
        th.append(grip);
        return th;
      })
    );
    if (focused !== void 0) {
      const again = [...this.head.children].find((th) => (
        /** @type {HTMLElement} */
        th.dataset.column === focused
      ));
      if (again) again.focus();
    }
  }
  /** @param {MouseEvent} ev @param {number} i */
  startResize(ev, i) {
    ev.preventDefault();
    ev.stopPropagation();
    const x0 = ev.clientX;
    const w0 = this.widths[i];
    const move = (e) => {
      this.widths[i] = Math.max(40, w0 + e.clientX - x0);
      const t = this.template();
      this.head.style.gridTemplateColumns = t;
      for (const tr of this.rows.children) tr.style.gridTemplateColumns = t;
    };
    const up = () => {
      window.removeEventListener("mousemove", move);
      window.removeEventListener("mouseup", up);
    };
    window.addEventListener("mousemove", move);
    window.addEventListener("mouseup", up);
  }
  /** @param {number} rowCount */
  reset(rowCount) {
    this.cache.clear();
    this.rowCount = rowCount;
    this.render();
  }
  /** @param {number} start @param {number} rowCount @param {RowBlock} block */
  fill(start, rowCount, block) {
    this.rowCount = rowCount;
    block.ids.forEach((id, k) => this.cache.set(start + k, { id, cells: block.cells[k] }));
    this.render();
  }
  /**
   * A row message from the kernel; returns its type if the table used it.
   * @param {any} msg @param {DataView[]} buffers
   * @returns {"rows" | "patch" | "reset" | null}
   */
  receive(msg, buffers) {
    if (msg.type === "rows") {
      const answered = msg.request === this.pending;
      if (answered) this.pending = null;
      if (msg.version < this.version) {
        if (answered) this.render();
        return null;
      }
      this.version = msg.version;
      this.fill(msg.start, msg.row_count, decodeJson(buffers[0]));
      return "rows";
    }
    if (msg.type === "patch") {
      if (msg.version <= this.version) return null;
      this.version = msg.version;
      this.patch(msg, decodeJson(buffers[0]));
      return "patch";
    }
    if (msg.type === "reset") {
      this.version = msg.version;
      this.reset(msg.row_count);
      return "reset";
    }
    return null;
  }
  /**
   * A change: each op `[at, removed, inserted, first, count]` replaces `removed` rows
   * at `at` by `inserted` rows, of which `block` holds `count` (for the indexes from
   * `first`, in op order); the others are asked for when they come into view.
   * @param {{ ops: number[][], row_count: number, flash: string[][] }} msg
   * @param {RowBlock} block
   */
  patch(msg, block) {
    let cache = this.cache;
    let k = 0;
    for (const [at, removed, inserted, first, count] of msg.ops) {
      const delta = inserted - removed;
      const next = /* @__PURE__ */ new Map();
      for (const [i, row] of cache) {
        if (i < at) next.set(i, row);
        else if (i >= at + removed) next.set(i + delta, row);
      }
      for (let j = 0; j < count; j++, k++) next.set(first + j, { id: block.ids[k], cells: block.cells[k] });
      cache = next;
    }
    this.cache = cache;
    this.rowCount = msg.row_count;
    const until = performance.now() + FLASH_MS;
    for (const [id, kind] of msg.flash) this.flash.set(id, [kind, until]);
    this.render();
  }
  visibleRange() {
    const top = this.scroll.scrollTop;
    const height = this.scroll.clientHeight || 420;
    const first = Math.max(0, Math.floor(top / ROW_HEIGHT) - 1);
    const last = Math.min(this.rowCount, Math.ceil((top + height) / ROW_HEIGHT) + 1);
    return [first, last];
  }
  render() {
    this.body.style.height = `${this.rowCount * ROW_HEIGHT}px`;
    const [first, last] = this.visibleRange();
    let missing = false;
    for (let i = first; i < last; i++) {
      if (!this.cache.has(i)) {
        missing = true;
        break;
      }
    }
    const start = Math.max(0, first - BUFFER);
    const end = Math.min(this.rowCount, last + BUFFER);
    if (missing && this.pending === null) {
      this.pending = ++this.requests;
      this.reported = [start, end];
      this.hooks.request(start, end, this.pending);
    } else if (!missing && (first < this.reported[0] || last > this.reported[1])) {
      this.reported = [start, end];
      this.hooks.view(start, end);
    }
    this.prune(first, last);
    const now = performance.now();
    const template = this.template();
    const out = [];
    for (let i = first; i < last; i++) {
      const row = this.cache.get(i);
      const tr = document.createElement("div");
      tr.className = "nbr-tr";
      tr.style.gridTemplateColumns = template;
      tr.dataset.index = String(i);
      if (!row) {
        const td = document.createElement("div");
        td.className = "nbr-td nbr-loading";
        td.textContent = "\u2026";
        tr.append(td);
      } else {
        tr.dataset.id = row.id;
        const f = this.flash.get(row.id);
        if (f && f[1] > now) tr.classList.add(f[0] === "changed" ? "nbr-changed" : "nbr-added");
        for (const [tag, text, tooltip] of row.cells) {
          const td = document.createElement("div");
          td.className = `nbr-td nbr-t-${tag}`;
          td.textContent = tag === "i" ? shortId(text) : text;
          td.title = tooltip ?? text;
          tr.append(td);
        }
      }
      out.push(tr);
    }
    this.rows.style.top = `${first * ROW_HEIGHT}px`;
    this.rows.replaceChildren(...out);
    for (const [id, [, until]] of this.flash) if (until <= now) this.flash.delete(id);
  }
  /** @param {number} first @param {number} last */
  prune(first, last) {
    if (this.cache.size <= 2 * KEEP) return;
    for (const i of this.cache.keys()) if (i < first - KEEP || i > last + KEEP) this.cache.delete(i);
  }
};
function shortId(id) {
  return id.length > 12 ? `${id.slice(0, 10)}\u2026` : id;
}

// js/widgets/browser.js
function h(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== void 0) e.textContent = text;
  return e;
}
function fmt(n) {
  return n.toLocaleString();
}
var BrowserTable = class extends VirtualTable {
  /** @param {HTMLElement} parent @param {import("../lib/table.js").TableHooks} hooks */
  constructor(parent, hooks) {
    super(parent, hooks);
    this.selected = null;
  }
  render() {
    super.render();
    for (const tr of this.rows.children) {
      const row = (
        /** @type {HTMLElement} */
        tr
      );
      row.classList.toggle("nbr-selected", this.selected !== null && row.dataset.id === this.selected);
    }
  }
};
function render({ model, el }) {
  const root = h("div", "nbr-browser");
  const side = h("div", "nbr-side");
  const main = h("div", "nbr-main");
  root.append(side, main);
  el.append(root);
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
  tableHost.append(empty);
  const pulse = () => {
    dot.classList.remove("nbr-pulse");
    void dot.offsetWidth;
    dot.classList.add("nbr-pulse");
  };
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
  let inputs = [];
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
  const opSelect = (pairs) => {
    const s = h("select", "nbr-op");
    for (const [v, t] of pairs) {
      const o = h("option", "", t);
      o.value = v;
      s.append(o);
    }
    return s;
  };
  const buildInputs = (name) => {
    const idx = (model.get("indexes") || []).find((i) => i.name === name);
    const fields = idx ? idx.fields : [];
    fieldsBox.replaceChildren();
    inputs = [];
    if (fields.length) {
      const hint = h(
        "div",
        "nbr-hint",
        'Values are JSON: "text", 3 (int64), 3.0 (float64), true, null. Equalities on leading fields, then bounds on the next one.'
      );
      fieldsBox.append(hint);
    }
    for (const field of fields) {
      const row = h("div", "nbr-frow");
      const eq = h("input", "nbr-in");
      eq.placeholder = "= value";
      const lowOp = opSelect([["gte", "\u2265"], ["gt", ">"]]);
      const low = h("input", "nbr-in");
      low.placeholder = "lower bound";
      const highOp = opSelect([["lte", "\u2264"], ["lt", "<"]]);
      const high = h("input", "nbr-in");
      high.placeholder = "upper bound";
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
      ...indexes.map((i) => {
        const o = h("option", "", `${i.name} (${i.fields.join(", ")})`);
        o.value = i.name;
        return o;
      })
    );
    indexSel.value = model.get("index");
    orderSel.value = model.get("order");
    buildInputs(model.get("index"));
    fillInputs(model.get("index_range") || []);
  };
  const apply = () => {
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
    edStatus.textContent = "loading\u2026";
    textarea.value = "";
    textarea.readOnly = true;
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
    const tr = (
      /** @type {HTMLElement | null} */
      /** @type {HTMLElement} */
      ev.target.closest(".nbr-tr")
    );
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
    edStatus.textContent = ed.mode === "insert" ? "inserting\u2026" : "saving\u2026";
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
    edStatus.textContent = "deleting\u2026";
    model.send({ type: "delete", request: ed.request, id: ed.id });
  });
  const onDoc = (msg) => {
    if (ed.mode !== "edit" || msg.id !== ed.id) return;
    ed.exists = msg.exists;
    textarea.readOnly = false;
    if (edStatus.textContent === "loading\u2026") edStatus.textContent = "";
    if (!msg.exists) {
      edMeta.textContent = "";
      edNotice.textContent = "This document does not exist (it was deleted).";
      saveBtn.disabled = true;
      deleteBtn.disabled = true;
      return;
    }
    saveBtn.disabled = false;
    deleteBtn.disabled = false;
    edMeta.textContent = `_creationTime ${msg.creation_time} (UTC) \xB7 edit the user fields; Save replaces them`;
    const own = ed.pending !== null;
    if (msg.changed && ed.dirty && !own) {
      edNotice.textContent = "Changed in the database since you opened it: Save replaces it with your text.";
      return;
    }
    edNotice.textContent = msg.changed && !own ? "Updated from the database." : "";
    textarea.value = msg.json;
    ed.dirty = false;
  };
  const onResult = (msg) => {
    if (msg.request !== ed.pending) return;
    ed.pending = null;
    if (!msg.ok) {
      const e = msg.error || {};
      edStatus.textContent = "";
      edError.textContent = `${e.type}: ${e.message}${e.path ? `
at ${e.path}` : ""}`;
      return;
    }
    edError.textContent = "";
    if (msg.op === "delete") {
      closeEditor();
      return;
    }
    if (msg.op === "insert") openDoc(msg.id);
    ed.dirty = false;
    edStatus.textContent = msg.op === "insert" ? "Inserted \u2713" : "Saved \u2713";
    if (typeof msg.index === "number") {
      const sc = table.scroll;
      const top = msg.index * ROW_HEIGHT;
      if (top < sc.scrollTop || top > sc.scrollTop + sc.clientHeight - ROW_HEIGHT * 2) {
        sc.scrollTop = Math.max(0, top - sc.clientHeight / 2);
      }
    }
  };
  const drawMain = () => {
    const name = model.get("table");
    title.textContent = name || "No table";
    const n = model.get("row_count");
    const matched = model.get("matched");
    const info = (model.get("tables") || []).find((t) => t.name === name);
    const whole = !(model.get("index_range") || []).length;
    let text = `${fmt(n)} document${n === 1 ? "" : "s"}`;
    if (!whole) text += ` in range${info ? ` \xB7 ${fmt(info.count)} in table` : ""}`;
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
var browser_default = { render };
export {
  browser_default as default
};
