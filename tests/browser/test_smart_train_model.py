"""The "Train a model" smart cell in JupyterLab: inserted below data, its form rewrites the
code cell as the layers and epochs change, a bad setting is a message beside its field, and
the code it wrote trains with its dashboard."""

from __future__ import annotations

from tests.browser.harness import (
    lab_command,
    open_notebook,
    screenshot,
    wait_until,
    write_notebook,
)
from tests.browser.test_smart_cells import (
    activate,
    cells,
    form_input,
    output_text,
    run_cell,
    wait_cells,
)
from tests.conftest import budget_ms

DATA = """
import numpy as np

import kino

rng = np.random.default_rng(0)
y_train = rng.integers(0, 3, 240).astype("int32")
centres = rng.normal(scale=4.0, size=(3, 8))
x_train = (centres[y_train] + rng.normal(size=(240, 8))).astype("float32")
"""

CHECK = """
result = run.wait()
print(result.status, result.history.height, sorted(result.history.columns))
"""


def test_train_model_writes_code_that_follows_the_form_and_trains(lab, page):
    write_notebook(lab, "smart-train.ipynb", [DATA, CHECK])
    open_notebook(page, lab, "smart-train.ipynb")
    run_cell(page, 0)  # the data
    activate(page, 0)
    lab_command(page, "kino:insert-smart-cell", {"kind": "train_model"})
    found = wait_cells(
        page,
        lambda cs: len(cs) == 4 and "epochs=10" in cs[2]["source"],
        "the default training code below the form",
        timeout=120_000,
    )
    assert found[1]["source"] == "import kino\nkino.smart.train_model()"

    epochs = form_input(page, "epochs")
    epochs.fill("2")
    epochs.press("Enter")
    wait_cells(page, lambda cs: "epochs=2," in cs[2]["source"], "epochs=2 in the code")
    units = form_input(page, "layers.0.units")
    units.fill("8")
    units.press("Enter")
    wait_cells(
        page,
        lambda cs: (
            "nnx.Linear(x_train.shape[-1], 8, rngs=rngs)" in cs[2]["source"]
            and "nnx.Linear(8, 10, rngs=rngs)" in cs[2]["source"]
        ),
        "the first layer's units in both layers' sizes",
    )
    # The preview under the form: 8*8+8 and 8*10+10 parameters, for x_train's rows of 8.
    preview = page.locator(".jp-Notebook .jp-Cell").nth(1)
    preview.get_by_text("162 parameters · one example (8,) → (10,)").wait_for(
        timeout=budget_ms(30_000)
    )

    # A new layer is a dense one; made a dropout, it may not end the model, and a rate of
    # 1.5 is refused: each a message beside its field, the code keeping its last good state.
    page.locator(".jp-Notebook .kino-smartcell .kino-sc-add").first.click()
    wait_cells(page, lambda cs: "nnx.Linear(10, 32, rngs=rngs)" in cs[2]["source"], "a new layer")
    form_input(page, "layers.2.kind").select_option(label="Dropout")
    errors = page.locator(".jp-Notebook .kino-smartcell .kino-sc-error")
    errors.first.wait_for(timeout=budget_ms(30_000))
    assert "the last layer must be dense" in errors.first.text_content()
    good = cells(page)[2]["source"]
    assert "nnx.Linear(10, 32, rngs=rngs)" in good
    rate = form_input(page, "layers.2.rate")
    rate.fill("1.5")
    rate.press("Enter")
    error = page.locator('.jp-Notebook .kino-sc-field[data-path="layers.2.rate"] .kino-sc-error')
    error.wait_for(timeout=budget_ms(30_000))
    assert "less than 1" in error.text_content()
    assert cells(page)[2]["source"] == good
    page.set_viewport_size({"width": 1100, "height": 1400})
    screenshot(page, "smart-train-model-form", ".jp-Notebook .kino-smartcell")
    page.locator('.jp-Notebook .kino-sc-item[data-path="layers.2"] [aria-label="Remove"]').click()
    wait_until(
        page,
        lambda: not page.locator(".jp-Notebook .kino-smartcell .kino-sc-error").count(),
        "no error once the layer is gone",
    )

    run_cell(page, 2)  # the generated code: trains in the background with its dashboard
    page.locator(".jp-Notebook .jp-Cell").nth(2).locator(".kino-dash").wait_for(
        timeout=budget_ms(60_000)
    )
    run_cell(page, 3)
    out = output_text(cells(page)[3])
    assert out.startswith("completed 2 "), out
    assert "'validation_accuracy'" in out
    screenshot(page, "smart-train-model-trained", ".jp-Notebook")
