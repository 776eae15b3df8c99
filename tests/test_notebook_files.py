"""The curated notebooks as files: titled for the Launcher, saved without outputs, checked by nbval.

nbval runs them (``make test``); these checks keep the files themselves in shape.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
CURATED = [
    "01-tensors",
    "02-compiled-functions",
    "03-dataframes",
    "04-first-neural-network",
    "05-convolutional-network",
    "06-classic-ml",
    "07-training-techniques",
    "dashboards/train-and-predict",
]


def test_the_learning_path_is_complete():
    found = sorted(
        str(p.relative_to(NOTEBOOKS).with_suffix("")) for p in NOTEBOOKS.rglob("*.ipynb")
        if ".ipynb_checkpoints" not in p.parts
    )  # fmt: skip
    assert found == sorted(CURATED)


@pytest.mark.parametrize("name", CURATED)
def test_notebook_is_titled_clean_and_checked(name):
    nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    nbformat.validate(nb)
    first = nb.cells[0]
    # The Launcher's Kino tiles show this heading as the notebook's title.
    assert first.cell_type == "markdown" and first.source.startswith("# "), first.source[:40]
    assert nb.metadata["kernelspec"]["name"] == "python3"
    assert "widgets" not in nb.metadata, "saved widget state bloats the repository"
    code = [c for c in nb.cells if c.cell_type == "code"]
    for cell in code:
        assert cell.outputs == [] and cell.execution_count is None, "save notebooks cleared"
    assert sum("assert " in c.source for c in code) >= 1, "nbval checks the asserts"
    assert not any("NBVAL_SKIP" in c.source for c in code)
