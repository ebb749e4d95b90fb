// A virtualized table over rows held by the kernel (nbreactive/widgets/rows.py has
// the messages).
//
// Only the rows near the viewport are in the DOM and in `cache` (index -> row);
// missing ones are asked for with `request(start, end, id)`, one request at a time.
// `patch` applies the splices sent after a commit (rows after each shift), and
// `reset` drops everything. Every message carries the kernel's row version: rows
// older than what the table shows are dropped (and asked for again).

export const ROW_HEIGHT = 24;
const BUFFER = 60; // rows fetched beyond the viewport on each side
const KEEP = 1500; // rows kept in the cache around the viewport
const FLASH_MS = 1200;
const decoder = new TextDecoder();

/** @param {DataView | ArrayBuffer | Uint8Array} buf */
export function decodeJson(buf) {
  const bytes =
    buf instanceof ArrayBuffer ? new Uint8Array(buf) : new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  return JSON.parse(decoder.decode(bytes));
}

/**
 * @typedef {{ id: string, cells: string[][] }} Row (a cell: [tag, text] or [tag, text, tooltip])
 * @typedef {{ ids: string[], cells: string[][][] }} RowBlock
 * @typedef {{ request: (start: number, end: number, id: number) => void, view: (start: number, end: number) => void, sort: (column: string) => void }} TableHooks
 */

/**
 * The hooks that tie a table to its widget model: the row messages of
 * nbreactive/widgets/rows.py (sorting cycles a column asc → desc → unsorted).
 * @param {{ get: (name: string) => any, send: (content: any) => void }} model
 * @returns {TableHooks}
 */
export function modelHooks(model) {
  return {
    request: (start, end, id) => model.send({ type: "window", start, end, request: id }),
    view: (start, end) => model.send({ type: "view", start, end }),
    sort: (column) => {
      const sort = model.get("sort") || [];
      const dir = sort[0] !== column ? "asc" : sort[1] === "asc" ? "desc" : null;
      model.send({ type: "sort", column: dir ? column : null, dir });
    },
  };
}

export class VirtualTable {
  /**
   * @param {HTMLElement} parent
   * @param {TableHooks} hooks
   */
  constructor(parent, hooks) {
    this.hooks = hooks;
    /** @type {Map<number, Row>} */
    this.cache = new Map();
    /** @type {Map<string, [string, number]>} id -> [kind, until] */
    this.flash = new Map();
    /** @type {string[]} */
    this.columns = [];
    /** @type {number[]} */
    this.widths = [];
    /** @type {string[] | null} */
    this.sort = null;
    this.rowCount = 0;
    this.version = -1;
    /** @type {number | null} the id of the window request in flight */
    this.pending = null;
    this.requests = 0;
    /** the rows around the viewport the kernel last heard of (patches carry rows there) */
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
    // A header focused from the keyboard keeps the focus across the redraw.
    const active = /** @type {HTMLElement | null} */ (document.activeElement);
    const focused = active && active.parentElement === this.head ? active.dataset.column : undefined;
    this.head.setAttribute("role", "row");
    this.head.replaceChildren(
      ...this.columns.map((c, i) => {
        const th = document.createElement("div");
        th.className = "nbr-th";
        th.title = `${c} (click to sort)`;
        th.textContent = c;
        th.dataset.column = c;
        th.tabIndex = 0; // sortable from the keyboard too (Enter or Space)
        th.setAttribute("role", "columnheader");
        th.setAttribute("aria-label", c);
        const sorted = this.sort && this.sort[0] === c ? this.sort[1] : null;
        th.setAttribute("aria-sort", sorted === "desc" ? "descending" : sorted ? "ascending" : "none");
        if (sorted) {
          const s = document.createElement("span");
          s.className = "nbr-sort";
          s.setAttribute("aria-hidden", "true");
          s.textContent = sorted === "desc" ? "▼" : "▲";
          th.append(s);
        }
        th.addEventListener("click", (ev) => {
          if (/** @type {HTMLElement} */ (ev.target).classList.contains("nbr-resize")) return;
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
      }),
    );
    if (focused !== undefined) {
      const again = [...this.head.children].find((th) => /** @type {HTMLElement} */ (th).dataset.column === focused);
      if (again) /** @type {HTMLElement} */ (again).focus();
    }
  }

  /** @param {MouseEvent} ev @param {number} i */
  startResize(ev, i) {
    ev.preventDefault();
    ev.stopPropagation();
    const x0 = ev.clientX;
    const w0 = this.widths[i];
    /** @param {MouseEvent} e */
    const move = (e) => {
      this.widths[i] = Math.max(40, w0 + e.clientX - x0);
      const t = this.template();
      this.head.style.gridTemplateColumns = t;
      for (const tr of this.rows.children) /** @type {HTMLElement} */ (tr).style.gridTemplateColumns = t;
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
        if (answered) this.render(); // stale rows: ask again
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
      /** @type {Map<number, Row>} */
      const next = new Map();
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
      // Scrolled over rows already here: say where, so commits bring the rows shown.
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
        td.textContent = "…";
        tr.append(td);
      } else {
        tr.dataset.id = row.id;
        const f = this.flash.get(row.id);
        if (f && f[1] > now) tr.classList.add(f[0] === "changed" ? "nbr-changed" : "nbr-added");
        for (const [tag, text, tooltip] of row.cells) {
          const td = document.createElement("div");
          td.className = `nbr-td nbr-t-${tag}`;
          td.textContent = tag === "i" ? shortId(text) : text;
          td.title = tooltip ?? text; // a text cut for the cell has more there
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
}

/** @param {string} id */
function shortId(id) {
  return id.length > 12 ? `${id.slice(0, 10)}…` : id;
}
