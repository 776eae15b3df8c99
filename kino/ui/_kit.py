"""Shared pieces of kino's inputs, forms, controls and layout.

The ipywidgets-based parts of the kit (text fields, sliders, buttons, boxes)
get kino's look from one stylesheet, ``kino/static/kit.css``. It reaches the
page through a tiny invisible anywidget (:func:`kit_style`) that every kit box
carries as a hidden child, so the styles load in JupyterLab and in Voila alike.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import ipywidgets
import traitlets

from kino.ui._widget import KinoWidget


class KitStyle(KinoWidget, bundle="kit"):
    """Invisible widget that loads ``kit.css`` into the page (no state, no view)."""

    def __init__(self) -> None:
        super().__init__(layout=ipywidgets.Layout(display="none"))


_style: KitStyle | None = None
_style_lock = threading.Lock()


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


def require_label(label: object, func: str) -> str:
    """Checks the ``label`` argument of a kit function."""
    if not isinstance(label, str):
        raise TypeError(f"{func}: 'label' must be a str, got {type(label).__name__}: {label!r:.60}")
    return label


def require_callable(fn: object, func: str, argument: str = "fn") -> Callable[..., Any]:
    """Checks a callback argument."""
    if not callable(fn):
        raise TypeError(f"{func}: {argument!r} must be callable, got {type(fn).__name__}")
    return fn


class Text(KinoWidget, bundle="text"):
    """Plain text (``kino.text``); ``terminal=True`` shows it as a terminal with ANSI colours."""

    value = traitlets.Unicode("").tag(sync=True)
    terminal = traitlets.Bool(False).tag(sync=True)

    def __init__(self, text: str = "", terminal: bool = False) -> None:
        super().__init__(value=_require_text(text), terminal=bool(terminal))

    def update(self, text: str) -> None:
        """Replace the shown text.

        >>> t = Text("Loading")
        >>> t.update("Done")
        >>> t.value
        'Done'
        """
        self.value = _require_text(text)

    def append(self, text: str) -> None:
        """Add text at the end (a stream of log lines).

        >>> t = Text("a")
        >>> t.append("b")
        >>> t.value
        'ab'
        """
        self.value = self.value + _require_text(text)

    def clear(self) -> None:
        """Show nothing."""
        self.value = ""


def _require_text(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError(f"kino.text: 'text' must be a str, got {type(value).__name__}")
    return value


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
