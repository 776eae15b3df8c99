"""The polars frames in the user's namespace, for the data smart cells' forms.

The namespace is IPython's ``user_ns`` inside a kernel, else ``__main__``'s globals. A
``LazyFrame``'s columns come from ``collect_schema()``: its data is never collected.
polars is not imported here: a frame can only exist once polars is loaded, so without
it the list is empty.

>>> import polars as pl
>>> frames({"sales": pl.DataFrame({"a": [1]}), "_tmp": pl.DataFrame(), "n": 3})
{'sales': [('a', 'Int64')]}
"""

from __future__ import annotations

import sys
from typing import Any

from kino.ui.smart import AttrError


def user_namespace() -> dict[str, Any]:
    """The namespace the user's cells run in (IPython's ``user_ns``, else ``__main__``'s).

    >>> isinstance(user_namespace(), dict)
    True
    """
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython comes with ipywidgets
        shell = None
    else:
        shell = get_ipython()
    if shell is not None:
        return shell.user_ns
    return vars(sys.modules["__main__"])


def frame_types() -> tuple[type, ...]:
    """polars' ``DataFrame`` and ``LazyFrame`` if polars is loaded, else ``()``.

    >>> import polars as pl
    >>> frame_types() == (pl.DataFrame, pl.LazyFrame)
    True
    """
    pl = sys.modules.get("polars")
    if pl is None:
        return ()
    return (pl.DataFrame, pl.LazyFrame)


def schema(frame: Any) -> dict[str, Any]:
    """A frame's columns and their polars dtypes, without collecting a ``LazyFrame``.

    >>> import polars as pl
    >>> schema(pl.LazyFrame({"a": [1.5]}))
    {'a': Float64}
    """
    return dict(frame.collect_schema())


def frames(namespace: dict[str, Any] | None = None) -> dict[str, list[tuple[str, str]]]:
    """``{name: [(column, dtype)]}`` of the public polars frames in ``namespace`` (default:
    the user's), sorted by name. A frame whose schema cannot be read (a ``scan_csv`` of a
    file since deleted) is left out.

    >>> import polars as pl
    >>> frames({"b": pl.DataFrame({"x": ["u"]}), "a": pl.LazyFrame({"y": [True]})})
    {'a': [('y', 'Boolean')], 'b': [('x', 'String')]}
    """
    types = frame_types()
    if not types:
        return {}
    space = user_namespace() if namespace is None else namespace
    found: dict[str, list[tuple[str, str]]] = {}
    for name, value in sorted(space.items()):
        if name.startswith("_") or not isinstance(value, types):
            continue
        try:
            columns = schema(value)
        except Exception:  # an unreadable lazy frame is not offered, and never breaks the form
            continue
        found[name] = [(column, str(dtype)) for column, dtype in columns.items()]
    return found


def lookup(name: Any, field: str, namespace: dict[str, Any] | None = None) -> Any:
    """The polars frame called ``name`` in the namespace; :class:`AttrError` on ``field``
    (listing the frames there are) when there is none.

    >>> import polars as pl
    >>> lookup("df", "source", {"df": pl.DataFrame({"a": [1]})}).shape
    (1, 1)
    >>> lookup("gone", "source", {"df": pl.DataFrame()})
    Traceback (most recent call last):
    ...
    kino.ui.smart.cell.AttrError: source: no polars frame named 'gone' in the notebook (frames: df)
    """
    space = user_namespace() if namespace is None else namespace
    value = space.get(name) if isinstance(name, str) else None
    types = frame_types()
    if types and isinstance(value, types) and not name.startswith("_"):
        return value
    names = ", ".join(frames(space)) or "none yet: run a cell that makes one"
    if not name:
        raise AttrError(field, f"choose a polars frame (frames: {names})")
    raise AttrError(field, f"no polars frame named {name!r} in the notebook (frames: {names})")


def source_field(available: dict[str, list[tuple[str, str]]]) -> dict[str, Any]:
    """The form field that picks one of the notebook's frames (``available``: :func:`frames`).

    >>> source_field({"sales": [("a", "Int64")]})["options"]
    [['sales', 'sales (1 column)']]
    """
    return {
        "name": "source",
        "label": "Frame",
        "type": "select",
        "options": [[name, f"{name} ({_columns(len(cols))})"] for name, cols in available.items()],
        "help": "A polars DataFrame or LazyFrame of the notebook (run its cell first).",
    }


def _columns(count: int) -> str:
    return "1 column" if count == 1 else f"{count} columns"
