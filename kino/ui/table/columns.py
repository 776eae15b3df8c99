"""Column descriptions for ``kino.table``: what kind of value a polars dtype holds.

The front end draws a column from its *kind* (``int``, ``float``, ``text``,
``category``, ``date`` ...): alignment, formatting, which filters it offers and
whether it can be sorted. The kind is derived once from the polars schema.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

INT_DTYPES = (
    pl.Int8,
    pl.Int16,
    pl.Int32,
    pl.Int64,
    pl.UInt8,
    pl.UInt16,
    pl.UInt32,
    pl.UInt64,
)
WIDE_INT_DTYPES = (pl.Int128, *((pl.UInt128,) if hasattr(pl, "UInt128") else ()))
FLOAT_DTYPES = (pl.Float32, pl.Float64, *((pl.Float16,) if hasattr(pl, "Float16") else ()))

#: Kinds whose values have an order polars can sort by.
SORTABLE_KINDS = frozenset(
    {"int", "float", "decimal", "bool", "text", "category", "date", "datetime", "duration", "time"}
)
#: Kinds that accept a ``between`` (range) filter.
RANGE_KINDS = frozenset({"int", "float", "decimal", "date", "datetime", "duration", "time"})
#: Kinds that accept a case-insensitive ``contains`` filter and take part in global search.
TEXT_KINDS = frozenset({"text", "category"})
#: Kinds that accept an ``in`` (membership) filter.
MEMBER_KINDS = frozenset({"text", "category", "bool", "int"})


#: Display kind of each group of polars dtypes, tried in order; anything else is "object".
_KINDS: tuple[tuple[type | tuple[type, ...], str], ...] = (
    (INT_DTYPES, "int"),
    (WIDE_INT_DTYPES, "bigint"),
    (FLOAT_DTYPES, "float"),
    (pl.Boolean, "bool"),
    (pl.String, "text"),
    ((pl.Categorical, pl.Enum), "category"),
    (pl.Datetime, "datetime"),
    (pl.Date, "date"),
    (pl.Duration, "duration"),
    (pl.Time, "time"),
    (pl.Decimal, "decimal"),
    (pl.Binary, "binary"),
    ((pl.List, pl.Array), "list"),
    (pl.Struct, "struct"),
    (pl.Null, "null"),
)


def column_kind(dtype: pl.DataType) -> str:
    """The display kind of a polars dtype.

    >>> column_kind(pl.Int64())
    'int'
    >>> column_kind(pl.List(pl.String))
    'list'
    """
    for dtypes, kind in _KINDS:
        if isinstance(dtype, dtypes):
            return kind
    return "object"


def filter_ops(kind: str) -> list[str]:
    """The filter operations a column of this kind accepts, in menu order."""
    ops = []
    if kind in RANGE_KINDS:
        ops.append("between")
    if kind in TEXT_KINDS:
        ops.append("contains")
    if kind in MEMBER_KINDS:
        ops.append("in")
    ops += ["is_null", "not_null"]
    return ops


@dataclass(frozen=True)
class Column:
    """One column as the table shows it."""

    index: int
    name: str
    dtype: pl.DataType
    kind: str

    @property
    def sortable(self) -> bool:
        return self.kind in SORTABLE_KINDS

    def describe(self) -> dict:
        """The JSON description the front end receives."""
        return {
            "name": self.name,
            "dtype": self.dtype._string_repr(),
            "kind": self.kind,
            "sortable": self.sortable,
            "filters": filter_ops(self.kind),
            "time_zone": getattr(self.dtype, "time_zone", None),
        }


def describe_schema(schema: pl.Schema) -> list[Column]:
    """Columns of a polars schema, in order."""
    return [
        Column(index, name, dtype, column_kind(dtype))
        for index, (name, dtype) in enumerate(schema.items())
    ]
