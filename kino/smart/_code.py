"""Writing values from a form into generated code, safely and as ruff formats it: the
helpers every smart cell uses.

A smart cell's form holds text a user typed and names read from their data (a column
called ``"); import os; #`` is a column name). None of it is ever pasted into code as
raw text: a value goes through :func:`literal` (checked to read back as the same value)
and a variable name through :func:`identifier`. The notebooks are linted with
``ruff format``, so the code is written in its layout (:func:`literal`'s quotes,
:func:`call` and :func:`chain`'s line breaks): formatting a notebook does not turn its
smart cells' code into "edited by hand".

>>> print(literal('"); import os; #'))
'"); import os; #'
>>> identifier("sales", "variable")
'sales'
"""

from __future__ import annotations

import ast
import keyword
import math
import sys
import unicodedata
from typing import Any

from kino.ui.smart import AttrError

LINE_WIDTH = 100
"""ruff's line length in this project (pyproject.toml): where :func:`call` breaks."""


def literal(value: Any, field: str = "value") -> str:
    """A Python literal for ``value`` (str, number, bool, None, or a list/tuple/dict of
    those), checked to read back as the same value. Strings are quoted the way ruff
    formats them: double quotes unless the text holds more of those than single ones.

    Anything else (an object, ``nan``, ``inf``) raises :class:`AttrError` on ``field``.

    >>> print(literal("it's"), literal('say "hi"'), literal(["a", 1.5, None]))
    "it's" 'say "hi"' ["a", 1.5, None]
    >>> literal(float("nan"), "steps.0.value")
    Traceback (most recent call last):
    ...
    kino.ui.smart.cell.AttrError: steps.0.value: must be a finite number, got nan
    """
    try:
        text = _write(value, field)
    except AttrError:
        raise
    except ValueError as exc:  # an int too long for str(): Python's own limit
        raise AttrError(field, f"is too large to write as code ({exc})") from None
    if ast.literal_eval(text) != value:
        raise AttrError(field, f"does not read back as itself: {text[:60]}")
    return text


def _write(value: Any, field: str) -> str:
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, float) and not math.isfinite(value):
        raise AttrError(field, f"must be a finite number, got {value!r}")
    if isinstance(value, float):
        return repr(value).replace("e+", "e")  # ruff writes 1e16, not repr's 1e+16
    if isinstance(value, bool | int) or value is None:
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(_write(item, field) for item in value) + "]"
    if isinstance(value, tuple):
        items = [_write(item, field) for item in value]
        return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"
    if isinstance(value, dict):
        pairs = (f"{_write(k, field)}: {_write(v, field)}" for k, v in value.items())
        return "{" + ", ".join(pairs) + "}"
    raise AttrError(
        field,
        f"must be a str, number, bool, None, list or dict, got {type(value).__name__}",
    )


def _string(text: str) -> str:
    """``text`` quoted as ruff formats it (the fewest escaped quotes, double quotes on a
    tie); backslashes, the quote and unprintable characters escaped as ``repr`` does."""
    quote = "'" if text.count('"') > text.count("'") else '"'
    return quote + "".join(_char(c, quote) for c in text) + quote


def _char(c: str, quote: str) -> str:
    if c == "\\":
        return "\\\\"
    if c == quote:
        return "\\" + c
    if c in "'\"":
        return c
    return repr(c)[1:-1]


def width(line: str) -> int:
    """How wide ruff counts ``line``: East Asian wide characters take two columns,
    combining marks none.

    >>> width("abc"), width("日本"), width("e\u0301")
    (3, 4, 1)
    """
    total = 0
    for c in line:
        if unicodedata.combining(c) or unicodedata.category(c) in ("Mn", "Me"):
            continue
        total += 2 if unicodedata.east_asian_width(c) in ("W", "F") else 1
    return total


def call(head: str, args: list[str], *, indent: int = 0, tail: int = 0) -> str:
    """``head(args)`` laid out as ruff lays out a call at ``indent`` (``tail``: the
    characters after it on its line, such as a comma): on one line if it fits, else its
    arguments on one line of their own, else one per line with a trailing comma.

    >>> print(call("df = pl.read_csv", ['"data.csv"']))
    df = pl.read_csv("data.csv")
    >>> print(call("f", ["a" * 40, "b" * 40, "c" * 40]))
    f(
        aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa,
        bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb,
        cccccccccccccccccccccccccccccccccccccccc,
    )
    """
    one = f"{head}({', '.join(args)})"
    if indent + width(one) + tail <= LINE_WIDTH:
        return one
    pad = " " * (indent + 4)
    inner = pad + ", ".join(args)
    if width(inner) <= LINE_WIDTH and len(args) > 0:
        return f"{head}(\n{inner}\n{' ' * indent})"
    return f"{head}(\n" + "".join(f"{pad}{arg},\n" for arg in args) + f"{' ' * indent})"


def chain(target: str, base: str, calls: list[tuple[str, list[str]]]) -> str:
    """``target = base.method(args).method(args)...`` laid out as ruff does: one line if
    it fits; else, for up to two calls, the last call's arguments broken; for three or
    more, inside parentheses: on one line if it fits there, else one call per line (the
    first call stays on ``base``).

    >>> print(chain("out", "df", [("sort", ['"a"'])]))
    out = df.sort("a")
    >>> print(chain("out", "df", [("filter", ["x" * 40]), ("sort", ["y" * 40]), ("head", [])]))
    out = (
        df.filter(xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx)
        .sort(yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy)
        .head()
    )
    """
    written = [f".{name}({', '.join(args)})" for name, args in calls]
    one = f"{target} = {base}{''.join(written)}"
    if width(one) <= LINE_WIDTH or not calls:
        return one
    if len(calls) <= 2:
        # ruff breaks the last call that has arguments and whose opening line fits;
        # the calls after it follow its ")".
        split = [i for i, (_, args) in enumerate(calls) if args] or [len(calls) - 1]
        opening = [
            i
            for i in split
            if width(f"{target} = {base}{''.join(written[:i])}.{calls[i][0]}(") <= LINE_WIDTH
        ]
        last = (opening or split)[-1]
        name, args = calls[last]
        after = "".join(written[last + 1 :])
        head = f"{target} = {base}{''.join(written[:last])}.{name}"
        return call(head, args, tail=width(after)) + after
    flat = f"{base}{''.join(written)}"
    if 4 + width(flat) <= LINE_WIDTH:
        return f"{target} = (\n    {flat}\n)"
    first, *rest = calls
    lines = [call(f"{base}.{first[0]}", first[1], indent=4)]
    lines += [call(f".{name}", args, indent=4) for name, args in rest]
    return f"{target} = (\n" + "".join(f"    {line}\n" for line in lines) + ")"


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
    """The import lines a piece of code needs, each once, in ruff's (isort's) order:
    standard library, then third-party packages, then kino, a blank line between.

    >>> print(imports("import polars as pl", "import kino", "import altair as alt", "import math"))
    import math
    <BLANKLINE>
    import altair as alt
    import polars as pl
    <BLANKLINE>
    import kino
    """
    sections: dict[int, list[str]] = {}
    for line in dict.fromkeys(line for line in lines if line):
        words = line.split()
        module = words[1].split(".")[0]
        section = 2 if module == "kino" else 0 if module in sys.stdlib_module_names else 1
        sections.setdefault(section, []).append(line)
    ordered = (
        sorted(found, key=lambda line: (line.startswith("from "), line.split()[1].lower()))
        for _, found in sorted(sections.items())
    )
    return "\n\n".join("\n".join(section) for section in ordered)
