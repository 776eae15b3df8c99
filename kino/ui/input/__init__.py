"""Inputs, forms and controls (Kino.Input, Kino.Control): ``kino.input.*``, ``kino.form``,
``kino.button``, ``kino.interval`` and ``kino.listen``."""

from kino.ui.input import kinds
from kino.ui.input.controls import Button, Interval, button, interval, listen
from kino.ui.input.form import Form, form, from_dataclass
from kino.ui.input.kinds import *  # noqa: F403

__all__ = [
    "Button",
    "Form",
    "Interval",
    "button",
    "form",
    "from_dataclass",
    "interval",
    "listen",
    *kinds.__all__,
]
