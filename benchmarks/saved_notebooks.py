"""Saved size of every curated notebook after Run All and save, and the bytes a
JupyterLab page load downloads: kino's save (each widget's module saved as a loader)
against the baseline of the same files with every module written out in full, as
anywidget saves it without kino's lab extension.

Runs JupyterLab and Chromium (as the browser tests do) on a copy of notebooks/:

    .venv/bin/python -m benchmarks.saved_notebooks [NAME ...]

It takes minutes: every notebook of the path runs. The baseline's page-load bytes are
this page load's bytes, less the plugin's title reads, plus what the earlier plugin
fetched for the titles: each curated notebook's whole contents, asked for here from
the same server.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

from kino.ui.base.widget import bundle_path
from tests.browser.harness import (
    CHROMIUM,
    CHROMIUM_ARGS,
    copy_notebooks,
    lab_command,
    run_notebook,
    start_lab,
    wait_for_app,
)

MIME = "application/vnd.jupyter.widget-state+json"
SHUT_DOWN = "() => window.jupyterapp.shell.currentWidget.sessionContext.shutdown()"


def with_full_modules(notebook: dict) -> dict:
    """The notebook as anywidget saves it alone: each kino widget's module and styles in full."""
    state = notebook.get("metadata", {}).get("widgets", {}).get(MIME, {}).get("state", {})
    for model in state.values():
        bundle = model["state"].get("_kino_bundle")
        if not bundle:
            continue
        model["state"]["_esm"] = bundle_path(bundle).read_text()
        css = bundle_path(bundle, ".css")
        model["state"]["_css"] = css.read_text() if css.is_file() else ""
    return notebook


def save(page, path: Path, timeout: float = 120) -> None:
    before = path.stat().st_mtime_ns
    lab_command(page, "docmanager:save")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and path.stat().st_mtime_ns == before:
        page.wait_for_timeout(300)
    page.wait_for_function("() => !window.jupyterapp.shell.currentWidget.context.model.dirty")


def page_load_bytes(browser, server) -> tuple[int, int]:
    """(all bytes, bytes of notebook reads) of one JupyterLab load until the Launcher is full."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    sizes: dict[str, int] = {}
    page.on(
        "requestfinished",
        lambda r: sizes.__setitem__(r.url, sizes.get(r.url, 0) + r.sizes()["responseBodySize"]),
    )
    page.goto(server.url(f"lab/workspaces/b{uuid.uuid4().hex[:8]}"))
    wait_for_app(page)
    page.locator(".jp-LauncherCard", has_text="07 ·").first.wait_for(timeout=120_000)
    page.wait_for_load_state("networkidle")
    context.close()
    notebooks = sum(v for k, v in sizes.items() if ".ipynb" in k)
    return sum(sizes.values()), notebooks


def contents_bytes(server, name: str) -> int:
    with urllib.request.urlopen(server.url(f"api/contents/{name}?content=1")) as response:
        return len(response.read())


def main(names: list[str]) -> None:
    from playwright.sync_api import sync_playwright

    work = Path(tempfile.mkdtemp(prefix="kino-saved-"))
    root = copy_notebooks(work / "root")
    server = start_lab(root, work / "home")
    curated = sorted(p.name for p in root.glob("0*.ipynb"))
    not_run: set[str] = set()
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            for name in names or curated:
                page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
                started = time.monotonic()
                try:
                    run_notebook(page, server, name, timeout=1_800_000)
                except AssertionError as error:  # a cell raised: its size says nothing
                    print(f"{name}: NOT RUN ({error})"[:400], flush=True)
                    not_run.add(name)
                    page.context.close()
                    continue
                save(page, root / name)
                page.evaluate(SHUT_DOWN)
                page.context.close()
                print(f"{name}: ran and saved in {time.monotonic() - started:.0f} s", flush=True)
            total, notebook_reads = page_load_bytes(browser, server)
            browser.close()
        baseline_dir = root / "baseline"
        baseline_dir.mkdir()
        kino_sizes, base_sizes, base_reads = {}, {}, 0
        for name in curated:
            nb = json.loads((root / name).read_text())
            kino_sizes[name] = (root / name).stat().st_size
            full = baseline_dir / name
            full.write_text(json.dumps(with_full_modules(nb), indent=1, sort_keys=True) + "\n")
            base_sizes[name] = full.stat().st_size
            base_reads += contents_bytes(server, f"baseline/{name}")
    finally:
        server.stop()
    print(f"{'notebook':34} {'kino':>12} {'baseline':>12}")
    for name in curated:
        note = "  (not run: a cell raised)" if name in not_run else ""
        print(f"{name:34} {kino_sizes[name]:>12,} {base_sizes[name]:>12,}{note}")
    kino_all, base_all = sum(kino_sizes.values()), sum(base_sizes.values())
    print(f"{'all curated notebooks':34} {kino_all:>12,} {base_all:>12,}")
    base_total = total - notebook_reads + base_reads
    print(f"page load: kino {total:,} bytes ({notebook_reads:,} of them notebook reads); "
          f"baseline {base_total:,} bytes ({base_reads:,} of them notebook reads)")  # fmt: skip
    ratio = kino_all / base_all
    print(f"saved size ratio kino/baseline: {ratio:.3f} (target: a notebook with five charts "
          "and a table at most 150 KB plus its data)")  # fmt: skip


if __name__ == "__main__":
    main(sys.argv[1:])
