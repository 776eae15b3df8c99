"""Sliders that refuse a page's value outside the kernel's bounds instead of clamping it.

ipywidgets clamps a value past ``max`` to ``max``: a forged update of 1000 to a slider
from 1 to 50 would leave 50, a value the user never chose. These sliders keep the
previous value, tell the page, and call ``report`` with the refused value (the field
shows it in the form's errors), or with None when a value is accepted. Values the
kernel writes are checked before they get here (``RangeInput._check``), so only a page
reaches the refusal.

>>> refused = []
>>> slider = IntSlider(bounds=(1, 50), report=refused.append, value=10, min=1, max=50)
>>> slider.set_state({"value": 1000})
>>> slider.value, refused
(10, [None, 1000])
>>> slider.set_state({"value": 20})
>>> slider.value, refused[-1]
(20, None)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ipywidgets
from traitlets import validate


class _Refusing:
    """Mixin over an ipywidgets slider: the value validator refuses, bounds never move it."""

    def __init__(
        self, *, bounds: tuple[float, float], report: Callable[[Any], None], **kwargs: Any
    ) -> None:
        lo, hi = bounds
        slack = 1e-9 * max(abs(lo), abs(hi)) if isinstance(self, FloatLogSlider) else 0
        self._bounds = (lo - slack, hi + slack)
        self._report = report
        self._accepted: Any = lo
        self._refusing = False
        super().__init__(**kwargs)

    @validate("value")
    def _validate_value(self, proposal: Any) -> Any:
        value = proposal["value"]
        lo, hi = self._bounds
        if not lo <= value <= hi:  # NaN too
            self._refusing = True
            self._report(value)
            # Inside a page's update the trait already holds the forged value: go back to
            # the last accepted one (ipywidgets then sends it to the page, which differs
            # from what the page sent).
            return self._accepted
        self._accepted = value
        self._report(None)
        return value

    def set_state(self, sync_data: dict[str, Any]) -> None:
        """Apply a page's update; a value it sends that equals the current one is
        accepted too (traitlets validates only changes)."""
        self._refusing = False
        super().set_state(sync_data)  # type: ignore[misc]
        if "value" in sync_data and not self._refusing:
            self._report(None)

    # ipywidgets moves the value into a new min/max (or refuses a min above max); the
    # pins put a page's bounds back, and the value must not have moved with them.
    # (Same names as ipywidgets' validators, so these replace them.)
    @validate("min")
    def _validate_min(self, proposal: Any) -> Any:
        return proposal["value"]

    @validate("max")
    def _validate_max(self, proposal: Any) -> Any:
        return proposal["value"]


class IntSlider(_Refusing, ipywidgets.IntSlider):
    """An ``ipywidgets.IntSlider`` that refuses page values outside ``bounds``."""


class FloatSlider(_Refusing, ipywidgets.FloatSlider):
    """An ``ipywidgets.FloatSlider`` that refuses page values outside ``bounds``.

    >>> FloatSlider(bounds=(0.0, 0.5), report=lambda v: None, value=0.1, max=0.5).value
    0.1
    """


class FloatLogSlider(_Refusing, ipywidgets.FloatLogSlider):
    """An ``ipywidgets.FloatLogSlider`` that refuses page values outside ``bounds``
    (the values, not the exponents).

    >>> refused = []
    >>> s = FloatLogSlider(bounds=(1e-5, 1e-1), report=refused.append, value=1e-3, min=-5, max=-1)
    >>> s.set_state({"value": 5.0})
    >>> s.value, refused[-1]
    (0.001, 5.0)
    """
