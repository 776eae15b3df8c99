"""Saved notebooks in JupyterLab: small files, widget state that survives a reopen, a
kernel restart and a save, and reopened controls that say quietly why they do nothing.

kino's lab extension saves each kino widget's ``_esm`` as a few lines that import the
module from the extension's static folder (``labextension/src/plugin/saved-state.ts``)
and keeps the saved state of widgets the outputs still show.
"""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

import nbformat
import pytest
from nbformat.sign import NotebookNotary

from tests.browser.harness import (
    forgive_debugger_cancellation,
    guard_page,
    lab_command,
    open_notebook,
    run_notebook,
    screenshot,
    shut_down_kernel,
    widget_state_of,
    write_notebook,
)
from tests.conftest import budget, budget_ms

VIEW_MIME = "application/vnd.jupyter.widget-view+json"
LOADER_MARK = "// kino loader:"
WIDGETS_URL = "/lab/extensions/jupyter-kino/static/widgets/"

CHART = """
import altair as alt
import kino
c = kino.chart(alt.Chart(title='loss {k}').mark_line().encode(x='step:Q', y='loss:Q'))
for i in range(200):
    c.push({{'step': i, 'loss': 1 / (i + 1 + {k})}})
c.flush()
c
"""
TABLE = """
import polars as pl
import kino
kino.table(pl.DataFrame({'x': list(range(500)), 'name': [f'row {i}' for i in range(500)]}))
"""
FIVE_CHARTS_AND_A_TABLE = [CHART.format(k=k) for k in range(5)] + [TABLE]


def displayed_ids(path: Path) -> set[str]:
    nb = json.loads(path.read_text())
    return {
        output["data"][VIEW_MIME]["model_id"]
        for cell in nb["cells"]
        for output in cell.get("outputs", [])
        if VIEW_MIME in output.get("data", {})
    }


def save_and_wait(page, path: Path, condition, timeout: float = 120) -> dict:
    """Save the open notebook and wait until the file on disk satisfies ``condition``."""
    before = path.stat().st_mtime_ns
    lab_command(page, "docmanager:save")
    deadline = time.monotonic() + budget(timeout)
    while time.monotonic() < deadline:
        if path.stat().st_mtime_ns != before:
            state = widget_state_of(path).get("state", {})
            if condition(state):
                return state
        page.wait_for_timeout(300)
    raise AssertionError(f"{path.name} was not saved as expected: {widget_state_of(path)}")


@pytest.fixture(autouse=True)
def _forgive_late_debugger_cancellation(page):
    # Torn down before `page` checks its problems: the message can arrive after the
    # shutdown or restart that caused it has returned.
    yield
    forgive_debugger_cancellation(page)


def reopen(page, lab, name: str) -> None:
    """Open ``name`` in a fresh workspace once its earlier kernel is gone."""
    open_notebook(page, lab, name)


def rendered_charts(page, count: int) -> None:
    page.wait_for_function(
        "n => document.querySelectorAll('.jp-Notebook .kino-chart-plot svg,"
        " .jp-Notebook .kino-chart-plot canvas').length >= n",
        arg=count,
        timeout=budget_ms(120_000),
    )


def no_widget_errors(page) -> None:
    text = page.locator(".jp-Notebook").inner_text()
    assert "Error displaying widget" not in text, text[:2000]
    assert "model not found" not in text


def test_a_notebook_with_five_charts_and_a_table_saves_small_and_reopens(lab, page, browser):
    name = f"five-charts-{uuid.uuid4().hex[:6]}.ipynb"
    path = write_notebook(lab, name, FIVE_CHARTS_AND_A_TABLE)
    run_notebook(page, lab, name)
    rendered_charts(page, 5)
    page.locator(".jp-Notebook .kino-table tbody tr").first.wait_for()

    def complete(state):
        return displayed_ids(path) <= set(state) and len(displayed_ids(path)) == 6

    state = save_and_wait(page, path, complete)
    size = path.stat().st_size
    kino_models = [m for m in state.values() if m["state"].get("_kino_bundle")]
    assert len(kino_models) >= 6
    for model in kino_models:
        esm = model["state"].get("_esm", "")
        assert esm.startswith(LOADER_MARK), esm[:200]
        assert len(esm) < 4_096
        assert model["state"].get("_css", "") == ""
    # 5 x 200 chart rows and a 20-row table page are the data; no module is saved.
    assert size <= 150_000, f"{name} saved at {size} bytes"

    # A fresh page and a fresh kernel: the saved state alone renders (the loader
    # imports the modules from the lab extension), with no console error.
    shut_down_kernel(page)
    other = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    try:
        guard = guard_page(other, lab.base)
        modules = []
        other.on("request", lambda r: modules.append(r.url) if WIDGETS_URL in r.url else None)
        reopen(other, lab, name)
        rendered_charts(other, 5)
        other.locator(".jp-Notebook .kino-table tbody tr").first.wait_for()
        no_widget_errors(other)
        screenshot(other, "saved-notebook-reopened")
        assert guard.take() == []
        assert any(url.endswith("/chart.js") for url in modules), modules
        assert any(url.endswith("/table.js") for url in modules), modules
    finally:
        other.context.close()

    # Where the extension cannot serve a module, the output says so plainly.
    third = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    try:
        guard = guard_page(third, lab.base)
        missing = path.with_name("missing-" + name)
        text = path.read_text().replace('name = \\"chart\\"', 'name = \\"not-installed\\"')
        missing.write_text(text)
        # Edited outside JupyterLab, the file is untrusted and its widgets would show as
        # text: sign it, as JupyterLab signs what it saves.
        NotebookNotary().sign(nbformat.reads(text, as_version=4))
        reopen(third, lab, missing.name)
        note = third.locator(".jp-Notebook .kino-missing-module")
        note.nth(4).wait_for(timeout=budget_ms(120_000))
        assert note.count() == 5
        assert "kino's JupyterLab extension (jupyter-kino)" in note.first.inner_text()
        third.locator(".jp-Notebook .kino-table tbody tr").first.wait_for()
        screenshot(third, "saved-notebook-missing-module", ".jp-Notebook .jp-Cell-outputArea")
        problems = [p for p in guard.take() if "not-installed" not in p and "404" not in p]
        assert problems == []
    finally:
        third.context.close()


def test_reopen_restart_and_save_keep_the_saved_widget_state(lab, page):
    name = f"keep-state-{uuid.uuid4().hex[:6]}.ipynb"
    path = write_notebook(lab, name, [CHART.format(k=k) for k in range(2)])
    run_notebook(page, lab, name)
    rendered_charts(page, 2)

    def both_saved(state):
        return len(displayed_ids(path)) == 2 and displayed_ids(path) <= set(state)

    first = save_and_wait(page, path, both_saved)
    shown = displayed_ids(path)

    # Reopen (a new kernel starts, the widgets come from the file) and save.
    shut_down_kernel(page)
    reopen(page, lab, name)
    rendered_charts(page, 2)
    page.evaluate("() => window.jupyterapp.shell.currentWidget.context.model.dirty = true")
    again = save_and_wait(page, path, lambda s: shown <= set(s))
    for model_id in shown:
        assert again[model_id]["state"].get("_data") == first[model_id]["state"].get("_data")

    # Run the cells again (new widgets), restart the kernel without saving, then save:
    # the new widgets' state, held by the page when the kernel went, is saved.
    lab_command(page, "notebook:run-all-cells")
    page.wait_for_function(
        "old => { const p = window.jupyterapp.shell.currentWidget;"
        " const ids = p.content.widgets.flatMap(c => c.model.type === 'code'"
        "   ? c.model.outputs.toJSON() : [])"
        "   .map(o => o.data && o.data['application/vnd.jupyter.widget-view+json'])"
        "   .filter(Boolean).map(v => v.model_id);"
        " return ids.length === 2 && ids.every(id => !old.includes(id))"
        "   && p.sessionContext.session.kernel.status === 'idle'; }",
        arg=sorted(shown),
        timeout=budget_ms(180_000),
    )
    rendered_charts(page, 2)
    page.evaluate(
        "() => window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.restart()"
    )
    page.wait_for_function(
        "() => window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.status"
        " === 'idle'",
        timeout=budget_ms(120_000),
    )
    forgive_debugger_cancellation(page)
    page.evaluate("() => window.jupyterapp.shell.currentWidget.context.model.dirty = true")
    rerun = save_and_wait(page, path, lambda s: displayed_ids(path) <= set(s))
    assert not (displayed_ids(path) & shown)
    for model_id in displayed_ids(path):
        assert rerun[model_id]["state"].get("_data")

    # The next open shows the charts, not "model not found".
    shut_down_kernel(page)
    reopen(page, lab, name)
    rendered_charts(page, 2)
    no_widget_errors(page)


CONTROLS = """
import numpy as np
import kino
form = kino.form(epochs=kino.input.number("Epochs", default=3), submit="Train")
board = kino.grid([kino.image(np.kron(np.eye(8) * (i + 1) / 9, np.ones((4, 4)))) for i in range(4)],
                  columns=4)
kino.grid([form, board])
"""


def test_reopened_controls_hide_the_disconnected_icon_and_say_why_once(lab, page):
    name = f"controls-{uuid.uuid4().hex[:6]}.ipynb"
    path = write_notebook(lab, name, [CONTROLS])
    run_notebook(page, lab, name)
    page.locator(".jp-Notebook .kino img").nth(3).wait_for()
    save_and_wait(page, path, lambda s: displayed_ids(path) <= set(s) and len(s) > 0)

    shut_down_kernel(page)
    reopen(page, lab, name)
    images = page.locator(".jp-Notebook .kino img")
    images.nth(3).wait_for()
    page.wait_for_selector(".jp-Notebook .jupyter-widgets-disconnected")
    icons = page.evaluate(
        """() => [...document.querySelectorAll('.jp-Notebook .jupyter-widgets-disconnected')]
            .map(el => getComputedStyle(el, '::before').content)
            .filter(content => content !== 'none' && content !== 'normal')"""
    )
    assert icons == [], f"{len(icons)} disconnected icons still show"
    # The four images of the grid stay on one row (the icon no longer takes a cell).
    tops = {round(images.nth(i).bounding_box()["y"]) for i in range(4)}
    assert len(tops) == 1, tops
    notes = page.evaluate(
        """() => [...document.querySelectorAll('.jp-Notebook .jp-OutputArea-output')]
            .map(el => getComputedStyle(el, '::after').content)
            .filter(content => content.includes('run the cell again'))"""
    )
    assert len(notes) == 1, notes
    screenshot(page, "reopened-controls", ".jp-Notebook .jp-Cell-outputArea")
    # Running the cell again brings live controls back, with no note.
    lab_command(page, "notebook:run-all-cells")
    page.wait_for_function(
        "() => !document.querySelector('.jp-Notebook .kino.jupyter-widgets-disconnected')",
        timeout=budget_ms(120_000),
    )


EXTENSION_URL = "/lab/extensions/jupyter-kino/"
WITHOUT_KINO_CONFIG = """
new MutationObserver((_, observer) => {
  const data = document.getElementById("jupyter-config-data");
  if (!data) return;
  observer.disconnect();
  const config = JSON.parse(data.textContent);
  config.federated_extensions = (config.federated_extensions || [])
    .filter(extension => extension.name !== "jupyter-kino");
  data.textContent = JSON.stringify(config);
}).observe(document, { childList: true, subtree: true });
"""


def test_without_the_extension_saved_widgets_say_so_with_no_error_or_red_icon(lab, page, browser):
    """A saved notebook opened where jupyter-kino's lab extension is not installed
    (every file under its URL answers 404): each kino widget shows the install note,
    the disconnected icon stays hidden and nothing else fails."""
    name = f"no-extension-{uuid.uuid4().hex[:6]}.ipynb"
    path = write_notebook(lab, name, [CHART.format(k=0), CONTROLS, TABLE])
    run_notebook(page, lab, name)
    rendered_charts(page, 1)
    page.locator(".jp-Notebook .kino-table tbody tr").first.wait_for()
    page.locator(".jp-Notebook .kino img").nth(3).wait_for()
    save_and_wait(page, path, lambda s: displayed_ids(path) <= set(s) and len(s) > 0)
    shut_down_kernel(page)

    other = browser.new_context(viewport={"width": 1280, "height": 1000}).new_page()
    try:
        guard = guard_page(other, lab.base)
        refused: list[str] = []

        def not_installed(route):
            refused.append(route.request.url)
            route.fulfill(status=404, body="not found")

        # The page as a server without jupyter-kino writes it: no such federated extension
        # in its config. (Fulfilling the page from a route would make Chromium treat it as
        # a public page and refuse its websockets to 127.0.0.1.)
        other.add_init_script(WITHOUT_KINO_CONFIG)
        other.route(f"**{EXTENSION_URL}**", not_installed)
        reopen(other, lab, name)
        notes = other.locator(".jp-Notebook .kino-missing-module")
        notes.first.wait_for(timeout=budget_ms(120_000))
        # A note for each kino module the outputs need (the chart, the table, the kit's
        # styles of the form and the grid), and nothing drawn half-way.
        other.wait_for_function(
            "n => document.querySelectorAll('.jp-Notebook .kino-missing-module').length >= n",
            arg=3,
        )
        assert "pip install jupyter-kino" in notes.first.inner_text()
        assert any(url.endswith("/chart.js") for url in refused), refused
        assert not any("remoteEntry" in url for url in refused), "the plugin was still loaded"
        assert other.locator(".jp-Notebook .kino-chart-plot, .jp-Notebook .kino-table").count() == 0
        no_widget_errors(other)
        icons = other.evaluate(
            """() => [...document.querySelectorAll('.jp-Notebook .jupyter-widgets-disconnected')]
                .map(el => getComputedStyle(el, '::before').content)
                .filter(content => content !== 'none' && content !== 'normal')"""
        )
        assert icons == [], f"{len(icons)} disconnected icons show"
        screenshot(other, "saved-notebook-without-extension")
        # The refused modules and stylesheets are the only failures the page reports.
        problems = [p for p in guard.take() if "404" not in p]
        assert problems == [], problems
    finally:
        other.context.close()
