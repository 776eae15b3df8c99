"""The wheel that `python -m build` makes is complete: installed into a fresh venv (the base
install, no extras), its bundled widget renders in JupyterLab with every non-local request
blocked, a saved notebook renders from the modules the installed lab extension serves, and
training says which extra it needs."""

import subprocess
import sys
import zipfile

import pytest

from tests.browser.conftest import guarded_page
from tests.browser.harness import (
    REPO,
    forgive_debugger_cancellation,
    guard_page,
    lab_command,
    open_notebook,
    run_notebook,
    shut_down_kernel,
    start_lab,
    wait_until,
    widget_state_of,
    write_notebook,
)
from tests.conftest import budget_ms

LOADER_MARK = "// kino loader:"
SHARE = "jupyter_kino-0.1.0.data/data/share/jupyter/labextensions/jupyter-kino/"


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
        # What a saved notebook's loader imports: the lab extension serves these.
        widget = f"{SHARE}static/widgets/{source.stem}.js"
        assert widget in names, f"{widget} missing from the wheel"
    assert SHARE + "package.json" in names
    assert SHARE + "install.json" in names
    assert any(n.startswith(SHARE + "static/remoteEntry.") for n in names)


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


def test_a_saved_notebook_renders_from_the_installed_extension(fresh_lab, fresh_page, browser):
    """Saved, the widget carries a loader, not its module; reopened with no kernel
    state, the loader imports the module the installed extension serves."""
    path = write_notebook(fresh_lab, "saved.ipynb", ["import kino\nkino.markdown('**kept**')"])
    run_notebook(fresh_page, fresh_lab, "saved.ipynb")
    fresh_page.locator(".kino-markdown strong", has_text="kept").wait_for()
    lab_command(fresh_page, "docmanager:save")

    def saved_loader():
        models = widget_state_of(path).get("state", {}).values()
        return [m for m in models if str(m["state"].get("_esm", "")).startswith(LOADER_MARK)]

    wait_until(fresh_page, saved_loader, "the markdown widget saved with its loader")
    shut_down_kernel(fresh_page)
    other = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    try:
        guard = guard_page(other, fresh_lab.base)
        served = []
        other.on(
            "response",
            lambda r: served.append((r.url, r.status)) if "/static/widgets/" in r.url else None,
        )
        open_notebook(other, fresh_lab, "saved.ipynb")
        other.locator(".kino-markdown strong", has_text="kept").wait_for(timeout=budget_ms(60_000))
        assert any(
            url.endswith("/lab/extensions/jupyter-kino/static/widgets/markdown.js") and ok == 200
            for url, ok in served
        ), served
        forgive_debugger_cancellation(other, guard)
        assert guard.take() == []
    finally:
        other.context.close()
