"""Layout boxes: ``kino.frame``, ``kino.tabs`` and ``kino.grid`` (Kino.Frame, Kino.Layout).

Frames, tabs and grids are ipywidgets boxes, so they can hold any widget; a
non-widget object is shown through its rich display. Updating a frame from a
background thread reaches the page: it only sets traits, which travel as comm
messages from any thread (unlike ``with output:`` capture).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Mapping
from typing import Any

import ipywidgets

from kino.contracts import check_int, fail
from kino.ui.base import KitStyle, kit_style, styled
from kino.ui.output import Text

log = logging.getLogger("kino")

MAX_GRID_COLUMNS = 12


# frame --------------------------------------------------------------------------
class Frame(ipywidgets.VBox):
    """A frame to render into, from the cell or from a background thread
    (``kino.frame``): its content is replaced (``render``) or appended to.

    The frame owns what it shows: a widget that ``render`` or ``clear`` removes is
    closed (a box kino made, with its children), so a dashboard rendered on every
    form submit does not keep the previous ones, their loops and models alive.

    >>> import kino
    >>> log = kino.frame()
    >>> log.append("epoch 1: loss 0.52")
    >>> log.append("epoch 2: loss 0.31")
    >>> [w.value for w in log.items]
    ['epoch 1: loss 0.52', 'epoch 2: loss 0.31']
    >>> log.render("done")
    >>> log.clear()
    """

    def __init__(self, placeholder: Any = None) -> None:
        self._lock = threading.Lock()
        self._items: list[ipywidgets.Widget] = []
        super().__init__([kit_style()])
        styled(self, "kino-frame")
        if placeholder is not None:
            self.render(placeholder)

    def _sync(self) -> None:
        self.children = (kit_style(), *self._items)

    def render(self, obj: Any) -> None:
        """Show ``obj`` instead of what the frame shows now (a widget, a str, or any
        object with a rich display: a chart, a DataFrame, a figure)."""
        widget = as_widget(obj)
        with self._lock:
            replaced, self._items = self._items, [widget]
            self._sync()
        _close_replaced(replaced, keep=widget)

    update = render

    def append(self, obj: Any) -> None:
        """Show ``obj`` below what the frame shows."""
        widget = as_widget(obj)
        with self._lock:
            self._items.append(widget)
            self._sync()

    def clear(self) -> None:
        """Show nothing."""
        with self._lock:
            replaced, self._items = self._items, []
            self._sync()
        _close_replaced(replaced)

    @property
    def items(self) -> list[ipywidgets.Widget]:
        """The widgets shown, top to bottom."""
        return list(self._items)


def _close_replaced(widgets: list[ipywidgets.Widget], keep: object = None) -> None:
    for widget in {id(w): w for w in widgets if w is not keep}.values():
        close_tree(widget, keep=keep)


def close_tree(widget: ipywidgets.Widget, keep: object = None) -> None:
    """Close ``widget`` and, when it is a box kino made (a frame, grid, tabs, form),
    its children; the shared kit style and ``keep`` stay open.

    >>> import kino
    >>> g = kino.grid([kino.text("a"), kino.text("b")])
    >>> a = g.children[1]
    >>> close_tree(g)
    >>> g.comm is None and a.comm is None
    True
    """
    if widget is keep or isinstance(widget, KitStyle):
        return
    if isinstance(widget, ipywidgets.Box) and "kino" in widget._dom_classes:
        for child in widget.children:
            close_tree(child, keep=keep)
    widget.close()


# tabs and grid --------------------------------------------------------------------
def tabs(items: Mapping[str, Any] | Iterable[tuple[str, Any]]) -> ipywidgets.Tab:
    """Tabs, one per ``{title: content}`` entry (or ``(title, content)`` pair).

    >>> import kino
    >>> t = kino.tabs({"Loss": kino.text("0.31"), "Accuracy": kino.text("0.92")})
    >>> t.titles
    ('Loss', 'Accuracy')
    """
    pairs = list(items.items()) if isinstance(items, Mapping) else _pairs(items)
    if not pairs:
        fail("kino.tabs", "items", _TABS_ITEMS, items, ValueError)
    for title, _ in pairs:
        if not isinstance(title, str):
            fail("kino.tabs", "items", _TABS_ITEMS, title)
    tab = ipywidgets.Tab(children=[as_widget(obj) for _, obj in pairs])
    tab.titles = tuple(title for title, _ in pairs)
    styled(tab, "kino-tabs")
    return tab


_TABS_ITEMS = "a non-empty {title: content} dict or list of (title, content) pairs, str titles"


def _pairs(items: object) -> list[tuple[str, Any]]:
    if isinstance(items, (str, bytes)) or not isinstance(items, Iterable):
        fail("kino.tabs", "items", _TABS_ITEMS, items)
    pairs = list(items)
    for p in pairs:
        if not (isinstance(p, tuple) and len(p) == 2):
            fail("kino.tabs", "items", _TABS_ITEMS, p)
    return pairs


def grid(
    items: Iterable[Any], columns: int = 1, *, boxed: bool = False, gap: int = 12
) -> ipywidgets.GridBox:
    """Lay ``items`` out in ``columns`` equal columns (row by row).

    >>> import kino
    >>> g = kino.grid([kino.text("a"), kino.text("b"), kino.text("c")], columns=2)
    >>> len(g.children)
    4
    """
    if isinstance(items, (str, bytes)) or not isinstance(items, Iterable):
        fail("kino.grid", "items", "a list", items)
    columns = check_int(columns, func="kino.grid", argument="columns", min=1, max=MAX_GRID_COLUMNS)
    gap = check_int(gap, func="kino.grid", argument="gap", min=0)
    widgets = [as_widget(obj) for obj in items]
    box = ipywidgets.GridBox(
        [kit_style(), *widgets],
        layout=ipywidgets.Layout(
            grid_template_columns=f"repeat({columns}, minmax(0, 1fr))", grid_gap=f"{gap}px"
        ),
    )
    styled(box, "kino-grid", *(["kino-boxed"] if boxed else []))
    return box


def as_widget(obj: object) -> ipywidgets.Widget:
    """The widget that shows ``obj``: itself for widgets, text for strings,
    and the object's rich display (HTML, PNG, Vega, ...) otherwise.

    The rich display goes into an ``ipywidgets.Output`` by setting its
    ``outputs`` trait, which works from any thread, unlike ``with output:``.
    """
    if isinstance(obj, ipywidgets.Widget):
        return obj
    if isinstance(obj, str):
        return Text(obj)
    from IPython.core.formatters import format_display_data

    data, metadata = format_display_data(obj)
    view = data.get("application/vnd.jupyter.widget-view+json")
    if view is not None:
        # Shown as a widget (e.g. a DataFrame as kino.table after kino.enable()): use it.
        from ipywidgets.widgets.widget import _instances

        widget = _instances.get(view.get("model_id", ""))
        if widget is None:
            raise TypeError(
                f"kino: cannot place {type(obj).__name__} here: it displays as a widget "
                "that is not open in this kernel; pass the widget itself"
            )
        return widget
    out = ipywidgets.Output()
    out.outputs = ({"output_type": "display_data", "data": data, "metadata": metadata},)
    return out
