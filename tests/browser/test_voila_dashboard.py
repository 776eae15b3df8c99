"""The train-and-predict dashboard served by standalone Voila (as `make dashboard` does).

The front page (`/`) lists the dashboards without a request leaving the machine or a
console error (Voila's own tree page loads Font Awesome from a CDN and a JupyterLab
front end that logs plugin-activation errors).
One test trains through the form and gets a prediction for an uploaded digit; another
checks that Voila refuses code sent over the kernel websocket (execute_request); a third
that bounds a page writes to the Epochs slider (a comm update) do not reach the run.
"""

from __future__ import annotations

import re
import uuid

import numpy as np
import pytest

from kino import datasets
from kino.ui.output.image import encode_png
from tests.browser.harness import screenshot
from tests.conftest import budget_ms

pytestmark = pytest.mark.browser

DASHBOARD = "voila/render/train-and-predict.ipynb"


def open_dashboard(voila, voila_page):
    """Open the dashboard and return the kernel websocket URL the page connected to."""
    sockets: list[str] = []
    voila_page.on("websocket", lambda ws: sockets.append(ws.url))
    voila_page.set_viewport_size({"width": 1300, "height": 1100})
    voila_page.goto(voila.url(DASHBOARD))
    voila_page.locator(".kino-form").first.wait_for(timeout=budget_ms(180_000))
    voila_page.locator(".kino-media-zone").first.wait_for(timeout=budget_ms(60_000))
    channels = [u for u in sockets if re.search(r"/api/kernels/[^/]+/channels", u)]
    assert channels, f"the page opened no kernel websocket: {sockets}"
    return channels[0]


def test_train_through_the_form_then_predict_an_uploaded_digit(voila, voila_page, tmp_path):
    open_dashboard(voila, voila_page)
    form = voila_page.locator(".kino-form").first
    form.locator("button.kino-submit").click()

    # The live dashboard replaces the placeholder and the run ends with a ready model.
    voila_page.locator(".kino-dash").first.wait_for(timeout=budget_ms(60_000))
    ready = voila_page.locator(".kino-markdown", has_text="Model ready")
    ready.wait_for(timeout=budget_ms(300_000))
    assert "completed" in ready.inner_text()
    screenshot(voila_page, "voila-dashboard-trained", ".kino-dash")

    # A test digit the network never trained on, enlarged to 64x64 like a photo would be.
    _, (x_test, y_test) = datasets.digits()
    index = 3
    pixels = np.kron(x_test[index], np.ones((8, 8)))
    picture = tmp_path / "digit.png"
    picture.write_bytes(encode_png(np.round(pixels * 255).astype(np.uint8)[:, :, None]))
    voila_page.locator(".kino-media-zone input[type=file]").first.set_input_files(str(picture))

    answer = voila_page.locator(".kino-markdown", has_text="It looks like a")
    answer.wait_for(timeout=budget_ms(60_000))
    predicted = int(re.search(r"It looks like a (\d)", answer.inner_text()).group(1))
    assert predicted == int(y_test[index])
    bars = voila_page.locator(".kino-chart").last
    bars.locator("svg, canvas").first.wait_for(timeout=budget_ms(30_000))
    screenshot(voila_page, "voila-dashboard-prediction")


SEND_EXECUTE = """
async ([url, code, executeId, infoId, limitMs]) => {
  const ws = new WebSocket(url);
  const received = [];
  await new Promise((resolve, reject) => { ws.onopen = resolve; ws.onerror = reject; });
  const message = (id, type, content) => JSON.stringify({
    header: { msg_id: id, msg_type: type, username: "test", session: "test-session",
              date: new Date().toISOString(), version: "5.3" },
    parent_header: {}, metadata: {}, content, channel: "shell", buffers: [],
  });
  const done = new Promise((resolve, reject) => {
    setTimeout(() => reject(new Error(`no kernel_info_reply in ${limitMs} ms: `
                                      + JSON.stringify(received))), limitMs);
    ws.onmessage = (event) => {
      const msg = JSON.parse(event.data);
      received.push({ type: msg.header.msg_type, parent: msg.parent_header.msg_id || null });
      if (msg.header.msg_type === "kernel_info_reply" && msg.parent_header.msg_id === infoId) {
        resolve();
      }
    };
  });
  ws.send(message(executeId, "execute_request", {
    code, silent: false, store_history: false, user_expressions: {}, allow_stdin: false,
    stop_on_error: true }));
  // The shell channel is handled in order: had the execute_request reached the kernel,
  // its reply (and its busy/execute_input on iopub) would come before this reply.
  ws.send(message(infoId, "kernel_info_request", {}));
  await done;
  ws.close();
  return received;
}
"""


def test_voila_refuses_execute_requests_over_the_kernel_websocket(voila, voila_page):
    channels = open_dashboard(voila, voila_page)
    # A connection of our own (its own session id: reusing the page's would replace its socket).
    own = channels.split("?")[0] + f"?session_id={uuid.uuid4()}"
    marker = voila.root / f"executed-{uuid.uuid4().hex}.txt"
    code = f"open({str(marker)!r}, 'w').write('the kernel ran code sent by the page')"
    execute_id, info_id = f"exec-{uuid.uuid4().hex}", f"info-{uuid.uuid4().hex}"
    received = voila_page.evaluate(
        SEND_EXECUTE, [own, code, execute_id, info_id, budget_ms(60_000)]
    )

    assert {"type": "kernel_info_reply", "parent": info_id} in received  # the socket works
    assert not [m for m in received if m["parent"] == execute_id], received
    assert not marker.exists()
    assert re.search(r"execute_request.*not allowed", voila.log.read_text())


# From the page, over a websocket of its own, as any script in the page could: find the
# Epochs slider's comm (comm_info_request, then "request_state" to one comm after another
# until an IntSlider from 1 to 50 answers), send it the forged update, then ask its state
# again. The shell channel is handled in order, so the update is done before that answer.
FORGE_BOUNDS = """
async ([url, forged, limitMs]) => {
  const ws = new WebSocket(url);
  ws.binaryType = "arraybuffer";
  await new Promise((resolve, reject) => { ws.onopen = resolve; ws.onerror = reject; });
  const pending = new Map();
  ws.onmessage = (event) => {
    if (typeof event.data !== "string") return;  // binary frames: states with buffers
    const msg = JSON.parse(event.data);
    const wanted = pending.get(msg.parent_header.msg_id);
    if (wanted && wanted.done(msg)) {
      pending.delete(msg.parent_header.msg_id);
      wanted.resolve(msg);
    }
  };
  let n = 0;
  const send = (type, content, done) => new Promise((resolve, reject) => {
    const id = `forger-${++n}-${Math.random()}`;
    pending.set(id, { done, resolve });
    setTimeout(() => reject(new Error(`no answer to ${type} ${JSON.stringify(content)}`)), limitMs);
    ws.send(JSON.stringify({
      header: { msg_id: id, msg_type: type, username: "forger", session: "forger",
                date: new Date().toISOString(), version: "5.3" },
      parent_header: {}, metadata: {}, content, channel: "shell", buffers: [],
    }));
  });
  const isUpdate = (msg) =>
    msg.header.msg_type === "comm_msg" && msg.content.data.method === "update";
  const stateOf = async (commId) => (await send(
    "comm_msg", { comm_id: commId, data: { method: "request_state" } }, isUpdate)
  ).content.data.state;

  const info = await send("comm_info_request", { target_name: "jupyter.widget" },
                          (msg) => msg.header.msg_type === "comm_info_reply");
  const comms = Object.keys(info.content.comms);  // in the order the kernel made them
  let slider = null, before = null, asked = 0;
  for (const commId of comms) {
    const state = await stateOf(commId);
    asked += 1;
    if (state._model_name === "IntSliderModel" && state.min === 1 && state.max === 50) {
      slider = commId; before = state; break;
    }
  }
  if (slider === null) { ws.close(); return { comms: comms.length, asked, slider }; }
  ws.send(JSON.stringify({
    header: { msg_id: `forger-update-${Math.random()}`, msg_type: "comm_msg", username: "forger",
              session: "forger", date: new Date().toISOString(), version: "5.3" },
    parent_header: {}, metadata: {}, channel: "shell", buffers: [],
    content: { comm_id: slider, data: forged },
  }));
  const after = await stateOf(slider);
  ws.close();
  return { comms: comms.length, asked, slider, before, after };
}
"""


def test_voila_keeps_the_epochs_bounds_set_in_python(voila, voila_page):
    """Bounds a page writes to the Epochs slider are undone by the kernel.

    Before the fix, this update to the slider's model (a message Voila lets any page
    send) and a click on "Train model" started a run of 1,000,000,000 epochs.
    """
    channels = open_dashboard(voila, voila_page)
    own = channels.split("?")[0] + f"?session_id={uuid.uuid4()}"
    forged = {"method": "update", "state": {"max": 2_000_000_000, "min": 1_000_000_000,
                                            "value": 20}, "buffer_paths": []}  # fmt: skip
    found = voila_page.evaluate(FORGE_BOUNDS, [own, forged, budget_ms(90_000)])
    assert found["slider"], f"no IntSlider from 1 to 50 among the kernel's comms: {found}"
    assert found["before"]["value"] == 10, found["before"]

    after = found["after"]
    assert (after["min"], after["max"]) == (1, 50), after
    # The value is checked against the Python bounds, never the page's (20 is within them).
    assert after["value"] == 20, after
    # The page's slider shows the Python bounds.
    handle = voila_page.locator(".kino-form .kino-slider .noUi-handle").first
    assert float(handle.get_attribute("aria-valuemin")) == 1
    assert float(handle.get_attribute("aria-valuemax")) == 50

    voila_page.locator(".kino-form").first.locator("button.kino-submit").click()
    voila_page.locator(".kino-dash").first.wait_for(timeout=budget_ms(60_000))
    # The dashboard's "epoch k/N" once the run has started (it shows "0/?" before).
    voila_page.wait_for_function(
        "() => [...document.querySelectorAll('.kino-dash-stat')].some((s) =>"
        " s.querySelector('.kino-dash-k')?.textContent === 'epoch'"
        " && /^\\d+\\/\\d+$/.test(s.querySelector('.kino-dash-v')?.textContent ?? ''))",
        timeout=budget_ms(120_000),
    )
    text = voila_page.locator(".kino-dash-stat", has_text="epoch").first.inner_text()
    total = int(re.search(r"(\d+)\s*/\s*(\d+)", text).group(2))
    screenshot(voila_page, "voila-forged-bounds", ".kino-dash")
    assert 1 <= total <= 50, f"the run has {total} epochs: {text!r}"


@pytest.mark.parametrize("query", ["", "?classic-tree=true"], ids=["lab-tree", "classic-tree"])
def test_the_front_page_lists_the_dashboards_and_stays_on_this_machine(voila, voila_page, query):
    voila_page.goto(voila.url(query))
    link = voila_page.locator(".kino-tree a", has_text="train-and-predict.ipynb")
    link.wait_for(timeout=budget_ms(60_000))
    # Everything the page asked for has arrived (or been blocked by the guard).
    voila_page.wait_for_load_state("networkidle", timeout=budget_ms(60_000))
    screenshot(voila_page, f"voila-front-page{query and '-classic'}")
    assert voila_page.kino_guard.take() == []
    # The link opens the render page that the tests above drive.
    assert link.get_attribute("href").startswith("/voila/render/train-and-predict.ipynb")
