"""kino.inspect in a real JupyterLab: slice sliders, planted values, tree expansion, themes."""

from __future__ import annotations

import json

from tests.browser.harness import run_notebook, screenshot, set_theme, wait_until, write_notebook

PLANTED = (
    "import numpy as np, kino\n"
    "x = np.zeros((5, 20, 30), np.float32)\n"
    "x[3, 7, 11] = 42.0\n"
    "w = kino.inspect(x)\n"
    "w"
)

PIXEL = """([row, col]) => {
  const c = document.querySelector('.kino-inspect-canvas');
  const d = c.getContext('2d').getImageData(col, row, 1, 1).data;
  return [d[0], d[1], d[2]];
}"""

VIRIDIS_TOP = [253, 231, 37]
TOP = ",".join(map(str, VIRIDIS_TOP))


def hover_cell(page, row: int, col: int) -> str:
    """Hover the heatmap cell (row, col) and return the readout under the heatmap."""
    canvas = page.locator(".kino-inspect-canvas").first
    box = canvas.bounding_box()
    rows = int(canvas.get_attribute("height"))
    cols = int(canvas.get_attribute("width"))
    canvas.hover(
        position={
            "x": (col + 0.5) * box["width"] / cols,
            "y": (row + 0.5) * box["height"] / rows,
        }
    )
    return page.locator(".kino-inspect-readout").first.inner_text()


def test_slider_changes_the_heatmap_slice(lab, page):
    write_notebook(lab, "inspect-slider.ipynb", [PLANTED])
    run_notebook(page, lab, "inspect-slider.ipynb")
    page.locator(".kino-inspect-canvas").first.wait_for()
    assert hover_cell(page, 7, 11) == "[0, 7, 11] = 0"
    assert page.evaluate(PIXEL, [7, 11]) != VIRIDIS_TOP
    slider = page.locator("input.kino-inspect-slider[data-axis='0']")
    slider.fill("3")
    # The new slice arrives from the kernel: the planted maximum takes the top colour.
    page.wait_for_function(f"() => ({PIXEL})([7, 11]).join() === '{TOP}'")
    assert hover_cell(page, 7, 11) == "[3, 7, 11] = 42"
    assert hover_cell(page, 7, 12) == "[3, 7, 12] = 0"
    # Show axes 0 and 2 instead: the slider is now for axis 1.
    page.locator("select.kino-inspect-axis-rows").select_option("0")
    page.locator("input.kino-inspect-slider[data-axis='1']").wait_for()
    page.locator("input.kino-inspect-slider[data-axis='1']").fill("7")
    page.wait_for_function(
        f"() => document.querySelector('.kino-inspect-canvas').height === 5 && "
        f"({PIXEL})([3, 11]).join() === '{TOP}'"
    )
    assert hover_cell(page, 3, 11) == "[3, 7, 11] = 42"
    screenshot(page, "inspect-slider", ".kino-inspect")


MODEL = (
    "import kino, jax.numpy as jnp\n"
    "from flax import nnx\n"
    "rngs = nnx.Rngs(0)\n"
    "model = nnx.Sequential(nnx.Linear(784, 256, rngs=rngs), nnx.relu,\n"
    "                       nnx.Dropout(0.4, rngs=rngs), nnx.Linear(256, 10, rngs=rngs))\n"
    "model.layers[3].bias[...] = model.layers[3].bias[...].at[2].set(jnp.nan)\n"
    "kino.inspect(model)"
)


def test_model_tree_expands_and_shows_leaf_statistics(lab, page):
    write_notebook(lab, "inspect-tree.ipynb", [MODEL])
    run_notebook(page, lab, "inspect-tree.ipynb")
    tree = page.locator(".kino-inspect-tree").first
    tree.wait_for()
    assert tree.locator(".kino-inspect-total-params").inner_text() == "203,530 params"
    assert tree.locator("tr[data-path='layers/0']").inner_text().startswith("▾")
    # Nodes below depth 2 start collapsed: the Dropout's PRNG stream hides its leaves.
    assert tree.locator("tr[data-path='layers/2/rngs/count']").count() == 0
    tree.locator("tr[data-path='layers/2/rngs']").click()
    tree.locator("tr[data-path='layers/2/rngs/count']").wait_for()
    # Collapsing a layer hides its parameters; expanding shows them again.
    tree.locator("tr[data-path='layers/0']").click()
    assert tree.locator("tr[data-path='layers/0/kernel']").count() == 0
    tree.locator("tr[data-path='layers/0']").click()
    kernel = tree.locator("tr[data-path='layers/0/kernel']")
    kernel.wait_for()
    assert "(784, 256)" in kernel.inner_text() and "200,704" in kernel.inner_text()
    # The NaN leaf and its ancestors are highlighted.
    bad = tree.locator("tr[data-path='layers/3/bias']")
    assert "kino-inspect-row-bad" in bad.get_attribute("class")
    assert "1 NaN" in bad.inner_text()
    assert "kino-inspect-row-bad" in tree.locator("tr[data-path='layers/3']").get_attribute("class")
    kernel.click()
    panel = tree.locator(".kino-inspect-leafpanel")
    panel.wait_for()
    assert "layers/0/kernel" in panel.inner_text() and "float32[784, 256]" in panel.inner_text()
    screenshot(page, "inspect-tree", ".kino-inspect")


THEMES = [
    "import os\n"
    "os.environ['XLA_FLAGS'] = '--xla_force_host_platform_device_count=8'  # before jax starts\n"
    "import numpy as np, jax, jax.numpy as jnp, kino\n"
    "yy, xx = np.mgrid[-1:1:300j, -1:1:400j]\n"
    "field = np.sin(6 * xx) * np.cos(4 * yy) + 0.2 * xx\n"
    "field[40:44, 50:60] = np.nan\n"
    "field[200, 300] = np.inf\n"
    "kino.inspect(jnp.asarray(field, jnp.float32))",
    "kino.inspect(jnp.cumsum(jnp.sin(jnp.linspace(0, 60, 20000))))",
    "a = jnp.arange(24.0).reshape(4, 6)\nkino.inspect(a, a.at[1, 2].add(0.5))",
    "img = np.zeros((64, 96, 3), np.uint8)\nimg[..., 0] = np.linspace(0, 255, 96)\n"
    "img[..., 2] = np.linspace(0, 255, 64)[:, None]\nkino.inspect(img)",
    "from jax.sharding import Mesh, NamedSharding, PartitionSpec as P\n"
    "mesh = Mesh(np.array(jax.devices()).reshape(4, 2), ('a', 'b'))\n"
    "grid = jnp.sin(jnp.arange(64.0 * 48).reshape(64, 48) / 50)\n"
    "kino.inspect(jax.device_put(grid, NamedSharding(mesh, P('a', 'b'))))",
]


def test_inspector_in_light_and_dark_themes(lab, page):
    write_notebook(lab, "inspect-themes.ipynb", THEMES)
    run_notebook(page, lab, "inspect-themes.ipynb")
    widgets = page.locator(".kino-inspect")
    widgets.nth(4).wait_for()
    assert page.locator(".kino-inspect-canvas").count() == 3  # field, compare, sharded
    shards = widgets.nth(4).locator(".kino-inspect-shardmap .kino-inspect-shard")
    assert shards.count() == 8 and "8 devices" in widgets.nth(4).inner_text()
    assert widgets.nth(4).locator("input.kino-inspect-scale").count() == 0  # 64x48: no table
    assert page.locator(".kino-inspect-image").count() == 1
    assert page.locator(".kino-inspect-line").count() == 1
    assert "NaN" in widgets.first.inner_text()
    assert widgets.first.locator(".kino-inspect-bad").count() >= 2  # NaN and +inf counts
    # A 300x400 field is no table: no per-column colour control.
    assert widgets.first.locator("input.kino-inspect-scale").count() == 0
    for theme in ("light", "dark"):
        set_theme(page, theme)
        for i, name in enumerate(("heatmap", "line", "compare", "image", "sharded")):
            widgets.nth(i).scroll_into_view_if_needed()
            screenshot(page, f"inspect-{name}-{theme}", f".kino-inspect >> nth={i}")
    set_theme(page, "light")


LARGE = (
    "import jax, jax.numpy as jnp, kino\n"
    "x = jax.random.normal(jax.random.key(0), (4100, 4100)).at[:, 3].set(jnp.nan)\n"
    "x = x.at[5, 5].set(jnp.inf)\n"
    "kino.inspect(x)"
)


def test_large_array_has_exact_counts_and_a_labelled_sampled_histogram(lab, page):
    # 16,810,000 elements: the one-pass CPU reduction (masked: a NaN in every row)
    # and a histogram drawn from a sample, which the panel says.
    write_notebook(lab, "inspect-large.ipynb", [LARGE])
    run_notebook(page, lab, "inspect-large.ipynb")
    label = page.locator(".kino-inspect-sampled").first
    label.wait_for()
    assert label.inner_text() == "sampled: 131,072 of 16,810,000 elements (statistics are exact)"
    stats = page.locator(".kino-inspect-stats").first.inner_text()
    assert "NaN\n4,100" in stats and "+inf\n1" in stats, stats
    assert page.locator(".kino-inspect-bar").count() == 64
    screenshot(page, "inspect-large", ".kino-inspect")


# Feature maps [8, 8, 32]: channel c holds 1 + c at (c % 8, c // 8) and zeros elsewhere,
# so the drawn slice shows where the planted maximum is; every selection Python
# holds is written to a file the test waits on.
FEATURE_MAPS = (
    "import json, pathlib, numpy as np, kino\n"
    "fmaps = np.zeros((8, 8, 32), np.float32)\n"
    "for c in range(32):\n"
    "    fmaps[c % 8, c // 8, c] = 1.0 + c\n"
    "w = kino.inspect(fmaps)\n"
    "def record(change):  # written whole, then renamed: the test never reads half a file\n"
    "    part = pathlib.Path('inspect-keys.part')\n"
    "    part.write_text(json.dumps(change.new['index']))\n"
    "    part.replace('inspect-keys.json')\n"
    "w.observe(record, 'selection')\n"
    "w"
)

SLIDER_IS_FOCUSED = (
    "() => document.activeElement?.matches(\"input.kino-inspect-slider[data-axis='2']\")"
)


def test_slice_slider_works_from_the_keyboard_and_keeps_focus(lab, page):
    """Issue 17 item 8: arrows, Home/End and PageUp/PageDown step the channel slider of
    [8, 8, 32] feature maps; Python gets each position, the slice is redrawn, and the
    slider keeps the keyboard focus across the redraws."""
    write_notebook(lab, "inspect-keys.ipynb", [FEATURE_MAPS, "pass"])
    run_notebook(page, lab, "inspect-keys.ipynb")
    slider = page.locator("input.kino-inspect-slider[data-axis='2']")
    slider.wait_for()
    recorded = lab.root / "inspect-keys.json"
    page.evaluate("() => { window.jupyterapp.shell.currentWidget.content.activeCellIndex = 0; }")
    slider.focus()
    # PageUp/PageDown step a tenth of the axis (31 / 10, rounded: 3).
    for key, channel in [
        ("ArrowRight", 1),
        ("ArrowRight", 2),
        ("ArrowUp", 3),
        ("ArrowLeft", 2),
        ("ArrowDown", 1),
        ("End", 31),
        ("ArrowRight", 31),
        ("PageDown", 28),
        ("Home", 0),
        ("PageUp", 3),
        ("ArrowLeft", 2),
    ]:
        page.keyboard.press(key)
        wait_until(
            page,
            lambda c=channel: recorded.exists() and json.loads(recorded.read_text()) == [0, 0, c],
            f"Python's selection index [0, 0, {channel}] after {key}",
        )
        row, col = channel % 8, channel // 8
        page.wait_for_function(f"() => ({PIXEL})([{row}, {col}]).join() === '{TOP}'")
        assert page.evaluate(SLIDER_IS_FOCUSED), f"the slider lost the focus after {key}"
        assert slider.input_value() == str(channel)
        assert page.locator(".kino-inspect-slider-row .kino-inspect-num").inner_text() == (
            f"{channel} / 31"
        )
    assert hover_cell(page, 2, 0) == "[2, 0, 2] = 3"
    # The notebook's own arrow keys did not run: the inspector's cell is still the active one.
    assert page.evaluate("() => window.jupyterapp.shell.currentWidget.content.activeCellIndex") == 0
    screenshot(page, "inspect-keyboard", ".kino-inspect")


PENGUIN_MATRIX = (
    "import numpy as np, kino\n"
    "features = ['bill_length_mm', 'bill_depth_mm', 'flipper_length_mm', 'body_mass_g']\n"
    "table = kino.datasets.penguins().drop_nulls().select(features).to_numpy()\n"
    "assert table.shape == (333, 4)\n"
    "kino.inspect(table)"
)
SHAPES = [
    PENGUIN_MATRIX,
    # an image batch [16, 8, 8, 1]: rings whose radius grows with the batch index
    "yy, xx = np.mgrid[-3.5:3.5:8j, -3.5:3.5:8j]\n"
    "r = np.hypot(yy, xx)\n"
    "batch = np.stack([np.cos(r * (1 + i / 4)) for i in range(16)])[..., None]\n"
    "kino.inspect(batch.astype(np.float32))",
    # feature maps [8, 8, 32]
    "rng = np.random.default_rng(0)\nkino.inspect(rng.normal(size=(8, 8, 32)).astype(np.float32))",
    # a uint8 RGB image [24, 36, 3]
    "img = np.zeros((24, 36, 3), np.uint8)\n"
    "img[..., 0] = np.linspace(0, 255, 36)\n"
    "img[..., 1] = np.linspace(255, 0, 24)[:, None]\n"
    "kino.inspect(img)",
]

BOX = "el => { const r = el.getBoundingClientRect(); return [r.width, r.height]; }"


def test_tables_keep_readable_cells_and_images_square_pixels(lab, page):
    """Issue 17 item 8: a [333, 4] matrix is not drawn as a sliver, an 8x8 slice of an
    image batch or of feature maps has square cells, an image square pixels."""
    write_notebook(lab, "inspect-shapes.ipynb", SHAPES)
    run_notebook(page, lab, "inspect-shapes.ipynb")
    widgets = page.locator(".kino-inspect")
    widgets.nth(3).locator(".kino-inspect-image").wait_for()
    # [333, 4]: 167 rows of 2-row blocks by 4 columns, each column at least 38 px wide,
    # the whole at least 160 px wide and at most 480 px high (plus the border).
    table = widgets.nth(0).locator(".kino-inspect-canvas")
    assert (table.get_attribute("height"), table.get_attribute("width")) == ("167", "4")
    width, height = table.evaluate(BOX)
    assert width >= 160 and width / 4 >= 38, f"the [333, 4] matrix is {width} px wide"
    assert 160 <= height <= 482, f"the [333, 4] matrix is {height} px high"
    # [16, 8, 8, 1] and [8, 8, 32]: an 8x8 slice with square cells, readable size.
    for i in (1, 2):
        canvas = widgets.nth(i).locator(".kino-inspect-canvas")
        assert (canvas.get_attribute("height"), canvas.get_attribute("width")) == ("8", "8")
        width, height = canvas.evaluate(BOX)
        assert abs(width - height) <= 1 and 160 <= width <= 482, (i, width, height)
    # The batch slides over its 16 images; its channel axis of length 1 gets no slider,
    # and only the table offers per-column colour.
    assert widgets.nth(1).locator("input.kino-inspect-slider").evaluate_all(
        "els => els.map((e) => [e.dataset.axis, e.max])"
    ) == [["0", "15"]]
    assert widgets.nth(0).locator("input.kino-inspect-scale").count() == 1
    assert page.locator("input.kino-inspect-scale").count() == 1
    # [24, 36, 3] uint8: a whole number of screen pixels per image pixel, the same both ways.
    width, height = widgets.nth(3).locator(".kino-inspect-image").evaluate(BOX)
    per_x, per_y = (width - 2) / 36, (height - 2) / 24
    assert per_x == per_y and per_x == int(per_x) and per_x >= 4, (width, height)
    for i, name in enumerate(("table-333x4", "batch-16x8x8x1", "fmaps-8x8x32", "image-24x36x3")):
        widgets.nth(i).scroll_into_view_if_needed()
        screenshot(page, f"inspect-{name}", f".kino-inspect >> nth={i}")


SCALE_RECORDED = (
    "import json, pathlib\n"
    "w = kino.inspect(table)\n"
    "def record(change):  # written whole, then renamed: the test never reads half a file\n"
    "    part = pathlib.Path('inspect-scale.part')\n"
    "    part.write_text(json.dumps(change.new['scale']))\n"
    "    part.replace('inspect-scale.json')\n"
    "w.observe(record, 'selection')\n"
    "w"
)

COLUMN_COLOURS = """(col) => {
  const c = document.querySelector('.kino-inspect-canvas');
  const d = c.getContext('2d').getImageData(col, 0, 1, c.height).data;
  const seen = new Set();
  for (let i = 0; i < d.length; i += 4) seen.add(`${d[i]},${d[i + 1]},${d[i + 2]}`);
  return [...seen];
}"""


def test_colour_per_column_toggle_for_a_table(lab, page):
    """Issue 17 item 8: penguins' [333, 4] features (mm next to g) open coloured per
    column, the legend says so, and the toggle switches Python's scale both ways."""
    table_only = PENGUIN_MATRIX.rsplit("\n", 1)[0]  # without its last line, kino.inspect(table)
    write_notebook(lab, "inspect-columns.ipynb", [table_only, SCALE_RECORDED])
    run_notebook(page, lab, "inspect-columns.ipynb")
    toggle = page.locator("input.kino-inspect-scale")
    toggle.wait_for()
    legend = page.locator(".kino-inspect-legend")
    assert toggle.is_checked()
    assert legend.get_attribute("data-scale") == "columns"
    assert legend.inner_text().startswith("colour per column:")
    # Each column spans the whole colour map: its largest value takes the top colour.
    for col in range(4):
        colours = page.evaluate(COLUMN_COLOURS, col)
        assert TOP in colours and len(colours) > 20, (col, len(colours))
    recorded = lab.root / "inspect-scale.json"

    def python_scale(expected: str) -> None:
        wait_until(
            page,
            lambda: recorded.exists() and json.loads(recorded.read_text()) == expected,
            f"Python's selection scale {expected!r}",
        )

    toggle.click()
    python_scale("all")
    page.wait_for_function(
        "() => document.querySelector('.kino-inspect-legend')?.dataset.scale === 'all'"
    )
    assert not toggle.is_checked()
    assert legend.inner_text().startswith("one colour scale:") and "5,925" in legend.inner_text()
    # One scale from 13.9 to 5,925: bill depth (13 to 21.5 mm) is one flat colour.
    assert len(page.evaluate(COLUMN_COLOURS, 1)) == 1
    assert TOP in page.evaluate(COLUMN_COLOURS, 3)
    screenshot(page, "inspect-table-one-scale", ".kino-inspect")
    toggle.click()
    python_scale("columns")
    page.wait_for_function(
        "() => document.querySelector('.kino-inspect-legend')?.dataset.scale === 'columns'"
    )
    assert toggle.is_checked() and len(page.evaluate(COLUMN_COLOURS, 1)) > 20
    screenshot(page, "inspect-table-per-column", ".kino-inspect")
