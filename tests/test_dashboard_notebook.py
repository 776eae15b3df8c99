"""The train-and-predict dashboard's Python side, without a browser: submit, train, predict.

The notebook's code cells run in one namespace with recorded comms (the ``comm_log``
fixture), then the test does what a person does in Voila: submit the form with its
default values, wait for the run, and hand the image input an uploaded digit.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import numpy as np
import pytest

from kino import datasets
from tests.conftest import budget

NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks/dashboards/train-and-predict.ipynb"


@pytest.fixture
def dashboard(comm_log) -> dict:
    namespace: dict = {"__name__": "__dashboard__"}
    for cell in nbformat.read(NOTEBOOK, as_version=4).cells:
        if cell.cell_type == "code":
            exec(compile(cell.source, f"{NOTEBOOK.name}:{cell.id}", "exec"), namespace)
    return namespace


def upload(picture, pixels: np.ndarray) -> None:
    """Set the image input's control as the browser does after decoding a file."""
    control = picture._control
    control.set_trait("height", pixels.shape[0])
    control.set_trait("width", pixels.shape[1])
    control.set_trait("channels", pixels.shape[2])
    control.data = pixels.tobytes()


def test_notebook_is_saved_without_outputs():
    for cell in nbformat.read(NOTEBOOK, as_version=4).cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None


def test_submit_trains_and_an_uploaded_digit_is_classified(dashboard):
    ns = dashboard
    assert ns["state"]["model"] is None
    upload(ns["picture"], np.zeros((8, 8, 1), np.uint8))
    assert ns["answer"].value == ""  # no model yet: nothing is predicted

    ns["form"].submit()
    result = ns["state"]["run"].wait(timeout=budget(600))
    assert result.status == "completed"
    assert ns["state"]["model"] is not None
    assert "Model ready" in ns["status"].value

    _, (x_test, y_test) = datasets.digits()
    hits = 0
    for index in range(20):
        upload(ns["picture"], np.round(x_test[index] * 255).astype(np.uint8)[:, :, None])
        hits += ns["answer"].value.startswith(f"## It looks like a **{y_test[index]}**")
        rows = ns["bars"].rows()
        assert [r["digit"] for r in rows] == list(range(10))
        assert sum(r["probability"] for r in rows) == pytest.approx(1.0, abs=1e-5)
    assert hits >= 18


def test_dark_ink_on_light_paper_is_inverted(dashboard):
    as_digit = dashboard["as_digit"]
    light = np.full((8, 8, 1), 230, np.uint8)
    light[2:6, 3:5] = 20  # a dark stroke
    x = as_digit(light)
    assert x.shape == (1, 64)
    assert x.reshape(8, 8)[3, 3] == pytest.approx(1.0) and x.reshape(8, 8)[0, 0] == 0.0
