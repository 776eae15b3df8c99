"""kino.frame, kino.tabs, kino.grid."""

from __future__ import annotations

import threading

import ipywidgets
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ipywidgets.widgets.widget import _instances

import kino
from kino.ui.base import kit_style
from kino.ui.output import Text
from tests.conftest import budget


# frame ------------------------------------------------------------------------------
def test_frame_render_append_clear():
    f = kino.frame()
    f.append("one")
    f.append(kino.text("two"))
    assert [w.value for w in f.items] == ["one", "two"]
    f.render("only")
    assert [w.value for w in f.items] == ["only"]
    f.update("again")
    assert [w.value for w in f.items] == ["again"]
    f.clear()
    assert f.items == []
    assert "kino-frame" in f._dom_classes


def test_frame_rich_objects_go_through_display_formatter():
    class Rich:
        def _repr_html_(self):
            return "<b>bold</b>"

    f = kino.frame(Rich())
    out = f.items[0]
    assert isinstance(out, ipywidgets.Output)
    assert out.outputs[0]["data"]["text/html"] == "<b>bold</b>"


def test_frame_uses_the_widget_an_object_displays_as():
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    shown = kino.text("as a widget")

    class Shown:
        pass

    formatter = shell.display_formatter.mimebundle_formatter
    formatter.for_type(Shown, lambda obj: shown._repr_mimebundle_()[0])
    try:
        assert kino.frame(Shown()).items == [shown]
    finally:
        formatter.pop(Shown)


def test_frame_append_from_background_thread_is_sent(comm_log):
    f = kino.frame()
    comm_log.clear()
    done = threading.Event()

    def worker():
        for i in range(3):
            f.append(f"step {i}")
        done.set()

    threading.Thread(target=worker).start()
    assert done.wait(budget(10))
    updates = comm_log.updates("children")
    assert len(updates) == 3
    assert len(updates[-1].state["children"]) == 4  # the style carrier + 3 lines
    assert [w.value for w in f.items] == ["step 0", "step 1", "step 2"]


def test_frame_concurrent_appends_are_not_lost():
    f = kino.frame()
    threads = [threading.Thread(target=lambda i=i: f.append(str(i))) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(w.value for w in f.items) == [str(i) for i in range(8)]


# tabs, grid --------------------------------------------------------------------------------
def test_tabs_and_grid():
    t = kino.tabs({"Loss": "0.3", "Accuracy": kino.text("0.9")})
    assert t.titles == ("Loss", "Accuracy")
    assert isinstance(t.children[0], Text)
    t2 = kino.tabs([("A", "a"), ("B", "b")])
    assert t2.titles == ("A", "B")
    g = kino.grid(["a", "b", "c"], columns=3, boxed=True, gap=4)
    assert g.layout.grid_template_columns == "repeat(3, minmax(0, 1fr))"
    assert g.layout.grid_gap == "4px"
    assert {"kino-grid", "kino-boxed"} <= set(g._dom_classes)


@pytest.mark.parametrize(
    ("call", "exc", "argument"),
    [
        (lambda: kino.tabs({}), ValueError, "'items'"),
        (lambda: kino.tabs({1: "a"}), TypeError, "'items'"),
        (lambda: kino.tabs("abc"), TypeError, "'items'"),
        (lambda: kino.tabs([("a", "b", "c")]), TypeError, "'items'"),
        (lambda: kino.grid("abc"), TypeError, "'items'"),
        (lambda: kino.grid([], columns=0), ValueError, "'columns'"),
        (lambda: kino.grid([], columns=13), ValueError, "'columns'"),
        (lambda: kino.grid([], gap=-1), ValueError, "'gap'"),
    ],
)
def test_bad_layout_arguments(call, exc, argument):
    with pytest.raises(exc, match=argument):
        call()


@settings(max_examples=30, deadline=None)
@given(columns=st.one_of(st.integers(-5, 0), st.integers(13, 50), st.floats(), st.text(max_size=2)))
def test_grid_columns_property(columns):
    # An int out of range is a bad value; a float or a str is the wrong type.
    error = ValueError if isinstance(columns, int) else TypeError
    with pytest.raises(error, match=r"kino\.grid: 'columns' must be an int from 1 to 12"):
        kino.grid(["a"], columns=columns)


def test_frame_is_the_class_itself():
    from kino.ui.layout import Frame

    assert kino.frame is Frame
    assert isinstance(kino.frame("x"), Frame)


# replaced widgets are closed -----------------------------------------------------------------
def closed(widget: ipywidgets.Widget, comm) -> bool:
    """Closed in the kernel: no comm, the comm sent its close, no longer an instance."""
    return widget.comm is None and comm._closed and comm.comm_id not in _instances


def test_render_closes_the_widget_it_replaces(comm_log):
    # The notebook-04 pattern: each submit renders a new board into the frame.
    form = kino.form(epochs=kino.input.range("Epochs", 1, 10, default=2), submit="Train")
    board = kino.frame(kino.markdown("Press Train"))
    form.on_submit(lambda values: board.render(kino.markdown(f"epochs={values['epochs']}")))
    shown = [(board.items[0], board.items[0].comm)]
    for _ in range(5):
        assert form.submit()
        shown.append((board.items[0], board.items[0].comm))
    assert all(closed(w, c) for w, c in shown[:-1])
    assert sum(m.msg_type == "comm_close" for m in comm_log) == 5
    assert not shown[-1][1]._closed and board.items[0].value == "epochs=2"
    assert board.comm is not None and kit_style().comm is not None


def test_render_and_clear_close_a_kino_box_with_its_children(comm_log):
    frame = kino.frame()
    inner = kino.text("inside")
    grid = kino.grid([inner, "b"], columns=2)
    frame.render(grid)
    comms = {w: w.comm for w in (grid, inner)}
    frame.render("next")
    assert all(closed(w, c) for w, c in comms.items())
    assert kit_style().comm is not None, "the shared style stays"
    text = frame.items[0]
    comm = text.comm
    frame.clear()
    assert closed(text, comm)


def test_render_keeps_a_widget_rendered_again_and_a_users_boxes_children(comm_log):
    frame = kino.frame()
    mine = kino.text("kept")
    frame.render(mine)
    frame.render(mine)
    assert mine.comm is not None and frame.items == [mine]
    child = kino.text("the user's")
    box = ipywidgets.VBox([child])  # not a box kino made: the frame does not own its children
    frame.render(box)
    assert mine.comm is None
    frame.render("x")
    assert box.comm is None and child.comm is not None
