"""The curated notebooks as files: titled for the Launcher, saved without outputs, checked by nbval.

nbval runs them (``make test``); these checks keep the files themselves in shape.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from xml.etree import ElementTree

import nbformat
import pytest
from ipykernel.ipkernel import IPythonKernel

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
CURATED = [
    "01-tensors",
    "02-compiled-functions",
    "03-dataframes",
    "04-first-neural-network",
    "05-convolutional-network",
    "06-classic-ml",
    "07-training-techniques",
    "08-serving",
    "09-semantic-search",
    "10-tuning",
    "11-smart-cells",
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
    # JupyterLab writes the kernel's language_info into a notebook it opens; a stored one
    # that differs marks the notebook modified before the learner did anything
    assert nb.metadata["language_info"] == IPythonKernel.language_info, (
        "store the language_info of this project's kernel: "
        f"{json.dumps(IPythonKernel.language_info)}"
    )
    assert "widgets" not in nb.metadata, "saved widget state bloats the repository"
    code = [c for c in nb.cells if c.cell_type == "code"]
    for cell in code:
        assert cell.outputs == [] and cell.execution_count is None, "save notebooks cleared"
    assert sum("assert " in c.source for c in code) >= 1, "nbval checks the asserts"
    assert not any("NBVAL_SKIP" in c.source for c in code)
    # nbval's markers are cell tags, never comments a learner has to read past.
    assert not [c.source[:40] for c in code if "NBVAL_" in c.source]


# What a learner reads: words that mean something to them, and charts that read cleanly.


def _sources(name: str) -> list[str]:
    return [c.source for c in nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4).cells]


@pytest.mark.parametrize("name", CURATED)
def test_the_text_never_leans_on_an_unexplained_source(name):
    # "the seed" was this project's name for the Elixir article the path follows.
    text = "\n".join(_sources(name))
    assert not re.search(r"\bthe seed\b|\bseed's\b", text, re.IGNORECASE), name


def test_the_path_says_what_the_article_it_follows_is():
    intro = _sources("01-tensors")[0]
    assert "Elixir article" in intro and "Livebook" in intro, intro


def test_the_table_instructions_match_the_table():
    # kino.table filters behind a funnel button in each header; there is no filter row.
    text = "\n".join(_sources("03-dataframes"))
    assert "filter row" not in text
    assert "funnel" in text and "search box" in text


def _run_cells(name: str, wanted, monkeypatch) -> tuple[dict, list]:
    """Run the code cells ``wanted(source)`` picks, in order; return the namespace and charts."""
    import kino

    charts = []
    make_chart = kino.chart

    def recording(*args, **kwargs):
        charts.append(make_chart(*args, **kwargs))
        return charts[-1]

    monkeypatch.setattr(kino, "chart", recording)
    namespace: dict = {"__name__": f"__{name}__"}
    for i, cell in enumerate(nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4).cells):
        if cell.cell_type == "code" and wanted(cell.source):
            exec(compile(cell.source, f"{name}:{i}", "exec"), namespace)
    return namespace, charts


def _axes(svg: str) -> dict[str, tuple[str, list[str]]]:
    """Each axis of a Vega SVG: its aria-label ("X-axis titled ...") and its tick labels."""
    root = ElementTree.fromstring(svg)
    axes = {}
    for group in root.iter():
        label = group.get("aria-label") or ""
        if group.get("aria-roledescription") == "axis" and re.match(r"[XY]-axis", label):
            ticks = [
                "".join(t.itertext())
                for g in group.iter()
                if "role-axis-label" in (g.get("class") or "")
                for t in g.iter("{http://www.w3.org/2000/svg}text")
            ]
            axes[label[0]] = (label, ticks)
    return axes


def test_the_roc_chart_has_one_plain_title_per_axis(comm_log, monkeypatch, capsys):
    _, charts = _run_cells("06-classic-ml", lambda s: True, monkeypatch)
    # The exact fit prints the 16.0 the text promises, not 15.999999999999998.
    assert "prediction for [3, 5]: 16.0\n" in capsys.readouterr().out
    (roc,) = [c for c in charts if "false_positive_rate" in json.dumps(c.to_spec())]
    axes = _axes(roc.to_svg())
    assert axes["X"][0].startswith("X-axis titled 'false positive rate'"), axes["X"][0]
    assert axes["Y"][0].startswith("Y-axis titled 'true positive rate'"), axes["Y"][0]


def test_the_learning_rate_chart_has_whole_epochs_and_one_number_format(comm_log, monkeypatch):
    # Imports, data, the model and the schedule cell: five short epochs.
    keep = ("import ", "kino.datasets.digits()", "def make_model", "cosine_decay_schedule")
    _, charts = _run_cells(
        "07-training-techniques", lambda s: any(k in s for k in keep), monkeypatch
    )
    (rates,) = [c for c in charts if "learning_rate" in json.dumps(c.to_spec())]
    axes = _axes(rates.to_svg())
    # A log axis leaves its minor ticks unlabelled (empty text).
    epochs, values = ([t for t in axes[a][1] if t] for a in "XY")
    assert epochs and all(re.fullmatch(r"\d+", t) for t in epochs), epochs
    assert values and all(re.fullmatch(r"\d(\.\d+)?e[-+]\d+", t) for t in values), values
