"""The base install is light, and a feature used without its pip extra says which extra to install.

A missing library is simulated in a fresh interpreter by putting ``None`` in
``sys.modules`` (Python then refuses to import it), so the tests need no second venv.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import tomllib

from kino._extras import EXTRAS, MissingExtra, explain, extra_of, require
from tests.conftest import budget

ROOT = Path(__file__).resolve().parent.parent
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
HEAVY = {"jax", "flax", "optax", "orbax-checkpoint", "voila", "scikit-learn", "palmerpenguins",
         "vl-convert-python", "starlette", "uvicorn", "httpx", "ray"}  # fmt: skip


def name_of(spec: str) -> str:
    return re.split(r"[\s<>=!~\[;]", spec, maxsplit=1)[0].lower()


def run_without(modules: list[str], code: str) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh interpreter in which ``modules`` cannot be imported."""
    hide = "".join(f"sys.modules[{m!r}] = None\n" for m in modules)
    return subprocess.run(
        [sys.executable, "-c", f"import sys\n{hide}{code}"], cwd=ROOT,
        capture_output=True, text=True, timeout=budget(120),
    )  # fmt: skip


def test_the_base_install_holds_no_optional_library():
    base = {name_of(spec) for spec in PROJECT["dependencies"]}
    assert not base & HEAVY, sorted(base & HEAVY)
    assert {"jupyterlab", "anywidget", "ipywidgets", "polars", "altair"} <= base


def test_each_extra_installs_its_part_and_all_holds_every_extra_but_ray():
    extras = {k: {name_of(s) for s in v} for k, v in PROJECT["optional-dependencies"].items()}
    assert extras["train"] == {"jax", "flax", "optax", "orbax-checkpoint"}
    assert extras["dashboards"] == {"voila"}
    assert extras["export"] == {"vl-convert-python"}
    assert {"scikit-learn", "palmerpenguins"} <= extras["notebooks"]
    # The curated notebooks train (01-07) and serve (08): their extra brings both.
    assert "jupyter-kino[train,serving]" in PROJECT["optional-dependencies"]["notebooks"]
    assert extras["serving"] == {"starlette", "uvicorn", "httpx"}
    assert extras["ray"] == {"ray"}
    (everything,) = PROJECT["optional-dependencies"]["all"]
    included = set(re.search(r"\[(.*)\]", everything).group(1).split(","))
    assert name_of(everything) == PROJECT["name"]
    assert included == set(EXTRAS) - {"ray"}, included
    # kino/_extras.py knows every extra pyproject.toml declares for a feature.
    assert set(EXTRAS) == set(extras) - {"all", "test", "bench"}


@pytest.mark.parametrize(
    "code",
    [
        "from kino import train\ntrain.Trainer",
        "from kino.train import Trainer",
        "import kino\nkino.train.batches",
    ],
)
def test_training_without_jax_names_the_train_extra(code):
    result = run_without(["jax"], code)
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("kino._extras.MissingExtra: kino.train."), last
    assert last.endswith(
        "needs the 'train' extra: pip install 'jupyter-kino[train]' (jax is not installed)"
    ), last


def test_the_inspector_without_jax_names_the_train_extra_and_other_widgets_still_work():
    result = run_without(
        ["jax", "flax", "optax"],
        "import kino\n"
        "assert kino.markdown('still here').value == 'still here'\n"
        "try:\n"
        "    kino.inspect\n"
        "except ImportError as error:\n"
        "    print(type(error).__name__, error)\n",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == (
        "MissingExtra kino.inspect needs the 'train' extra:"
        " pip install 'jupyter-kino[train]' (jax is not installed)"
    )


def test_a_missing_module_outside_every_extra_keeps_its_own_error():
    error = ModuleNotFoundError("No module named 'kino_nowhere'", name="kino_nowhere")
    assert explain("kino.train", error) is error
    assert extra_of("kino_nowhere") is None


def test_require_names_the_extra_and_the_missing_module(monkeypatch):
    monkeypatch.setitem(sys.modules, "vl_convert", None)
    with pytest.raises(MissingExtra, match=r"'export' extra: pip install 'jupyter-kino\[export\]'"):
        require("kino.chart.to_svg", "export")
    with pytest.raises(ValueError, match="require: 'extra' must be one of train, "):
        require("kino.chart.to_svg", "gpu")


@pytest.mark.parametrize(
    ("hidden", "call", "feature", "extra"),
    [
        (
            "vl_convert",
            "kino.chart(alt.Chart().mark_point()).to_svg()",
            "kino.chart.to_svg",
            "export",
        ),
        (
            "vl_convert",
            "kino.chart(alt.Chart().mark_point()).to_png()",
            "kino.chart.to_png",
            "export",
        ),
        ("sklearn", "kino.datasets.digits()", "kino.datasets.digits", "notebooks"),
        ("palmerpenguins", "kino.datasets.penguins()", "kino.datasets.penguins", "notebooks"),
    ],
)
def test_chart_export_and_datasets_without_their_library_name_the_extra(
    hidden, call, feature, extra
):
    result = run_without(
        [hidden],
        "import altair as alt, kino\n"
        f"try:\n    {call}\n"
        "except ImportError as error:\n"
        "    print(type(error).__name__, error)\n",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == (
        f"MissingExtra {feature} needs the {extra!r} extra:"
        f" pip install 'jupyter-kino[{extra}]' ({hidden} is not installed)"
    )
