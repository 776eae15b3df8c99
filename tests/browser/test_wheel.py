"""The wheel that `python -m build` makes is complete: installed into a fresh venv (the base
install, no extras), its bundled widget renders in JupyterLab with every non-local request
blocked, and training says which extra it needs."""

import subprocess
import sys
import zipfile

import pytest

from tests.browser.conftest import guarded_page
from tests.browser.harness import REPO, run_notebook, start_lab, write_notebook
from tests.conftest import budget_ms


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        # The dev environment already holds the build requirements; --no-isolation
        # saves CI a minute of installing them again.
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(out),
         str(REPO)],
        check=True, capture_output=True,
    )  # fmt: skip
    (built,) = out.glob("jupyter_kino-*.whl")
    return built


def test_wheel_contains_the_bundles_and_the_lab_extension(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    sources = sorted((REPO / "labextension" / "src" / "widgets").glob("*/[!_]*.ts"))
    assert len(sources) > 1
    for source in sources:
        assert f"kino/static/{source.stem}.js" in names, f"{source.stem}.js missing from the wheel"
    share = "jupyter_kino-0.1.0.data/data/share/jupyter/labextensions/jupyter-kino/"
    assert share + "package.json" in names
    assert share + "install.json" in names
    assert any(n.startswith(share + "static/remoteEntry.") for n in names)


@pytest.fixture(scope="module")
def fresh_lab(wheel, tmp_path_factory):
    # uv installs the wheel and its whole dependency tree into a brand-new venv in
    # seconds from its cache (pip takes minutes for jax, scipy and JupyterLab).
    env_dir = tmp_path_factory.mktemp("fresh-venv")
    uv = [sys.executable, "-m", "uv"]
    subprocess.run([*uv, "venv", "--quiet", "--python", sys.executable, str(env_dir)], check=True)
    python = env_dir / "bin" / "python"
    subprocess.run(
        [*uv, "pip", "install", "--quiet", "--python", str(python), str(wheel)],
        check=True, capture_output=True,
    )  # fmt: skip
    root = tmp_path_factory.mktemp("fresh-root")
    server = start_lab(root, tmp_path_factory.mktemp("fresh-home"), python=python)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def fresh_page(request, browser, fresh_lab):
    yield from guarded_page(request, browser, fresh_lab)


def test_installed_wheel_renders_markdown_offline(fresh_lab, fresh_page):
    write_notebook(
        fresh_lab,
        "wheel.ipynb",
        [
            "import kino, pathlib\n"
            "where = pathlib.Path(kino.__file__)\n"
            "assert 'fresh-venv' in str(where), where\n"
            "kino.markdown('**installed** from the wheel')",
            # The base install has no training stack; using it names the extra.
            "import importlib.util\n"
            "assert importlib.util.find_spec('jax') is None\n"
            "try:\n"
            "    kino.train.Trainer\n"
            "except ImportError as error:\n"
            "    missing = str(error)\n"
            "assert \"pip install 'jupyter-kino[train]'\" in missing, missing",
        ],
    )
    run_notebook(fresh_page, fresh_lab, "wheel.ipynb")
    view = fresh_page.locator(".kino-markdown strong", has_text="installed")
    view.wait_for(timeout=budget_ms(60_000))
    assert fresh_page.kino_guard.blocked == []
