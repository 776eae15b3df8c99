"""Smart cells in JupyterLab (issue #15): kino's plugin writes a form's code into the cell
below it and keeps the form's attributes in the form cell's metadata
(``labextension/src/plugin/smart-cells.ts``, ``smart-menu.ts``).

The mechanism's tests use a tiny SmartCell defined in the notebook itself and put it
in place of ``kino.smart.chart_builder`` for that kernel, so the insert command
(which writes ``kino.smart.chart_builder()``) inserts it.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import uuid
from pathlib import Path

import pytest

import kino.smart
from tests.browser.harness import (
    REPO,
    forgive_debugger_cancellation,
    guard_page,
    lab_command,
    open_notebook,
    run_all,
    screenshot,
    shut_down_kernel,
    wait_until,
    write_notebook,
)
from tests.conftest import budget_ms

FORM_KEY = "kino_smart_cell"
CODE_KEY = "kino_smart_code"
SMART_CELLS_TS = REPO / "labextension" / "src" / "plugin" / "smart-cells.ts"
# The plugin's list of smart cells: (kind, title) as smart-cells.ts declares them.
SMART_CELL_LIST = re.findall(r'\{ kind: "(\w+)", title: "([^"]+)" \}', SMART_CELLS_TS.read_text())

GREETING = """
import kino
import kino.smart
from kino.ui.smart import AttrError, SmartCell


class Greeting(SmartCell):
    kind, title = "chart_builder", "Greeting"

    def defaults(self):
        return {"name": "world", "times": 1}

    def form(self, attrs):
        return [
            {"name": "name", "label": "Name", "type": "text"},
            {"name": "times", "label": "Times", "type": "number", "min": 1, "max": 5,
             "integer": True},
        ]

    def generate(self, attrs):
        if not attrs["name"]:
            raise AttrError("name", "write a name")
        return "\\n".join([f"print({'Hello, ' + attrs['name']!r})"] * int(attrs["times"]))


kino.smart.chart_builder = Greeting
"""

# The open notebook's cells through its shared model: sources, metadata, ids.
CELLS = """() => (window.jupyterapp.shell.currentWidget?.content?.model?.sharedModel?.cells ?? [])
    .map(c => ({
    id: c.getId(), type: c.cell_type, source: c.getSource(), metadata: c.getMetadata(),
    outputs: c.cell_type === 'code' ? c.getOutputs() : []}))"""


def cells(page) -> list[dict]:
    return page.evaluate(CELLS)


def wait_cells(page, condition, what: str, timeout: float = 60_000) -> list[dict]:
    """Wait until the open notebook's cells satisfy ``condition``; return them."""
    found: list[list[dict]] = []

    def check():
        found[:] = [cells(page)]
        return condition(found[0])

    try:
        wait_until(page, check, what, timeout=timeout)
    except TimeoutError:
        raise AssertionError(
            f"{what}: cells are {json.dumps(found[0] if found else None)[:3000]}"
        ) from None
    return found[0]


def sha(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def form_input(page, name: str, nth: int = 0):
    return page.locator(
        f'.jp-Notebook .kino-smartcell .kino-sc-form :is(input, select)[data-path="{name}"]'
    ).nth(nth)


def activate(page, index: int) -> None:
    page.evaluate(
        """i => { const nb = window.jupyterapp.shell.currentWidget.content;
        nb.deselectAll(); nb.activeCellIndex = i; nb.mode = 'command'; }""",
        index,
    )


def run_cell(page, index: int) -> None:
    """Run one cell and wait until the kernel has answered it."""
    before = cells(page)[index]
    activate(page, index)
    lab_command(page, "notebook:run-cell")
    page.wait_for_function(
        """([i, before]) => { const p = window.jupyterapp.shell.currentWidget;
        const c = p.content.widgets[i];
        return p.sessionContext.session.kernel.status === 'idle' && c.model.executionCount !== null
            && c.model.executionCount !== before
            && !c.node.querySelector('.jp-InputArea-prompt')?.textContent?.includes('*'); }""",
        arg=[index, before.get("execution_count")],
        timeout=budget_ms(120_000),
    )


def output_text(cell: dict) -> str:
    return "".join(
        o.get("text", "") if isinstance(o.get("text", ""), str) else "".join(o["text"])
        for o in cell["outputs"]
    )


def save(page, path: Path) -> dict:
    """Save the open notebook and wait until the file on disk changed; return it."""
    before = path.stat().st_mtime_ns
    lab_command(page, "docmanager:save")
    wait_until(
        page, lambda: path.stat().st_mtime_ns != before, f"{path.name} saved", timeout=60_000
    )
    return json.loads(path.read_text())


def new_greeting_notebook(page, lab) -> tuple[str, Path]:
    """A notebook whose first cell defines Greeting; opened, run, and the form inserted."""
    name = f"smart-{uuid.uuid4().hex[:6]}.ipynb"
    path = write_notebook(lab, name, [GREETING])
    open_notebook(page, lab, name)
    run_all(page)
    activate(page, 0)
    lab_command(page, "kino:insert-smart-cell", {"kind": "chart_builder"})
    wait_cells(
        page,
        lambda cs: len(cs) == 3 and cs[2]["source"] == "print('Hello, world')",
        "the default code in the cell below the form",
    )
    return name, path


def test_the_code_hash_matches_hashlib_with_and_without_crypto_subtle(tmp_path):
    # smart-hash.ts, bundled from source; node has crypto.subtle, and the fallback (for
    # pages that are not a secure context) must give the same hex digest.
    labext = REPO / "labextension"
    module = tmp_path / "hash.mjs"
    subprocess.run(
        [str(labext / "node_modules" / ".bin" / "esbuild"), "src/plugin/smart-hash.ts",
         "--bundle", "--format=esm", f"--outfile={module}", "--log-level=error"],
        cwd=labext, check=True,
    )  # fmt: skip
    runner = tmp_path / "run.mjs"
    runner.write_text(
        "import { sha256, sha256Fallback } from './hash.mjs';\n"
        "const texts = JSON.parse(process.argv[2]);\n"
        "const subtle = await Promise.all(texts.map((t) => sha256(t)));\n"
        "const fallback = texts.map((t) => sha256Fallback(new TextEncoder().encode(t)));\n"
        "console.log(JSON.stringify({ subtle, fallback }));\n"
    )
    # Lengths around the 55/56/64-byte padding edges, several blocks, UTF-8.
    texts = ["", "a", *("x" * n for n in (55, 56, 57, 63, 64, 65, 119, 120, 1000))]
    texts += ["print('Hello, kino')", "é✓ 🐍\n" * 40, HOSTILE_NAME]
    out = subprocess.run(
        ["node", str(runner), json.dumps(texts)], capture_output=True, text=True, check=True
    )
    got = json.loads(out.stdout)
    assert got["fallback"] == [sha(t) for t in texts]
    assert got["subtle"] == [sha(t) for t in texts]


def test_the_smart_cell_list_matches_kino_smart():
    assert [kind for kind, _ in SMART_CELL_LIST] == list(kino.smart.CELLS)
    for kind, title in SMART_CELL_LIST:
        assert getattr(kino.smart, kind).title == title, kind


def test_insert_writes_the_code_below_and_the_form_keeps_it_in_step(lab, page):
    new_greeting_notebook(page, lab)
    form, code = cells(page)[1:]
    assert form["source"] == "import kino\nkino.smart.chart_builder()"
    assert form["metadata"][FORM_KEY] == {
        "kind": "chart_builder",
        "version": 1,
        "attrs": {"name": "world", "times": 1},
        "code_sha256": sha("print('Hello, world')"),
        "code_cell": code["id"],
    }
    assert code["metadata"][CODE_KEY] == {"form_cell": form["id"]}
    screenshot(page, "smart-cell-inserted", ".jp-Notebook")

    # Typing in the form rewrites the cell below (its editor shows it too).
    form_input(page, "name").fill("kino")
    wait_cells(page, lambda cs: cs[2]["source"] == "print('Hello, kino')", "the code after typing")
    editor = page.locator(".jp-Notebook .jp-Cell").nth(2).locator(".cm-content")
    page.wait_for_function(
        "el => el.textContent.includes(\"print('Hello, kino')\")",
        arg=editor.element_handle(),
        timeout=budget_ms(30_000),
    )
    times = form_input(page, "times")
    times.fill("2")
    times.press("Enter")
    two = "print('Hello, kino')\nprint('Hello, kino')"
    got = wait_cells(page, lambda cs: cs[2]["source"] == two, "the code after the number changed")
    assert got[1]["metadata"][FORM_KEY]["attrs"] == {"name": "kino", "times": 2}
    assert got[1]["metadata"][FORM_KEY]["code_sha256"] == sha(two)

    # A bad attribute: a message in the form, and the last good code stays.
    form_input(page, "name").fill("")
    page.locator(".jp-Notebook .kino-smartcell .kino-sc-error").first.wait_for(
        timeout=budget_ms(30_000)
    )
    assert cells(page)[2]["source"] == two
    form_input(page, "name").fill("kino")
    page.locator(".jp-Notebook .kino-smartcell .kino-sc-error").first.wait_for(
        state="detached", timeout=budget_ms(30_000)
    )

    run_cell(page, 2)
    assert output_text(cells(page)[2]) == "Hello, kino\nHello, kino\n"
    screenshot(page, "smart-cell-code-run", ".jp-Notebook")


def test_a_reopened_notebook_shows_the_form_and_a_rerun_restores_its_attributes(lab, page, browser):
    name, path = new_greeting_notebook(page, lab)
    form_input(page, "name").fill("saved")
    wait_cells(page, lambda cs: cs[2]["source"] == "print('Hello, saved')", "the code after typing")
    saved = save(page, path)
    meta = saved["cells"][1]["metadata"][FORM_KEY]
    assert meta["attrs"] == {"name": "saved", "times": 1}
    assert meta["code_sha256"] == sha("print('Hello, saved')")
    assert saved["cells"][2]["metadata"][CODE_KEY] == {"form_cell": saved["cells"][1]["id"]}
    shut_down_kernel(page)

    other = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    try:
        guard = guard_page(other, lab.base)
        open_notebook(other, lab, name)
        # The form comes back from the saved widget state, with its values; no kernel
        # is behind it, so it says so, and nothing was written.
        field = form_input(other, "name")
        field.wait_for(timeout=budget_ms(60_000))
        assert field.input_value() == "saved"
        assert field.is_disabled()
        assert other.locator(".jp-Notebook .kino-sc-banner").first.is_hidden()
        screenshot(other, "smart-cell-reopened", ".jp-Notebook")
        assert cells(other)[2]["source"] == "print('Hello, saved')"

        # Record every source the code cell takes from here on: the default code
        # must never be written, not even for a moment.
        other.evaluate(
            """() => { const cell = window.jupyterapp.shell.currentWidget.content.model
                .sharedModel.cells[2];
            window.__kinoSources = [];
            cell.changed.connect(() => window.__kinoSources.push(cell.getSource())); }"""
        )
        run_cell(other, 0)
        run_cell(other, 1)
        other.wait_for_function(
            """() => { const el = document.querySelector(
                '.jp-Notebook .kino-smartcell .kino-sc-form input[data-path="name"]');
            return el && !el.disabled && el.value === 'saved'; }""",
            timeout=budget_ms(60_000),
        )
        # A change after the restore still writes: the link works, and the queue of
        # writes is ordered, so a default write would have come before it.
        form_input(other, "name").fill("again")
        wait_cells(
            other, lambda cs: cs[2]["source"] == "print('Hello, again')", "the code after the rerun"
        )
        sources = other.evaluate("() => window.__kinoSources")
        assert "print('Hello, world')" not in sources, sources
        assert sources[-1] == "print('Hello, again')"
        assert len(cells(other)) == 3
        shut_down_kernel(other)
        assert guard.take() == []
    finally:
        other.context.close()
    forgive_debugger_cancellation(page)


def test_hand_edited_code_is_kept_and_can_become_plain_code(lab, page):
    new_greeting_notebook(page, lab)
    banner = page.locator(".jp-Notebook .kino-smartcell .kino-sc-banner")
    assert banner.is_hidden()

    # Typing in the code cell flips the form to "edited" at once.
    editor = page.locator(".jp-Notebook .jp-Cell").nth(2).locator(".cm-content")
    editor.click()
    page.keyboard.press("Control+End")
    page.keyboard.type("  # mine")
    banner.wait_for(state="visible", timeout=budget_ms(30_000))
    assert "edited by hand" in banner.inner_text()
    screenshot(page, "smart-cell-edited", ".jp-Notebook")

    # The form no longer overwrites it, but its attributes are still kept.
    form_input(page, "name").fill("form")
    wait_cells(
        page,
        lambda cs: cs[1]["metadata"][FORM_KEY]["attrs"]["name"] == "form",
        "the attributes kept while the code is edited",
    )
    assert cells(page)[2]["source"] == "print('Hello, world')  # mine"

    # Ctrl+Z in the editor undoes the typing only (the form's write is an undo step of
    # its own), back to exactly the code the form wrote: linked again, and the form writes.
    editor.click()
    page.keyboard.press("Control+z")
    wait_cells(page, lambda cs: cs[2]["source"] == "print('Hello, world')", "the typing undone")
    banner.wait_for(state="hidden", timeout=budget_ms(30_000))
    form_input(page, "name").fill("linked")
    wait_cells(
        page, lambda cs: cs[2]["source"] == "print('Hello, linked')", "the code once linked again"
    )

    # "Replace with the form's code" overwrites an edit.
    page.evaluate(
        """() => window.jupyterapp.shell.currentWidget.content.model.sharedModel.cells[2]
            .setSource("print('mine')")"""
    )
    banner.wait_for(state="visible", timeout=budget_ms(30_000))
    banner.get_by_role("button", name="Replace with the form's code").click()
    wait_cells(page, lambda cs: cs[2]["source"] == "print('Hello, linked')", "the form's code back")
    banner.wait_for(state="hidden", timeout=budget_ms(30_000))

    # Convert to plain code: the form cell goes, the code stays, unlinked.
    page.evaluate(
        """() => window.jupyterapp.shell.currentWidget.content.model.sharedModel.cells[2]
            .setSource("print('plain')")"""
    )
    banner.get_by_role("button", name="Convert to plain code").click()
    plain = wait_cells(page, lambda cs: len(cs) == 2, "the form cell removed")
    assert plain[1]["source"] == "print('plain')"
    assert CODE_KEY not in plain[1]["metadata"]
    assert page.locator(".jp-Notebook .kino-smartcell").count() == 0
    run_cell(page, 1)
    assert output_text(cells(page)[1]) == "plain\n"

    # One undo brings the form cell, its metadata and the link back.
    activate(page, 0)
    lab_command(page, "notebook:undo-cell-action")
    back = wait_cells(page, lambda cs: len(cs) == 3, "the form cell back after undo")
    assert back[1]["metadata"][FORM_KEY]["attrs"]["name"] == "linked"
    assert back[2]["metadata"][CODE_KEY] == {"form_cell": back[1]["id"]}
    page.locator(".jp-Notebook .kino-smartcell").first.wait_for(timeout=budget_ms(30_000))


def test_the_palette_picker_and_the_toolbar_menu_insert_a_smart_cell(lab, page):
    name = f"smart-menu-{uuid.uuid4().hex[:6]}.ipynb"
    write_notebook(lab, name, [GREETING])
    open_notebook(page, lab, name)
    run_all(page)
    activate(page, 0)

    # The palette: "Kino: Insert smart cell" asks which one.
    page.keyboard.press("Control+Shift+C")
    page.locator(".lm-CommandPalette-input").fill("Insert smart cell")
    items = page.locator(".lm-CommandPalette-item", has_text="Insert smart cell")
    labels = items.all_inner_texts()
    for title in [
        "Train a model",
        "Neural network task",
        "Chart builder",
        "Data transformation",
        "Data source",
    ]:
        assert any(title in label for label in labels), labels
    palette = page.locator(".lm-CommandPalette-content")
    palette.get_by_text("Kino: Insert smart cell", exact=True).click()
    dialog = page.locator(".jp-Dialog")
    dialog.wait_for(timeout=budget_ms(30_000))
    dialog.locator("select").select_option(label="Chart builder")
    screenshot(page, "smart-cell-picker", ".jp-Dialog-content")
    dialog.get_by_role("button", name="Ok").click()
    wait_cells(
        page,
        lambda cs: (
            len(cs) == 3
            and cs[1]["source"].endswith("kino.smart.chart_builder()")
            and cs[2]["source"] == "print('Hello, world')"
        ),
        "the picked smart cell and its code",
    )

    # The toolbar's "Smart cell" menu inserts below the active cell.
    activate(page, 2)
    page.locator(".jp-NotebookPanel-toolbar .kino-smart-cell-button").first.click()
    menu = page.locator(".kino-smart-cell-menu")
    menu.wait_for(timeout=budget_ms(30_000))
    screenshot(page, "smart-cell-toolbar-menu")
    menu.locator(".lm-Menu-item", has_text="Chart builder").click()
    wait_cells(
        page,
        lambda cs: (
            len(cs) == 5
            and cs[3]["source"].endswith("kino.smart.chart_builder()")
            and cs[4]["source"] == "print('Hello, world')"
        ),
        "a second smart cell below the first one's code",
    )
    assert page.locator(".jp-Notebook .kino-smartcell").count() == 2


def test_a_launcher_tile_opens_a_new_notebook_with_that_smart_cell(lab, page):
    name = f"smart-launcher-{uuid.uuid4().hex[:6]}.ipynb"
    write_notebook(lab, name, ["1 + 1"])
    open_notebook(page, lab, name)
    lab_command(page, "launcher:create")
    tiles = page.locator(".jp-Launcher-section", has=page.locator("h2", has_text="Kino")).last
    titles = [f"Smart cell · {title}" for _, title in SMART_CELL_LIST]
    for title in titles:
        tiles.locator(".jp-LauncherCard", has_text=title).wait_for(timeout=budget_ms(30_000))
    # Ranked after the curated notebooks: the smart cells are the section's last tiles.
    labels = tiles.locator(".jp-LauncherCard-label").all_inner_texts()
    assert labels[-len(titles) :] == titles, labels
    screenshot(page, "smart-cell-launcher", ".jp-Launcher-section:has(h2:text('Kino'))")
    tiles.locator(".jp-LauncherCard", has_text="Smart cell · Train a model").click()
    got = wait_cells(
        page,
        lambda cs: (
            len(cs) == 2
            and cs[0]["source"] == "import kino\nkino.smart.train_model()"
            and "from kino import train" in cs[1]["source"]
        ),
        "a new notebook with the Train a model smart cell and its code",
        timeout=180_000,
    )
    assert got[1]["metadata"][CODE_KEY] == {"form_cell": got[0]["id"]}
    assert page.evaluate("() => window.jupyterapp.shell.currentWidget.context.path") != name
    page.locator(".jp-Notebook .kino-smartcell .kino-sc-title", has_text="Train a model").wait_for(
        timeout=budget_ms(30_000)
    )


# The real smart cells, each inserted from the toolbar's menu in a notebook that has data.
DATA = """
import numpy as np
import polars as pl

sales = pl.DataFrame(
    {"region": ["north", "south", "north", "east"], "amount": [10.0, 20.5, 7.25, 3.0]}
)
rng = np.random.default_rng(0)
x_train = rng.normal(size=(64, 4)).astype("float32")
y_train = (x_train[:, 0] > 0).astype("int32")
"""
HOSTILE_NAME = '"); INJECTED = 1; #'
QUOTED_NAME = 'it\'s\n"new"'
HOSTILE = f"""
import polars as pl

hostile = pl.DataFrame({{{HOSTILE_NAME!r}: [1.0, 2.0, 3.0], {QUOTED_NAME!r}: ["a", "b", "a"]}})
"""

# kind: (form changes, a piece of the code they make, what running it shows: a selector
# in the code cell's output, or (check code, its printed output)).
REAL_CELLS = {
    "data_source": (
        [("select", "source", "kino.datasets")],
        "kino.datasets.penguins()",
        ("print(type(df).__name__, df.height > 0)", "DataFrame True\n"),
    ),
    "chart_builder": (
        [("select", "source", "sales"), ("select", "x", "region"), ("select", "y", "amount")],
        "alt.Chart(sales)",
        ".kino-chart-plot :is(svg, canvas)",
    ),
    "data_transform": (
        [("select", "source", "sales")],
        "result = sales",
        ("print(result.columns)", "['region', 'amount']\n"),
    ),
    "train_model": ([("number", "epochs", "2")], "epochs=2", ".kino-dash"),
    "neural_network_task": ([("fill", "text", "a guitar")], "a guitar", ".kino-models-text"),
}


def choose(page, path: str, label: str) -> None:
    """Pick the option of the form's select at ``path`` whose text is ``label`` (or
    ``label (…)``, as column and frame options read)."""
    picked = page.evaluate(
        """([path, label]) => {
            const sel = [...document.querySelectorAll('.jp-Notebook .kino-smartcell select')]
                .find(s => s.getAttribute('data-path') === path);
            if (!sel || sel.disabled) return false;
            const o = [...sel.options].find(o => o.textContent === label
                || o.textContent.startsWith(label + ' ('));
            if (!o) return false;
            sel.value = o.value;
            sel.dispatchEvent(new Event('change', { bubbles: true }));
            return true;
        }""",
        [path, label],
    )
    assert picked, f"no option {label!r} at {path!r}"


def change_form(page, changes: list[tuple[str, str, str]]) -> None:
    for action, path, value in changes:
        if action == "select":
            # The options come from the kernel: wait until this one is there.
            page.wait_for_function(
                """([path, label]) => [...document.querySelectorAll(
                    '.jp-Notebook .kino-smartcell select')].some(s =>
                    s.getAttribute('data-path') === path && !s.disabled && [...s.options].some(
                    o => o.textContent === label || o.textContent.startsWith(label + ' (')))""",
                arg=[path, value],
                timeout=budget_ms(30_000),
            )
            choose(page, path, value)
        elif action == "number":
            field = form_input(page, path)
            field.fill(value)
            field.press("Enter")
        else:
            form_input(page, path).fill(value)


def run_check(page, after: int, code: str) -> str:
    """Insert ``code`` as a cell after cell ``after``, run it and return what it printed."""
    page.evaluate(
        """([i, code]) => window.jupyterapp.shell.currentWidget.content.model.sharedModel
            .insertCell(i, { cell_type: 'code', source: code })""",
        [after + 1, code],
    )
    run_cell(page, after + 1)
    outputs = cells(page)[after + 1]["outputs"]
    errors = [f"{o['ename']}: {o['evalue']}" for o in outputs if o["output_type"] == "error"]
    assert not errors, errors
    return output_text(cells(page)[after + 1])


def insert_from_toolbar(page, title: str) -> None:
    page.locator(".jp-NotebookPanel-toolbar .kino-smart-cell-button").first.click()
    page.locator(".kino-smart-cell-menu .lm-Menu-item", has_text=title).click()


@pytest.mark.parametrize("kind", list(REAL_CELLS))
def test_each_smart_cell_inserts_writes_its_code_and_runs(lab, page, kind):
    changes, expected, shows = REAL_CELLS[kind]
    title = dict(SMART_CELL_LIST)[kind]
    name = f"smart-{kind}-{uuid.uuid4().hex[:6]}.ipynb"
    write_notebook(lab, name, [DATA])
    open_notebook(page, lab, name)
    run_all(page)
    activate(page, 0)
    insert_from_toolbar(page, title)
    page.locator(".jp-Notebook .kino-smartcell .kino-sc-title", has_text=title).wait_for(
        timeout=budget_ms(120_000)
    )
    wait_cells(page, lambda cs: len(cs) >= 2 and cs[1]["outputs"], "the form cell run")
    change_form(page, changes)
    got = wait_cells(
        page,
        lambda cs: len(cs) == 3 and expected in cs[2]["source"],
        f"the {kind} code with {expected!r}",
        timeout=120_000,
    )
    assert got[2]["metadata"][CODE_KEY] == {"form_cell": got[1]["id"]}
    assert got[1]["metadata"][FORM_KEY]["code_sha256"] == sha(got[2]["source"])
    run_cell(page, 2)
    assert not [o for o in cells(page)[2]["outputs"] if o["output_type"] == "error"]
    if isinstance(shows, str):
        output = page.locator(".jp-Notebook .jp-Cell").nth(2).locator(".jp-Cell-outputArea")
        output.locator(shows).first.wait_for(timeout=budget_ms(180_000))
    else:
        check, printed = shows
        assert run_check(page, 2, check) == printed
    screenshot(page, f"smart-cell-{kind}", ".jp-Notebook")


@pytest.mark.parametrize("kind", ["data_transform", "chart_builder"])
def test_a_hostile_column_name_stays_a_column_name(lab, page, kind):
    name = f"smart-hostile-{kind}-{uuid.uuid4().hex[:6]}.ipynb"
    write_notebook(lab, name, [HOSTILE])
    open_notebook(page, lab, name)
    run_all(page)
    activate(page, 0)
    lab_command(page, "kino:insert-smart-cell", {"kind": kind})
    page.locator(".jp-Notebook .kino-smartcell .kino-sc-form").first.wait_for(
        timeout=budget_ms(120_000)
    )
    if kind == "data_transform":
        change_form(page, [("select", "source", "hostile")])
        add = page.locator('.jp-Notebook .kino-smartcell [data-path="steps:add"]')
        add.wait_for(timeout=budget_ms(30_000))
        add.click()
        change_form(
            page,
            [
                ("select", "steps.0.column", HOSTILE_NAME),
                ("select", "steps.0.operator", ">"),
                ("fill", "steps.0.value", "1"),
            ],
        )
        wait_cells(
            page,
            lambda cs: len(cs) == 3 and ".filter(" in cs[2]["source"] and "> 1" in cs[2]["source"],
            "the filter on the hostile column",
            timeout=120_000,
        )
        run_cell(page, 2)
        check = "print(result.height, result.columns == hostile.columns, 'INJECTED' in globals())"
        assert run_check(page, 2, check) == "2 True False\n"
    else:
        change_form(
            page,
            [
                ("select", "source", "hostile"),
                ("select", "x", HOSTILE_NAME),
                ("select", "y", QUOTED_NAME),
            ],
        )
        wait_cells(
            page,
            lambda cs: (
                len(cs) == 3 and "x=alt.X(" in cs[2]["source"] and "y=alt.Y(" in cs[2]["source"]
            ),
            "the chart of the hostile columns",
            timeout=120_000,
        )
        run_cell(page, 2)
        output = page.locator(".jp-Notebook .jp-Cell").nth(2).locator(".jp-Cell-outputArea")
        output.locator(".kino-chart-plot :is(svg, canvas)").first.wait_for(
            timeout=budget_ms(120_000)
        )
        check = (
            "encoding = chart.to_dict()['encoding']\n"
            f"print(encoding['x']['title'] == {HOSTILE_NAME!r},"
            # The title keeps the name on one line (Vega parses titles in expressions).
            f" encoding['y']['title'] == {QUOTED_NAME.replace(chr(10), ' ')!r},"
            " chart.data.height, 'INJECTED' in globals())"
        )
        assert run_check(page, 2, check) == "True True 3 False\n"
    code = cells(page)[2]["source"]
    compile(code, "<smart cell>", "exec")
    screenshot(page, f"smart-cell-hostile-{kind}", ".jp-Notebook")


def test_the_curated_smart_cells_notebook_runs_and_stays_as_written(lab, page):
    # Its code cells were written by the forms' generators: run in JupyterLab, every
    # form is linked to its code and the plugin changes no cell.
    name = "11-smart-cells.ipynb"
    written = json.loads((lab.root / name).read_text())["cells"]
    open_notebook(page, lab, name)
    run_all(page, timeout=600_000)
    forms = [c for c in written if FORM_KEY in c["metadata"]]
    status = page.locator(
        ".jp-Notebook .kino-smartcell .kino-sc-status", has_text="Code in the cell below"
    )
    status.nth(len(forms) - 1).wait_for(timeout=budget_ms(120_000))
    assert page.locator(".jp-Notebook .kino-smartcell .kino-sc-banner:visible").count() == 0
    now = cells(page)
    assert len(now) == len(written)
    for before, after in zip(written, now, strict=True):
        # A linked code cell that changed means its form's generator no longer writes
        # what the notebook holds: regenerate the notebook (tests/smart).
        assert after["source"] == "".join(before["source"]), f"cell {before['id']} was rewritten"
    for before, after in zip(written, now, strict=True):
        for key in (FORM_KEY, CODE_KEY):
            assert after["metadata"].get(key) == before["metadata"].get(key), before["id"]


def test_a_second_form_in_one_cell_shows_its_code_and_leaves_the_first_ones_alone(lab, page):
    name = f"smart-{uuid.uuid4().hex[:6]}.ipynb"
    two = "display(kino.smart.chart_builder())\ndisplay(kino.smart.chart_builder())"
    write_notebook(lab, name, [GREETING, two])
    open_notebook(page, lab, name)
    run_cell(page, 0)
    run_cell(page, 1)  # not Run All: it would wait for the code cell the form inserts
    wait_cells(
        page,
        lambda cs: len(cs) == 3 and cs[2]["source"] == "print('Hello, world')",
        "the first form's code in the cell below",
    )
    hosted = page.locator(".jp-Notebook .kino-smartcell.kino-sc-hosted")
    second = page.locator(".jp-Notebook .kino-smartcell.kino-sc-standalone")
    second.locator(".kino-sc-copy").wait_for(timeout=budget_ms(30_000))
    assert hosted.count() == 1 and second.count() == 1
    assert "already shows a smart cell" in second.locator(".kino-sc-note").inner_text()
    form_cell = cells(page)[1]

    # The second form's changes show in its own code, never in the first one's cells.
    second.locator('.kino-sc-form input[data-path="name"]').fill("other")
    second.locator(".kino-sc-code", has_text="Hello, other").wait_for(timeout=budget_ms(30_000))
    hosted.locator('.kino-sc-form input[data-path="name"]').fill("kino")
    kino_code = "print('Hello, kino')"
    now = wait_cells(page, lambda cs: cs[2]["source"] == kino_code, "the first form's code")
    assert now[1]["metadata"][FORM_KEY]["attrs"] == {"name": "kino", "times": 1}
    assert now[1]["metadata"][FORM_KEY]["code_cell"] == form_cell["metadata"][FORM_KEY]["code_cell"]
    assert len(now) == 3
    second.scroll_into_view_if_needed()
    screenshot(page, "smart-cell-two-forms", ".jp-Notebook .kino-smartcell.kino-sc-standalone")
