// js/widgets/form.js
var OMIT = "\u2014 omit \u2014";
function h(tag, cls, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== void 0) node.textContent = text;
  return node;
}
function addOption(select, value, label, disabled = false) {
  const opt = h("option", void 0, label);
  opt.value = value;
  opt.disabled = disabled;
  select.append(opt);
  return opt;
}
var uid = 0;
function makeControl(field, submit) {
  const id = `nbr-form-${++uid}`;
  const row = h("div", "nbr-field");
  row.dataset.name = field.name;
  row.dataset.kind = field.kind;
  const label = h("label", "nbr-label");
  label.htmlFor = id;
  label.append(h("span", "nbr-name", field.whole ? "arguments" : field.name));
  label.append(h("code", "nbr-type", field.validator));
  if (field.optional) label.append(h("span", "nbr-optional", "optional: leave empty to omit"));
  const body = h("div", "nbr-input");
  const error = h("div", "nbr-field-error");
  row.append(label, body);
  let control;
  if (field.kind === "boolean" && !field.optional) {
    const box = h("input");
    box.type = "checkbox";
    box.id = id;
    box.checked = field.default === true;
    const wrap = h("label", "nbr-check");
    wrap.append(box, h("span", void 0, "true"));
    box.addEventListener("change", () => {
      wrap.lastChild.textContent = box.checked ? "true" : "false";
    });
    wrap.lastChild.textContent = box.checked ? "true" : "false";
    body.append(wrap);
    control = { row, error, value: () => box.checked, focusable: box };
  } else if (field.kind === "boolean" || field.kind === "choice") {
    const select = h("select", "nbr-select");
    select.id = id;
    if (field.optional) addOption(select, "", OMIT);
    if (field.kind === "boolean") {
      addOption(select, "true", "true");
      addOption(select, "false", "false");
    } else {
      (field.choices || []).forEach((c, i) => addOption(select, String(i), c));
    }
    select.value = String(field.default ?? "");
    body.append(select);
    control = { row, error, value: () => select.value, focusable: select };
  } else if (field.kind === "id") {
    const select = h("select", "nbr-select nbr-id");
    select.id = id;
    const more = h("div", "nbr-more");
    const paste = h("input", "nbr-text nbr-paste");
    paste.type = "text";
    paste.placeholder = `or paste an id of ${field.table}`;
    paste.spellcheck = false;
    more.style.display = "none";
    const note = h("span", "nbr-note");
    more.append(note, paste);
    body.append(select, more);
    const setOptions = (opts) => {
      const current = select.value;
      const picked = select.selectedOptions[0];
      const pickedLabel = picked && current !== "" ? picked.textContent || current : current;
      const options = opts ? opts.options : [];
      select.textContent = "";
      const known = options.some(([docId]) => docId === current);
      if (field.optional) addOption(select, "", OMIT);
      else if (!options.length && (known || current === "")) {
        addOption(select, "", `(no documents in ${field.table})`, true);
      }
      for (const [docId, text] of options) {
        addOption(select, docId, text ? `${text} \xB7 ${docId}` : docId).title = docId;
      }
      if (!known && current !== "") {
        const label2 = pickedLabel.endsWith(" (not listed now)") ? pickedLabel : `${pickedLabel} (not listed now)`;
        addOption(select, current, label2).title = current;
      }
      select.value = current !== "" || field.optional ? current : options.length ? options[0][0] : "";
      const total = opts ? opts.total : 0;
      if (total > options.length) {
        more.style.display = "";
        note.textContent = `Showing the newest ${options.length.toLocaleString()} of ${total.toLocaleString()} documents.`;
      } else {
        more.style.display = "none";
        paste.value = "";
      }
    };
    control = {
      row,
      error,
      setOptions,
      focusable: select,
      value: () => paste.value.trim() ? paste.value.trim() : select.value
    };
  } else if (field.kind === "json") {
    const area = h("textarea", "nbr-text nbr-json");
    area.id = id;
    area.rows = field.whole ? 3 : 2;
    area.spellcheck = false;
    area.placeholder = field.whole ? '{"name": "value"}' : field.validator;
    area.value = String(field.default ?? "");
    area.addEventListener("keydown", (e) => {
      if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
        e.preventDefault();
        submit();
      }
    });
    body.append(area);
    body.append(h("div", "nbr-hint", "JSON; numbers are float64 unless the validator wants an int64 there"));
    control = { row, error, value: () => area.value, focusable: area };
  } else {
    const input = h("input", "nbr-text");
    input.type = "text";
    input.id = id;
    input.spellcheck = field.kind === "string";
    if (field.kind === "int64") input.inputMode = "numeric";
    if (field.kind === "number") input.inputMode = "decimal";
    input.placeholder = field.kind === "int64" ? "whole number" : field.kind === "number" ? "number" : "";
    input.value = String(field.default ?? "");
    body.append(input);
    control = { row, error, value: () => input.value, focusable: input };
  }
  body.append(error);
  return control;
}
function render({ model, el }) {
  const root = h("div", "nbr-form");
  const title = h("div", "nbr-title");
  const fn = h("span", "nbr-fn");
  const kind = h("span", "nbr-kind");
  title.append(fn, kind);
  const doc = h("div", "nbr-doc");
  const form = h("form", "nbr-fields");
  form.noValidate = true;
  const footer = h("div", "nbr-footer");
  const button = h("button", "nbr-submit", "Submit");
  button.type = "button";
  const status = h("span", "nbr-status");
  footer.append(button, status);
  const output = h("div", "nbr-output");
  root.append(title, doc, form, footer, output);
  el.append(root);
  let controls = /* @__PURE__ */ new Map();
  const submit = () => {
    if (model.get("busy")) return;
    const values = {};
    for (const [name, c] of controls) values[name] = c.value();
    model.send({ type: "submit", values });
  };
  const build = () => {
    form.textContent = "";
    controls = /* @__PURE__ */ new Map();
    for (
      const field of
      /** @type {Field[]} */
      model.get("fields") || []
    ) {
      const c = makeControl(field, submit);
      controls.set(field.name, c);
      form.append(c.row);
    }
    const hidden = h("button");
    hidden.type = "submit";
    hidden.style.display = "none";
    form.append(hidden);
    fillOptions();
    drawErrors();
  };
  const fillOptions = () => {
    const all = model.get("id_options") || {};
    for (
      const field of
      /** @type {Field[]} */
      model.get("fields") || []
    ) {
      const c = controls.get(field.name);
      if (c && c.setOptions && field.table) c.setOptions(all[field.table]);
    }
  };
  const drawErrors = () => {
    const errs = model.get("field_errors") || {};
    for (const [name, c] of controls) {
      const msg = errs[name];
      c.error.textContent = msg || "";
      c.error.style.display = msg ? "" : "none";
      c.row.classList.toggle("nbr-invalid", !!msg);
    }
  };
  const drawHeader = () => {
    fn.textContent = model.get("function");
    kind.textContent = model.get("kind");
    const text = model.get("doc");
    doc.textContent = text;
    doc.style.display = text ? "" : "none";
  };
  const drawState = () => {
    const busy = !!model.get("busy");
    button.disabled = busy;
    button.textContent = busy ? "Running\u2026" : "Submit";
    root.classList.toggle("nbr-busy", busy);
    output.textContent = "";
    const err = model.get("error");
    const result = model.get("result");
    const fieldErrors = Object.keys(model.get("field_errors") || {}).length;
    status.textContent = busy ? "" : err ? "failed" : result != null ? "done" : "";
    status.className = `nbr-status${err ? " nbr-bad" : result != null ? " nbr-good" : ""}`;
    if (err) {
      const box = h("div", "nbr-error");
      box.append(h("div", "nbr-error-head", `${err.type}: ${err.message}`));
      if (err.data != null && err.data !== err.message) {
        const data = h("div", "nbr-error-data");
        data.append(h("span", "nbr-muted", "data: "), h("code", void 0, err.data));
        box.append(data);
      }
      if (err.traceback) {
        const details = h("details");
        details.append(h("summary", void 0, "traceback"), h("pre", void 0, err.traceback));
        box.append(details);
      }
      output.append(box);
    } else if (fieldErrors && !busy) {
      output.append(h("div", "nbr-warn", "Fix the marked field" + (fieldErrors > 1 ? "s" : "") + " and submit again."));
    } else if (result != null) {
      const box = h("div", "nbr-result");
      box.append(h("div", "nbr-muted", "Result"), h("pre", void 0, result));
      output.append(box);
    }
  };
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    submit();
  });
  button.addEventListener("click", submit);
  const listeners = [
    ["change:fields", build],
    ["change:id_options", fillOptions],
    ["change:field_errors", drawErrors],
    ["change:function", drawHeader],
    ["change:kind", drawHeader],
    ["change:doc", drawHeader],
    ["change:busy", drawState],
    ["change:result", drawState],
    ["change:error", drawState],
    ["change:field_errors", drawState]
  ];
  for (const [event, fn2] of listeners) model.on(event, fn2);
  drawHeader();
  build();
  drawState();
  return () => {
    for (const [event, fn2] of listeners) model.off(event, fn2);
  };
}
var form_default = { render };
export {
  form_default as default
};
