"""The smart-cell form (kino.ui.smart.SmartCell's view) in real Chromium: the fields drawn
from the schema, changes reaching the kernel, errors beside their field; in Voila (no
plugin) the code with a Copy button."""

from __future__ import annotations

import json

from tests.browser.harness import run_notebook, screenshot, wait_until, write_notebook
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


def test_the_form_draws_its_fields_and_changes_reach_the_kernel(lab, page):
    write_notebook(lab, "smart-view.ipynb", [GREETER])
    run_notebook(page, lab, "smart-view.ipynb")
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

    form.locator(".kino-sc-add").click()
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
    until(
        lambda s: [step["op"] for step in s["attrs"]["steps"]] == ["repeat", "upper"],
        "the repeat step moved up",
    )

    name = field("name").locator("input")
    name.fill("class")
    bad = field("name").locator(".kino-sc-error")
    bad.wait_for()
    assert bad.text_content() == "'class' is not a variable name"
    state = until(lambda s: s["error_field"] == "name", "the name's error in the kernel")
    assert state["code"].startswith("greeting = ")  # the last good code stays
    assert name.input_value() == "class"  # the redraw kept what was typed
    page.set_viewport_size({"width": 1100, "height": 900})
    screenshot(page, "smart-view-lab", ".kino-smartcell")


def test_in_voila_the_code_shows_with_a_copy_button(voila, voila_page):
    write_notebook(voila, "smart-view-voila.ipynb", [GREETER])
    voila_page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=voila.base)
    voila_page.goto(voila.url("voila/render/smart-view-voila.ipynb"))
    code = voila_page.locator(".kino-smartcell .kino-sc-code pre")
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
