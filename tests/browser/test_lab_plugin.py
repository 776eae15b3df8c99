"""The kino JupyterLab plugin: Launcher section, learning-path command, installed extension.

Opening a notebook of the path opens the learner's copy in my-notebooks/ (the original
is never edited), the Launcher remembers the copy worked on last and lists the
dashboards, and titles come from the first kilobytes of each notebook, never the whole.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

import kino
from tests.browser.conftest import guarded_page
from tests.browser.harness import (
    lab_command,
    screenshot,
    start_lab,
    wait_for_app,
    wait_until,
    write_notebook,
)

# A Binder-like layout: the server root is the repository, the path lives in notebooks/.
CURATED = {
    "notebooks/01-first-steps.ipynb": "# First steps with tensors\n\nIntro.",
    "notebooks/02-second.ipynb": "Some text without a heading.\n\n## Compiled *functions*",
    "notebooks/scratch.ipynb": "# Not part of the path",
    "notebooks/dashboards/train-and-predict.ipynb": "# Train and predict",
}
# A saved notebook can weigh megabytes (outputs, widget state): 03 carries 3 MB here.
HEAVY = "notebooks/03-heavy.ipynb"
HEAVY_BYTES = 3_000_000


@pytest.fixture(scope="module")
def binder_lab(tmp_path_factory):
    root = tmp_path_factory.mktemp("binder-root")
    server = start_lab(root, tmp_path_factory.mktemp("binder-home"))
    try:
        for name, heading in CURATED.items():
            write_notebook(server, name, [("markdown", heading), "1 + 1"])
        heavy = write_notebook(server, HEAVY, [("markdown", "# A heavy one"), "1 + 1"])
        nb = json.loads(heavy.read_text())
        nb["metadata"]["padding"] = "x" * HEAVY_BYTES
        heavy.write_text(json.dumps(nb, sort_keys=True, indent=1))
        yield server
    finally:
        server.stop()


@pytest.fixture
def binder_page(request, browser, binder_lab):
    yield from guarded_page(request, browser, binder_lab)


def kino_cards(page):
    section = page.locator(".jp-Launcher-section", has=page.locator("h2", has_text="Kino")).last
    return section.locator(".jp-LauncherCard")


def wait_for_path(page, path: str) -> None:
    page.wait_for_function(
        "p => { const w = window.jupyterapp.shell.currentWidget;"
        " return w && w.context && w.context.path === p; }",
        arg=path,
    )


def test_launcher_opens_a_copy_and_remembers_where_the_learner_got_to(binder_lab, binder_page):
    page = binder_page
    original = binder_lab.root / "notebooks/01-first-steps.ipynb"
    before = original.read_bytes()
    page.goto(binder_lab.url("lab/workspaces/launcher-test"))
    wait_for_app(page)
    lab_command(page, "launcher:create")
    # The smart-cell tiles come last (tests/browser/test_smart_cells.py checks them).
    cards = kino_cards(page).filter(has_not_text="Smart cell · ")
    cards.nth(3).wait_for()
    assert cards.all_inner_texts() == [
        "01 · First steps with tensors",
        "02 · Compiled functions",
        "03 · A heavy one",
        "Dashboard · Train and predict",
    ]
    screenshot(page, "launcher-kino-section", ".jp-Launcher-body")
    cards.first.click()
    wait_for_path(page, "my-notebooks/01-first-steps.ipynb")
    page.wait_for_selector(".jp-Notebook .jp-MarkdownOutput h1")
    page.wait_for_function(
        "() => window.jupyterapp.shell.currentWidget.sessionContext.session?.kernel?.status"
        " === 'idle'"
    )
    lab_command(page, "docmanager:save")
    copy = binder_lab.root / "my-notebooks/01-first-steps.ipynb"
    page.wait_for_function("() => !window.jupyterapp.shell.currentWidget.context.model.dirty")
    assert copy.is_file()
    assert original.read_bytes() == before, "opening from the Launcher changed the original"

    # The Launcher now offers to continue there, also after a reload.
    lab_command(page, "launcher:create")
    continue_card = kino_cards(page).filter(has_text="Continue:")
    continue_card.first.wait_for()
    assert continue_card.all_inner_texts() == ["Continue: 01 · First steps with tensors"]
    page.goto(binder_lab.url("lab/workspaces/launcher-test-2"))
    wait_for_app(page)
    lab_command(page, "launcher:create")
    continue_card = kino_cards(page).filter(has_text="Continue:")
    continue_card.first.wait_for()
    assert continue_card.all_inner_texts() == ["Continue: 01 · First steps with tensors"]
    screenshot(page, "launcher-kino-continue", ".jp-Launcher-body")
    # Opening it again opens the same copy, with the learner's work, not a new one.
    copy.write_text(copy.read_text().replace("1 + 1", "2 + 2"))
    continue_card.first.click()
    wait_for_path(page, "my-notebooks/01-first-steps.ipynb")
    page.locator(".jp-Notebook .jp-Cell", has_text="2 + 2").first.wait_for()
    assert original.read_bytes() == before


def test_the_dashboard_tile_opens_voila(binder_lab, binder_page):
    page = binder_page
    page.goto(binder_lab.url("lab/workspaces/dashboard-test"))
    wait_for_app(page)
    lab_command(page, "launcher:create")
    tile = kino_cards(page).filter(has_text="Dashboard · Train and predict")
    tile.first.wait_for()
    with page.context.expect_page() as opened:
        tile.first.click()
    assert opened.value.url.startswith(
        binder_lab.base + "/voila/render/notebooks/dashboards/train-and-predict.ipynb"
    ), opened.value.url
    opened.value.close()


def test_launcher_titles_never_download_whole_notebooks(binder_lab, binder_page):
    page = binder_page
    notebook_bytes: dict[str, int] = {}

    def count(request):
        url = request.url
        if ".ipynb" in url and ("/files/" in url or "/api/contents/" in url):
            size = request.sizes()["responseBodySize"]
            notebook_bytes[url] = notebook_bytes.get(url, 0) + size

    page.on("requestfinished", count)
    page.goto(binder_lab.url("lab/workspaces/bytes-test"))
    wait_for_app(page)
    lab_command(page, "launcher:create")
    kino_cards(page).filter(has_text="03 · A heavy one").first.wait_for()
    # The title shows as its read's body arrives; "requestfinished" can come a moment later.
    wait_until(
        page, lambda: any("03-heavy" in url for url in notebook_bytes), "the title read finished"
    )
    heavy = [size for url, size in notebook_bytes.items() if "03-heavy" in url]
    assert heavy and max(heavy) <= 64 * 1024, notebook_bytes
    assert sum(notebook_bytes.values()) <= 256 * 1024, notebook_bytes


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
    wait_for_path(page, "my-notebooks/01-first-steps.ipynb")


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
    wait_until(page, lambda: page.evaluate(fetch) is True, "saveState set to true")
