"""kino.inspect widget: traits, binary payloads, front-end requests, trees, compare, display."""

from __future__ import annotations

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import kino
from kino.ui.inspect import tree as inspect_tree
from kino.ui.inspect.stats import MAX_PAYLOAD_BYTES
from kino.ui.inspect.widget import ArraySummary, Inspector, summary_line


def front_end(widget: Inspector, content: dict) -> None:
    """Deliver a custom message as the browser would."""
    widget._handle_custom_msg(content, [])


def test_array_view_travels_as_binary_buffer(comm_log):
    x = np.arange(30, dtype=np.float32).reshape(2, 3, 5)
    w = kino.inspect(x)
    assert w.kind == "array"
    assert w.selection == {
        "axes": [1, 2],
        "index": [0, 0, 0],
        "mode": "mean",
        "scale": "all",
        "part": "value",
        "view": "heatmap",
    }
    update = [m for m in comm_log if ["view_data"] in m.data.get("buffer_paths", [])][-1]
    assert update.buffers == [bytes(w.view_data)], "view_data must travel as a binary buffer"
    grid = np.frombuffer(bytes(w.view_data), "<f4").reshape(w.view["rows"], w.view["cols"])
    np.testing.assert_array_equal(grid, x[0])
    # The JSON part of the update holds no copy of the values.
    assert len(json.dumps(update.state, default=str)) < 2_000


def test_slider_message_changes_the_slice_and_selection(comm_log):
    x = np.zeros((5, 6, 7), np.float32)
    x[3, 4, 5] = 9.0
    w = kino.inspect(x)
    front_end(w, {"type": "select", "index": [3, 0, 0]})
    assert w.selection["index"] == [3, 0, 0]
    grid = np.frombuffer(bytes(w.view_data), "<f4").reshape(6, 7)
    assert grid[4, 5] == 9.0
    update = [m for m in comm_log if ["view_data"] in m.data.get("buffer_paths", [])][-1]
    assert update.buffers == [bytes(w.view_data)]
    assert comm_log.updates("selection")[-1].state["selection"]["index"] == [3, 0, 0]
    front_end(w, {"type": "select", "axes": [2, 0], "index": [0, 4, 0]})
    grid = np.frombuffer(bytes(w.view_data), "<f4").reshape(w.view["rows"], w.view["cols"])
    assert grid.shape == (7, 5) and grid[5, 3] == 9.0


def test_bad_front_end_requests_answer_with_a_clear_error(comm_log):
    w = kino.inspect(np.zeros((2, 3, 4)))
    before = dict(w.selection)
    front_end(w, {"type": "select", "axes": [0, 5]})
    assert "axis 5 is out of range" in w.error and "between 0 and 2" in w.error
    assert comm_log.custom()[-1].content == {"type": "error", "message": w.error}
    assert w.selection == before
    front_end(w, {"type": "select", "index": [0, 9, 0]})
    assert "position 9 is out of range for axis 1 of length 3" in w.error
    front_end(w, {"type": "select", "mode": "median"})
    assert "'mode' must be one of ['mean', 'maxabs']" in w.error
    front_end(w, {"type": "zoom"})
    assert "unknown request type 'zoom'" in w.error
    front_end(w, {"type": "select", "axes": [1, 1]})
    assert "two different axes" in w.error
    front_end(w, {"type": "select", "mode": "maxabs"})
    assert w.error == "" and w.selection["mode"] == "maxabs"


def test_select_from_python_validates():
    w = kino.inspect(np.zeros((2, 3, 4)))
    with pytest.raises(ValueError, match="out of range"):
        w.select(axes=(0, 3))
    with pytest.raises(ValueError, match="'view' must be one of"):
        w.select(view="image")
    with pytest.raises(TypeError, match="must be an int"):
        w.select(index={0: 1.5})
    w.select(axes=(-1, 0), index={1: -1})
    assert w.selection["axes"] == [2, 0] and w.selection["index"] == [0, 2, 0]


def test_bad_input_is_named():
    with pytest.raises(TypeError, match="must be a jax or numpy array"):
        kino.inspect(np.zeros(3), "text")
    with pytest.raises(TypeError, match="expected a jax or numpy array"):
        kino.inspect("text")
    with pytest.raises(TypeError, match="expected a jax or numpy array"):
        kino.inspect(object())
    with pytest.raises(TypeError, match="has no leaves"):
        kino.inspect({})
    with pytest.raises(TypeError, match="dtype"):
        kino.inspect(np.array(["a", "b"]))
    with pytest.raises(TypeError, match="PRNG keys"):
        kino.inspect(jax.random.split(jax.random.key(0), 3))
    with pytest.raises(ValueError, match="same shape"):
        kino.inspect(np.zeros(3), np.zeros(4))


def test_views_for_each_kind_of_array():
    assert kino.inspect(np.float32(2.5)).view["kind"] == "scalar"
    assert kino.inspect(np.float32(2.5)).view["table"] == [["2.5"]]
    assert kino.inspect(3).view["table"] == [["3"]]
    empty = kino.inspect(np.zeros((0, 5)))
    assert empty.view["kind"] == "empty" and empty.view_data == b""
    line = kino.inspect(jnp.linspace(0, 1, 50))
    assert line.view["kind"] == "line" and line.view["points"] == 50
    assert len(line.view["table"][0]) == 50
    img = kino.inspect(np.zeros((8, 9, 3), np.uint8))
    assert img.available_views() == ["image", "heatmap"]
    assert img.view["kind"] == "image" and len(img.view_data) == 8 * 9 * 4
    img.select(view="heatmap")
    # The heatmap of an RGB image: height x width, the slider over the channels.
    assert img.view["kind"] == "heatmap" and img.selection["axes"] == [0, 1]
    big = kino.inspect(np.zeros((30, 30)))
    assert big.view["table"] is None  # 900 elements: no value table


def test_complex_parts():
    x = np.array([[1 + 1j, -2j], [3, np.nan]], np.complex64)
    w = kino.inspect(x)
    assert w.summary["parts"] == ["abs", "angle", "real", "imag"]
    assert w.selection["part"] == "abs"
    grid = np.frombuffer(bytes(w.view_data), "<f4")
    np.testing.assert_allclose(grid[:3], np.abs(x.flat[:3]), rtol=1e-6)
    assert np.isnan(grid[3])
    w.select(part="angle")
    grid = np.frombuffer(bytes(w.view_data), "<f4")
    np.testing.assert_allclose(grid[:3], np.angle(x.flat[:3]), rtol=1e-6)
    assert w.view["signed"] is True
    assert w.view["table"][0][0] == "1+1j"


def test_signed_flag_drives_the_diverging_scale():
    assert kino.inspect(np.array([[-1.0, 2.0]])).view["signed"] is True
    assert kino.inspect(np.array([[1.0, 2.0]])).view["signed"] is False
    assert kino.inspect(np.array([[1, 2]], np.uint8)).view["signed"] is False


def test_summary_shows_devices_and_bytes():
    w = kino.inspect(jnp.ones((3, 4), jnp.bfloat16))
    s = w.summary
    assert s["shape"] == [3, 4] and s["dtype"] == "bfloat16" and s["bytes"] == 24
    assert s["sharding"]["devices"] == ["cpu:0"] and len(s["sharding"]["blocks"]) == 1
    host = kino.inspect(np.ones(3, np.float64)).summary
    assert host["sharding"]["devices"] == ["host (numpy)"] and host["bytes"] == 24
    assert "float32" in host["note"]


def seed_mlp():
    from flax import nnx

    rngs = nnx.Rngs(0)
    return nnx.Sequential(
        nnx.Linear(784, 256, rngs=rngs),
        nnx.relu,
        nnx.Dropout(0.4, rngs=rngs),
        nnx.Linear(256, 10, rngs=rngs),
    )


def test_nnx_module_tree_shows_layers_and_parameter_totals(comm_log):
    w = kino.inspect(seed_mlp())
    assert w.kind == "tree" and w.title == "Sequential"
    totals = w.tree["totals"]
    assert totals["params"] == 784 * 256 + 256 + 256 * 10 + 10
    assert totals["bytes"] >= totals["params"] * 4
    rows = {r["path"]: r for r in w.tree["rows"]}
    assert rows["layers/0"]["type"] == "Linear" and rows["layers/0"]["node"]
    assert rows["layers/0"]["params"] == 784 * 256 + 256
    assert rows["layers/3"]["type"] == "Linear"
    assert rows["layers/0/kernel"]["shape"] == [784, 256]
    assert rows["layers/0/kernel"]["type"] == "Param"
    assert rows["layers/0/kernel"]["dtype"] == "float32"
    # Parents come before their children, in depth-first order.
    for r in w.tree["rows"]:
        assert r["parent"] < r["id"]
    kernel = rows["layers/0/kernel"]["leaf"]
    front_end(w, {"type": "leaf", "leaf": kernel})
    assert w.selected_leaf == kernel and w.leaf_summary["path"] == "layers/0/kernel"
    stats = w.leaf_summary["stats"]["parts"]["value"]
    assert stats["finite"] == 784 * 256 and 0 < stats["std"] < 1
    front_end(w, {"type": "leaf", "leaf": 999})
    assert "'leaf' must be the index of an array leaf" in w.error


def test_pytree_with_nan_leaf_is_highlighted():
    params = {
        "dense": {"w": jnp.ones((3, 4)), "b": jnp.array([0.0, jnp.nan, jnp.inf, 1.0])},
        "step": 7,
        "name": "<b>run</b>",
    }
    w = kino.inspect(params)
    rows = {r["path"]: r for r in w.tree["rows"]}
    assert rows["dense/b"]["nan"] == 1 and rows["dense/b"]["inf"] == 1
    assert rows["dense"]["nan"] == 1 and w.tree["totals"]["nan"] == 1
    assert rows["dense/w"]["nan"] == 0
    assert rows["step"]["value"] == "7" and rows["step"]["leaf"] == -1
    assert rows["name"]["value"] == "'<b>run</b>'"
    assert w.tree["totals"]["params"] == 16


def test_tree_rows_are_bounded(monkeypatch):
    monkeypatch.setattr(inspect_tree, "TREE_MAX_ROWS", 10)
    w = kino.inspect([np.zeros(2)] * 25)
    assert len(w.tree["rows"]) == 10 and w.tree["truncated"] == 15


def test_compare_shows_difference_and_largest_differences():
    a = jnp.arange(12.0).reshape(3, 4)
    b = a.at[2, 1].add(0.5).at[0, 3].set(jnp.nan)
    w = kino.inspect(a, b)
    assert w.kind == "compare"
    c = w.compare
    assert c["top"][0]["index"] == [0, 3] and c["top"][1]["index"] == [2, 1]
    assert c["max_abs"] == pytest.approx(0.5) and c["nan_mismatch"] == 1
    assert w.summary["stats"]["parts"]["value"]["nan"] == 1  # the view is of a - b
    same = kino.inspect(np.ones((2, 2), np.uint8), np.ones((2, 2), np.uint8))
    assert same.compare["top"] == [] and same.compare["not_equal"] == 0
    flags = kino.inspect(np.array([True, False]), np.array([False, False]))
    assert flags.compare["not_equal"] == 1


def test_summary_line_and_display_registration():
    line = summary_line(jnp.array([[1.0, jnp.nan], [3.0, -jnp.inf]]))
    assert line.startswith("float32[2,2] · 16 B · cpu:0 · min 1 · max 3")
    assert "1 NaN" in line and "1 -inf" in line
    bundle = ArraySummary(jnp.zeros(2))._repr_mimebundle_()
    assert bundle["text/plain"].startswith("float32[2]")
    assert "<code" in bundle["text/html"]
    assert "jax.Array" in kino.display.registered_displays()
    assert summary_line(np.zeros((0, 2))).endswith("empty")
    assert "|x| min" in summary_line(np.array([1j]))


def test_enable_shows_jax_arrays_as_summary_line():
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    try:
        kino.enable(shell)
        data, _ = shell.display_formatter.format(jnp.arange(3.0))
        assert data["text/html"].startswith('<code class="kino-inspect-line"')
        assert "float32[3]" in data["text/html"]
    finally:
        kino.disable()
        InteractiveShell.clear_instance()


def test_saved_state_holds_the_selection():
    w = kino.inspect(np.zeros((4, 5, 6, 7), np.float32))
    front_end(w, {"type": "select", "axes": [0, 3], "index": [0, 2, 5, 0], "mode": "maxabs"})
    state = w.get_state()
    assert state["selection"] == {
        "axes": [0, 3],
        "index": [0, 2, 5, 0],
        "mode": "maxabs",
        "scale": "all",
        "part": "value",
        "view": "heatmap",
    }
    assert len(state["view_data"]) == 4 * 7 * 4 <= MAX_PAYLOAD_BYTES


def test_inspect_is_the_inspector_class_with_positional_arguments():
    assert kino.inspect is Inspector
    w = Inspector(np.ones(3), np.array([1.0, 1.0, 1.5]))
    assert w.kind == "compare" and w.compare["max_abs"] == 0.5
    with pytest.raises(TypeError):
        Inspector(x=np.ones(3))  # positional only, as kino.inspect(x, y=None, /) always was
    with pytest.raises(TypeError, match=r"kino.inspect: 'index\[0\]' must be an int, got 1.5"):
        kino.inspect(np.zeros((2, 3))).select(index={0: 1.5})


# default axes and colour scale (issue 17 item 8) ------------------------------------------
@pytest.mark.parametrize(
    ("shape", "axes", "slider"),
    [
        (
            (16, 8, 8, 1),
            [1, 2],
            "a batch of 8x8 grey images: the image, sliders on batch and channel",
        ),
        ((8, 8, 32), [0, 1], "feature maps: 8x8, the slider over the 32 channels"),
        ((2, 28, 28, 3), [1, 2], "RGB images"),
        ((333, 4), [0, 1], "a table: rows and its 4 columns"),
        ((4, 100, 64), [1, 2], "no channel axis: the last two"),
    ],
)
def test_default_axes_read_image_like_tensors_channel_last(shape, axes, slider):
    w = kino.inspect(np.zeros(shape, np.float32))
    assert w.selection["axes"] == axes, slider
    assert w.view["slice_shape"] == [shape[a] for a in axes]


def test_per_column_scale_is_offered_and_checked():
    w = kino.inspect(np.arange(333 * 4, dtype=np.float32).reshape(333, 4))
    assert w.selection["scale"] == "all"
    w.select(scale="columns")
    assert w.selection["scale"] == "columns" and w.view["scale"] == "columns"
    front_end(w, {"type": "select", "scale": "rows"})
    assert w.error == "kino.inspect: 'scale' must be one of all, columns, got str: 'rows'"
    assert w.selection["scale"] == "columns"


def penguin_like(rows: int = 333) -> np.ndarray:
    """Columns on the scales of penguins' bill length and depth (mm), flipper (mm), mass (g)."""
    rng = np.random.default_rng(0)
    means, stds = np.array([44.0, 17.0, 200.0, 4200.0]), np.array([5.0, 2.0, 14.0, 800.0])
    return (means + stds * rng.standard_normal((rows, 4))).astype(np.float32)


@pytest.mark.parametrize(
    ("x", "scale", "why"),
    [
        (penguin_like(), "columns", "bill depth spans ~10, body mass ~4000: per column"),
        (penguin_like().astype(np.int32), "columns", "integer tables too"),
        (np.random.default_rng(1).normal(size=(333, 4)), "all", "columns on one scale"),
        (np.arange(333 * 4, dtype=np.float32).reshape(333, 4), "all", "equal column ranges"),
        (penguin_like(8)[:4], "all", "as many columns as rows: a matrix, not a table"),
        (np.c_[np.ones(50), np.linspace(0, 1e4, 50)], "all", "a constant column aside"),
        (np.zeros((8, 8, 32), np.float32), "all", "feature maps are no table"),
    ],
)
def test_a_table_with_columns_on_different_scales_is_coloured_per_column(x, scale, why):
    w = kino.inspect(x)
    assert w.selection["scale"] == scale, why
    assert w.view["scale"] == scale


@pytest.mark.parametrize(
    ("shape", "tabular"),
    [((333, 4), True), ((64, 48), False), ((300, 400), False), ((4, 6), False), ((8, 8, 4), False)],
)
def test_the_view_says_whether_per_column_colour_applies(shape, tabular):
    assert kino.inspect(np.zeros(shape, np.float32)).view["tabular"] is tabular


def test_the_per_column_toggle_reaches_python(comm_log):
    w = kino.inspect(penguin_like())
    front_end(w, {"type": "select", "scale": "all"})
    assert w.selection["scale"] == "all" and w.view["scale"] == "all"
    assert comm_log.updates("view")[-1].state["view"]["scale"] == "all"
    front_end(w, {"type": "select", "scale": "columns"})
    assert w.error == "" and w.view["scale"] == "columns"
