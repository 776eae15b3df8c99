"""The "Data transformation" smart cell: a polars frame from the notebook and a list of
steps (filter, select, sort, group-by-aggregate, derive) written as one chained polars
expression in a named variable.

>>> import polars as pl
>>> df = pl.DataFrame({"name": ["ada", "bob"], "age": [36, 29]})
>>> steps = [{"kind": "filter", "column": "age", "operator": ">", "value": "30"}]
>>> print(plan({"source": "df", "steps": steps, "variable": "result"}, {"df": df}).code)
import polars as pl
<BLANKLINE>
result = df.filter(pl.col("age") > 30)
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from kino.smart._code import chain, identifier, imports, literal
from kino.smart._namespace import frames, lookup, source_field
from kino.ui.smart import AttrError, SmartCell
from kino.ui.table import table

PREVIEW_ROWS = 20
"""Rows of the result the preview computes (``lazy.head(PREVIEW_ROWS).collect()``)."""

STEP_KINDS = [
    ["filter", "Filter rows"],
    ["select", "Select columns"],
    ["sort", "Sort"],
    ["group_by", "Aggregate groups"],
    ["derive", "Derive a column"],
]
OPERATORS = ["==", "!=", "<", "<=", ">", ">=", "contains", "is null", "is not null"]
NO_VALUE = ("is null", "is not null")
FUNCTIONS = ["sum", "mean", "min", "max", "count", "n_unique", "median"]
DERIVE_OPS = ["+", "-", "*", "/"]

NEW_STEP: dict[str, Any] = {
    "kind": "filter",
    "column": "",
    "operator": "==",
    "value": "",
    "columns": [],
    "descending": False,
    "by": [],
    "aggregations": [],
    "name": "",
    "left": "",
    "op": "+",
    "right_kind": "value",
    "right": "",
    "right_value": "",
}
"""A new step's attributes (every kind's fields; ``kind`` says which are used)."""


@dataclass
class Plan:
    """What a set of attributes stands for: the code, the result as a LazyFrame over the
    source, and every column any step saw (the form's column choices).

    >>> df = pl.DataFrame({"a": [1, 2]})
    >>> step = {"kind": "derive", "name": "b", "left": "a", "op": "*", "right_value": "2"}
    >>> made = plan({"source": "df", "steps": [step], "variable": "out"}, {"df": df})
    >>> made.columns, made.lazy.collect()["b"].to_list()
    (['a', 'b'], [2, 4])
    """

    code: str
    lazy: pl.LazyFrame | None = None
    columns: list[str] = field(default_factory=list)


class DataTransform(SmartCell):
    """A form that chains polars steps over a frame of the notebook.

    >>> import __main__, polars as pl
    >>> __main__.people = pl.DataFrame({"name": ["ada", "bob"], "age": [36, 29]})
    >>> cell = DataTransform(source="people", steps=[{"kind": "sort", "column": "age"}])
    >>> print(cell.code)
    result = people.sort("age")
    >>> cell.attrs = {**cell.attrs, "steps": [{"kind": "sort", "column": "height"}]}
    >>> cell.error_field, cell.code
    ('steps.0.column', 'result = people.sort("age")')
    >>> del __main__.people
    """

    kind, title = "data_transform", "Data transformation"

    def defaults(self) -> dict[str, Any]:
        """No source chosen yet, no steps, the result in ``result``."""
        return {"source": "", "steps": [], "variable": "result"}

    def form(self, attrs: dict[str, Any]) -> list[dict[str, Any]]:
        """The frames of the notebook, the steps (column choices from the source and
        what earlier steps make), the result's variable."""
        available = frames()
        try:
            seen = plan(attrs, partial=True).columns
        except AttrError:
            seen = []
        columns = [[name, name] for name in seen]
        step = {"kind": [kind for kind, _ in STEP_KINDS]}

        def when(*kinds: str, **more: list[Any]) -> dict[str, Any]:
            return {"when": {**({"kind": list(kinds)} if kinds else step), **more}}

        column_item = [{"name": "column", "label": "Column", "type": "select", "options": columns}]
        return [
            source_field(available),
            {
                "name": "steps",
                "label": "Steps",
                "type": "list",
                "item": dict(NEW_STEP),
                "add_label": "Add a step",
                "fields": [
                    {"name": "kind", "label": "Step", "type": "select", "options": STEP_KINDS},
                    {
                        "name": "column",
                        "label": "Column",
                        "type": "select",
                        "options": columns,
                        **when("filter", "sort"),
                    },
                    {
                        "name": "operator",
                        "label": "Operator",
                        "type": "select",
                        "options": [[op, op] for op in OPERATORS],
                        **when("filter"),
                    },
                    {
                        "name": "value",
                        "label": "Value",
                        "type": "text",
                        "help": "Read as the column's type: 30, 2.5, true, 2024-01-31, text.",
                        **when("filter", operator=[op for op in OPERATORS if op not in NO_VALUE]),
                    },
                    {
                        "name": "columns",
                        "label": "Columns",
                        "type": "list",
                        "fields": column_item,
                        "item": {"column": ""},
                        "add_label": "Add a column",
                        **when("select"),
                    },
                    {
                        "name": "descending",
                        "label": "Descending",
                        "type": "checkbox",
                        **when("sort"),
                    },
                    {
                        "name": "by",
                        "label": "Group by",
                        "type": "list",
                        "fields": column_item,
                        "item": {"column": ""},
                        "add_label": "Add a column",
                        **when("group_by"),
                    },
                    {
                        "name": "aggregations",
                        "label": "Aggregations",
                        "type": "list",
                        "fields": [
                            *column_item,
                            {
                                "name": "function",
                                "label": "Function",
                                "type": "select",
                                "options": [[fn, fn] for fn in FUNCTIONS],
                            },
                        ],
                        "item": {"column": "", "function": "sum"},
                        "add_label": "Add an aggregation",
                        **when("group_by"),
                    },
                    {"name": "name", "label": "New column", "type": "text", **when("derive")},
                    {
                        "name": "left",
                        "label": "Column",
                        "type": "select",
                        "options": columns,
                        **when("derive"),
                    },
                    {
                        "name": "op",
                        "label": "Operator",
                        "type": "select",
                        "options": [[op, op] for op in DERIVE_OPS],
                        **when("derive"),
                    },
                    {
                        "name": "right_kind",
                        "label": "With",
                        "type": "select",
                        "options": [["column", "a column"], ["value", "a value"]],
                        **when("derive"),
                    },
                    {
                        "name": "right",
                        "label": "Other column",
                        "type": "select",
                        "options": columns,
                        **when("derive", right_kind=["column"]),
                    },
                    {
                        "name": "right_value",
                        "label": "Value",
                        "type": "text",
                        **when("derive", right_kind=["value"]),
                    },
                ],
            },
            {"name": "variable", "label": "Result variable", "type": "text"},
        ]

    def generate(self, attrs: dict[str, Any]) -> str:
        """``<variable> = <source>.<step>().<step>()...``."""
        return plan(attrs).code

    def preview(self, attrs: dict[str, Any]) -> Any:
        """The result's first ``PREVIEW_ROWS`` rows (computed lazily) as a ``kino.table``."""
        lazy = plan(attrs).lazy
        return None if lazy is None else table(lazy.head(PREVIEW_ROWS).collect())


def plan(
    attrs: dict[str, Any], namespace: dict[str, Any] | None = None, *, partial: bool = False
) -> Plan:
    """The code and the lazy result of ``attrs`` over the frames of ``namespace`` (default:
    the user's). ``partial``: stop at the first bad step instead of raising, keeping the
    columns seen so far (what the form offers).

    >>> plan({"source": "df", "steps": [], "variable": "out"}, {"df": pl.DataFrame()}).code
    'out = df'
    """
    variable = identifier(attrs.get("variable"), "variable")
    frame = lookup(attrs.get("source"), "source", namespace)
    source = identifier(attrs.get("source"), "source")
    steps = attrs.get("steps")
    if not isinstance(steps, list):
        raise AttrError("steps", f"must be a list of steps, got {type(steps).__name__}")
    lazy = frame.lazy()
    schema = dict(lazy.collect_schema())
    seen = dict.fromkeys(schema)
    calls: list[tuple[str, list[str]]] = []
    uses_pl = False
    for index, raw in enumerate(steps):
        prefix = f"steps.{index}"
        try:
            made, needs_pl = _step({**NEW_STEP, **_item(raw, prefix)}, schema, prefix)
            # The preview runs the very code the cell writes, over the lazy source, so
            # the two can never disagree; every name and value in it is a literal.
            written = "".join(f".{name}({', '.join(args)})" for name, args in made)
            stepped = eval(f"_{written}", {"__builtins__": {}, "pl": pl}, {"_": lazy})
            schema = _schema(stepped, prefix)
        except AttrError:
            if partial:
                break
            raise
        lazy = stepped
        seen.update(dict.fromkeys(schema))
        calls += made
        uses_pl = uses_pl or needs_pl
    code = chain(variable, source, calls)
    if uses_pl:
        code = f"{imports('import polars as pl')}\n\n{code}"
    return Plan(code, lazy, list(seen))


def _item(raw: Any, prefix: str) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise AttrError(prefix, f"must be a step (a dict with a 'kind'), got {type(raw).__name__}")
    return raw


def _schema(lazy: pl.LazyFrame, prefix: str) -> dict[str, Any]:
    try:
        return dict(lazy.collect_schema())
    except pl.exceptions.PolarsError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise AttrError(prefix, f"polars cannot do this step: {first}") from None


def _step(
    step: dict[str, Any], schema: dict[str, Any], prefix: str
) -> tuple[list[tuple[str, list[str]]], bool]:
    """One step's method calls (``[("filter", [condition])]``) and whether they use ``pl``."""
    kind = step["kind"]
    if kind == "filter":
        return [("filter", [_condition(step, schema, prefix)])], True
    if kind == "select":
        return [("select", _column_list(step["columns"], schema, f"{prefix}.columns"))], False
    if kind == "sort":
        name = literal(_column(step["column"], schema, f"{prefix}.column"))
        if not isinstance(step["descending"], bool):
            raise AttrError(f"{prefix}.descending", "must be true or false")
        return [("sort", [name, *(["descending=True"] if step["descending"] else [])])], False
    if kind == "group_by":
        by = _column_list(step["by"], schema, f"{prefix}.by")
        aggregations = _aggregations(step["aggregations"], schema, f"{prefix}.aggregations")
        return [("group_by", [*by, "maintain_order=True"]), ("agg", aggregations)], True
    if kind == "derive":
        return [("with_columns", [_derived(step, schema, prefix)])], True
    allowed = ", ".join(kind for kind, _ in STEP_KINDS)
    raise AttrError(f"{prefix}.kind", f"must be one of {allowed}, got {kind!r}")


def _column(name: Any, schema: dict[str, Any], field: str) -> str:
    """``name`` if it is a column of ``schema`` that polars reads as a name (not a pattern)."""
    if not isinstance(name, str) or name not in schema:
        there = ", ".join(repr(column) for column in schema) or "none"
        what = "choose a column" if name in ("", None) else f"no column {name!r}"
        raise AttrError(field, f"{what} (columns here: {there})")
    if name == "*" or (name.startswith("^") and name.endswith("$")):
        raise AttrError(
            field, f"polars reads {name!r} as a pattern, not a name: rename the column first"
        )
    return name


def _col(name: str) -> str:
    return f"pl.col({literal(name)})"


def _column_list(items: Any, schema: dict[str, Any], field: str) -> list[str]:
    if not isinstance(items, list) or not items:
        raise AttrError(field, "add at least one column")
    names = []
    for index, item in enumerate(items):
        name = item.get("column") if isinstance(item, dict) else item
        names.append(literal(_column(name, schema, f"{field}.{index}.column")))
    return names


def _aggregations(items: Any, schema: dict[str, Any], field: str) -> list[str]:
    if not isinstance(items, list) or not items:
        raise AttrError(field, "add at least one aggregation")
    made = []
    for index, item in enumerate(items):
        item = item if isinstance(item, dict) else {}
        name = _column(item.get("column"), schema, f"{field}.{index}.column")
        function = item.get("function")
        if function not in FUNCTIONS:
            raise AttrError(
                f"{field}.{index}.function",
                f"must be one of {', '.join(FUNCTIONS)}, got {function!r}",
            )
        made.append(f"{_col(name)}.{function}().alias({literal(f'{name}_{function}')})")
    return made


def _condition(step: dict[str, Any], schema: dict[str, Any], prefix: str) -> str:
    name = _column(step["column"], schema, f"{prefix}.column")
    operator, dtype = step["operator"], schema[name]
    if operator == "is null":
        return f"{_col(name)}.is_null()"
    if operator == "is not null":
        return f"{_col(name)}.is_not_null()"
    if operator == "contains":
        if dtype != pl.String:
            raise AttrError(
                f"{prefix}.operator", f"contains needs a text column; {name!r} is {dtype}"
            )
        text = _text(step["value"], f"{prefix}.value")
        return f"{_col(name)}.str.contains({literal(text)}, literal=True)"
    if operator not in OPERATORS:
        raise AttrError(
            f"{prefix}.operator", f"must be one of {', '.join(OPERATORS)}, got {operator!r}"
        )
    return f"{_col(name)} {operator} {typed_value(step['value'], dtype, f'{prefix}.value', name)}"


def _derived(step: dict[str, Any], schema: dict[str, Any], prefix: str) -> str:
    new = step["name"]
    if not isinstance(new, str) or not new:
        raise AttrError(f"{prefix}.name", "type the new column's name")
    left = _column(step["left"], schema, f"{prefix}.left")
    op = step["op"]
    if op not in DERIVE_OPS:
        raise AttrError(f"{prefix}.op", f"must be one of {', '.join(DERIVE_OPS)}, got {op!r}")
    if step["right_kind"] == "column":
        right = _col(_column(step["right"], schema, f"{prefix}.right"))
    elif step["right_kind"] == "value":
        right = typed_value(step["right_value"], schema[left], f"{prefix}.right_value", left)
    else:
        raise AttrError(
            f"{prefix}.right_kind", f"must be column or value, got {step['right_kind']!r}"
        )
    return f"({_col(left)} {op} {right}).alias({literal(new)})"


def _text(value: Any, field: str) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise AttrError(field, f"must be text or a number, got {type(value).__name__}")
    return value if isinstance(value, str) else repr(value)


def typed_value(value: Any, dtype: Any, field: str, column: str) -> str:
    """The code of a value typed in the form, read as the column's dtype.

    >>> typed_value("30", pl.Int64, "steps.0.value", "age")
    '30'
    >>> typed_value("2024-01-31", pl.Date, "steps.0.value", "day")
    'pl.date(2024, 1, 31)'
    >>> typed_value("x", pl.Float64, "steps.0.value", "age")
    Traceback (most recent call last):
    ...
    kino.ui.smart.cell.AttrError: steps.0.value: must be a number for column 'age' (Float64), got...
    """
    text = _text(value, field)
    if dtype.is_numeric():
        number = _number(text.strip())
        if number is None:
            raise AttrError(
                field, f"must be a number for column {column!r} ({dtype}), got {text!r}"
            )
        return literal(number, field)
    if dtype == pl.Boolean:
        truth = {"true": True, "false": False}.get(text.strip().lower())
        if truth is None:
            raise AttrError(field, f"must be true or false for column {column!r}, got {text!r}")
        return literal(truth, field)
    if dtype in (pl.String, pl.Categorical) or isinstance(dtype, pl.Enum):
        return literal(text, field)
    if dtype == pl.Date:
        try:
            day = dt.date.fromisoformat(text.strip())
        except ValueError:
            raise AttrError(
                field, f"must be a date like 2024-01-31 for {column!r}, got {text!r}"
            ) from None
        return f"pl.date({day.year}, {day.month}, {day.day})"
    if isinstance(dtype, pl.Datetime):
        try:
            moment = dt.datetime.fromisoformat(text.strip())
        except ValueError:
            raise AttrError(
                field, f"must be a date-time like 2024-01-31 12:30 for {column!r}, got {text!r}"
            ) from None
        parts = [moment.year, moment.month, moment.day, moment.hour, moment.minute, moment.second]
        arguments = ", ".join(str(part) for part in parts)
        if moment.microsecond:
            arguments += f", {moment.microsecond}"
        if dtype.time_zone:
            arguments += f", time_zone={literal(dtype.time_zone)}"
        return f"pl.datetime({arguments})"
    raise AttrError(field, f"comparing {dtype} values is not supported: use is null / is not null")


def _number(text: str) -> int | float | None:
    try:
        return int(text)
    except ValueError:
        pass
    try:
        number = float(text)
    except ValueError:
        return None
    return number if math.isfinite(number) else None
