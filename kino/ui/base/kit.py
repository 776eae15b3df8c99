"""The kit's look: one stylesheet for every ipywidgets-based part of kino.

The ipywidgets-based parts of the kit (text fields, sliders, buttons, boxes)
get kino's look from one stylesheet, ``kino/static/kit.css``. It reaches the
page through a tiny invisible anywidget (:func:`kit_style`) that every kit box
carries as a hidden child, so the styles load in JupyterLab and in Voila alike.
"""

from __future__ import annotations

import threading

import ipywidgets

from kino.ui.base.widget import KinoWidget


class KitStyle(KinoWidget, bundle="kit"):
    """Invisible widget that loads ``kit.css`` into the page (no state, no view)."""

    def __init__(self) -> None:
        super().__init__(layout=ipywidgets.Layout(display="none"))


_style: KitStyle | None = None
_style_lock = threading.Lock()


class ClosesParts:
    """Mixin for a kino box whose children it made: closing it closes them too.

    ipywidgets keeps every open widget in its registry, so a closed box whose parts
    stayed open (a button's control holds a callback to the box) was never freed. The
    shared kit style stays open.

    >>> import ipywidgets
    >>> class Pair(ClosesParts, ipywidgets.VBox):
    ...     pass
    >>> inner = ipywidgets.Label("a"); Pair([ipywidgets.HBox([inner])]).close(); inner.comm is None
    True
    """

    def close(self) -> None:
        for child in getattr(self, "children", ()):
            _close_parts(child)
        super().close()  # type: ignore[misc]


def _close_parts(widget: ipywidgets.Widget) -> None:
    if isinstance(widget, KitStyle):
        return
    for child in getattr(widget, "children", ()):
        _close_parts(child)
    widget.close()


def kit_style() -> KitStyle:
    """The shared style carrier, created on first use."""
    global _style
    with _style_lock:
        if _style is None or _style.comm is None:
            _style = KitStyle()
        return _style


def styled(box: ipywidgets.Box, *classes: str) -> ipywidgets.Box:
    """Adds the ``kino`` class (and ``classes``) to a box."""
    box.add_class("kino")
    for name in classes:
        box.add_class(name)
    return box
