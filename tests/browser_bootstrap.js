// The page script of tests/browser_harness.py's render_static(): renders the widgets
// whose state is in #nbr-state into the .nbr-view elements with ipywidgets' own
// HTMLManager (the one in embed-amd.js, as in an exported notebook), then gives every
// model a comm:
//
// - static mode: what the front end sends (model.send, save_changes) is recorded in
//   window.__nbr.sent, and the test can deliver kernel messages with __nbr.deliver();
// - live mode: the comm talks to the Python widgets of the test process over HTTP
//   (POST nbr/send for front end -> Python; a long poll of nbr/poll for Python -> front
//   end), so updates, custom messages and new widgets flow both ways, without a kernel.
//
// Progress and failure are visible to the test in window.__nbr (ready, error).
(function () {
  "use strict";
  const nbr = (window.__nbr = {
    ready: false,
    error: null,
    stopped: false,
    manager: null,
    models: {},
    sent: [],
    received: 0,
    inflight: 0, // requests to the test's server not yet answered (closing waits for 0)
  });
  const config = JSON.parse(document.getElementById("nbr-config").textContent);

  function b64ToView(text) {
    const bin = atob(text);
    const bytes = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    return new DataView(bytes.buffer);
  }

  function viewToB64(buf) {
    const bytes = ArrayBuffer.isView(buf)
      ? new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength)
      : new Uint8Array(buf);
    let bin = "";
    for (let i = 0; i < bytes.length; i += 0x8000) {
      bin += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
    }
    return btoa(bin);
  }

  function request(url, init) {
    nbr.inflight++;
    return fetch(url, init).finally(() => nbr.inflight--);
  }

  let seq = 0;
  function makeComm(commId) {
    return {
      comm_id: commId,
      target_name: "jupyter.widget",
      // the signature ipywidgets' WidgetModel calls: send(data, callbacks, metadata, buffers)
      send(data, callbacks, _metadata, buffers) {
        const msgId = `nbr-${++seq}`;
        const wire = {
          comm_id: commId,
          msg_id: msgId,
          data: data,
          buffers: (buffers || []).map(viewToB64),
        };
        nbr.sent.push(wire);
        // The model counts pending sync messages until the "kernel" reports idle for
        // them; without this, a second save_changes() would be held back for ever.
        const idle = () => {
          const status = callbacks && callbacks.iopub && callbacks.iopub.status;
          if (status) status({ content: { execution_state: "idle" }, parent_header: { msg_id: msgId } });
        };
        if (config.live) {
          request("nbr/send", {
            method: "POST",
            headers: { "Content-Type": "application/json" },
            body: JSON.stringify(wire),
          }).then(idle, (err) => console.error("nbr: sending to Python failed", err));
        } else {
          Promise.resolve().then(idle);
        }
        return msgId;
      },
      close() {},
      on_msg() {},
      on_close() {},
    };
  }

  function attach(model) {
    if (!model.comm) {
      model.comm = makeComm(model.model_id);
      model.comm_live = true;
    }
    nbr.models[model.model_id] = model;
    return model;
  }

  // One message from "the kernel": {msg_type, comm_id, data, buffers (base64), ...}.
  async function deliver(msg) {
    const buffers = (msg.buffers || []).map(b64ToView);
    if (msg.msg_type === "comm_open") {
      if (msg.target_name !== "jupyter.widget") return;
      const model = await nbr.manager.handle_comm_open(makeComm(msg.comm_id), {
        content: { comm_id: msg.comm_id, target_name: msg.target_name, data: msg.data },
        buffers: buffers,
        metadata: msg.metadata || { version: "2.1.0" },
      });
      attach(model);
    } else if (msg.msg_type === "comm_msg") {
      const model = await nbr.manager.get_model(msg.comm_id);
      await model._handle_comm_msg({
        content: { comm_id: msg.comm_id, data: msg.data },
        buffers: buffers,
        parent_header: msg.parent_header || {},
      });
    } else if (msg.msg_type === "comm_close") {
      const model = nbr.models[msg.comm_id];
      if (model) model._handle_comm_closed({});
    }
    nbr.received++;
  }
  nbr.deliver = deliver;

  async function poll() {
    let since = 0;
    while (!nbr.stopped) {
      let body;
      try {
        body = await request(`nbr/poll?since=${since}`).then((response) => response.json());
      } catch (err) {
        if (!nbr.stopped) console.error("nbr: polling Python failed", err);
        return;
      }
      for (const msg of body.messages) {
        try {
          await deliver(msg);
        } catch (err) {
          console.error("nbr: delivering a message failed", msg.msg_type, err);
        }
        since = msg.seq;
      }
      if (body.closed) return; // the test is over: its server is closing
    }
  }

  async function render(htmlmanager, embed) {
    try {
      const manager = new htmlmanager.HTMLManager({ loader: embed.requireLoader });
      nbr.manager = manager;
      const state = JSON.parse(document.getElementById("nbr-state").textContent);
      const models = await manager.set_state(state);
      models.forEach(attach);
      for (const el of document.querySelectorAll(".nbr-view")) {
        const model = await manager.get_model(el.dataset.modelId);
        const view = await manager.create_view(model);
        await manager.display_view(view, el);
      }
      if (config.live) poll();
      nbr.ready = true;
    } catch (err) {
      nbr.error = String((err && err.stack) || err);
      console.error("nbr: rendering the widgets failed", err);
    }
  }

  function start() {
    // (require.js ignores an async function as callback: its toString tag is not "Function")
    window.require(
      ["@jupyter-widgets/html-manager", "@jupyter-widgets/html-manager/dist/libembed-amd"],
      function (htmlmanager, embed) {
        render(htmlmanager, embed);
      },
      function (err) {
        nbr.error = "require.js could not load the widget manager: " + err;
      }
    );
  }
  // after "load", like embed-amd.js's own renderer
  if (document.readyState === "complete") start();
  else window.addEventListener("load", start);
})();
