"""The "Neural network task" smart cell in JupyterLab: inserted, its form says which model
works offline and which downloads, its code follows the task picked, and the installed
MiniLM's code runs and shows the query box."""

from __future__ import annotations

from tests.browser.harness import lab_command, open_notebook, screenshot, write_notebook
from tests.browser.test_smart_cells import (
    activate,
    cells,
    form_input,
    output_text,
    run_cell,
    wait_cells,
)
from tests.conftest import budget_ms

CHECK = """
(vector,) = task.run(["penguins dive for fish"])
print(vector.shape)
"""


def test_neural_network_task_offers_offline_and_hub_models_and_runs_minilm(lab, page):
    write_notebook(lab, "smart-task.ipynb", ["import kino", CHECK])
    open_notebook(page, lab, "smart-task.ipynb")
    run_cell(page, 0)
    activate(page, 0)
    lab_command(page, "kino:insert-smart-cell", {"kind": "neural_network_task"})
    wait_cells(
        page,
        lambda cs: len(cs) == 4 and "models.load(bundled_minilm())" in cs[2]["source"],
        "the installed MiniLM's code below the form",
        timeout=120_000,
    )
    model = form_input(page, "model")
    assert model.locator("option").first.text_content() == "all-MiniLM-L6-v2 (offline)"
    note = page.locator('.jp-Notebook .kino-sc-field[data-path="model"]')
    assert "works offline" in note.text_content()

    form_input(page, "task").select_option(label="Image classification")
    wait_cells(
        page,
        lambda cs: (
            'models.load("microsoft/resnet-50")' in cs[2]["source"]
            and cs[2]["source"].endswith("\ntask")
        ),
        "the image task's code",
    )
    assert model.locator("option").first.text_content() == "ResNet-50 (download)"
    assert "Downloads 100 MB" in note.text_content()
    page.set_viewport_size({"width": 1100, "height": 900})
    screenshot(page, "smart-neural-network-task-form", ".jp-Notebook .kino-smartcell")

    form_input(page, "task").select_option(label="Text embedding")
    text = form_input(page, "text")
    text.wait_for(timeout=budget_ms(30_000))
    text.fill("a bird that cannot fly")
    text.press("Enter")
    wait_cells(
        page,
        lambda cs: cs[2]["source"].endswith('models.view(task, text="a bird that cannot fly")'),
        "the first text in the code",
    )
    run_cell(page, 2)
    box = page.locator(".jp-Notebook .jp-Cell").nth(2).locator(".kino-models-text")
    box.wait_for(timeout=budget_ms(120_000))
    assert box.locator("input").first.input_value() == "a bird that cannot fly"
    run_cell(page, 3)
    assert output_text(cells(page)[3]).strip() == "(384,)"
    screenshot(page, "smart-neural-network-task-run", ".jp-Notebook")
