"""kino.dashboard in JupyterLab during a real background training run.

It shows "compiling" before the first step, then the live curves (light and dark
themes, log scale), and after Stop its status never goes back to running and the
last step it shows is the run's real last step. Screenshots of each state.
In the Voila dashboard, a Train click disables the button at once and shows the
dashboard before its first step; the button comes back when the run ends.
"""

import re

from tests.browser.harness import (
    SCREENSHOTS,
    lab_command,
    run_notebook,
    set_theme,
    settle,
    write_notebook,
)
from tests.conftest import budget, budget_ms

SETUP = """\
import kino
from flax import nnx
from kino import train

(x, y), (x_val, y_val) = kino.datasets.digits()
x, x_val = x.reshape(len(x), -1), x_val.reshape(len(x_val), -1)
rngs = nnx.Rngs(0)
model = nnx.Sequential(nnx.Linear(64, 64, rngs=rngs), nnx.relu, nnx.Linear(64, 10, rngs=rngs))
loop = (train.trainer(model, "sparse_categorical_cross_entropy", "sgd", learning_rate=0.05)
        .metric("accuracy").validate((x_val, y_val)))
dash = kino.dashboard(loop, title="Digits MLP")

import threading
gate = threading.Event()


def hold(state):
    # keeps the run in its compiling phase until the test has looked at it
    gate.wait(600)


loop.handle("started", hold)
dash"""

RECORD_STATUSES = """() => {
    const el = document.querySelector('.kino-dash-status');
    window.kinoStatuses = [el.className];
    new MutationObserver(() => window.kinoStatuses.push(el.className))
        .observe(el, {attributes: true, attributeFilter: ['class']});
}"""

SHOWN_STEP = """() => {
    for (const s of document.querySelectorAll('.kino-dash-stat')) {
        if (s.querySelector('.kino-dash-k').textContent === 'step')
            return s.querySelector('.kino-dash-v').textContent;
    }
    return null;
}"""

PANEL_ROWS = """([metric, split]) => {
    const host = document.querySelector(
        `.kino-dash-panel[data-metric='${metric}'] .kino-vega-host`);
    const view = host && host.kinoView;
    if (!view) return -1;
    return view.data(metric).filter(d => !split || d.split === split).length;
}"""


def panel_rows(page, metric, split=None):
    return page.evaluate(PANEL_ROWS, [metric, split])


def wait_rows(page, metric, split, at_least):
    page.wait_for_function(
        f"([m, s, n]) => ({PANEL_ROWS})([m, s]) >= n", arg=[metric, split, at_least]
    )


def screenshot(page, name):
    """A picture of the dashboard while it updates (an element screenshot waits for stillness)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    dash = page.locator(".kino-dash").first
    dash.scroll_into_view_if_needed()
    settle(page)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), clip=dash.bounding_box())


def run_cell(page, index, source):
    page.evaluate(
        "([i, code]) => { const nb = window.jupyterapp.shell.currentWidget.content;"
        " nb.activeCellIndex = i; nb.activeCell.model.sharedModel.setSource(code); }",
        [index, source],
    )
    lab_command(page, "notebook:run-cell")


def test_dashboard_during_a_background_run_and_stop(lab, page):
    write_notebook(
        lab,
        "dashboard.ipynb",
        [
            SETUP,
            "run = loop.run((x, y), epochs=100_000, batch_size=32, background=True)",
            "pass",
        ],
    )
    run_notebook(page, lab, "dashboard.ipynb")
    # before the first step: a compiling state, not "step 0, steps/s –, ETA –"
    page.wait_for_selector(".kino-dash-status.is-compiling")
    page.evaluate(RECORD_STATUSES)
    assert "compiling the training step" in page.locator(".kino-dash-stats").inner_text()
    assert "ETA" not in page.locator(".kino-dash-stats").inner_text()
    assert page.locator(".kino-dash-stop").is_enabled(), "a compiling run can be stopped"
    screenshot(page, "dashboard-compiling")
    run_cell(page, 2, "gate.set()")
    page.wait_for_selector(".kino-dash-status.is-running")
    # live curves for train and validation, and the confusion matrix of an epoch
    wait_rows(page, "loss", "train", 200)
    wait_rows(page, "loss", "validation", 4)
    wait_rows(page, "accuracy", "validation", 4)
    page.wait_for_function(
        "() => { const h = document.querySelector('.kino-dash-confusion .kino-vega-host');"
        " return h && h.kinoView && h.kinoView.data('confusion_matrix').length === 100; }"
    )
    stats = page.locator(".kino-dash-stats").inner_text()
    for label in ("epoch", "step", "steps/s", "ETA", "lr", "compile"):
        assert label in stats
    assert "0.05" in stats, "the current learning rate is shown"
    width = page.evaluate("() => parseFloat(document.querySelector('.kino-dash-fill').style.width)")
    assert 0 <= width <= 100
    screenshot(page, "dashboard-light")

    set_theme(page, "dark")
    wait_rows(page, "loss", "train", 200)
    screenshot(page, "dashboard-dark")

    # the log-scale toggle re-draws the loss chart with a log y scale
    page.locator(".kino-dash-log-input").check()
    page.wait_for_function(
        "() => { const v = document.querySelector(\".kino-dash-panel[data-metric='loss']"
        " .kino-vega-host\").kinoView; return v && v.scale('y').type === 'log'; }"
    )
    set_theme(page, "light")

    # a plain DOM click: the dashboard redraws 4 times a second, so playwright's
    # wait for a still element is not what this test is about
    page.wait_for_selector(".kino-dash-status.is-running")
    clicked = page.evaluate(
        f"() => {{ const step = ({SHOWN_STEP})();"
        " document.querySelector('.kino-dash-stop').click(); return [Date.now(), step]; }"
    )
    page.wait_for_selector(".kino-dash-stop:disabled")
    page.wait_for_selector(".kino-dash-status.is-stopped", timeout=budget_ms(120_000))
    took = page.evaluate("() => Date.now()") - clicked[0]
    assert page.locator(".kino-dash-stop").is_disabled()
    statuses = [c.split("is-")[-1] for c in page.evaluate("() => window.kinoStatuses")]
    assert "stopping" in statuses, statuses
    after_stop = statuses[statuses.index("stopping") :]
    assert "running" not in after_stop, f"the status went back to running: {statuses}"
    assert statuses[-1] == "stopped"
    run_cell(
        page,
        2,
        f"result = run.wait({budget(60)})\nprint('status:', result.status, 'step:', result.step)",
    )
    out = page.locator(".jp-OutputArea-output", has_text="status: stopped")
    out.wait_for()
    real_step = int(re.search(r"step: (\d+)", out.inner_text()).group(1))
    shown = page.evaluate(SHOWN_STEP)
    assert int(shown.split("/")[0].replace(",", "")) == real_step, (shown, real_step)
    print(f"Stop: clicked at step {clicked[1]}, stopped at step {real_step}, {took} ms later")
    assert panel_rows(page, "loss", "train") >= 200
    screenshot(page, "dashboard-stopped")


RECORD_FEEDBACK = """() => {
    window.kinoFeedback = [];
    const log = () => {
        const button = document.querySelector('.kino-form button.kino-submit');
        const status = document.querySelector('.kino-dash-status');
        const entry = [!!(button && button.disabled),
                       status ? status.className.split('is-').pop() : null];
        const last = window.kinoFeedback[window.kinoFeedback.length - 1];
        if (!last || last[0] !== entry[0] || last[1] !== entry[1]) window.kinoFeedback.push(entry);
    };
    new MutationObserver(log).observe(document.body, {subtree: true, childList: true,
        attributes: true, attributeFilter: ['class', 'disabled']});
    log();
}"""


def test_train_click_in_voila_disables_the_button_and_shows_the_dashboard_before_a_step(
    voila, voila_page
):
    voila_page.set_viewport_size({"width": 1300, "height": 1100})
    voila_page.goto(voila.url("voila/render/train-and-predict.ipynb"))
    form = voila_page.locator(".kino-form").first
    form.wait_for(timeout=budget_ms(180_000))
    voila_page.evaluate(RECORD_FEEDBACK)
    form.locator("button.kino-submit").click()
    voila_page.wait_for_selector(".kino-dash-status.is-completed", timeout=budget_ms(300_000))
    voila_page.wait_for_selector(".kino-form button.kino-submit:not(:disabled)")
    seen = voila_page.evaluate("() => window.kinoFeedback")
    with_dashboard = [entry for entry in seen if entry[1] is not None]
    # the button is disabled before (or as) the dashboard appears, which appears before any step
    disabled_at = next(i for i, (disabled, _) in enumerate(seen) if disabled)
    assert disabled_at <= seen.index(with_dashboard[0]), seen
    assert with_dashboard[0][1] in ("waiting", "compiling"), seen
    before_steps = [e for e in with_dashboard if e[1] in ("waiting", "compiling")]
    assert before_steps and all(disabled for disabled, _ in before_steps), seen
    assert with_dashboard[-1] == [False, "completed"], seen
    stats = voila_page.locator(".kino-dash-stats").inner_text()
    assert "compile" in stats, "the compile time is reported apart"
    screenshot(voila_page, "voila-dashboard-feedback")
