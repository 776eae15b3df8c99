"""notebooks/11-smart-cells.ipynb in JupyterLab: after Run All every form is linked to the
code cell below it, and kino's plugin leaves the saved code and attributes as they were."""

from __future__ import annotations

import nbformat

from tests.browser.harness import REPO, wait_until
from tests.browser.test_notebooks import run_curated
from tests.browser.test_smart_cells import FORM_KEY, cells

NOTEBOOK = REPO / "notebooks" / "11-smart-cells.ipynb"


def test_the_smart_cells_notebook_stays_linked_after_run_all(lab, page):
    saved = nbformat.read(NOTEBOOK, as_version=4).cells
    forms = sum(FORM_KEY in c.metadata for c in saved)
    run_curated(page, lab, NOTEBOOK.name)
    status = page.locator(".jp-Notebook .kino-smartcell .kino-sc-status")
    wait_until(
        page,
        lambda: status.all_text_contents() == ["Code in the cell below"] * forms,
        f"all {forms} forms linked to their code cells",
    )
    assert not page.locator(".jp-Notebook .kino-sc-banner:visible").count()
    now = cells(page)
    assert [c["source"] for c in now] == [c.source for c in saved]
    assert [c["metadata"].get(FORM_KEY) for c in now] == [c.metadata.get(FORM_KEY) for c in saved]
