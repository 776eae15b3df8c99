"""Argument checks shared by every part of kino (``kino.ui`` and ``kino.train`` alike).

Each check returns the value it accepted (converted where that is safe: a numpy
integer becomes an ``int``) or raises with one message shape, which names the
function, the argument, what is allowed and what was received::

    kino.table: 'page_size' must be an int from 1 to 500, got str: 'ten'

A wrong type raises ``TypeError``; a value of the right type outside what is
allowed raises ``ValueError``. Checks that only one widget needs (a URL, a
Vega-Lite spec) stay with that widget and use :func:`fail` for the message.

>>> check_int(3, func="kino.table", argument="page_size", min=1)
3
>>> check_int(0, func="kino.table", argument="page_size", min=1)
Traceback (most recent call last):
...
ValueError: kino.table: 'page_size' must be an int >= 1, got 0
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Iterable, Mapping
from typing import Any, NoReturn, TypeVar

T = TypeVar("T")

_REPR_CHARS = 60


def received(value: object) -> str:
    """How a message shows the value it received: type and a short repr.

    >>> received("ten")
    "str: 'ten'"
    >>> received(0)
    '0'
    """
    text = repr(value)
    if len(text) > _REPR_CHARS:
        text = text[: _REPR_CHARS - 1] + "…"
    if isinstance(value, bool | int | float) or value is None:
        return text
    return f"{type(value).__name__}: {text}"


def fail(
    func: str, argument: str, allowed: str, value: object, error: type[Exception] = TypeError
) -> NoReturn:
    """Raise ``error`` with kino's message shape.

    >>> fail("kino.tree", "open_depth", "an int >= 0", "x")
    Traceback (most recent call last):
    ...
    TypeError: kino.tree: 'open_depth' must be an int >= 0, got str: 'x'
    """
    raise error(f"{func}: {argument!r} must be {allowed}, got {received(value)}")


def _check_in_range(
    value: object,
    kind: type,
    kind_text: str,
    func: str,
    argument: str,
    min: float | None,
    max: float | None,
    allow_none: bool,
) -> Any:
    """The shared body of check_int and check_number: type, finiteness, then range."""
    if value is None and allow_none:
        return None
    if min is not None and max is not None:
        allowed = f"{kind_text} from {min} to {max}"
    elif min is not None or max is not None:
        allowed = f"{kind_text} >= {min}" if min is not None else f"{kind_text} <= {max}"
    else:
        allowed = kind_text
    allowed += " or None" if allow_none else ""
    if isinstance(value, bool) or not isinstance(value, kind):
        fail(func, argument, allowed, value)
    if not isinstance(value, numbers.Integral) and not math.isfinite(value):
        fail(func, argument, allowed, value, ValueError)
    if (min is not None and value < min) or (max is not None and value > max):
        fail(func, argument, allowed, value, ValueError)
    return value


def check_int(
    value: object,
    *,
    func: str,
    argument: str,
    min: int | None = None,
    max: int | None = None,
    allow_none: bool = False,
) -> Any:
    """An ``int`` (numpy integers accepted; bools refused) within ``[min, max]``.

    >>> check_int(None, func="kino.interval", argument="times", min=1, allow_none=True)
    >>> check_int(True, func="kino.interval", argument="times")
    Traceback (most recent call last):
    ...
    TypeError: kino.interval: 'times' must be an int, got True
    """
    value = _check_in_range(value, numbers.Integral, "an int", func, argument, min, max, allow_none)
    return None if value is None else int(value)


def check_number(
    value: object,
    *,
    func: str,
    argument: str,
    min: float | None = None,
    max: float | None = None,
    allow_none: bool = False,
) -> Any:
    """A finite real number (int or float, bools refused) within ``[min, max]``.

    >>> check_number(0.5, func="train.trainer", argument="factor", min=0, max=1)
    0.5
    >>> check_number(float("nan"), func="train.trainer", argument="factor")
    Traceback (most recent call last):
    ...
    ValueError: train.trainer: 'factor' must be a finite number, got nan
    """
    return _check_in_range(
        value, numbers.Real, "a finite number", func, argument, min, max, allow_none
    )


def check_bool(value: object, *, func: str, argument: str) -> bool:
    """``True`` or ``False`` (numpy bools accepted), nothing else.

    >>> check_bool(1, func="kino.button", argument="primary")
    Traceback (most recent call last):
    ...
    TypeError: kino.button: 'primary' must be True or False, got 1
    """
    if type(value).__name__ not in ("bool", "bool_"):
        fail(func, argument, "True or False", value)
    return bool(value)


def check_str(
    value: object, *, func: str, argument: str, allowed: str = "a str", allow_none: bool = False
) -> Any:
    """A ``str``; ``allowed`` says what kind of text, for the message.

    >>> check_str(3, func="kino.markdown", argument="text", allowed="a str of Markdown")
    Traceback (most recent call last):
    ...
    TypeError: kino.markdown: 'text' must be a str of Markdown, got 3
    """
    if value is None and allow_none:
        return None
    if not isinstance(value, str):
        fail(func, argument, allowed, value)
    return value


def check_choice(value: T, choices: Iterable[T], *, func: str, argument: str) -> T:
    """One of ``choices`` (compared with ``==``).

    >>> check_choice("svg", ["csv", "parquet"], func="Table.export", argument="format")
    Traceback (most recent call last):
    ...
    ValueError: Table.export: 'format' must be one of csv, parquet, got str: 'svg'
    """
    choices = list(choices)
    try:
        ok = value in choices
    except TypeError:  # an unhashable or incomparable value is simply not a choice
        ok = False
    if not ok:
        shown = ", ".join(str(c) for c in choices)
        fail(func, argument, f"one of {shown}", value, ValueError)
    return value


def check_callable(value: object, *, func: str, argument: str = "fn") -> Callable[..., Any]:
    """A callable (a function, a bound method, a class with ``__call__``).

    >>> check_callable(None, func="Form.on_submit")
    Traceback (most recent call last):
    ...
    TypeError: Form.on_submit: 'fn' must be callable, got None
    """
    if not callable(value):
        fail(func, argument, "callable", value)
    return value


def resolve_alias(
    name: str, known: Iterable[str], aliases: Mapping[str, str], *, what: str, also: str = ""
) -> str:
    """The canonical spelling of ``name`` (itself or what its alias stands for).

    >>> resolve_alias("mse", ["mean_squared_error"], {"mse": "mean_squared_error"}, what="loss")
    'mean_squared_error'
    >>> resolve_alias("l3", ["mean_squared_error"], {"mse": "mean_squared_error"}, what="loss")
    Traceback (most recent call last):
    ...
    ValueError: unknown loss 'l3'; allowed: mean_squared_error (aliases: mse)
    """
    known = list(known)
    canonical = aliases.get(name, name)
    if canonical not in known:
        raise ValueError(
            f"unknown {what} {name!r}; allowed: {', '.join(known)} "
            f"(aliases: {', '.join(sorted(aliases))})" + (f" {also}" if also else "")
        )
    return canonical
