"""Traits of a control that only the kernel sets (bounds, options, ``disabled``).

The page may write any synced trait (an "update" message is all it takes), so the
kernel keeps its own copy of the traits that constrain a value and puts them back
whenever the page changes them.

>>> import ipywidgets
>>> slider = ipywidgets.IntSlider(value=10, min=1, max=100)
>>> pins = Pins(slider, ["min", "max"])
>>> slider.set_state({"max": 2_000_000_000, "min": 1_000_000_000, "value": 0})
>>> slider.min, slider.max, slider.value
(1, 100, 100)
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import traitlets


class Pins:
    """Keeps ``names`` of ``widget`` at the values the kernel gave them."""

    def __init__(self, widget: traitlets.HasTraits, names: Iterable[str]) -> None:
        self.widget = widget
        self.values: dict[str, Any] = {n: getattr(widget, n) for n in names if widget.has_trait(n)}
        if self.values:
            widget.observe(self.restore, names=list(self.values))

    def set(self, name: str, value: Any) -> None:
        """Change a pinned trait from the kernel."""
        self.values[name] = value
        self.widget.set_trait(name, value)

    def restore(self, _change: Any = None) -> None:
        """Put back every pinned trait the page changed."""
        # Bounds validate against each other (min <= max), so a value refused in
        # one order is put back after the others.
        todo = [n for n, v in self.values.items() if _differs(getattr(self.widget, n), v)]
        for _ in range(len(todo) + 1):
            retry = []
            for name in todo:
                try:
                    self.widget.set_trait(name, self.values[name])  # read-only ones too
                except (traitlets.TraitError, ArithmeticError, ValueError):
                    # e.g. a log slider validates its value as base**min: a page-written
                    # min of 309 overflows before the kernel's min is back
                    retry.append(name)
            if not retry:
                return
            todo = retry
        # The page left the control where its own validators cannot move it: write the
        # kernel's values directly, then tell the page.
        for name in todo:
            self.widget._trait_values[name] = self.values[name]
        send_state = getattr(self.widget, "send_state", None)
        if send_state is not None:
            send_state(todo)


def _differs(a: Any, b: Any) -> bool:
    try:
        return bool(a != b)
    except (TypeError, ValueError):
        return a is not b
