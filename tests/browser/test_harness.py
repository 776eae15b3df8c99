"""The harness must not pass silently: it has to see broken widgets and escapes."""

import pytest

from tests.browser.harness import run_notebook, wait_until, write_notebook

BROKEN_WIDGET = '''
import anywidget, traitlets

class Broken(anywidget.AnyWidget):
    _esm = """
    export default { render({ el }) { throw new Error("kino-harness-self-test: render failed"); } };
    """

Broken()
'''


def test_harness_reports_a_broken_widget(lab, page, guard):
    write_notebook(lab, "harness-broken.ipynb", [BROKEN_WIDGET])
    run_notebook(page, lab, "harness-broken.ipynb")
    wait_until(
        page, lambda: any("kino-harness-self-test" in p for p in guard.problems),
        "the broken widget's error reaching the guard",
    )  # fmt: skip
    problems = guard.take()
    assert any("kino-harness-self-test" in p for p in problems), problems


def test_harness_blocks_requests_that_leave_the_machine(lab, page, guard):
    write_notebook(
        lab,
        "harness-escape.ipynb",
        ["from IPython.display import Javascript\n"
         "Javascript(\"fetch('http://198.51.100.7/beacon').catch(() => {})\")"],
    )  # fmt: skip
    run_notebook(page, lab, "harness-escape.ipynb")
    wait_until(page, lambda: guard.blocked, "the beacon request being blocked")
    problems = guard.take()
    assert any("request blocked: http://198.51.100.7/beacon" in p for p in problems), problems


def test_harness_fails_at_once_when_a_cell_raises(lab, page):
    write_notebook(lab, "harness-raises.ipynb", ["raise ValueError('kino-planted')", "1 + 1"])
    with pytest.raises(AssertionError, match="ValueError: kino-planted"):
        run_notebook(page, lab, "harness-raises.ipynb", timeout=60_000)
