"""kino.frame, tabs, grid, text, image, tree, download."""

from __future__ import annotations

import dataclasses
import importlib
import struct
import threading
import zlib
from typing import NamedTuple

import ipywidgets
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import kino
from kino.ui.output import MAX_DOWNLOAD_BYTES, MAX_IMAGE_PIXELS, MAX_TREE_NODES, Text
from kino.ui.output.image import encode_png
from kino.ui.output.tree import MAX_TREE_CHILDREN, MAX_TREE_DEPTH, tree_node


def decode_png(data: bytes) -> np.ndarray:
    """A minimal PNG reader for 8-bit images written with filter 0 (what encode_png writes)."""
    data = bytes(data)
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, header = 8, b"", None
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + length]
        crc = struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])[0]
        assert zlib.crc32(kind + body) & 0xFFFFFFFF == crc
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    w, h, _depth, color_type = header[:4]
    channels = {0: 1, 4: 2, 2: 3, 6: 4}[color_type]
    rows = np.frombuffer(zlib.decompress(idat), np.uint8).reshape(h, 1 + w * channels)
    assert (rows[:, 0] == 0).all()
    return rows[:, 1:].reshape(h, w, channels)


# frame ------------------------------------------------------------------------------
def test_frame_render_append_clear():
    f = kino.frame()
    f.append("one")
    f.append(kino.text("two"))
    assert [w.value for w in f.items] == ["one", "two"]
    f.render("only")
    assert [w.value for w in f.items] == ["only"]
    f.update("again")
    assert [w.value for w in f.items] == ["again"]
    f.clear()
    assert f.items == []
    assert "kino-frame" in f._dom_classes


def test_frame_rich_objects_go_through_display_formatter():
    class Rich:
        def _repr_html_(self):
            return "<b>bold</b>"

    f = kino.frame(Rich())
    out = f.items[0]
    assert isinstance(out, ipywidgets.Output)
    assert out.outputs[0]["data"]["text/html"] == "<b>bold</b>"


def test_frame_uses_the_widget_an_object_displays_as():
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    shown = kino.text("as a widget")

    class Shown:
        pass

    formatter = shell.display_formatter.mimebundle_formatter
    formatter.for_type(Shown, lambda obj: shown._repr_mimebundle_()[0])
    try:
        assert kino.frame(Shown()).items == [shown]
    finally:
        formatter.pop(Shown)


def test_frame_append_from_background_thread_is_sent(comm_log):
    f = kino.frame()
    comm_log.clear()
    done = threading.Event()

    def worker():
        for i in range(3):
            f.append(f"step {i}")
        done.set()

    threading.Thread(target=worker).start()
    assert done.wait(10)
    updates = comm_log.updates("children")
    assert len(updates) == 3
    assert len(updates[-1].state["children"]) == 4  # the style carrier + 3 lines
    assert [w.value for w in f.items] == ["step 0", "step 1", "step 2"]


def test_frame_concurrent_appends_are_not_lost():
    f = kino.frame()
    threads = [threading.Thread(target=lambda i=i: f.append(str(i))) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(w.value for w in f.items) == [str(i) for i in range(8)]


# tabs, grid --------------------------------------------------------------------------------
def test_tabs_and_grid():
    t = kino.tabs({"Loss": "0.3", "Accuracy": kino.text("0.9")})
    assert t.titles == ("Loss", "Accuracy")
    assert isinstance(t.children[0], Text)
    t2 = kino.tabs([("A", "a"), ("B", "b")])
    assert t2.titles == ("A", "B")
    g = kino.grid(["a", "b", "c"], columns=3, boxed=True, gap=4)
    assert g.layout.grid_template_columns == "repeat(3, minmax(0, 1fr))"
    assert g.layout.grid_gap == "4px"
    assert {"kino-grid", "kino-boxed"} <= set(g._dom_classes)


@pytest.mark.parametrize(
    ("call", "exc", "argument"),
    [
        (lambda: kino.tabs({}), ValueError, "'items'"),
        (lambda: kino.tabs({1: "a"}), TypeError, "'items'"),
        (lambda: kino.tabs("abc"), TypeError, "'items'"),
        (lambda: kino.tabs([("a", "b", "c")]), TypeError, "'items'"),
        (lambda: kino.grid("abc"), TypeError, "'items'"),
        (lambda: kino.grid([], columns=0), ValueError, "'columns'"),
        (lambda: kino.grid([], columns=13), ValueError, "'columns'"),
        (lambda: kino.grid([], gap=-1), ValueError, "'gap'"),
        (lambda: kino.text(3), TypeError, "'text'"),
        (lambda: kino.image(b"not an image"), ValueError, "'image'"),
        (lambda: kino.image(np.zeros((2, 2, 5))), ValueError, "'image'"),
        (lambda: kino.image(np.full((2, 2), 1.5)), ValueError, r"\[0, 1\]"),
        (lambda: kino.image(np.full((2, 2), np.nan)), ValueError, "finite"),
        (lambda: kino.image(np.full((2, 2), 300)), ValueError, "0..255"),
        (lambda: kino.image(np.zeros((0, 3))), ValueError, "empty"),
        (lambda: kino.image(np.zeros((2, 2)), width=0), ValueError, "'width'"),
        (lambda: kino.tree([], open_depth=-1), ValueError, "'open_depth'"),
        (lambda: kino.download(3, filename="a"), TypeError, "'content'"),
        (lambda: kino.download(b"", filename="a/b"), ValueError, "'filename'"),
        (lambda: kino.download(b"", filename="a", label=3), TypeError, "'label'"),
    ],
)
def test_bad_layout_arguments(call, exc, argument):
    with pytest.raises(exc, match=argument):
        call()


@settings(max_examples=30, deadline=None)
@given(columns=st.one_of(st.integers(-5, 0), st.integers(13, 50), st.floats(), st.text(max_size=2)))
def test_grid_columns_property(columns):
    with pytest.raises(ValueError, match="'columns'"):
        kino.grid(["a"], columns=columns)


# text --------------------------------------------------------------------------------------
def test_text_update_append_clear():
    t = kino.text("a", terminal=True)
    t.append("\x1b[31mred\x1b[0m")
    assert t.value == "a\x1b[31mred\x1b[0m" and t.terminal
    t.update("b")
    t.clear()
    assert t.value == ""


# image -------------------------------------------------------------------------------------
def test_image_from_jax_float_array_pixels():
    arr = jnp.zeros((4, 5, 3)).at[1, 2].set(jnp.array([1.0, 0.5, 0.0]))
    img = kino.image(arr)
    assert img.format == "png"
    pixels = decode_png(img.value)
    assert pixels.shape == (4, 5, 3)
    assert tuple(pixels[1, 2]) == (255, 128, 0)
    assert tuple(pixels[0, 0]) == (0, 0, 0)


def test_image_grayscale_uint8_rgba_and_bytes():
    gray = np.arange(6, dtype=np.uint8).reshape(2, 3)
    assert (decode_png(kino.image(gray).value)[..., 0] == gray).all()
    rgba = np.zeros((2, 2, 4), np.uint8)
    rgba[1, 1] = (1, 2, 3, 4)
    assert tuple(decode_png(encode_png(rgba))[1, 1]) == (1, 2, 3, 4)
    png = encode_png(rgba)
    img = kino.image(png, width=200)
    assert bytes(img.value) == png and img.width == "200"
    jpeg = b"\xff\xd8\xff\xe0" + b"0" * 10
    img.update(jpeg)
    assert img.format == "jpeg"
    assert decode_png(kino.image(np.ones((2, 2), bool)).value).max() == 255


def test_image_size_limit():
    side = int(MAX_IMAGE_PIXELS**0.5) + 1
    with pytest.raises(ValueError, match="MAX_IMAGE_PIXELS"):
        kino.image(np.broadcast_to(np.zeros((1, 1), np.uint8), (side, side)))


# tree --------------------------------------------------------------------------------------
class Point(NamedTuple):
    x: int
    y: int


@dataclasses.dataclass
class Config:
    name: str
    point: Point


def test_tree_nested_python_data():
    node = tree_node({"config": Config("run", Point(1, 2)), "layers": [1, 2], "tags": {"b", "a"}})
    assert node["t"] == "dict (3)"
    config = node["c"][0]
    assert config["k"] == "config" and config["t"] == "Config (2)"
    assert config["c"][0] == {"k": "name", "t": "str", "v": "'run'"}
    assert config["c"][1]["c"][1] == {"k": "y", "t": "int", "v": "2"}
    assert [c["k"] for c in node["c"][1]["c"]] == ["[0]", "[1]"]
    assert [c["v"] for c in node["c"][2]["c"]] == ["'a'", "'b'"]


def test_tree_jax_pytree_and_arrays():
    from flax import nnx

    model = nnx.Linear(3, 2, rngs=nnx.Rngs(0))
    state = nnx.state(model)
    node = tree_node(state)
    text = repr(node)
    assert "float32[3,2]" in text and "float32[2]" in text
    whole = tree_node(nnx.Sequential(model, nnx.Dropout(0.5, rngs=nnx.Rngs(1))))
    assert whole["t"] == "Sequential (1)" and "float32[3,2]" in repr(whole)
    assert "key<fry>[]" in repr(whole)  # PRNG keys are shown by dtype, without values
    small = tree_node({"w": jnp.ones(2)})
    assert small["c"][0]["t"] == "float32[2]" and small["c"][0]["v"] == "[1., 1.]"


def test_tree_limits_and_cycles():
    wide = tree_node(list(range(MAX_TREE_CHILDREN + 50)))
    assert len(wide["c"]) == MAX_TREE_CHILDREN and wide["more"] == 50
    deep: list = []
    cur = deep
    for _ in range(MAX_TREE_NODES * 2):
        nxt: list = []
        cur.append(nxt)
        cur = nxt
    node, depth = tree_node(deep), 0
    while node.get("c"):
        node, depth = node["c"][0], depth + 1
    assert depth == MAX_TREE_DEPTH and node["v"] == "…"
    loop: dict = {}
    loop["self"] = loop
    assert tree_node(loop)["c"][0]["t"] == "cycle"
    big = tree_node([[i] * 50 for i in range(100)])
    count = 0
    stack = [big]
    while stack:
        n = stack.pop()
        count += 1
        stack += n.get("c", [])
    assert count <= MAX_TREE_NODES + MAX_TREE_CHILDREN


def test_tree_widget_update():
    t = kino.tree({"a": 1}, open_depth=2)
    t.update([1])
    assert t.node["t"] == "list (1)" and t.open_depth == 2


# download -----------------------------------------------------------------------------------
def test_download_makes_content_only_when_clicked(comm_log):
    made = []

    def make():
        made.append(1)
        return "a,b\n1,2\n"

    d = kino.download(make, filename="data.csv", label="Get CSV")
    assert made == [] and d.mime == "text/csv"
    comm_log.clear()
    d._handle_custom_msg({"type": "request"}, [])
    assert made == [1] and d.requests == 1
    sent = comm_log.custom()[-1]
    assert sent.content == {"type": "content", "filename": "data.csv", "mime": "text/csv"}
    assert sent.buffers == [b"a,b\n1,2\n"]


def test_download_error_is_reported(comm_log):
    def fail():
        raise RuntimeError("disk full")

    d = kino.download(fail, filename="x.bin")
    d._handle_custom_msg({"type": "request"}, [])
    assert comm_log.custom()[-1].content["type"] == "error"
    assert "disk full" in comm_log.custom()[-1].content["message"]


def test_download_size_limit(monkeypatch):
    download_module = importlib.import_module("kino.ui.output.download")

    assert MAX_DOWNLOAD_BYTES == download_module.MAX_DOWNLOAD_BYTES
    monkeypatch.setattr(download_module, "MAX_DOWNLOAD_BYTES", 10)
    d = kino.download(lambda: b"x" * 11, filename="x.bin")
    with pytest.raises(ValueError, match="MAX_DOWNLOAD_BYTES"):
        d.content()
    assert kino.download(b"x" * 10, filename="x.bin").content() == b"x" * 10
