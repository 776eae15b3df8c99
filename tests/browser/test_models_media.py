"""kino.models' media tasks in real JupyterLab: a picture uploaded and classified, and a
generated text that streams into the page as its tokens are made."""

from __future__ import annotations

import numpy as np
from PIL import Image

from tests.browser.harness import run_notebook, screenshot, write_notebook
from tests.conftest import budget_ms

SETUP = """
from kino.models import gpt2, image_classification, resnet, text_generation

labels = ("tabby cat", "golden retriever", "<b>bird</b>", "goldfish")
classify = image_classification(resnet.example(labels), top_k=3, batch_size=1)
writer = text_generation(gpt2.example(), max_new_tokens=100, temperature=0.9, seed=3,
                         batch_size=1, prompt_lengths=16)
"""

# The output's text each time the page changes it, kept in the page for the test to read.
WATCH_OUTPUT = """
() => {
  const output = document.querySelector(".kino-models-generate .kino-models-output");
  window.kinoSeen = [];
  new MutationObserver(() => window.kinoSeen.push(output.innerText)).observe(
    output, {childList: true, subtree: true, characterData: true});
}
"""


def picture(path):
    """A smooth 320x240 picture: what a photo upload looks like to the featurizer."""
    y, x = np.mgrid[0:240, 0:320]
    rgb = np.stack([x * 255 / 320, y * 255 / 240, 128 + 0 * x], axis=-1).astype(np.uint8)
    Image.fromarray(rgb).save(path)
    return path


def test_an_uploaded_picture_shows_its_labels_and_generated_text_streams(lab, page, tmp_path):
    write_notebook(lab, "models-media.ipynb", [SETUP, "classify", "writer"])
    run_notebook(page, lab, "models-media.ipynb", timeout=600_000)

    image_box = page.locator(".kino-models-image")
    image_box.wait_for()
    with page.expect_file_chooser() as chooser:  # the upload button opens the file dialog
        image_box.locator(".kino-upload").click()
    chooser.value.set_files(picture(tmp_path / "photo.png"))
    rows = image_box.locator(".kino-models-row")
    rows.nth(2).wait_for(timeout=budget_ms(120_000))
    assert rows.count() == 3
    shown = [rows.nth(i).locator(".widget-label").first.inner_text() for i in range(3)]
    assert set(shown) < {"tabby cat", "golden retriever", "<b>bird</b>", "goldfish"}
    assert image_box.locator("b").count() == 0  # a label is text, never HTML
    preview = image_box.locator(".kino-image img, img.kino-image").first
    preview.wait_for()
    assert preview.evaluate("img => img.naturalWidth") == 320
    screenshot(page, "models-image-classification", ".kino-models-image")

    generator = page.locator(".kino-models-generate")
    generator.scroll_into_view_if_needed()
    page.evaluate(WATCH_OUTPUT)
    generator.locator("textarea").fill("Once upon a time")
    generator.locator("textarea").press("Tab")
    generator.locator(".kino-submit").click()
    status = generator.locator(".kino-models-heading")
    status.filter(has_text="100 tokens").wait_for(timeout=budget_ms(180_000))
    seen = [t for t in page.evaluate("window.kinoSeen") if t]
    final = generator.locator(".kino-models-output").inner_text()
    assert final and seen[-1] == final
    assert len(set(seen)) >= 2  # the text arrived in pieces, not at once
    assert all(final.startswith(t) for t in seen)  # each piece extends the text before it
    screenshot(page, "models-text-generation", ".kino-models-generate")
