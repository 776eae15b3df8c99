"""kino.markdown in a real JupyterLab: renders, updates, and never runs raw HTML."""

from tests.browser.harness import run_notebook, screenshot, write_notebook

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
    page.wait_for_timeout(300)
    assert page.evaluate("() => window.__kinoXss === undefined")
