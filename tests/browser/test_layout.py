"""kino.frame, tabs, grid, image, text, tree and download in real Chromium."""

from __future__ import annotations

from pathlib import Path

from tests.browser.harness import run_notebook, screenshot, set_theme, write_notebook

FRAME = """
import threading, time
import polars as pl
import kino

frame = kino.frame("waiting")

def work():
    for i in range(5):
        frame.append(f"epoch {i}")
        time.sleep(0.05)
    frame.append(pl.DataFrame({"epoch": [1, 2], "loss": [0.5, 0.25]}))
    frame.append(kino.text("done", terminal=True))

threading.Thread(target=work, daemon=True).start()
ticks = kino.text("no tick yet")
timer = kino.interval(50, times=4, start=False)
timer.on_tick(lambda i: ticks.update(f"tick {i} of 4"))
timer.start()
kino.grid([frame, ticks])
"""


def test_frame_appended_from_background_thread_updates(lab, page):
    write_notebook(lab, "frame-thread.ipynb", [FRAME])
    run_notebook(page, lab, "frame-thread.ipynb")
    frame = page.locator(".kino-frame").first
    frame.locator(".kino-terminal", has_text="done").wait_for()
    page.locator(".kino-text", has_text="tick 3 of 4").wait_for()  # kino.interval ticked 4 times
    lines = frame.locator(".kino-text").all_inner_texts()
    assert lines == ["waiting", *[f"epoch {i}" for i in range(5)], "done"]
    table = frame.locator("table")  # a rich object goes through its own display (HTML)
    assert table.locator("td", has_text="0.25").count() == 1
    screenshot(page, "layout-frame-thread", ".kino-frame")


LAYOUT = """
import kino
tabs = kino.tabs({"First": kino.text("alpha"), "Second": kino.text("beta"),
                  "<img src=x onerror='window.__kinoXss=1'>": "trap"})
button = kino.button("<img src=x onerror='window.__kinoXss=2'>")
grid = kino.grid([kino.text(f"cell {i}") for i in range(6)], columns=3, boxed=True)
kino.grid([tabs, grid, button])
"""


def test_tabs_and_grid_lay_out(lab, page):
    write_notebook(lab, "layout.ipynb", [LAYOUT])
    run_notebook(page, lab, "layout.ipynb")
    tabs = page.locator(".kino-tabs").first
    tabs.wait_for()
    tabs.get_by_text("alpha").wait_for(state="visible")
    assert not tabs.get_by_text("beta").is_visible()
    tabs.locator(".lm-TabBar-tab", has_text="Second").click()
    tabs.get_by_text("beta").wait_for(state="visible")
    assert not tabs.get_by_text("alpha").is_visible()

    assert page.locator(".kino-grid img").count() == 0
    tabs.locator(".lm-TabBar-tab", has_text="<img src=x").wait_for()
    page.locator(".kino-button button", has_text="<img src=x").wait_for()
    assert page.evaluate("() => window.__kinoXss === undefined")

    cells = [
        page.locator(".kino-grid.kino-boxed .kino-text", has_text=f"cell {i}") for i in range(6)
    ]
    boxes = [c.bounding_box() for c in cells]
    row1, row2 = boxes[:3], boxes[3:]
    assert len({round(b["y"]) for b in row1}) == 1 and len({round(b["y"]) for b in row2}) == 1
    assert row1[0]["x"] < row1[1]["x"] < row1[2]["x"]
    assert row2[0]["y"] > row1[0]["y"]
    for a, b in zip(row1, row2, strict=True):
        assert abs(a["x"] - b["x"]) < 1 and abs(a["width"] - b["width"]) < 1
    screenshot(page, "layout-tabs-grid", ".kino-grid")


IMAGE = """
import jax.numpy as jnp
import kino
pixels = jnp.zeros((6, 8, 3)).at[2, 5].set(jnp.array([1.0, 0.5, 0.0]))
kino.image(pixels)
"""


def test_image_of_jax_array_has_the_right_pixel(lab, page):
    write_notebook(lab, "image.ipynb", [IMAGE])
    run_notebook(page, lab, "image.ipynb")
    img = page.locator("img.kino-image").first
    img.wait_for()
    page.wait_for_function(
        "() => { const i = document.querySelector('img.kino-image'); "
        "return i && i.complete && i.naturalWidth > 0; }"
    )
    info = img.evaluate(
        """img => {
            const c = document.createElement('canvas');
            c.width = img.naturalWidth; c.height = img.naturalHeight;
            const ctx = c.getContext('2d');
            ctx.drawImage(img, 0, 0);
            return {w: img.naturalWidth, h: img.naturalHeight,
                    hit: Array.from(ctx.getImageData(5, 2, 1, 1).data),
                    corner: Array.from(ctx.getImageData(0, 0, 1, 1).data)};
        }"""
    )
    assert (info["w"], info["h"]) == (8, 6)
    assert info["hit"] == [255, 128, 0, 255]
    assert info["corner"] == [0, 0, 0, 255]


TREE_TEXT_DOWNLOAD = """
import kino
from flax import nnx
model = nnx.Linear(3, 2, rngs=nnx.Rngs(0))
calls = []
def make():
    calls.append(1)
    return "step,loss\\n1,0.5\\n"
kino.grid([
    kino.tree({"name": "<b>mlp</b>", "params": nnx.state(model), "layers": [1, 2, 3]}),
    kino.text("\\x1b[32mPASS\\x1b[0m 3 tests <i>ok</i>", terminal=True),
    kino.download(make, filename="metrics.csv", label="Download metrics"),
], columns=3)
"""


def test_tree_text_and_download(lab, page):
    write_notebook(lab, "tree.ipynb", [TREE_TEXT_DOWNLOAD])
    run_notebook(page, lab, "tree.ipynb")
    tree = page.locator(".kino-tree").first
    tree.wait_for()
    assert tree.locator(".kino-tree-value", has_text="'<b>mlp</b>'").count() == 1
    assert tree.locator("b").count() == 0
    params = tree.locator("summary", has_text="params")
    params.click()
    tree.get_by_text("float32[3,2]").wait_for(state="visible")
    terminal = page.locator(".kino-terminal").first
    assert terminal.locator(".kino-fg-green").inner_text() == "PASS"
    assert terminal.locator("i").count() == 0
    with page.expect_download() as download:
        page.locator(".kino-download-button", has_text="Download metrics").click()
    saved = download.value
    assert saved.suggested_filename == "metrics.csv"
    assert Path(saved.path()).read_text() == "step,loss\n1,0.5\n"
    screenshot(page, "layout-tree-text-download", ".kino-grid")
    try:
        set_theme(page, "dark")
        screenshot(page, "layout-tree-text-download-dark", ".kino-grid")
    finally:
        set_theme(page, "light")
