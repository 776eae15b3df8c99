"""kino.form and kino.input in real Chromium: typed submits, validation, media inputs, themes."""

from __future__ import annotations

import io
import json
import math
import struct
import wave
import zlib

from tests.browser.harness import run_notebook, screenshot, set_theme, wait_until, write_notebook
from tests.conftest import budget_ms

SEED_FORM = """
import json, pathlib, threading, time
import jax.numpy as jnp
import kino

log = kino.frame()
calls = []

# A busy background thread, as a kino.train run in the background would be.
stop = threading.Event()
def busy():
    x = jnp.ones((256, 256))
    while not stop.is_set():
        x = (x @ x) / 256.0
        x.block_until_ready()
threading.Thread(target=busy, daemon=True).start()

form = kino.form(
    learning_rate=kino.input.text("Learning rate", default="0.001"),
    epochs=kino.input.range("Epochs", 1, 100, default=10),
    submit="Train model",
)

@form.on_submit
def train(values):
    calls.append(values)
    stop.set()
    pathlib.Path("seed-result.json").write_text(json.dumps(
        {"values": values, "types": {k: type(v).__name__ for k, v in values.items()},
         "calls": len(calls)}))
    log.append(f"Training with lr={values['learning_rate']} for {values['epochs']} epochs")

kino.grid([form, log])
"""


def wait_for_json(page, path, calls: int):
    """Wait (polling the file the kernel writes) until the callback ran ``calls`` times."""

    def recorded():
        data = json.loads(path.read_text() or "{}") if path.exists() else {}
        return data if data.get("calls") == calls else None

    return wait_until(page, recorded, f"{path.name} recording {calls} call(s)")


def set_slider(page, field, value: int) -> None:
    """Type a value into an ipywidgets slider's readout, as a user can."""
    readout = field.locator(".widget-readout")
    readout.click()
    page.keyboard.press("Control+A")
    page.keyboard.type(str(value))
    page.keyboard.press("Enter")


def test_seed_form_submits_typed_values(lab, page):
    write_notebook(lab, "seed-form.ipynb", [SEED_FORM])
    run_notebook(page, lab, "seed-form.ipynb")
    form = page.locator(".kino-form").first
    form.wait_for()
    lr = form.locator(".kino-field-text input")
    assert lr.input_value() == "0.001"
    lr.fill("0.01")
    lr.press("Tab")
    set_slider(page, form.locator(".kino-field-range"), 42)
    form.locator(".kino-submit").click()
    page.locator(".kino-frame", has_text="Training with lr=0.01 for 42 epochs").wait_for()
    result = wait_for_json(page, lab.root / "seed-result.json", 1)
    assert result["values"] == {"learning_rate": "0.01", "epochs": 42}
    assert result["types"] == {"learning_rate": "str", "epochs": "int"}
    screenshot(page, "form-seed-submitted", ".kino-grid")


INVALID_FORM = """
import json, pathlib
import kino

def must_parse(text):
    try:
        float(text)
    except ValueError:
        return "Not a number"
    return None

form = kino.form(
    learning_rate=kino.input.number("Learning rate", default=1e-3, min=1e-6, max=1.0),
    schedule=kino.input.text("Warmup steps", default="100", validate=must_parse),
    epochs=kino.input.range("Epochs", 1, 100, default=10),
    trap=kino.input.select("Label <img src=x onerror='window.__kinoXss=1'>",
                           ["<img src=x onerror='window.__kinoXss=2'>", "plain"]),
    submit="Train model",
)
submits = []

@form.on_submit
def train(values):
    submits.append(values)
    pathlib.Path("invalid-result.json").write_text(json.dumps({"calls": len(submits),
                                                               "values": submits}))
form
"""


def test_invalid_value_shows_message_and_does_not_submit(lab, page):
    write_notebook(lab, "invalid-form.ipynb", [INVALID_FORM])
    run_notebook(page, lab, "invalid-form.ipynb")
    form = page.locator(".kino-form").first
    form.wait_for()
    lr = form.locator(".kino-field-number input")
    lr.fill("5")
    lr.press("Tab")
    error = form.locator(".kino-field-number .kino-field-error")
    error.filter(has_text="Must be at most 1").wait_for()
    warmup = form.locator(".kino-field-text input")
    warmup.fill("soon")
    warmup.press("Tab")
    form.locator(".kino-field-text .kino-field-error", has_text="Not a number").wait_for()
    form.locator(".kino-submit").click()
    form.locator(".kino-form-error", has_text="Not submitted: 2 fields to correct").wait_for()
    # Labels and option labels are text: markup in them is shown, never run.
    assert form.locator("img").count() == 0
    assert form.get_by_text("Label <img src=x onerror='window.__kinoXss=1'>").count() == 1
    assert page.evaluate("() => window.__kinoXss === undefined")

    screenshot(page, "form-invalid", ".kino-form")
    # Fix the values and submit again: the first click must not have submitted.
    lr.fill("0.5")
    lr.press("Tab")
    warmup.fill("200")
    warmup.press("Tab")
    error.wait_for(state="hidden")
    form.locator(".kino-submit").click()
    result = wait_for_json(page, lab.root / "invalid-result.json", 1)
    assert result["values"] == [
        {
            "learning_rate": 0.5,
            "schedule": "200",
            "epochs": 10,
            "trap": "<img src=x onerror='window.__kinoXss=2'>",
        }
    ]


def _png(width: int, height: int, pixel: tuple[int, int], color: tuple[int, int, int]) -> bytes:
    rows = b""
    for y in range(height):
        row = bytearray(3 * width)
        for x in range(width):
            if (y, x) == pixel:
                row[3 * x : 3 * x + 3] = bytes(color)
        rows += b"\x00" + bytes(row)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))  # fmt: skip

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))  # fmt: skip


def _wav(rate: int, seconds: float) -> bytes:
    n = int(rate * seconds)
    frames = b"".join(
        struct.pack("<h", int(16000 * math.sin(2 * math.pi * 440 * i / rate))) for i in range(n)
    )
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(frames)
    return buffer.getvalue()


MEDIA_FORM = """
import json, pathlib
import kino

form = kino.form(
    picture=kino.input.image("Picture"),
    small=kino.input.image("Thumbnail", size=(3, 4), fit="match", format="luminance"),
    sound=kino.input.audio("Sound", sampling_rate=8000),
    metrics=kino.input.multiselect("Metrics", ["accuracy", "f1", "auc"], default=["f1"]),
    data=kino.input.file("Data", accept=[".csv"]),
    submit="Send",
)

@form.on_submit
def got(v):
    pic, small, sound = v["picture"], v["small"], v["sound"]
    pathlib.Path("media-result.json").write_text(json.dumps({
        "calls": 1,
        "picture": [list(pic.shape), str(pic.dtype), pic[2, 5].tolist(), pic[0, 0].tolist()],
        "small": list(small.shape),
        "sound": [int(sound.data.shape[0]), sound.sampling_rate, float(abs(sound.data).max())],
        "metrics": v["metrics"],
        "data": [v["data"].name, v["data"].size, v["data"].open().readline().decode()],
    }))
form
"""


def test_media_inputs_and_multiselect(lab, page, tmp_path):
    write_notebook(lab, "media-form.ipynb", [MEDIA_FORM])
    png = tmp_path / "dot.png"
    png.write_bytes(_png(8, 6, (2, 5), (255, 128, 0)))
    wav = tmp_path / "tone.wav"
    wav.write_bytes(_wav(8000, 0.25))
    csv = tmp_path / "data.csv"
    csv.write_text("step,loss\n" + "".join(f"{i},{1 / (i + 1):.4f}\n" for i in range(1000)))
    run_notebook(page, lab, "media-form.ipynb")
    form = page.locator(".kino-form").first
    form.wait_for()
    # No microphone here: recording explains that instead of failing silently.
    form.locator(".kino-field-audio button", has_text="Record").click()
    form.locator(".kino-media-status", has_text="microphone is not available").wait_for()
    images = form.locator(".kino-field-image input[type=file]")
    images.nth(0).set_input_files(str(png))
    images.nth(1).set_input_files(str(png))
    form.locator(".kino-field-audio input[type=file]").set_input_files(str(wav))
    form.locator(".kino-media-status", has_text="dot.png · 6×8×3").wait_for()
    form.locator(".kino-media-status", has_text="dot.png · 3×4×1").wait_for()
    form.locator(".kino-media-status", has_text="tone.wav · 0.25 s at 8000 Hz").wait_for()
    with page.expect_file_chooser() as chooser:
        form.locator(".kino-field-file button").click()
    assert chooser.value.element.get_attribute("accept") == ".csv"
    chooser.value.set_files(str(csv))
    note = f"data.csv · {csv.stat().st_size / 1024:.1f} KB"
    form.locator(".kino-field-file .kino-field-note", has_text=note).wait_for()
    form.locator(".kino-chip", has_text="auc").click()
    form.locator(".kino-chip-on", has_text="auc").wait_for()
    form.locator(".kino-submit").click()
    result = wait_for_json(page, lab.root / "media-result.json", 1)
    assert result["picture"] == [[6, 8, 3], "uint8", [255, 128, 0], [0, 0, 0]]
    assert result["small"] == [3, 4, 1]
    samples, rate, peak = result["sound"]
    assert rate == 8000 and samples == 2000 and 0.4 < peak < 0.55
    assert result["metrics"] == ["f1", "auc"]
    assert result["data"] == ["data.csv", csv.stat().st_size, "step,loss\n"]
    screenshot(page, "form-media", ".kino-form")


SHOWCASE = """
import datetime
import kino

form = kino.form(
    learning_rate=kino.input.number("Learning rate", default=1e-3, min=1e-6, max=1.0),
    lr_search=kino.input.range("Learning rate (log scale)", 1e-5, 1e-1, default=3e-4, log=True),
    epochs=kino.input.range("Epochs", 1, 100, default=10),
    optimizer=kino.input.select("Optimizer", ["adam", "sgd", "rmsprop"]),
    metrics=kino.input.multiselect("Metrics", ["accuracy", "f1", "auc"], default=["accuracy"]),
    run_name=kino.input.text("Run name", default="mlp-<b>baseline</b>"),
    start=kino.input.date("Start", default=datetime.date(2024, 5, 1)),
    color=kino.input.color("Line colour", default="#e8590c"),
    notes=kino.input.textarea("Notes", default="two hidden layers", monospace=True),
    shuffle=kino.input.checkbox("Shuffle batches", default=True),
    submit="Train model",
)
form.fields["learning_rate"].update(2.0)
form.errors()
form
"""


def test_form_screenshots_light_and_dark(lab, page):
    write_notebook(lab, "showcase-form.ipynb", [SHOWCASE])
    run_notebook(page, lab, "showcase-form.ipynb")
    form = page.locator(".kino-form").first
    form.wait_for()
    form.locator(".kino-field-error", has_text="Must be at most 1").wait_for()
    # The label is text: the markup shows as typed, never as bold HTML.
    assert form.locator(".kino-field-text input").input_value() == "mlp-<b>baseline</b>"
    assert form.locator("b").count() == 0
    page.mouse.move(0, 0)
    screenshot(page, "form-light", ".kino-form")
    try:
        set_theme(page, "dark")
        screenshot(page, "form-dark", ".kino-form")
        background = form.evaluate("el => getComputedStyle(el).backgroundColor")
        channels = [int(c) for c in background[background.index("(") + 1 : -1].split(",")[:3]]
        assert sum(channels) / 3 < 100, background
    finally:
        set_theme(page, "light")


VOILA_FORM = """
import kino
form = kino.form(epochs=kino.input.range("Epochs", 1, 100, default=10), submit="Train model")
status = kino.text("waiting")
form.on_submit(
    lambda v: status.update(f"submitted epochs={v['epochs']} ({type(v['epochs']).__name__})")
)
kino.grid([form, status])
"""


def test_form_in_voila(voila, voila_page):
    write_notebook(voila, "voila-form.ipynb", [VOILA_FORM])
    voila_page.goto(voila.url("voila/render/voila-form.ipynb"))
    form = voila_page.locator(".kino-form").first
    form.wait_for(timeout=budget_ms(120_000))
    set_slider(voila_page, form.locator(".kino-field-range"), 33)
    form.locator(".kino-submit").click()
    voila_page.locator(".kino-text", has_text="submitted epochs=33 (int)").wait_for()
    screenshot(voila_page, "form-voila", ".kino-grid")


TRAINING = """
import threading
import numpy as np
from flax import nnx
import kino
from kino import train

rng = np.random.default_rng(0)
x = rng.normal(size=(64, 4)).astype("float32")
y = (x[:, 0] > 0).astype("int32")

form = kino.form(
    learning_rate=kino.input.text("Learning rate", default="0.001"),
    epochs=kino.input.range("Epochs", 1, 100, default=10),
    submit="Train model",
)
stop = kino.button("Stop")
status = kino.text("idle")
echo = kino.text("")
verbose = kino.input.checkbox("Verbose")
verbose.on_change(lambda v: echo.update(f"verbose {v}"))
form.fields["epochs"].on_change(lambda v: echo.update(f"epochs now {v}"))
runs = []

@form.on_submit
def start(values):
    form.disable()
    model = nnx.Sequential(nnx.Linear(4, 8, rngs=nnx.Rngs(0)), nnx.relu,
                           nnx.Linear(8, 2, rngs=nnx.Rngs(1)))
    loop = train.trainer(model, "sparse_categorical_cross_entropy", "adam",
                         learning_rate=float(values["learning_rate"]))
    run = loop.run((x, y), epochs=100_000, batch_size=16, background=True)
    runs.append(run)
    status.update("training")

    def finish():
        result = run.wait()
        status.update(f"run {result.status}")
        form.enable()

    threading.Thread(target=finish, daemon=True).start()

stop.on_click(lambda: runs and runs[-1].stop())
kino.grid([form, stop, verbose, status, echo])
"""


def test_form_and_button_stay_live_while_training_in_background(lab, page):
    write_notebook(lab, "train-form.ipynb", [TRAINING])
    run_notebook(page, lab, "train-form.ipynb")
    form = page.locator(".kino-form").first
    form.wait_for()
    form.locator(".kino-submit").click()
    page.locator(".kino-text", has_text="training").wait_for()
    submit = form.locator(".kino-submit")
    assert submit.is_disabled()
    assert form.locator(".kino-field-text input").is_disabled()
    # While the run trains in its thread, other callbacks still answer.
    page.locator(".kino-field-checkbox input").check()
    page.locator(".kino-text", has_text="verbose True").wait_for()
    assert page.locator(".kino-text", has_text="training").count() == 1
    screenshot(page, "form-training", ".kino-grid")
    page.locator(".kino-button button", has_text="Stop").click()
    page.locator(".kino-text", has_text="run stopped").wait_for()
    page.wait_for_function("() => !document.querySelector('.kino-form .kino-submit').disabled")
    set_slider(page, form.locator(".kino-field-range"), 7)
    page.locator(".kino-text", has_text="epochs now 7").wait_for()


LONE_FIELDS = """
import kino
kino.grid([
    kino.form(query=kino.input.text("Query"), submit="Search"),
    kino.form(
        lr=kino.input.number("Learning rate", default=1e-3),
        epochs=kino.input.number("Epochs", default=10),
        notes=kino.input.textarea("Notes"),
        submit="Save",
    ),
], columns=1)
"""


def test_a_lone_field_and_a_text_area_take_the_forms_whole_width(lab, page):
    write_notebook(lab, "lone-fields.ipynb", [LONE_FIELDS])
    run_notebook(page, lab, "lone-fields.ipynb")
    page.wait_for_selector(".kino-form .kino-field-textarea", timeout=budget_ms(60_000))
    widths = page.evaluate(
        """() => [...document.querySelectorAll('.kino-form-fields')].map(grid => ({
            grid: grid.getBoundingClientRect().width,
            fields: [...grid.children].map(f => ({
                kind: [...f.classList].find(c => c.startsWith('kino-field-')),
                width: f.getBoundingClientRect().width,
            })),
        }))"""
    )
    lone, mixed = widths
    assert lone["fields"][0]["width"] >= lone["grid"] - 2, lone
    numbers = [f for f in mixed["fields"] if f["kind"] == "kino-field-number"]
    notes = [f for f in mixed["fields"] if f["kind"] == "kino-field-textarea"]
    assert notes[0]["width"] >= mixed["grid"] - 2, mixed
    assert all(f["width"] < mixed["grid"] / 2 for f in numbers), mixed  # the others stay in columns
    screenshot(page, "form-lone-fields", ".jp-OutputArea-output")
