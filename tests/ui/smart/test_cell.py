"""kino.ui.smart.SmartCell: attributes -> fields, code and error, previews, refresh after a
cell runs, unknown attributes, uploads."""

from __future__ import annotations

import keyword
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kino.ui.smart import AttrError, SmartCell
from kino.ui.smart.live import refresh_all, tracked
from kino.ui.smart.upload import MAX_UPLOAD_BYTES, UPLOAD_DIR, Uploads, safe_name


class Assign(SmartCell):
    """A tiny smart cell: ``<name> = <value>``; the name must be an identifier."""

    kind, title = "assign", "Assign"

    def defaults(self):
        return {"name": "x", "value": "hello", "upper": False}

    def form(self, attrs):
        return [
            {"name": "name", "label": "Variable", "type": "text"},
            {"name": "value", "label": "Value", "type": "text"},
            {"name": "upper", "label": "Upper case", "type": "checkbox"},
        ]

    def generate(self, attrs):
        name = attrs["name"]
        if not name.isidentifier() or keyword.iskeyword(name):
            raise AttrError("name", f"{name!r} is not a Python variable name")
        value = attrs["value"].upper() if attrs["upper"] else attrs["value"]
        return f"{name} = {value!r}"


def front_end_sets(widget, **state):
    """What the page does: an update message through the comm."""
    widget._handle_msg(
        {
            "content": {"data": {"method": "update", "state": state, "buffer_paths": []}},
            "buffers": [],
        }
    )


def front_end_sends(widget, content, buffers=()):
    """A custom message from the view (``model.send``)."""
    widget._handle_msg(
        {"content": {"data": {"method": "custom", "content": content}}, "buffers": list(buffers)}
    )


def test_attrs_from_the_page_give_fields_and_code(comm_log):
    cell = Assign()
    assert cell.code == "x = 'hello'"
    assert [f["name"] for f in cell.fields] == ["name", "value", "upper"]
    assert (cell.smart_kind, cell.smart_title, cell.smart_version) == ("assign", "Assign", 1)
    front_end_sets(cell, attrs={"name": "greeting", "value": "hi", "upper": True})
    assert cell.code == "greeting = 'HI'"
    assert comm_log.updates("code")[-1].state["code"] == "greeting = 'HI'"


def test_a_bad_attribute_keeps_the_last_good_code_and_names_the_field(comm_log):
    cell = Assign(name="total")
    front_end_sets(cell, attrs={**cell.attrs, "name": "class"})
    assert cell.code == "total = 'hello'"
    assert (cell.error_field, cell.error) == ("name", "'class' is not a Python variable name")
    front_end_sets(cell, attrs={**cell.attrs, "name": "klass"})
    assert (cell.code, cell.error, cell.error_field) == ("klass = 'hello'", "", "")


def test_generated_code_runs_and_keeps_any_text_as_data(comm_log):
    cell = Assign(value='"); import os; #')
    namespace: dict = {}
    exec(cell.code, namespace)
    assert namespace["x"] == '"); import os; #'


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(value=st.text(max_size=40), upper=st.booleans())
def test_any_value_round_trips_through_the_code(comm_log, value, upper):
    cell = Assign(value=value, upper=upper)
    namespace: dict = {}
    exec(cell.code, namespace)
    assert namespace["x"] == (value.upper() if upper else value)
    cell.close()


def test_unknown_attribute_is_refused_with_the_allowed_ones(comm_log):
    with pytest.raises(TypeError) as raised:
        Assign(nmae="y")
    assert str(raised.value) == (
        "Assign: 'nmae' must be one of its attributes ('name', 'value', 'upper'), got str: 'y'"
    )


class Broken(Assign):
    kind = "broken"
    fail_in = "form"

    def form(self, attrs):
        if self.fail_in == "form":
            raise KeyError("df")
        return super().form(attrs)

    def generate(self, attrs):
        if self.fail_in == "generate":
            raise ZeroDivisionError("division by zero")
        return super().generate(attrs)


@pytest.mark.parametrize(
    ("where", "message"),
    [("form", "KeyError: 'df'"), ("generate", "ZeroDivisionError: division by zero")],
)
def test_a_failing_form_or_generate_is_a_message_not_a_traceback(comm_log, where, message):
    Broken.fail_in = None
    cell = Broken()
    Broken.fail_in = where
    front_end_sets(cell, attrs={**cell.attrs, "value": "bye"})
    assert (cell.error, cell.error_field) == (message, "")
    assert cell.code == "x = 'hello'"


class Shout(Assign):
    """A cell with a preview: the value, shouted."""

    kind = "shout"

    def preview(self, attrs):
        if attrs["value"] == "boom":
            raise RuntimeError("cannot preview boom")
        return f"preview: {attrs['value']}!" if attrs["value"] else None


def test_the_preview_is_under_the_form_and_follows_each_good_refresh(comm_log):
    cell = Shout(value="one")
    bundle = cell._repr_mimebundle_()
    bundle = bundle[0] if isinstance(bundle, tuple) else bundle
    box_id = bundle["application/vnd.jupyter.widget-view+json"]["model_id"]
    assert box_id == cell._box.model_id and list(cell._box.children) == [cell, cell.preview_frame]
    assert [w.value for w in cell.preview_frame.items] == ["preview: one!"]
    front_end_sets(cell, attrs={**cell.attrs, "value": "two"})
    assert [w.value for w in cell.preview_frame.items] == ["preview: two!"]
    front_end_sets(cell, attrs={**cell.attrs, "name": "1x"})  # bad attr: preview unchanged
    assert [w.value for w in cell.preview_frame.items] == ["preview: two!"]
    front_end_sets(cell, attrs={**cell.attrs, "name": "x", "value": "boom"})
    assert cell.error == "Preview failed: RuntimeError: cannot preview boom"
    front_end_sets(cell, attrs={**cell.attrs, "value": ""})
    assert cell.preview_frame.items == [] and cell.error == ""


def test_a_cell_without_preview_displays_itself(comm_log):
    cell = Assign()
    bundle = cell._repr_mimebundle_()
    data = bundle[0] if isinstance(bundle, tuple) else bundle  # anywidget: (data, metadata)
    view = data["application/vnd.jupyter.widget-view+json"]
    assert view["model_id"] == cell.model_id and cell.preview_frame is None


class Namespace(SmartCell):
    """Lists the kernel's list variables, like the data cells list frames."""

    kind = "namespace"

    def defaults(self):
        return {"source": None}

    def form(self, attrs):
        from IPython import get_ipython

        names = sorted(k for k in get_ipython().user_ns if k.startswith("frames_"))
        return [{"name": "source", "type": "select", "options": [[n, n] for n in names]}]

    def generate(self, attrs):
        return f"print({attrs['source']})" if attrs["source"] else ""


def test_cells_refresh_after_each_run_cell_and_closed_ones_are_dropped(comm_log, shell):
    cell, closed = Namespace(), Namespace()
    assert refresh_all in shell.events.callbacks["post_run_cell"]
    Namespace()  # a second cell registers no second callback
    assert shell.events.callbacks["post_run_cell"].count(refresh_all) == 1
    closed.close()
    shell.run_cell("frames_a = [1, 2]")
    assert [o[0] for o in cell.fields[0]["options"]] == ["frames_a"]
    shell.run_cell("frames_b = []")
    assert [o[0] for o in cell.fields[0]["options"]] == ["frames_a", "frames_b"]
    assert closed not in tracked() and cell in tracked()
    assert closed.fields[0]["options"] == []  # never refreshed once closed


class Counted(Namespace):
    """A namespace cell whose preview counts its calls."""

    kind = "counted"
    previews = 0

    def preview(self, attrs):
        Counted.previews += 1
        return f"source: {attrs['source']}"


def test_running_a_cell_redraws_the_preview_only_when_code_or_fields_change(comm_log, shell):
    shell.run_cell("frames_a = [1]")
    cell = Counted(source="frames_a")
    before = Counted.previews
    shell.run_cell("unrelated = 2")
    assert Counted.previews == before
    shell.run_cell("frames_b = [2]")  # a new choice in the form: the preview is redrawn
    assert Counted.previews == before + 1
    cell.refresh()  # an explicit refresh always redraws
    assert Counted.previews == before + 2
    assert [w.value for w in cell.preview_frame.items] == ["source: frames_a"]


def test_a_closed_cell_leaves_the_refresh_list_at_the_next_refresh(comm_log):
    cell = Assign()
    assert cell in tracked()
    cell.close()
    refresh_all()
    assert cell not in tracked()


class Loader(SmartCell):
    kind = "loader"

    def defaults(self):
        return {"path": ""}

    def form(self, attrs):
        return [{"name": "path", "type": "upload", "accept": ".csv"}]

    def generate(self, attrs):
        return f"open({attrs['path']!r})"


def test_an_upload_is_written_under_uploads_and_sets_the_attribute(comm_log, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cell = Loader()
    body = b"a,b\n" * 3000
    name = "../../secret data.csv"
    for offset in range(0, len(body), 5000):
        front_end_sends(
            cell,
            {"type": "upload", "field": "path", "name": name, "offset": offset, "total": len(body)},
            [memoryview(body[offset : offset + 5000])],
        )
    assert cell.attrs["path"] == "uploads/secret_data.csv"
    assert (tmp_path / "uploads" / "secret_data.csv").read_bytes() == body
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == ["secret_data.csv"]
    assert cell.code == "open('uploads/secret_data.csv')"


def test_an_upload_too_big_or_to_an_unknown_field_is_refused_in_the_form(
    comm_log, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    cell = Loader()
    header = {"type": "upload", "name": "big.csv", "offset": 0}
    front_end_sends(cell, {**header, "field": "path", "total": MAX_UPLOAD_BYTES + 1}, [b"x"])
    assert cell.error_field == "path" and "the largest upload is 200 MB" in cell.error
    front_end_sends(cell, {**header, "field": "code", "total": 1}, [b"x"])
    assert (cell.error_field, cell.error) == ("code", "this form has no such upload field")
    assert not (tmp_path / UPLOAD_DIR).exists() and cell.attrs["path"] == ""
    cell.set_trait("max_upload_bytes", 1024)  # the limit the view also reads
    front_end_sends(cell, {**header, "field": "path", "total": 1536}, [b"x"])
    assert cell.error == (
        "the file is 1.5 KB; the largest upload is 1 KB (put bigger files next to the "
        "notebook and type their path)"
    )


def test_upload_chunks_out_of_order_are_refused(tmp_path):
    up = Uploads(tmp_path)
    assert up.chunk("f", "a.csv", offset=0, total=4, data=b"ab") is None
    with pytest.raises(ValueError, match="out of order"):
        up.chunk("f", "a.csv", offset=3, total=4, data=b"d")


@settings(max_examples=200, deadline=None)
@given(name=st.text(max_size=60))
def test_any_file_name_stays_inside_uploads(tmp_path_factory, name):
    root = tmp_path_factory.mktemp("kernel")
    path = Uploads(root).chunk("f", name, offset=0, total=2, data=b"ok")
    written = (root / path).resolve()
    assert written.parent == (root / UPLOAD_DIR).resolve()
    assert written.read_bytes() == b"ok"
    cleaned = safe_name(name)
    assert cleaned and not cleaned.startswith(".") and Path(cleaned).name == cleaned


def test_a_shell_whose_callbacks_were_cleared_gets_the_refresh_again(comm_log, shell):
    Namespace()
    shell.events.callbacks["post_run_cell"].clear()  # what another tool (or test) may do
    cell = Namespace()
    assert shell.events.callbacks["post_run_cell"].count(refresh_all) == 1
    shell.run_cell("frames_after_clear = [1]")
    assert "frames_after_clear" in [o[0] for o in cell.fields[0]["options"]]
