"""The smart-cell form (kino.ui.smart.SmartCell's view) in real Chromium: the fields drawn
from the schema, changes reaching the kernel, errors beside their field; in Voila (no
plugin) the code with a Copy button."""

from __future__ import annotations

import json

from tests.browser.harness import (
    lab_command,
    open_notebook,
    screenshot,
    set_theme,
    shut_down_kernel,
    wait_until,
    widget_state_of,
    write_notebook,
)
from tests.conftest import budget_ms

GREETER = """
import json, keyword, pathlib
from kino.ui.smart import AttrError, SmartCell

class Greeter(SmartCell):
    kind, title = "greeter", "Greeter"

    def defaults(self):
        return {"name": "greeting", "text": "hello", "mark": "!", "times": 1, "shout": False,
                "steps": [{"op": "upper", "count": 2}]}

    def form(self, attrs):
        return [
            {"name": "name", "label": "Variable", "type": "text"},
            {"name": "text", "label": "Text", "type": "text", "placeholder": "what to say"},
            {"name": "mark", "label": "Ending", "type": "select",
             "options": [["!", "Exclaim (!)"], ["?", "Ask (?)"], [".", "State (.)"]]},
            {"name": "times", "label": "Times", "type": "number", "min": 1, "max": 5,
             "integer": True, "help": "How often to say it"},
            {"name": "shout", "label": "Shout", "type": "checkbox"},
            {"name": "steps", "label": "Steps", "type": "list", "add_label": "Add step",
             "item": {"op": "upper", "count": 2},
             "fields": [
                 {"name": "op", "label": "Operation", "type": "select",
                  "options": [["upper", "Upper case"], ["repeat", "Repeat"]]},
                 {"name": "count", "label": "Count", "type": "number", "integer": True,
                  "when": {"op": ["repeat"]}},
             ]},
        ]

    def generate(self, attrs):
        name = attrs["name"]
        if not name.isidentifier() or keyword.iskeyword(name):
            raise AttrError("name", f"{name!r} is not a variable name")
        lines = [f"{name} = {attrs['text']!r} * {attrs['times']!r}"]
        for i, step in enumerate(attrs["steps"]):
            if step["op"] == "upper":
                lines.append(f"{name} = {name}.upper()")
            elif not isinstance(step.get("count"), int) or step["count"] < 1:
                raise AttrError(f"steps.{i}.count", "must be a whole number of at least 1")
            else:
                lines.append(f"{name} = {name} * {step['count']!r}")
        lines.append(f"print({name} + {attrs['mark']!r})")
        return "\\n".join(lines)

cell = Greeter()
def dump(_change=None):
    pathlib.Path("greeter-state.json").write_text(json.dumps(
        {"attrs": cell.attrs, "code": cell.code, "error": cell.error,
         "error_field": cell.error_field}))
cell.observe(dump, names=["attrs", "code", "error"])
cell
"""


LOADER = """
from kino.ui.smart import SmartCell

class Loader(SmartCell):
    kind, title = "loader", "Load a file"
    def defaults(self):
        return {"path": ""}
    def form(self, attrs):
        return [{"name": "path", "label": "File", "type": "upload", "accept": ".csv"}]
    def generate(self, attrs):
        return f"text = open({attrs['path']!r}).read()"

Loader()
"""

PREVIEWED = """
import polars as pl
from kino.ui.smart import AttrError, SmartCell

frame = pl.DataFrame({"city": ["Oslo", "Lima", "Pune"], "people": [0.7, 10.0, 7.4]})

class Top(SmartCell):
    kind, title = "top", "Top rows"
    def defaults(self):
        return {"rows": 2}
    def form(self, attrs):
        return [{"name": "rows", "label": "Rows", "type": "number", "integer": True}]
    def generate(self, attrs):
        if not isinstance(attrs["rows"], int) or attrs["rows"] < 1:
            raise AttrError("rows", "must be at least 1")
        return f"frame.head({attrs['rows']!r})"
    def preview(self, attrs):
        import kino
        return kino.table(frame.head(attrs["rows"]))

Top()
"""

# A title and labels that are markup: they must show as text. Were they parsed, the image
# would request /x from the server (a 404: a console error the page guard fails on).
MARKUP = '<img src=x onerror="window.__pwned = 1">'
HOSTILE = f"""
from kino.ui.smart import SmartCell

class Hostile(SmartCell):
    kind, title = "hostile", {MARKUP!r}
    def defaults(self):
        return {{"pick": "a"}}
    def form(self, attrs):
        return [{{"name": "pick", "label": {MARKUP!r}, "type": "select",
                  "options": [["a", {MARKUP!r}], ["b", "b"]]}}]
    def generate(self, attrs):
        if attrs["pick"] == "b":
            raise ValueError("b is not ready")
        return f"pick = {{attrs['pick']!r}}"

Hostile()
"""

# A stand-in for kino's JupyterLab plugin: claims every smart cell and records calls.
FAKE_HOST = """
window.__smart = { calls: [] };
document.addEventListener("kino:smart-cell", (event) => {
  const bridge = event.detail.bridge;
  const host = { bridge, listeners: [] };
  window.__smart[bridge.kind] = host;  // views render in any order: found by kind
  event.detail.claim({
    onStatus(fn) { host.listeners.push(fn); return () => {}; },
    convertToPlainCode() { window.__smart.calls.push(`convert ${bridge.kind}`); },
    overwrite() { window.__smart.calls.push(`overwrite ${bridge.kind}`); },
  });
});
"""


def kernel_state(root, predicate):
    """Wait until the kernel's dump of the cell (greeter-state.json) satisfies ``predicate``."""
    path = root / "greeter-state.json"

    def read():
        try:
            state = json.loads(path.read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return None
        return state if predicate(state) else None

    return read


def run_form_cell(page, lab, name: str) -> None:
    """Open ``name`` and run its first cell, the form's: kino's plugin may add the code
    cell below, which a Run All started before it existed would wait for in vain."""
    open_notebook(page, lab, name)
    lab_command(page, "notebook:run-cell")
    page.locator(".jp-Notebook .kino-smartcell").first.wait_for(timeout=budget_ms(120_000))


def test_the_form_draws_its_fields_and_changes_reach_the_kernel(lab, page):
    write_notebook(lab, "smart-view.ipynb", [GREETER])
    run_form_cell(page, lab, "smart-view.ipynb")
    form = page.locator(".kino-smartcell").first
    form.wait_for()
    assert form.locator(".kino-sc-title").text_content() == "Greeter"
    labels = form.locator(".kino-sc-form > .kino-sc-field > .kino-sc-label, .kino-sc-check label")
    assert labels.all_text_contents()[:6] == [
        "Variable", "Text", "Ending", "Times", "Shout", "Steps",
    ]  # fmt: skip
    field = lambda path: form.locator(f'.kino-sc-field[data-path="{path}"]')  # noqa: E731
    assert field("text").locator("input").input_value() == "hello"
    assert field("steps.0.op").locator("select").input_value() == "0"
    assert field("steps.0.count").count() == 0  # shown only when op is "repeat"

    def until(predicate, what):
        return wait_until(page, kernel_state(lab.root, predicate), what)

    field("mark").locator("select").select_option(label="Ask (?)")
    until(lambda s: s["attrs"]["mark"] == "?" and s["code"].endswith("+ '?')"), "mark '?'")
    field("text").locator("input").fill('hi "there"')
    until(lambda s: "'hi \"there\"' * 1" in s["code"], "the typed text in the code")
    field("shout").locator("input").check()
    until(lambda s: s["attrs"]["shout"] is True, "shout checked")

    focused = "() => document.activeElement.getAttribute('data-path')"
    form.locator(".kino-sc-add").click()
    assert page.evaluate(focused) == "steps.1.op"  # the new item's first control
    field("steps.1.op").locator("select").select_option(label="Repeat")
    field("steps.1.count").wait_for()
    count = field("steps.1.count").locator("input")
    count.fill("0")
    count.press("Tab")
    error = field("steps.1.count").locator(".kino-sc-error")
    error.wait_for()
    assert error.text_content() == "must be a whole number of at least 1"
    count.fill("3")
    count.press("Enter")
    until(lambda s: s["code"].count("greeting * 3") == 1 and not s["error"], "a repeat step")
    form.locator('.kino-sc-item[data-path="steps.0"] [aria-label="Move down"]').click()
    assert page.evaluate(focused) == "steps.1:up"  # the moved item, now last: its other move
    until(
        lambda s: [step["op"] for step in s["attrs"]["steps"]] == ["repeat", "upper"],
        "the repeat step moved up",
    )

    name = field("name").locator("input")
    name.fill("class")
    bad = field("name").locator(".kino-sc-error")
    bad.wait_for()
    assert page.evaluate(focused) == "name"  # the redraw with the error kept the focus
    assert bad.text_content() == "'class' is not a variable name"
    state = until(lambda s: s["error_field"] == "name", "the name's error in the kernel")
    assert state["code"].startswith("greeting = ")  # the last good code stays
    assert name.input_value() == "class"  # the redraw kept what was typed
    page.set_viewport_size({"width": 1100, "height": 900})
    screenshot(page, "smart-view-lab", ".kino-smartcell")
    try:  # the theme is the server's setting: put it back for the other tests
        set_theme(page, "dark")
        screenshot(page, "smart-view-lab-dark", ".kino-smartcell")
    finally:
        set_theme(page, "light")


def test_a_reopened_form_shows_its_values_disabled_until_the_cell_runs(lab, page):
    path = write_notebook(lab, "smart-reopen.ipynb", [GREETER])
    run_form_cell(page, lab, "smart-reopen.ipynb")
    form = page.locator(".kino-smartcell").first
    form.locator('.kino-sc-field[data-path="text"] input').fill("kept in the file")
    wait_until(
        page,
        kernel_state(lab.root, lambda s: s["attrs"]["text"] == "kept in the file"),
        "the typed text in the kernel",
    )

    def saved():
        models = widget_state_of(path).get("state", {}).values()
        return any(m["state"].get("attrs", {}).get("text") == "kept in the file" for m in models)

    # One save, then wait for the file: a save still running as the kernel shuts down
    # could write the notebook again without the state.
    lab_command(page, "docmanager:save")
    wait_until(page, saved, "the form's attributes in the saved widget state")
    page.wait_for_function("() => !window.jupyterapp.shell.currentWidget.context.model.dirty")
    shut_down_kernel(page)
    open_notebook(page, lab, "smart-reopen.ipynb")
    form = page.locator(".kino-smartcell").first
    text = form.locator('.kino-sc-field[data-path="text"] input')
    text.wait_for()
    assert text.input_value() == "kept in the file"
    page.wait_for_selector(".jp-Notebook .kino.jupyter-widgets-disconnected")
    notes = page.evaluate(
        """() => [...document.querySelectorAll('.jp-Notebook .jp-OutputArea-output')]
            .map(el => getComputedStyle(el, '::after').content)
            .filter(content => content.includes('run the cell again'))"""
    )
    assert notes == ['"Saved output: run the cell again to use these controls."'], notes
    assert form.locator("input, select, button.kino-sc-add").evaluate_all(
        "els => els.every(el => el.disabled)"
    )
    screenshot(page, "smart-view-reopened", ".jp-Notebook .jp-Cell-outputArea")
    page.locator(".jp-Notebook .jp-Cell").first.click()
    lab_command(page, "notebook:run-cell")
    page.wait_for_function(
        "() => !document.querySelector('.jp-Notebook .kino.jupyter-widgets-disconnected')",
        timeout=budget_ms(120_000),
    )
    text.wait_for()
    assert not text.is_disabled()


def test_in_voila_the_code_shows_with_a_copy_button(voila, voila_page):
    write_notebook(voila, "smart-view-voila.ipynb", [GREETER, LOADER])
    voila_page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=voila.base)
    voila_page.goto(voila.url("voila/render/smart-view-voila.ipynb"))
    code = voila_page.locator(".kino-smartcell .kino-sc-code pre").first
    code.wait_for(timeout=budget_ms(120_000))
    assert (
        code.text_content()
        == "greeting = 'hello' * 1\ngreeting = greeting.upper()\nprint(greeting + '!')"
    )
    form = voila_page.locator(".kino-smartcell").first
    form.locator('.kino-sc-field[data-path="mark"] select').select_option(label="State (.)")
    voila_page.wait_for_function(
        "() => document.querySelector('.kino-sc-code pre').textContent.endsWith(\"+ '.')\")"
    )
    copy = form.locator(".kino-sc-copy")
    copy.click()
    voila_page.locator(".kino-sc-copy", has_text="Copied").wait_for()
    copied = voila_page.evaluate("() => navigator.clipboard.readText()")
    assert copied == code.text_content() and copied.endswith("print(greeting + '.')")
    screenshot(voila_page, "smart-view-voila", ".kino-smartcell")


def test_in_voila_an_uploaded_file_lands_under_uploads(voila, voila_page, tmp_path):
    write_notebook(voila, "smart-upload.ipynb", [LOADER])
    voila_page.goto(voila.url("voila/render/smart-upload.ipynb"))
    form = voila_page.locator(".kino-smartcell").first
    form.locator(".kino-sc-code pre").wait_for(timeout=budget_ms(120_000))
    picked = tmp_path / "my data (1).csv"
    body = "a,b\n" + "1,2\n" * 20_000
    picked.write_text(body)
    form.locator("input[type=file]").set_input_files(str(picked))
    form.locator(".kino-sc-code pre", has_text="uploads/my_data_1_.csv").wait_for()
    assert form.locator(".kino-sc-code pre").text_content() == (
        "text = open('uploads/my_data_1_.csv').read()"
    )
    assert form.locator(".kino-sc-upload-status").text_content() == "uploads/my_data_1_.csv"
    assert (voila.root / "uploads" / "my_data_1_.csv").read_text() == body


LIMITED = LOADER.replace(
    "Loader()", 'cell = Loader()\ncell.set_trait("max_upload_bytes", 1024)\ncell'
)


def test_a_file_above_the_limit_is_refused_beside_its_field(voila, voila_page, tmp_path):
    write_notebook(voila, "smart-upload-limit.ipynb", [LIMITED])
    voila_page.goto(voila.url("voila/render/smart-upload-limit.ipynb"))
    form = voila_page.locator(".kino-smartcell").first
    form.locator(".kino-sc-code pre").wait_for(timeout=budget_ms(120_000))
    picked = tmp_path / "big.csv"
    picked.write_text("x" * 1536)
    form.locator("input[type=file]").set_input_files(str(picked))
    error = form.locator('.kino-sc-field[data-path="path"] .kino-sc-error')
    error.wait_for()
    assert error.text_content() == "the file is 1.5 KB; the largest upload is 1 KB"
    assert not (voila.root / "uploads" / "big.csv").exists()
    assert form.locator(".kino-sc-code pre").text_content() == "text = open('').read()"


def test_in_voila_the_preview_sits_under_the_form_and_follows_it(voila, voila_page):
    write_notebook(voila, "smart-preview.ipynb", [PREVIEWED])
    voila_page.goto(voila.url("voila/render/smart-preview.ipynb"))
    box = voila_page.locator(".kino-smartcell-box").first
    table = box.locator(".kino-table")
    table.wait_for(timeout=budget_ms(120_000))
    voila_page.wait_for_function(
        "() => document.querySelector('.kino-smartcell-box').innerText.includes('Lima')"
    )
    assert "Pune" not in box.inner_text()
    rows = box.locator('.kino-sc-field[data-path="rows"] input')
    rows.fill("3")
    rows.press("Enter")
    voila_page.wait_for_function(
        "() => document.querySelector('.kino-smartcell-box').innerText.includes('Pune')"
    )
    # One output: the form above, its preview below.
    form_box, table_box = box.locator(".kino-smartcell").bounding_box(), table.bounding_box()
    assert form_box["y"] + form_box["height"] <= table_box["y"]
    screenshot(voila_page, "smart-view-preview", ".kino-smartcell-box")


def test_a_host_that_claims_the_cell_gets_the_bridge_and_drives_the_banner(voila, voila_page):
    write_notebook(voila, "smart-host.ipynb", [GREETER, HOSTILE])
    voila_page.add_init_script(FAKE_HOST)
    voila_page.goto(voila.url("voila/render/smart-host.ipynb"))
    forms = voila_page.locator(".kino-smartcell")
    form = forms.first
    form.locator(".kino-sc-status", has_text="Code in the cell below").wait_for(
        timeout=budget_ms(120_000)
    )
    hostile = forms.nth(1)
    hostile.locator(".kino-sc-status", has_text="Code in the cell below").wait_for()
    assert voila_page.locator(".kino-sc-code").count() == 0  # hosted: no code panel
    assert voila_page.evaluate(
        """() => { const b = window.__smart.greeter.bridge;
                   return [b.kind, b.version, b.title, b.live(), b.error(), b.attrs().mark]; }"""
    ) == ["greeter", 1, "Greeter", True, "", "!"]
    # The host sets attributes through the bridge (as on reopening); the kernel answers.
    voila_page.evaluate(
        """() => { const b = window.__smart.greeter.bridge;
                   window.__smart.changes = 0;
                   b.onChange(() => window.__smart.changes++);
                   b.setAttrs({ ...b.attrs(), mark: "?" }); }"""
    )
    voila_page.wait_for_function(
        "() => window.__smart.greeter.bridge.code().endsWith(\"+ '?')\")"
        " && window.__smart.changes > 0"
    )
    assert form.locator('.kino-sc-field[data-path="mark"] select').input_value() == "1"

    voila_page.evaluate("() => window.__smart.greeter.listeners[0]({ state: 'edited' })")
    banner = form.locator(".kino-sc-banner")
    banner.wait_for()
    assert banner.locator(".kino-sc-banner-text").text_content() == (
        "The code below was edited by hand"
    )
    screenshot(voila_page, "smart-view-edited", ".kino-smartcell")
    banner.get_by_role("button", name="Convert to plain code").click()
    banner.get_by_role("button", name="Replace with the form's code").click()
    calls = voila_page.evaluate("() => window.__smart.calls")
    assert calls == ["convert greeter", "overwrite greeter"]
    voila_page.evaluate("() => window.__smart.greeter.listeners[0]({ state: 'linked' })")
    banner.wait_for(state="hidden")

    assert hostile.locator(".kino-sc-title").text_content() == MARKUP
    assert hostile.locator(".kino-sc-label").text_content() == MARKUP
    assert hostile.locator("option").first.text_content() == MARKUP
    assert hostile.locator("img").count() == 0
    assert voila_page.evaluate("() => window.__pwned") is None

    # A cell's own bug is one readable line at the top of its form; the code stays.
    hostile.locator("select").select_option(label="b")
    failure = hostile.locator(".kino-sc-form-error")
    failure.wait_for()
    assert failure.text_content() == "ValueError: b is not ready"
    assert voila_page.evaluate("() => window.__smart.hostile.bridge.code()") == "pick = 'a'"


# No Clipboard API (an insecure origin, an old browser): Copy selects a textarea and
# asks execCommand("copy"); record what was selected when it did.
NO_CLIPBOARD = """
Object.defineProperty(Navigator.prototype, "clipboard", { get: () => undefined });
window.__copied = [];
const execCommand = document.execCommand.bind(document);
document.execCommand = (command, ...rest) => {
  const el = document.activeElement;
  window.__copied.push([command, el.value.slice(el.selectionStart, el.selectionEnd)]);
  return execCommand(command, ...rest);
};
"""


def test_copy_falls_back_to_a_selected_textarea(voila, voila_page):
    write_notebook(voila, "smart-copy-fallback.ipynb", [LOADER])
    voila_page.add_init_script(NO_CLIPBOARD)
    voila_page.goto(voila.url("voila/render/smart-copy-fallback.ipynb"))
    form = voila_page.locator(".kino-smartcell").first
    form.locator(".kino-sc-code pre").wait_for(timeout=budget_ms(120_000))
    form.locator(".kino-sc-copy").click()
    form.locator(".kino-sc-copy", has_text="Copied").wait_for()
    assert voila_page.evaluate("() => window.__copied") == [["copy", "text = open('').read()"]]
    assert voila_page.locator(".kino-sc-copy-buffer").count() == 0  # the textarea is gone
