"""The widget test harness works (``tests/browser_harness.py``, ``tests/browser_fixtures.py``).

A tiny anywidget defined here (``WIDGET_SOURCE``, run both in this process and in a
kernel) draws ``value=N``, the bytes of a binary trait, and the text and bytes of the
last custom message it got, which it acknowledges with a custom message of its own.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from browser_harness import CommMirror, save_screenshot

pytest.importorskip("anywidget")

WIDGET_SOURCE = r'''
import anywidget
import traitlets

class SelfCheck(anywidget.AnyWidget):
    _esm = """
    const bytes = (dv) => Array.from(new Uint8Array(dv.buffer, dv.byteOffset, dv.byteLength)).join(",");
    function render({ model, el }) {
      const value = document.createElement("span");
      value.className = "nbr-selfcheck-value";
      const blob = document.createElement("span");
      blob.className = "nbr-selfcheck-blob";
      const custom = document.createElement("span");
      custom.className = "nbr-selfcheck-custom";
      const button = document.createElement("button");
      button.className = "nbr-selfcheck-button";
      button.textContent = "+1";
      const draw = () => {
        value.textContent = `value=${model.get("value")}`;
        const b = model.get("blob");
        blob.textContent = `blob=${b ? bytes(b) : ""}`;
      };
      const onCustom = (content, buffers) => {
        custom.textContent = `custom=${content.text} bytes=${bytes(buffers[0])}`;
        model.send({ ack: content.text }, undefined, [buffers[0]]);
      };
      button.addEventListener("click", () => {
        model.set("value", model.get("value") + 1);
        model.save_changes();
      });
      model.on("change:value", draw);
      model.on("change:blob", draw);
      model.on("msg:custom", onCustom);
      draw();
      el.append(value, " ", blob, " ", custom, " ", button);
      return () => {
        model.off("change:value", draw);
        model.off("change:blob", draw);
        model.off("msg:custom", onCustom);
      };
    }
    export default { render };
    """
    value = traitlets.Int(0).tag(sync=True)
    blob = traitlets.Bytes(b"").tag(sync=True)

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.acks = []
        self.on_msg(lambda _w, content, buffers: self.acks.append((content, [bytes(b) for b in buffers])))
'''


def _selfcheck_class() -> Any:
    namespace: dict[str, Any] = {}
    exec(WIDGET_SOURCE, namespace)
    return namespace["SelfCheck"]


@pytest.fixture(scope="module")
def SelfCheck() -> Any:
    return _selfcheck_class()


def test_static_page_renders_state_and_plays_the_kernel(
    SelfCheck: Any, render_widgets: Any
) -> None:
    from playwright.sync_api import expect  # here: the fixtures skip when it is missing

    w = SelfCheck(value=7, blob=b"\x01\x02\x03")
    static = render_widgets(w)
    view = static.view(0)
    expect(view.locator(".nbr-selfcheck-value")).to_have_text("value=7")
    expect(view.locator(".nbr-selfcheck-blob")).to_have_text("blob=1,2,3")  # binary state

    # the test plays the kernel: a custom message with a buffer, and an update
    static.send_custom(w, {"text": "hi"}, [b"\x00\xff"])
    expect(view.locator(".nbr-selfcheck-custom")).to_have_text("custom=hi bytes=0,255")
    static.update(w, {"value": 9})
    expect(view.locator(".nbr-selfcheck-value")).to_have_text("value=9")

    # what the front end sends is recorded: the ack (with its buffer) and a click's update
    view.locator(".nbr-selfcheck-button").click()
    expect(view.locator(".nbr-selfcheck-value")).to_have_text("value=10")
    sent = static.sent(w)
    assert [m.data for m in sent] == [
        {"method": "custom", "content": {"ack": "hi"}},
        {"method": "update", "state": {"value": 10}, "buffer_paths": []},
    ]
    assert sent[0].buffers == [b"\x00\xff"]
    assert static.blocked == []
    assert save_screenshot(static.page, "selfcheck-static").stat().st_size > 1000


def test_live_page_talks_to_the_python_widget(SelfCheck: Any, render_widgets: Any) -> None:
    from playwright.sync_api import expect

    w = SelfCheck(value=1)
    static = render_widgets(w, live=True)
    view = static.view(0)
    expect(view.locator(".nbr-selfcheck-value")).to_have_text("value=1")

    # a change from another thread reaches the page with nobody touching it
    t = threading.Thread(target=lambda: setattr(w, "value", 5))
    t.start()
    t.join()
    expect(view.locator(".nbr-selfcheck-value")).to_have_text("value=5")

    # a custom message with a buffer, and the front end's ack back to the Python handler
    w.send({"text": "from python"}, buffers=[b"\x07\x08"])
    expect(view.locator(".nbr-selfcheck-custom")).to_have_text("custom=from python bytes=7,8")
    _until(lambda: w.acks, "the ack")
    assert w.acks == [({"ack": "from python"}, [b"\x07\x08"])]

    # a click in the page changes the Python trait
    view.locator(".nbr-selfcheck-button").click()
    _until(lambda: w.value == 6, "value == 6 in Python")
    expect(view.locator(".nbr-selfcheck-value")).to_have_text("value=6")


def test_comm_mirror_sees_updates_while_the_kernel_is_idle(comm_mirror: CommMirror) -> None:
    m = comm_mirror
    m.execute(WIDGET_SOURCE)
    shown = m.execute("w = SelfCheck(value=7, blob=b'\\x01\\x02'); w")
    (mid,) = shown.model_ids
    assert m.models[mid]["value"] == 7
    assert m.models[mid]["blob"] == b"\x01\x02"  # binary state put back in place

    # a background thread changes the trait and sends a custom message after the cell ended
    started = m.execute(
        "import threading, time\n"
        "def later():\n"
        "    time.sleep(0.3)\n"
        "    w.value = 42\n"
        "    w.send({'text': 'bg'}, buffers=[b'\\x00\\x01\\xfe'])\n"
        "t = threading.Thread(target=later, daemon=True); t.start()"
    )
    assert m.models[mid]["value"] == 7
    m.wait_for(lambda: m.models[mid]["value"] == 42, timeout=10, what="value == 42")
    custom = m.wait_for(lambda: m.customs[mid][0], timeout=10, what="the custom message")
    assert custom.content == {"text": "bg"}
    assert custom.buffers == [b"\x00\x01\xfe"]
    (update,) = m.events_for(mid, "update", after=started.idle_at)
    assert update.time > started.idle_at  # arrived while no cell was running
    assert update.payload_bytes < 200

    # the other direction: a front end's custom message and update reach the widget
    m.send_custom(mid, {"x": 1}, [b"\x09"])
    m.send_update(mid, {"value": 43})
    out = m.execute("print(w.acks, w.value)")
    assert out.stdout.strip() == "[({'x': 1}, [b'\\t'])] 43"


def _until(predicate: Any, what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


@pytest.mark.allow_external_requests
@pytest.mark.allow_console_errors  # the aborted loads log errors
def test_the_page_guard_blocks_the_outside_but_not_this_machine(
    SelfCheck: Any, render_widgets: Any, page_log: Any
) -> None:
    static = render_widgets(SelfCheck(value=1))
    outcome = static.page.evaluate(
        """async () => {
          const out = {};
          for (const url of ["http://192.0.2.1/x.js", "https://example.com/y", "bootstrap.js"]) {
            try { out[url] = (await fetch(url)).status; } catch (e) { out[url] = "failed"; }
          }
          return out;
        }"""
    )
    assert outcome == {
        "http://192.0.2.1/x.js": "failed",
        "https://example.com/y": "failed",
        "bootstrap.js": 200,
    }
    assert page_log.blocked == ["http://192.0.2.1/x.js", "https://example.com/y"]
