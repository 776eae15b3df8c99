"""kino.markdown in a real JupyterLab: renders, updates, and never runs raw HTML."""

from tests.browser.harness import after_image_requests, run_notebook, screenshot, write_notebook
from tests.conftest import budget_ms

XSS = "<img src=x onerror='window.__kinoXss = true'>"


def test_markdown_renders_and_updates(lab, page):
    write_notebook(
        lab,
        "md.ipynb",
        [
            "import kino\nmd = kino.markdown('# Hello\\n\\n**bold** and `code`')\nmd",
            "md.update('## Updated')",
        ],
    )
    run_notebook(page, lab, "md.ipynb")
    view = page.locator(".kino-markdown").first
    view.locator("h2", has_text="Updated").wait_for()
    screenshot(page, "markdown", ".kino-markdown")


def test_raw_html_renders_as_text(lab, page):
    write_notebook(lab, "md-xss.ipynb", [f"import kino\nkino.markdown({XSS + ' after'!r})"])
    run_notebook(page, lab, "md-xss.ipynb")
    view = page.locator(".kino-markdown").first
    view.wait_for()
    assert "<img src=x onerror=" in view.inner_text()
    assert view.locator("img").count() == 0
    after_image_requests(page, "x")
    assert page.evaluate("() => window.__kinoXss === undefined")


REMOTE = (
    "![tracking pixel](http://kino-remote.invalid/pixel.png) "
    "[mail](mailto:a@b.c) [web](https://kino-remote.invalid/page)"
)


def _check_safe_view(page, view):
    view.locator(".kino-md-image-dropped", has_text="tracking pixel").wait_for()
    assert view.locator("img").count() == 0
    assert view.locator("a", has_text="mail").get_attribute("href") is None
    assert view.locator("a", has_text="web").get_attribute("href") == (
        "https://kino-remote.invalid/page"
    )
    after_image_requests(page)
    # The harness aborts and records any request that leaves the machine.
    assert page.kino_guard.blocked == []


def test_safe_mode_requests_no_remote_image(lab, page):
    write_notebook(lab, "md-safe.ipynb", [f"import kino\nkino.markdown({REMOTE!r}, safe=True)"])
    run_notebook(page, lab, "md-safe.ipynb")
    _check_safe_view(page, page.locator(".kino-markdown").first)


def test_safe_mode_is_on_by_default_in_voila(voila, voila_page):
    write_notebook(voila, "md-safe-voila.ipynb", [f"import kino\nkino.markdown({REMOTE!r})"])
    voila_page.goto(voila.url("voila/render/md-safe-voila.ipynb"))
    view = voila_page.locator(".kino-markdown").first
    view.wait_for(timeout=budget_ms(120_000))
    _check_safe_view(voila_page, view)
