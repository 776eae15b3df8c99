"""Every curated notebook runs in JupyterLab and its key widgets render (nbval runs no widget JS).

Each test opens a notebook from the lab's copy of notebooks/, runs all cells (a cell
error fails the test with its traceback), checks that the widgets the notebook is
about rendered (their root CSS class, with real content inside) and that no widget
shows an error box, and takes a screenshot of the first key widget. The page fixture
fails the test on any console error or any request leaving 127.0.0.1.
"""

from __future__ import annotations

import pytest

from tests.browser.harness import end_sessions, open_notebook, run_all, screenshot
from tests.conftest import budget_ms

pytestmark = pytest.mark.browser

# notebook -> {root CSS class: what must be inside it once rendered}
KEY_WIDGETS: dict[str, dict[str, str]] = {
    "01-tensors": {".kino-inspect": "*"},
    "02-compiled-functions": {".kino-inspect": "*"},
    "03-dataframes": {
        ".kino-table": "[role=grid]",
        ".kino-chart": "svg, canvas",
    },
    "04-first-neural-network": {
        ".kino-dash": "svg, canvas",
        ".kino-form": "button.kino-submit",
        ".kino-chart": "svg, canvas",
        ".kino-inspect": "*",
    },
    "05-convolutional-network": {".kino-chart": "svg, canvas", ".kino-inspect": "*"},
    "06-classic-ml": {".kino-chart": "svg, canvas"},
    "07-training-techniques": {".kino-dash": "svg, canvas", ".kino-chart": "svg, canvas"},
    "11-smart-cells": {
        ".kino-smartcell": ".kino-sc-form",
        ".kino-table": "[role=grid]",
        ".kino-chart": "svg, canvas",
        ".kino-dash": "svg, canvas",
    },
    "dashboards/train-and-predict": {".kino-form": "button.kino-submit", ".kino-chart": "*"},
}


KERNEL_READY = """async () => {
    const context = window.jupyterapp.shell.currentWidget.sessionContext;
    await context.ready;
    await context.session.kernel.info;
    return true;
}"""

CELL_ERRORS = """() => {
    const out = [];
    for (const cell of window.jupyterapp.shell.currentWidget.content.widgets) {
        if (cell.model.type !== 'code') continue;
        for (const o of cell.model.outputs.toJSON()) {
            if (o.output_type === 'error') out.push(o.ename + ': ' + o.evalue);
        }
    }
    return out;
}"""


def run_curated(page, lab, name: str) -> None:
    """Open a notebook, wait until its kernel has answered kernel_info, run all cells.

    A cell that raised fails the test with its error. (Waiting for the kernel's info
    reply, not only its 'idle' status, keeps Run All from firing before the kernel
    accepts work on a freshly started server.)
    """
    end_sessions(lab, name)  # a fresh kernel, whatever ran this notebook before
    open_notebook(page, lab, name, timeout=300_000)
    page.evaluate(KERNEL_READY)
    # the lab has written the kernel's language_info by now (its handler of the same
    # kernel.info promise ran first); a notebook that stores it is not marked modified
    assert not page.evaluate("() => window.jupyterapp.shell.currentWidget.context.model.dirty")
    run_all(page, timeout=400_000)
    failed = page.evaluate(CELL_ERRORS)
    assert not failed, f"cells of {name} raised: {failed}"


@pytest.mark.parametrize("name", list(KEY_WIDGETS))
def test_notebook_runs_and_its_widgets_render(lab, page, name):
    page.set_viewport_size({"width": 1400, "height": 1000})
    run_curated(page, lab, f"{name}.ipynb")
    for selector, inner in KEY_WIDGETS[name].items():
        widget = page.locator(selector).first
        widget.wait_for(state="attached", timeout=budget_ms(60_000))
        widget.scroll_into_view_if_needed()
        widget.wait_for(state="visible", timeout=budget_ms(60_000))
        content = page.locator(f"{selector} :is({inner})").first
        content.wait_for(state="attached", timeout=budget_ms(60_000))
        box = widget.bounding_box()
        assert box is not None and box["width"] > 50 and box["height"] > 30, (selector, box)
    errors = [t for t in page.locator(".kino-error").all_inner_texts() if t.strip()]
    assert not errors, f"widgets of {name} show errors: {errors}"
    first = next(iter(KEY_WIDGETS[name]))
    page.locator(first).first.scroll_into_view_if_needed()
    screenshot(page, f"notebook-{name.replace('/', '-')}", first)
