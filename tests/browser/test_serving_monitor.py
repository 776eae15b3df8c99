"""A kino.serving server displayed in JupyterLab: its live monitor (requests/s, latency
percentiles, batch sizes, a summary with queue depth and errors) updates while callers
send requests from a background thread. Screenshot in artifacts/screenshots/."""

from tests.browser.harness import run_notebook, screenshot, write_notebook
from tests.conftest import budget_ms

SETUP = """\
import threading
import numpy as np
from kino.serving import Serving

serving = Serving(lambda x: x * 2, batch_size=8, batch_timeout=0.002,
                  example=np.zeros(4, np.float32))
server = serving.start(max_queue=64)
server"""

LOAD = """\
done = threading.Event()


def callers():
    while not done.is_set():
        server.predict_many([np.full(4, i, np.float32) for i in range(24)])
        try:
            server.predict([1.0])  # a wrong shape: counted as an invalid request
        except ValueError:
            pass


workers = [threading.Thread(target=callers, daemon=True) for _ in range(4)]
for w in workers:
    w.start()"""

PLOT_ROWS = """([index, dataset]) => {
    const el = document.querySelectorAll('.kino-chart-plot')[index];
    const view = el && el.kinoView;
    return view ? view.data(dataset).length : -1;
}"""


def test_the_monitor_updates_live_in_jupyterlab(lab, page):
    write_notebook(lab, "serving-monitor.ipynb", [SETUP, LOAD])
    run_notebook(page, lab, "serving-monitor.ipynb")
    # the summary line counts answers as they come, from the monitor's timer thread
    page.wait_for_function(
        "() => { const t = document.querySelector('.kino-text');"
        " const m = t && t.textContent.match(/answered (\\d+)/);"
        " return m && Number(m[1]) > 500 && t.textContent.includes('invalid'); }",
        timeout=budget_ms(120_000),
    )
    summary = page.locator(".kino-text").first.inner_text()
    for label in ("req/s", "queue", "/64", "p50", "p95", "p99", "errors: invalid"):
        assert label in summary, (label, summary)
    # three charts: requests/s and latency grow point by point, batch sizes are bars
    page.wait_for_function(f"() => ({PLOT_ROWS})([0, 'data']) >= 4", timeout=budget_ms(60_000))
    page.wait_for_function(f"() => ({PLOT_ROWS})([1, 'data']) >= 12", timeout=budget_ms(60_000))
    page.wait_for_function(f"() => ({PLOT_ROWS})([2, 'data']) >= 1", timeout=budget_ms(60_000))
    sizes = page.evaluate(
        "() => document.querySelectorAll('.kino-chart-plot')[2].kinoView.data('data')"
        ".map(d => d.size)"
    )
    assert max(sizes) > 1, sizes  # concurrent callers were batched
    percentiles = page.evaluate(
        "() => [...new Set(document.querySelectorAll('.kino-chart-plot')[1].kinoView"
        ".data('data').map(d => d.percentile))].sort()"
    )
    assert percentiles == ["p50", "p95", "p99"]
    screenshot(page, "serving-monitor", ".kino-grid")
