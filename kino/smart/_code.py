"""Writing values from a form into generated code, safely: the helpers every smart cell uses.

A smart cell's form holds text a user typed and names read from their data (a column
called ``"); import os; #`` is a column name). None of it is ever pasted into code as
raw text: a value goes through :func:`literal` (Python's ``repr``, checked to read back
as the same value) and a variable name through :func:`identifier`.

>>> literal('"); import os; #')
'\\'"); import os; #\\''
>>> identifier("sales", "variable")
'sales'
"""

from __future__ import annotations

import ast
import keyword
import math
from typing import Any

from kino.ui.smart import AttrError

_SCALARS = (str, bool, int, float, type(None))


def literal(value: Any, field: str = "value") -> str:
    """A Python literal for ``value`` (str, number, bool, None, or a list/tuple/dict of
    those), written with ``repr`` and checked to read back as the same value.

    Anything else (an object, ``nan``, ``inf``) raises :class:`AttrError` on ``field``.

    >>> literal("it's")
    '"it\\'s"'
    >>> literal({"cols": ["a", "b"], "n": 3})
    "{'cols': ['a', 'b'], 'n': 3}"
    >>> literal(float("nan"), "steps.0.value")
    Traceback (most recent call last):
    ...
    kino.ui.smart.cell.AttrError: steps.0.value: must be a finite number, got nan
    """
    _check(value, field)
    try:
        text = repr(value)
    except ValueError as exc:  # an int too long for str(); Python's own limit
        raise AttrError(field, f"is too large to write as code ({exc})") from None
    if ast.literal_eval(text) != value:
        raise AttrError(field, f"does not read back as itself: {text[:60]}")
    return text


def _check(value: Any, field: str) -> None:
    if isinstance(value, float) and not math.isfinite(value):
        raise AttrError(field, f"must be a finite number, got {value!r}")
    if isinstance(value, _SCALARS):
        return
    if isinstance(value, list | tuple):
        for item in value:
            _check(item, field)
        return
    if isinstance(value, dict):
        for key, item in value.items():
            _check(key, field)
            _check(item, field)
        return
    raise AttrError(
        field,
        f"must be a str, number, bool, None, list or dict, got {type(value).__name__}",
    )


def identifier(name: Any, field: str) -> str:
    """``name`` if it can be a Python variable name (an identifier, not a keyword);
    otherwise :class:`AttrError` on ``field``.

    >>> identifier("df", "variable")
    'df'
    >>> identifier("my data", "variable")
    Traceback (most recent call last):
    ...
    kino.ui.smart.cell.AttrError: variable: must be a Python name (letters, digits, _), got...
    """
    if not isinstance(name, str) or not name.isidentifier():
        raise AttrError(
            field,
            f"must be a Python name (letters, digits, _), got {name!r}",
        )
    if keyword.iskeyword(name):
        raise AttrError(field, f"must not be a Python keyword, got {name!r}")
    return name


def imports(*lines: str) -> str:
    """The import lines a piece of code needs, each once, in the order given.

    >>> print(imports("import polars as pl", "import kino", "import polars as pl"))
    import polars as pl
    import kino
    """
    return "\n".join(dict.fromkeys(line for line in lines if line))
