"""kino.input: value conversion, validation, on_change, and bad arguments."""

from __future__ import annotations

import datetime as dt
import io
import math

import ipywidgets
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import kino
from kino.ui.input.media import MAX_UPLOAD_BYTES, UploadedFile
from tests.conftest import budget


def from_browser(inp, **state):
    """Apply a state update as the front end sends it (through from_json)."""
    inp._control.set_state(state)


def labels(widget) -> list[str]:
    """Every Label text inside a box (what the page shows as text)."""
    out = []
    for child in getattr(widget, "children", ()):
        if isinstance(child, ipywidgets.Label):
            out.append(child.value)
        out += labels(child)
    return out


# text-like ---------------------------------------------------------------------
def test_text_value_on_change_and_label_is_text():
    inp = kino.input.text("<b>Name</b>", default="ada")
    seen = []
    inp.on_change(seen.append)
    from_browser(inp, value="grace")
    assert inp.value == "grace"
    assert seen == ["grace"]
    assert "<b>Name</b>" in labels(inp)  # shown through a Label (textContent), never HTML
    assert not any(isinstance(c, ipywidgets.HTML) for c in inp.children)


def test_text_debounce_blur_vs_ms():
    assert kino.input.text("a")._control.continuous_update is False
    assert kino.input.text("a", debounce=300)._control.continuous_update is True


def test_text_debounce_ms_coalesces_changes():
    inp = kino.input.text("a", debounce=30)
    seen = []
    inp.on_change(seen.append)
    for v in ["h", "he", "hel"]:
        from_browser(inp, value=v)
    inp._timer.join(budget(2))
    assert seen == ["hel"]


def test_text_required_and_max_length():
    inp = kino.input.text("Name", required=True, max_length=3)
    assert inp.error() == "Required"
    inp.update("abcd")
    assert inp.error() == "At most 3 characters"
    assert inp.shown_error == "At most 3 characters"
    inp.update("abc")
    assert inp.error() is None and inp.shown_error is None


def test_textarea_monospace_and_password():
    area = kino.input.textarea("Code", default="x = 1\ny = 2", monospace=True)
    assert "kino-monospace" in area._control._dom_classes
    assert area.value == "x = 1\ny = 2"
    pw = kino.input.password("Key", default="s3cret")
    assert pw.value == "s3cret"
    assert "s3cret" not in repr(pw)


def test_url_validation():
    inp = kino.input.url("Data")
    assert inp.error() is None  # empty and not required
    inp.update("ftp://example.com/x")
    assert "http://" in inp.error()
    inp.update("not a url")
    assert inp.error().startswith("Not a valid URL")
    inp.update("  https://example.com/data.csv ")
    assert inp.error() is None
    assert inp.value == "https://example.com/data.csv"
    assert kino.input.url("x", schemes=["s3"], default="s3://bucket/key").value == "s3://bucket/key"


def test_custom_validate_shows_message():
    inp = kino.input.text("Rate", default="0.001", validate=lambda v: _float_error(v))
    assert inp.error() is None
    from_browser(inp, value="fast")
    assert inp.shown_error == "Not a number"
    assert "kino-invalid" in inp._dom_classes


def _float_error(v: str) -> str | None:
    try:
        float(v)
    except ValueError:
        return "Not a number"
    return None


# numbers -----------------------------------------------------------------------
def test_number_float_and_int_typing():
    lr = kino.input.number("Learning rate", default=1e-3, min=1e-6, max=1.0)
    assert lr.value == 0.001 and isinstance(lr.value, float)
    assert isinstance(lr._control, ipywidgets.FloatText)
    batch = kino.input.number("Batch", default=128, min=1)
    assert batch.value == 128 and isinstance(batch.value, int)
    assert kino.input.number("x", default=3, integer=False).value == 3.0
    assert kino.input.number("x", min=5).value == 5


def test_number_constraints_checked_not_clamped():
    lr = kino.input.number("Learning rate", default=1e-3, min=1e-6, max=1.0)
    from_browser(lr, value=5.0)
    assert lr.value == 5.0
    assert lr.shown_error == "Must be at most 1"
    from_browser(lr, value=1e-9)
    assert lr.shown_error == "Must be at least 1e-06"
    from_browser(lr, value=0.01)
    assert lr.shown_error is None


def test_number_update_type_checks():
    n = kino.input.number("N", default=1)
    with pytest.raises(ValueError, match="whole number"):
        n.update(1.5)
    with pytest.raises(TypeError, match="'value'"):
        n.update("3")


def test_number_log_scale_is_recorded_and_needs_a_positive_min():
    lr = kino.input.number("Learning rate", default=1e-3, min=1e-5, max=1e-1, log=True)
    assert lr.log_scale is True and lr.value == 0.001
    assert kino.input.number("Dropout", default=0.1, min=0.0, max=0.5).log_scale is False
    with pytest.raises(ValueError, match="'min' must be > 0 when log=True, got 0"):
        kino.input.number("Rate", default=0.1, min=0, max=1, log=True)
    with pytest.raises(ValueError, match="'min' must be > 0 when log=True, got None"):
        kino.input.number("Rate", default=0.1, log=True)
    with pytest.raises(TypeError, match="'log' must be True or False, got str: 'yes'"):
        kino.input.number("Rate", default=0.1, min=0.01, max=1, log="yes")


# range -------------------------------------------------------------------------
def test_range_int_float_and_seed_example():
    epochs = kino.input.range("Epochs", 1, 100, default=10)
    assert epochs.value == 10 and isinstance(epochs.value, int)
    assert isinstance(epochs._control, ipywidgets.IntSlider)
    assert (epochs._control.min, epochs._control.max) == (1, 100)
    from_browser(epochs, value=42)
    assert epochs.value == 42
    drop = kino.input.range("Dropout", 0.0, 0.9, default=0.4)
    assert drop.value == pytest.approx(0.4) and isinstance(drop.value, float)
    assert kino.input.range("x", 0, 1, step=0.25).value == 0.0


def test_range_log_scale():
    lr = kino.input.range("Learning rate", 1e-5, 1e-1, default=1e-3, log=True)
    assert isinstance(lr._control, ipywidgets.FloatLogSlider)
    assert lr._control.min == pytest.approx(-5) and lr._control.max == pytest.approx(-1)
    assert lr.value == 0.001
    from_browser(lr, value=10**-2.5)
    assert lr.value == pytest.approx(0.00316228, rel=1e-5)
    with pytest.raises(ValueError, match="'min' must be > 0"):
        kino.input.range("x", 0, 1, log=True)


def test_range_update_out_of_bounds():
    r = kino.input.range("x", 1, 10)
    with pytest.raises(ValueError, match="within"):
        r.update(11)


# choices -------------------------------------------------------------------------
def test_select_values_are_python_objects():
    sentinel = object()
    sel = kino.input.select("Thing", [("first", sentinel), ("second", {"a": 1})])
    assert sel.value is sentinel
    from_browser(sel, index=1)
    assert sel.value == {"a": 1}
    assert sel._control._options_labels == ("first", "second")


def test_select_dict_and_default():
    sel = kino.input.select("Width", {"small": 64, "large": 512}, default=512)
    assert sel.value == 512
    seen = []
    sel.on_change(seen.append)
    sel.update(64)
    assert seen == [64]
    with pytest.raises(ValueError, match="not one of"):
        sel.update(128)


def test_multiselect_chips():
    ms = kino.input.multiselect("Metrics", ["accuracy", "f1", "auc"], default=["auc", "f1"])
    assert ms.value == ["f1", "auc"]  # in the options' order
    assert ms._control.labels == ["accuracy", "f1", "auc"]
    seen = []
    ms.on_change(seen.append)
    from_browser(ms, selected=[0])
    assert ms.value == ["accuracy"] and seen == [["accuracy"]]
    ms.update([])
    assert ms.value == []


def test_multiselect_min_max_selected():
    ms = kino.input.multiselect("M", ["a", "b", "c"], min_selected=1, max_selected=2)
    assert ms.error() == "Choose at least 1"
    ms.update(["a", "b", "c"])
    assert ms.error() == "Choose at most 2"


def test_checkbox():
    cb = kino.input.checkbox("Shuffle", default=True)
    assert cb.value is True
    from_browser(cb, value=False)
    assert cb.value is False
    assert cb._control.description == "Shuffle"


# dates, colour --------------------------------------------------------------------
def test_date_time_datetime_from_browser():
    d = kino.input.date("Start", min=dt.date(2024, 1, 1))
    assert d.value is None
    from_browser(d, value={"year": 2024, "month": 11, "date": 5})  # months are 0-based in JS
    assert d.value == dt.date(2024, 12, 5)
    assert d._control.min == dt.date(2024, 1, 1)  # the picker itself offers no earlier date
    d.update(dt.date(2023, 12, 5))
    assert d.value == dt.date(2024, 1, 1)
    t = kino.input.time("At", default=dt.time(9, 30))
    assert t.value == dt.time(9, 30)
    when = kino.input.datetime("When", default=dt.datetime(2024, 5, 1, 12, 0))
    assert when.value == dt.datetime(2024, 5, 1, 12, 0)
    with pytest.raises(TypeError, match="naive"):
        when.update(dt.datetime(2024, 5, 1, tzinfo=dt.timezone.utc))


def test_required_date():
    d = kino.input.date("Start", required=True)
    assert d.error() == "Required"


def test_color():
    c = kino.input.color("Line", default="#FF8800")
    assert c.value == "#ff8800"
    with pytest.raises(ValueError, match="'value'"):
        c.update("red")


# file, image, audio ------------------------------------------------------------------
def upload(name: str, payload: bytes, mime: str = "") -> dict:
    """One file as ipywidgets' FileUpload front end sends it."""
    return {
        "name": name,
        "type": mime,
        "size": len(payload),
        "content": memoryview(payload),
        "last_modified": 0,
    }


def test_file_value_is_lazy_reader():
    f = kino.input.file("Data", accept=[".csv"])
    assert f._control.accept == ".csv"
    assert f.value is None
    payload = b"a,b\n" + b"1,2\n" * 1000
    from_browser(f, value=[upload("d.csv", payload, "text/csv")])
    up = f.value
    assert isinstance(up, UploadedFile) and up.name == "d.csv" and up.size == len(payload)
    with up.open() as fh:
        assert fh.read(4) == b"a,b\n"
        assert fh.read() == payload[4:]
    assert up.text().startswith("a,b")
    assert isinstance(up.content, memoryview)  # the upload buffer itself, not a copy
    assert f._status.value == "d.csv · 3.9 KB"


def test_file_too_large_and_multiple():
    f = kino.input.file("Data", multiple=True, max_size=10)
    from_browser(f, value=[upload("a", b"abc"), upload("b", b"x" * 20)])
    assert [u.name for u in f.value] == ["a", "b"]
    assert "too large" in f.error()
    with pytest.raises(ValueError, match="max_size"):
        kino.input.file("x", max_size=MAX_UPLOAD_BYTES + 1)


def test_image_input_value_from_buffer():
    img = kino.input.image("Digit", size=(2, 3), fit="pad")
    assert img.value is None
    assert img._control.size == [2, 3] and img._control.fit == "pad"
    pixels = np.arange(2 * 3 * 3, dtype=np.uint8)
    from_browser(img, data=memoryview(pixels.tobytes()), width=3, height=2, name="a.png")
    arr = img.value
    assert arr.shape == (2, 3, 3) and arr.dtype == np.uint8
    assert arr[1, 2, 0] == 15
    assert img.filename == "a.png"
    gray = kino.input.image("g", format="luminance")
    assert gray._control.channels == 1
    img.reset()
    assert img.value is None


def test_audio_input_value():
    au = kino.input.audio("Speech", sampling_rate=8000)
    assert au.value is None
    samples = np.sin(np.linspace(0, 2 * math.pi, 800)).astype("<f4")
    from_browser(au, data=memoryview(samples.tobytes()))
    got = au.value
    assert got.sampling_rate == 8000
    np.testing.assert_array_equal(got.data, samples)


def test_disable_enable_and_reset():
    inp = kino.input.range("Epochs", 1, 100, default=10)
    inp.disable()
    assert inp._control.disabled and inp.disabled
    inp.enable()
    assert not inp.disabled
    inp.update(50)
    inp.reset()
    assert inp.value == 10


def test_inputs_carry_kit_style_and_class():
    inp = kino.input.text("x")
    assert "kino" in inp._dom_classes and "kino-field" in inp._dom_classes
    from kino.ui.base.kit import KitStyle

    assert isinstance(inp.children[0], KitStyle)


def test_uploaded_file_seek():
    up = UploadedFile("x", "", 5, memoryview(b"hello"))
    fh = up.open()
    fh.seek(2)
    assert fh.read() == b"llo"
    assert isinstance(fh, io.BufferedReader)


# bad arguments: each raises TypeError/ValueError naming the argument -----------------
numbers = st.one_of(st.integers(-1000, 1000), st.floats(-1e6, 1e6, allow_nan=False))
not_numbers = st.one_of(st.text(max_size=5), st.none(), st.lists(st.integers(), max_size=2))


@settings(max_examples=40, deadline=None)
@given(lo=numbers, hi=numbers)
def test_range_min_not_below_max(lo, hi):
    if lo < hi:
        return
    with pytest.raises(ValueError, match="'min'"):
        kino.input.range("x", lo, hi)


@settings(max_examples=40, deadline=None)
@given(lo=numbers, span=st.floats(1, 100), outside=st.floats(0.01, 100))
def test_range_default_outside(lo, span, outside):
    with pytest.raises(ValueError, match="'default'"):
        kino.input.range("x", lo, lo + span, default=lo + span + outside)
    with pytest.raises(ValueError, match="'default'"):
        kino.input.range("x", lo, lo + span, default=lo - outside)


@settings(max_examples=40, deadline=None)
@given(bad=not_numbers)
def test_range_wrong_types(bad):
    with pytest.raises(TypeError, match="'min'"):
        kino.input.range("x", bad, 10)
    with pytest.raises(TypeError, match="'max'"):
        kino.input.range("x", 0, bad)


@settings(max_examples=40, deadline=None)
@given(lo=numbers, hi=numbers)
def test_number_min_above_max(lo, hi):
    if lo <= hi:
        return
    with pytest.raises(ValueError, match="'min'"):
        kino.input.number("x", min=lo, max=hi)


@settings(max_examples=40, deadline=None)
@given(bad=st.one_of(st.text(max_size=5), st.lists(st.integers(), max_size=2)))
def test_number_default_wrong_type(bad):
    with pytest.raises(TypeError, match="'default'"):
        kino.input.number("x", default=bad)


@settings(max_examples=40, deadline=None)
@given(label=st.one_of(st.integers(), st.none(), st.binary(max_size=4)))
def test_label_must_be_str(label):
    with pytest.raises(TypeError, match="'label'"):
        kino.input.text(label)


@settings(max_examples=40, deadline=None)
@given(names=st.lists(st.text(min_size=1, max_size=6), min_size=1, max_size=5))
def test_select_duplicate_labels(names):
    with pytest.raises(ValueError, match=r"'options'.*twice"):
        kino.input.select("x", [(n, i) for i, n in enumerate([*names, names[0]])])
    with pytest.raises(ValueError, match=r"'options'.*twice"):
        kino.input.multiselect("x", [(n, i) for i, n in enumerate([*names, names[0]])])


@pytest.mark.parametrize("factory", [kino.input.select, kino.input.multiselect])
def test_empty_and_wrong_options(factory):
    with pytest.raises(ValueError, match="'options' must not be empty"):
        factory("x", [])
    with pytest.raises(TypeError, match="'options'"):
        factory("x", "abc")
    with pytest.raises(TypeError, match="'options'"):
        factory("x", 3)


@settings(max_examples=30, deadline=None)
@given(
    opts=st.lists(st.integers(0, 50), min_size=1, max_size=5, unique=True), bad=st.integers(51, 99)
)
def test_select_default_not_in_options(opts, bad):
    with pytest.raises(ValueError, match="'default'"):
        kino.input.select("x", opts, default=bad)
    with pytest.raises(ValueError, match="'default'"):
        kino.input.multiselect("x", opts, default=[bad])


@pytest.mark.parametrize(
    ("call", "exc", "argument"),
    [
        (lambda: kino.input.text("x", debounce="soon"), ValueError, "'debounce'"),
        (lambda: kino.input.text("x", default=3), TypeError, "'default'"),
        (lambda: kino.input.text("x", max_length=0), ValueError, "'max_length'"),
        (lambda: kino.input.url("x", default="nope"), ValueError, "'default'"),
        (lambda: kino.input.url("x", schemes="http"), TypeError, "'schemes'"),
        (lambda: kino.input.checkbox("x", default="yes"), TypeError, "'default'"),
        (lambda: kino.input.range("x", 0, 10, step=0), ValueError, "'step'"),
        (lambda: kino.input.range("x", 0, 10, step=-1), ValueError, "'step'"),
        (lambda: kino.input.range("x", 0, float("inf")), ValueError, "'max'"),
        (lambda: kino.input.number("x", default=1.5, integer=True), ValueError, "'default'"),
        (lambda: kino.input.date("x", default="2024-01-01"), TypeError, "'default'"),
        (
            lambda: kino.input.date("x", min=dt.date(2024, 2, 1), max=dt.date(2024, 1, 1)),
            ValueError,
            "'min'",
        ),
        (lambda: kino.input.time("x", default=dt.date(2024, 1, 1)), TypeError, "'default'"),
        (lambda: kino.input.color("x", default="blue"), ValueError, "'default'"),
        (lambda: kino.input.file("x", accept="csv"), ValueError, "'accept'"),
        (lambda: kino.input.file("x", accept=[3]), TypeError, "'accept'"),
        (lambda: kino.input.image("x", size=(0, 3)), ValueError, "'size'"),
        (lambda: kino.input.image("x", size=(28,)), TypeError, "'size'"),
        (lambda: kino.input.image("x", fit="zoom"), ValueError, "'fit'"),
        (lambda: kino.input.image("x", format="cmyk"), ValueError, "'format'"),
        (lambda: kino.input.audio("x", sampling_rate=10), ValueError, "'sampling_rate'"),
        (lambda: kino.input.multiselect("x", ["a"], max_selected=-1), ValueError, "'max_selected'"),
        (lambda: kino.input.text("x", validate=3), TypeError, "'validate'"),
        (lambda: kino.input.text("x").on_change(3), TypeError, "'fn'"),
    ],
)
def test_bad_arguments_name_the_argument(call, exc, argument):
    with pytest.raises(exc, match=argument):
        call()


# the image input's front-end resize plan, run under node ---------------------------------
def test_image_fit_plans_under_node(tmp_path):
    import json
    import shutil
    import subprocess
    import textwrap
    from pathlib import Path

    lab = Path(__file__).resolve().parents[3] / "labextension"
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is required to build the front end (and to run this test)")
    entry = tmp_path / "entry.ts"
    helpers = json.dumps(str(lab / "src" / "widgets" / "input" / "_image.ts"))
    entry.write_text(
        textwrap.dedent(
            f"""
            import {{ plan, toChannels }} from {helpers};
            const size = (p) => [p.height, p.width, p.dx, p.dy, p.dw, p.dh];
            console.log(JSON.stringify({{
              contain: size(plan(400, 200, [50, 50], "contain", 1e9)),
              pad: size(plan(400, 200, [50, 50], "pad", 1e9)),
              match: size(plan(400, 200, [50, 50], "match", 1e9)),
              crop: plan(400, 200, [50, 50], "crop", 1e9),
              natural: size(plan(400, 200, [], "contain", 1e9)),
              capped: size(plan(4000, 2000, [], "contain", 2e6)),
              rgb: Array.from(toChannels(new Uint8ClampedArray([10, 20, 30, 255]), 3)),
              gray: Array.from(toChannels(new Uint8ClampedArray([255, 255, 255, 9]), 1)),
            }}));
            """
        )
    )
    out = tmp_path / "entry.mjs"
    bundler = tmp_path / "bundle.mjs"
    esbuild = json.dumps(str(lab / "node_modules/esbuild/lib/main.js"))
    bundler.write_text(
        f"import {{ build }} from {esbuild};\n"
        f"await build({{ entryPoints: [{json.dumps(str(entry))}], bundle: true, "
        f'platform: "node", format: "esm", outfile: {json.dumps(str(out))}, '
        'logLevel: "error" });\n'
    )
    subprocess.run([node, str(bundler)], check=True, capture_output=True, timeout=budget(120))
    got = json.loads(subprocess.run([node, str(out)], check=True, capture_output=True,
                                    timeout=budget(60)).stdout)  # fmt: skip
    assert got["contain"] == [25, 50, 0, 0, 50, 25]  # aspect kept, within the size
    assert got["pad"] == [50, 50, 0, 12, 50, 25]  # letterboxed to the size
    assert got["match"] == [50, 50, 0, 0, 50, 50]  # stretched
    crop = got["crop"]
    assert (crop["height"], crop["width"]) == (50, 50)
    assert (crop["sx"], crop["sy"], crop["sw"], crop["sh"]) == (100, 0, 200, 200)  # centre square
    assert got["natural"] == [200, 400, 0, 0, 400, 200]
    h, w = got["capped"][:2]
    assert h * w <= 2e6 and abs(w / h - 2) < 0.01
    assert got["rgb"] == [10, 20, 30]
    assert got["gray"] == [255]


# one definition per input ------------------------------------------------------------
INPUT_NAMES = [
    "text",
    "textarea",
    "password",
    "number",
    "url",
    "select",
    "multiselect",
    "checkbox",
    "range",
    "date",
    "time",
    "datetime",
    "color",
    "file",
    "image",
    "audio",
]


@pytest.mark.parametrize("name", INPUT_NAMES)
def test_each_input_name_is_its_class(name):
    cls = getattr(kino.input, name)
    assert isinstance(cls, type) and issubclass(cls, kino.input.Input)
    assert cls.__name__.endswith("Input")
    assert f"``kino.input.{name}``" in cls.__doc__ and ">>> " in cls.__doc__
    assert name in kino.input.__all__


def test_controls_and_form_are_their_classes():
    assert kino.form is kino.input.Form and kino.input.form is kino.input.Form
    assert kino.button is kino.input.Button and kino.interval is kino.input.Interval
    assert kino.form.from_dataclass.__func__ is kino.input.Form.from_dataclass.__func__
