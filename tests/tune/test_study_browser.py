"""The live study widget in JupyterLab: the study runs in the background while other cells
run, the charts, table and summary follow each trial, and Stop ends the study with the
importances drawn. Screenshots of the running and the stopped study."""

from __future__ import annotations

import pytest

from tests.browser.harness import lab_command, run_notebook, screenshot, write_notebook
from tests.conftest import budget, budget_ms

pytestmark = pytest.mark.browser

SETUP = """\
import math, threading
import kino

gate = threading.Semaphore(0)  # one trial per release, so the test sees the study mid-way


def objective(trial):
    assert gate.acquire(timeout=600)
    lr = trial.suggest_float("learning_rate", 1e-4, 1e-1, log=True)
    width = trial.suggest_categorical("width", [32, 64, 128])
    dropout = trial.suggest_float("dropout", 0.0, 0.5)
    return 0.98 - 0.02 * (math.log10(lr) + 2) ** 2 - 0.1 * dropout ** 2 - 8 / width ** 1.5


study = kino.tune(objective, n_trials=40, seed=0, direction="maximize", background=True)
study"""

DATASETS = ["trials", "lines", "importances"]  # the study widget's charts, in order
ROWS = """([i, name]) => {
    const host = document.querySelectorAll('.kino-vega-host')[i];
    return host && host.kinoView ? host.kinoView.data(name).length : -1;
}"""


def run_cell(page, index: int, source: str) -> None:
    page.evaluate(
        "([i, code]) => { const nb = window.jupyterapp.shell.currentWidget.content;"
        " nb.activeCellIndex = i; nb.activeCell.model.sharedModel.setSource(code); }",
        [index, source],
    )
    lab_command(page, "notebook:run-cell")


def wait_rows(page, chart: int, at_least: int) -> None:
    page.wait_for_function(
        f"([i, name, n]) => ({ROWS})([i, name]) >= n",
        arg=[chart, DATASETS[chart], at_least],
        timeout=budget_ms(120_000),
    )


def test_the_study_widget_follows_a_background_study_and_stops(lab, page):
    write_notebook(lab, "tune.ipynb", [SETUP, "for _ in range(12):\n    gate.release()", "pass"])
    page.set_viewport_size({"width": 1300, "height": 1400})
    run_notebook(page, lab, "tune.ipynb")  # cell 2 runs while the study waits: the notebook is free
    widget = page.locator(".kino-grid.kino-boxed").first
    widget.wait_for()
    wait_rows(page, 0, 12)  # objective per trial, with the best so far
    wait_rows(page, 1, 12 * 3)  # parallel coordinates: 3 parameters per complete trial
    summary = widget.locator(".kino-text").first
    page.wait_for_function(
        "(el) => el.textContent.includes('12 complete')",
        arg=summary.element_handle(),
        timeout=budget_ms(60_000),
    )
    assert "running" in summary.inner_text()
    rows = page.evaluate(
        "() => document.querySelectorAll('.kino-vega-host')[0].kinoView.data('trials')"
    )
    bests = [r["best"] for r in rows]
    assert bests == sorted(bests), "the best so far never goes down (maximize)"
    table = widget.locator(".kino-table")
    table.locator("tbody tr[data-row]").first.wait_for()
    assert table.locator("tbody tr[data-row]").count() >= 10
    widget.scroll_into_view_if_needed()
    screenshot(page, "tune-study-running", ".kino-grid.kino-boxed")

    widget.locator("button", has_text="Stop").click()
    page.wait_for_function(
        "(el) => el.textContent.includes('stopping after this trial')",
        arg=summary.element_handle(),
        timeout=budget_ms(60_000),
    )
    run_cell(page, 2, f"for _ in range(3):\n    gate.release()\nstudy.wait({budget(120)})")
    page.wait_for_function(
        "(el) => el.textContent.endsWith('stopped')",
        arg=summary.element_handle(),
        timeout=budget_ms(120_000),
    )
    assert widget.locator("button", has_text="Stop").is_disabled()
    assert summary.inner_text().startswith("13 trials · 13 complete")
    wait_rows(page, 2, 3)  # the importances, one bar per parameter, once the study ended
    screenshot(page, "tune-study-stopped", ".kino-grid.kino-boxed")


def test_notebook_10_shows_its_study_with_pruned_trials(lab, page):
    page.set_viewport_size({"width": 1300, "height": 1400})
    run_notebook(page, lab, "10-tuning.ipynb", timeout=600_000)
    widget = page.locator(".kino-grid.kino-boxed").first
    widget.wait_for()
    summary = widget.locator(".kino-text").first
    page.wait_for_function(
        "(el) => el.textContent.startsWith('16 trials') && el.textContent.endsWith('finished')",
        arg=summary.element_handle(),
        timeout=budget_ms(120_000),
    )
    rows = page.evaluate(
        "() => document.querySelectorAll('.kino-vega-host')[0].kinoView.data('trials')"
    )
    assert len(rows) == 16 and {"complete", "pruned"} <= {r["state"] for r in rows}
    wait_rows(page, 2, 3)  # learning rate, width and dropout importances
    widget.scroll_into_view_if_needed()
    screenshot(page, "tune-notebook-10", ".kino-grid.kino-boxed")
