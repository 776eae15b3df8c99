"""kino.models' text tasks in real JupyterLab: a classifier and a semantic search, typed into."""

from __future__ import annotations

from tests.browser.harness import run_notebook, screenshot, write_notebook
from tests.conftest import budget_ms

SETUP = """
import tempfile
import kino
from kino.models import load, text_classification, text_embedding, view
from kino.models.checkpoint import bundled_minilm
from kino.models.testing import write_tiny

classifier = load(write_tiny("distilbert", tempfile.mkdtemp(), labels=["NEGATIVE", "POSITIVE"]))
sentiment = text_classification(classifier, sequence_lengths=16)
minilm = load(bundled_minilm())
search = text_embedding(minilm, batch_size=4, sequence_lengths=32)
"""

SHOW_CLASSIFIER = 'view(sentiment, text="i love this movie <b>!</b>")'

SHOW_SEARCH = """
corpus = [
    "A man is playing a guitar.",
    "The new movie is awesome.",
    "The stock market fell sharply today.",
    "A cat sleeps on the sofa.",
    "Paris is the capital of France.",
]
view(search, corpus=corpus, top_k=3)
"""


def test_a_classifier_and_a_search_answer_what_is_typed(lab, page):
    write_notebook(lab, "models-text.ipynb", [SETUP, SHOW_CLASSIFIER, SHOW_SEARCH])
    run_notebook(page, lab, "models-text.ipynb", timeout=600_000)
    views = page.locator(".kino-models-text")
    views.nth(1).wait_for()
    classifier, search = views.nth(0), views.nth(1)
    rows = classifier.locator(".kino-models-row")
    assert rows.count() == 2
    assert sorted(rows.nth(i).locator(".widget-label").first.inner_text() for i in range(2)) == [
        "NEGATIVE",
        "POSITIVE",
    ]
    assert classifier.locator("input").input_value() == "i love this movie <b>!</b>"
    assert classifier.locator("b").count() == 0  # typed text stays text

    box = search.locator("input")
    box.fill("Someone plays the guitar on stage")
    box.press("Tab")
    footer = search.locator(".kino-form-footer")
    ring = footer.evaluate("f => [getComputedStyle(f).overflowX, getComputedStyle(f).overflowY]")
    assert ring == ["visible", "visible"]  # the tabbed-to button's focus ring is not clipped
    search.locator(".kino-submit").click()
    first = search.locator(".kino-models-row").first
    first.filter(has_text="A man is playing a guitar.").wait_for(timeout=budget_ms(120_000))
    assert search.locator(".kino-models-row").count() == 3
    assert search.locator(".kino-models-heading").inner_text() == "Nearest of 5 texts"
    screenshot(page, "models-classifier", ".kino-models-text >> nth=0")
    search.scroll_into_view_if_needed()
    screenshot(page, "models-search", ".kino-models-text >> nth=1")
