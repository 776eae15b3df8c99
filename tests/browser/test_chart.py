"""kino.chart in JupyterLab: streamed pushes, replace without re-embedding, themes, errors."""

import base64
import json
import time

import pytest

from tests.browser.harness import (
    lab_command,
    run_notebook,
    screenshot,
    set_theme,
    widget_state_of,
    write_notebook,
)
from tests.conftest import budget, budget_ms
from tests.ui.live._vegastream import decode_block, put_buffers

SETUP = (
    "import altair as alt, kino\n"
    "c = kino.chart(alt.Chart(title='loss').mark_line(point=False)"
    ".encode(x='step:Q', y=alt.Y('loss:Q', scale=alt.Scale(type='log')), color='split:N')"
    ".properties(height=220))\n"
    "c"
)

VIEW_STEPS = """([index, dataset]) => {
    const el = document.querySelectorAll('.kino-chart-plot')[index];
    const view = el && el.kinoView;
    if (!view) return null;
    return view.data(dataset).map(d => d.step).sort((a, b) => a - b);
}"""


def view_steps(page, index=0, dataset="data"):
    return page.evaluate(VIEW_STEPS, [index, dataset])


def wait_steps(page, expected, index=0, dataset="data"):
    page.wait_for_function(
        f"([i, d, want]) => {{ const got = ({VIEW_STEPS})([i, d]);"
        " return got !== null && JSON.stringify(got) === JSON.stringify(want); }",
        arg=[index, dataset, expected],
    )


def test_ten_thousand_pushes_show_exactly_the_last_window(lab, page):
    write_notebook(
        lab,
        "chart-push.ipynb",
        [
            SETUP,
            "for i in range(10_000):\n"
            "    c.push({'step': i, 'loss': 1 / (i + 1), 'split': 'train' if i % 5 else 'val'},"
            " window=500)\n"
            "messages = c._stream.messages\n"
            "assert messages < 400, messages",
            "c",  # a second view of the same chart
        ],
    )
    run_notebook(page, lab, "chart-push.ipynb")
    wait_steps(page, list(range(9_500, 10_000)), index=0)
    # the second view, created after the pushes, shows the same rows
    wait_steps(page, list(range(9_500, 10_000)), index=1)
    values = page.evaluate(
        "() => document.querySelector('.kino-chart-plot').kinoView.data('data')"
        ".filter(d => d.step === 9999).map(d => [d.loss, d.split])"
    )
    assert values == [[1 / 10_000, "train"]]
    screenshot(page, "chart-window", ".kino-chart")


def test_replace_changes_the_data_without_recreating_the_view(lab, page):
    write_notebook(
        lab,
        "chart-replace.ipynb",
        [SETUP, "c.push([{'step': i, 'loss': 1.0, 'split': 'a'} for i in range(50)])"],
    )
    run_notebook(page, lab, "chart-replace.ipynb")
    wait_steps(page, list(range(50)))
    page.evaluate(
        "() => { const el = document.querySelector('.kino-chart-plot');"
        " window.__kinoView = el.kinoView; window.__kinoCanvas = el.querySelector('canvas'); }"
    )
    page.evaluate(
        "() => { const nb = window.jupyterapp.shell.currentWidget.content;"
        " nb.activeCellIndex = 1; }"
    )
    panel_code = "c.replace([{'step': 100 + i, 'loss': 0.5, 'split': 'b'} for i in range(7)])"
    page.evaluate(
        "code => { const nb = window.jupyterapp.shell.currentWidget.content;"
        " nb.activeCell.model.sharedModel.setSource(code); }",
        panel_code,
    )
    lab_command(page, "notebook:run-cell")
    wait_steps(page, list(range(100, 107)))
    same = page.evaluate(
        "() => { const el = document.querySelector('.kino-chart-plot');"
        " return el.kinoView === window.__kinoView"
        " && el.querySelector('canvas') === window.__kinoCanvas; }"
    )
    assert same, "replace re-created the Vega view"
    page.evaluate(
        "code => { const nb = window.jupyterapp.shell.currentWidget.content;"
        " nb.activeCell.model.sharedModel.setSource(code); }",
        "c.clear()",
    )
    lab_command(page, "notebook:run-cell")
    wait_steps(page, [])


def test_chart_follows_the_theme(lab, page):
    write_notebook(
        lab,
        "chart-theme.ipynb",
        [
            SETUP,
            "import math\nc.push([{'step': i, 'loss': math.exp(-i / 40) + 0.05 * (i % 7) / 7,"
            " 'split': s} for i in range(1, 300) for s in ('train', 'val')"
            " if s == 'train' or i % 10 == 0])",
        ],
    )
    run_notebook(page, lab, "chart-theme.ipynb")
    page.wait_for_selector(".kino-chart-plot[data-kino-ready='1'] canvas")
    for theme in ("dark", "light"):
        page.evaluate(
            "() => { window.__kinoOld = document.querySelector('.kino-chart-plot').kinoView; }"
        )
        set_theme(page, theme)
        # the theme switch re-renders the chart with the theme's colours and the same rows
        page.wait_for_function(
            "() => { const v = document.querySelector('.kino-chart-plot').kinoView;"
            " return v !== window.__kinoOld && v.data('data').length > 250; }"
        )
        canvas = page.locator(".kino-chart-plot canvas")
        assert canvas.count() == 1
        assert canvas.first.bounding_box()["width"] > 400, "the chart fills the cell's width"
        screenshot(page, f"chart-{theme}", ".kino-chart")
    # the chart follows its cell's width (ResizeObserver), not only window resizes
    page.evaluate("() => { document.querySelector('.kino-chart').style.width = '420px'; }")
    page.wait_for_function(
        "() => { const c = document.querySelector('.kino-chart-plot canvas');"
        " return c && c.getBoundingClientRect().width <= 420; }"
    )


def test_spec_errors_are_shown_in_the_output(lab, page):
    write_notebook(
        lab,
        "chart-error.ipynb",
        [
            "import kino\n"
            "kino.chart({'mark': 'line', 'encoding': {'x': {'field': 'a', 'type': 'quantitative'}},"
            " 'transform': [{'regression': 'a', 'on': 'b', 'method': 'no-such-method'}]})",
        ],
    )
    run_notebook(page, lab, "chart-error.ipynb")
    error = page.locator(".kino-chart .kino-error").first
    error.wait_for()
    assert "kino.chart: the Vega-Lite spec cannot be shown" in error.inner_text()
    page.kino_guard.take()  # Vega also logs the error to the console: that is expected here


VOILA_CHART = """
import altair as alt, kino
c = kino.chart(alt.Chart().mark_line().encode(x="step:Q", y="loss:Q"))
for i in range(5000):
    c.push({"step": i, "loss": 1 / (i + 1)}, window=300)
c
"""


def test_voila_page_shows_rows_pushed_before_it_connected(voila, voila_page):
    # Voila renders widgets after the notebook ran: every push happened before the
    # page had a view, so the rows come from the chart's state (and its snapshot).
    write_notebook(voila, "voila-chart.ipynb", [VOILA_CHART])
    voila_page.goto(voila.url("voila/render/voila-chart.ipynb"))
    voila_page.locator(".kino-chart-plot").first.wait_for(timeout=budget_ms(120_000))
    wait_steps(voila_page, list(range(4_700, 5_000)))


@pytest.fixture
def save_widget_state(lab):
    """Turn on JupyterLab's "save widget state in notebooks" for one test."""
    settings = lab.log.parent / "settings" / "@jupyter-widgets" / "jupyterlab-manager"
    settings.mkdir(parents=True, exist_ok=True)
    file = settings / "plugin.jupyterlab-settings"
    file.write_text('{"saveState": true}')
    yield
    file.unlink()


def test_saved_notebook_keeps_the_final_rows_in_its_widget_state(lab, page, save_widget_state):
    path = write_notebook(
        lab,
        "chart-saved.ipynb",
        [
            SETUP,
            "for i in range(1_000):\n"
            "    c.push({'step': i, 'loss': 1 / (i + 1), 'split': 'train'}, window=300)\n"
            "c.flush()",
        ],
    )
    run_notebook(page, lab, "chart-saved.ipynb")
    wait_steps(page, list(range(700, 1_000)))
    lab_command(page, "docmanager:save")
    deadline = time.monotonic() + budget(60)
    saved = None
    while time.monotonic() < deadline and saved is None:
        for model in widget_state_of(path).get("state", {}).values():
            if "_data" in model.get("state", {}) and model["state"].get("spec"):
                saved = model
        page.wait_for_timeout(500)
    assert saved is not None, "the notebook was saved without the chart's widget state"
    buffers = saved.get("buffers", [])
    state = put_buffers(
        saved["state"],
        [b["path"] for b in buffers],
        [base64.b64decode(b["data"]) for b in buffers],
    )
    rows = decode_block(state["_data"]["datasets"]["data"], [])
    assert [r["step"] for r in rows] == list(range(700, 1_000))


def test_fixed_width_chart_makes_room_for_labels_and_legend(lab, page):
    """Rows arrive after the first layout: the layout is redone so labels are not clipped."""
    write_notebook(
        lab,
        "chart-fixed.ipynb",
        [
            "import altair as alt, kino, polars as pl\n"
            "df = pl.DataFrame({'x': [170.0, 230.0], 'y': [3000.0, 6000.0],"
            " 's': ['Adelie', 'Chinstrap']})\n"
            "kino.chart(alt.Chart(df).mark_circle().encode(x='x:Q', y='y:Q', color='s:N')"
            ".properties(width=420, height=200))"
        ],
    )
    run_notebook(page, lab, "chart-fixed.ipynb")
    # The layout is redone when the rows arrive: wait for the room it makes, then measure.
    page.wait_for_function(
        "() => { const e = document.querySelector('.kino-chart-plot'); const v = e?.kinoView;"
        " const c = e?.querySelector('canvas, svg');"
        " return v && c && v.origin()[0] >= 30 && c.getBoundingClientRect().width >= 510; }"
    )
    origin_x, canvas_width = page.evaluate(
        "() => { const e = document.querySelector('.kino-chart-plot');"
        " const c = e.querySelector('canvas, svg');"
        " return [e.kinoView.origin()[0], c.getBoundingClientRect().width]; }"
    )
    # "6,000" at 11 px needs ~30 px left of the axis; the legend's labels widen the canvas.
    assert origin_x >= 30, origin_x
    assert canvas_width >= 420 + 30 + 60, canvas_width


SELECTION = (
    "import altair as alt, ipywidgets, json, kino\n"
    "brush = alt.selection_interval(name='brush', encodings=['x'])\n"
    "c = kino.chart(alt.Chart(title='points').mark_point().encode(x='x:Q', y='y:Q')"
    ".add_params(brush).properties(width=400, height=200))\n"
    "c.push([{'x': float(i), 'y': float(i % 7)} for i in range(100)])\n"
    "shown = ipywidgets.Label('none')\n"
    "shown.add_class('selection-seen')\n"
    "def show(event):\n"
    "    shown.value = json.dumps([event.type, event.value], sort_keys=True)\n"
    "kino.listen(c, show)\n"
    "ipywidgets.VBox([c, shown])"
)


def test_brushing_the_chart_delivers_select_events_to_python(lab, page):
    write_notebook(lab, "chart-selection.ipynb", [SELECTION])
    run_notebook(page, lab, "chart-selection.ipynb")
    page.wait_for_function(
        "() => { const v = document.querySelector('.kino-chart-plot')?.kinoView;"
        " return v && v.data('data').length === 100; }",
    )
    left, top, width, height = page.evaluate(
        "() => { const e = document.querySelector('.kino-chart-plot'); const v = e.kinoView;"
        " const r = e.querySelector('canvas').getBoundingClientRect();"
        " return [r.left + v.origin()[0], r.top + v.origin()[1], v.width(), v.height()]; }"
    )
    page.mouse.move(left + 0.2 * width, top + 0.5 * height)
    page.mouse.down()
    for k in range(1, 11):
        page.mouse.move(left + (0.2 + 0.04 * k) * width, top + 0.5 * height)
    page.mouse.up()
    # Intermediate selections arrive while dragging; wait for the final one.
    page.wait_for_function(
        "() => { try { const [t, s] = JSON.parse("
        "document.querySelector('.selection-seen').textContent);"
        " return t === 'select' && s.brush && s.brush.x && s.brush.x[1] > 55; }"
        " catch { return false; } }",
        timeout=budget_ms(30_000),
    )
    screenshot(page, "chart-selection")
    kind, selection = json.loads(page.locator(".selection-seen").inner_text())
    low, high = selection["brush"]["x"]
    assert kind == "select" and 15 < low < 25 and 55 < high < 65, selection
    page.mouse.click(left + 0.9 * width, top + 0.5 * height)
    page.wait_for_function(
        "() => { try { const [t, s] = JSON.parse("
        "document.querySelector('.selection-seen').textContent);"
        " return t === 'select' && JSON.stringify(s) === '{\"brush\":{}}'; }"
        " catch { return false; } }",
        timeout=budget_ms(30_000),
    )
