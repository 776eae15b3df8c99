"""The kino JupyterLab plugin: Launcher section, learning-path command, installed extension."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

import kino
from tests.browser.conftest import guarded_page
from tests.browser.harness import lab_command, screenshot, start_lab, wait_for_app, write_notebook

# A Binder-like layout: the server root is the repository, the path lives in notebooks/.
CURATED = {
    "notebooks/01-first-steps.ipynb": "# First steps with tensors\n\nIntro.",
    "notebooks/02-second.ipynb": "Some text without a heading.\n\n## Compiled *functions*",
    "notebooks/scratch.ipynb": "# Not part of the path",
}


@pytest.fixture(scope="module")
def binder_lab(tmp_path_factory):
    root = tmp_path_factory.mktemp("binder-root")
    server = start_lab(root, tmp_path_factory.mktemp("binder-home"))
    try:
        for name, heading in CURATED.items():
            write_notebook(server, name, [("markdown", heading), "1 + 1"])
        yield server
    finally:
        server.stop()


@pytest.fixture
def binder_page(request, browser, binder_lab):
    yield from guarded_page(request, browser, binder_lab)


def test_launcher_has_a_kino_section_that_opens_notebooks(binder_lab, binder_page):
    page = binder_page
    page.goto(binder_lab.url("lab/workspaces/launcher-test"))
    wait_for_app(page)
    lab_command(page, "launcher:create")
    section = page.locator(".jp-Launcher-section", has=page.locator("h2", has_text="Kino")).last
    cards = section.locator(".jp-LauncherCard")
    cards.nth(1).wait_for()
    assert cards.all_inner_texts() == ["01 · First steps with tensors", "02 · Compiled functions"]
    screenshot(page, "launcher-kino-section", ".jp-Launcher-body")
    cards.first.click()
    page.wait_for_function(
        "() => { const w = window.jupyterapp.shell.currentWidget;"
        " return w && w.context && w.context.path === 'notebooks/01-first-steps.ipynb'; }"
    )
    page.wait_for_selector(".jp-Notebook .jp-MarkdownOutput h1")


def test_palette_command_opens_the_learning_path(binder_lab, binder_page):
    page = binder_page
    page.goto(binder_lab.url("lab/workspaces/palette-test"))
    wait_for_app(page)
    label = page.evaluate("() => window.jupyterapp.commands.label('kino:open-learning-path')")
    assert label == "Kino: Open learning path"
    page.locator(".jp-Launcher-body").click(position={"x": 5, "y": 5})
    page.keyboard.press("Control+Shift+C")
    page.locator(".lm-CommandPalette input").fill("learning path")
    item = page.locator(".lm-CommandPalette-item", has_text="Kino: Open learning path")
    item.first.click()
    page.wait_for_function(
        "() => { const w = window.jupyterapp.shell.currentWidget;"
        " return w && w.context && w.context.path === 'notebooks/01-first-steps.ipynb'; }"
    )


def test_labextension_is_installed_and_enabled():
    out = subprocess.run(
        [sys.executable, "-m", "jupyter", "labextension", "list"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    listing = out.stdout + out.stderr
    line = next((ln for ln in listing.splitlines() if "jupyter-kino" in ln), "")
    assert "enabled" in line and "OK" in line, listing


def test_labextension_metadata_points_at_a_built_bundle():
    (entry,) = kino._jupyter_labextension_paths()
    folder = Path(kino.__file__).parent / entry["src"]
    meta = json.loads((folder / "package.json").read_text())
    assert meta["name"] == entry["dest"] == "jupyter-kino"
    assert (folder / meta["jupyterlab"]["_build"]["load"]).is_file()


def test_widget_state_is_saved_with_notebooks_by_default(binder_lab, binder_page):
    page = binder_page
    page.goto(binder_lab.url("lab/workspaces/settings-test"))
    wait_for_app(page)
    fetch = """() => window.jupyterapp.serviceManager.settings
        .fetch('@jupyter-widgets/jupyterlab-manager:plugin')
        .then(s => s.settings ? s.settings.saveState : undefined)"""
    for _ in range(40):
        if page.evaluate(fetch) is True:
            break
        page.wait_for_timeout(250)
    assert page.evaluate(fetch) is True
