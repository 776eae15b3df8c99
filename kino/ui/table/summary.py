"""Column summaries of ``kino.table``: nulls, ranges, means, histograms, top values.

Computed with polars in two queries over the whole data (scalar statistics,
then histograms and top values for all columns at once), once per data
version. The result is plain JSON (finite numbers, strings, lists) for the
``summaries`` trait.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import polars as pl

from kino.ui.table.columns import Column

#: Bars in a column header's histogram.
HISTOGRAM_BINS = 16
#: Most frequent values listed for text and category columns.
TOP_VALUES = 3
#: Longest value text kept in a summary.
SUMMARY_TEXT_CHARS = 60
#: Above this many rows, unique counts are polars' approximate (HyperLogLog) count.
EXACT_UNIQUE_ROWS = 1_000_000
#: Text columns with more distinct values than this get their top values from an
#: evenly spread sample of :data:`TOP_SAMPLE_ROWS` rows (counting every value of a
#: ten-million-row ID column takes seconds and says little).
TOP_EXACT_UNIQUE = 100_000
TOP_SAMPLE_ROWS = 500_000

_NUMERIC = ("int", "float", "decimal")
_RANGED = ("date", "datetime", "duration", "time")


def _finite(value: Any) -> float | int | None:
    if value is None:
        return None
    if isinstance(value, int):
        return value
    number = float(value)
    return number if math.isfinite(number) else None


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, dt.timedelta):
        text = pl.Series([value]).dt.to_string("polars").item()
    elif isinstance(value, dt.datetime):
        text = value.strftime("%Y-%m-%d %H:%M:%S")
        if value.microsecond:
            text += f".{value.microsecond:06d}"
        if value.tzinfo is not None:
            text += value.strftime(" %Z")
    elif isinstance(value, (dt.date, dt.time)):
        text = value.isoformat()
    else:
        text = str(value)
    return text if len(text) <= SUMMARY_TEXT_CHARS else text[:SUMMARY_TEXT_CHARS] + "…"


def _num(c: Column) -> pl.Expr:
    col = pl.col(c.name)
    if c.kind == "decimal" or c.dtype == pl.UInt64 or c.dtype == pl.Int64:
        return col.cast(pl.Float64)
    return col


def _scalar_exprs(c: Column, rows: int) -> list[pl.Expr]:
    i = c.index
    col = pl.col(c.name)
    out = [col.null_count().alias(f"{i}:nulls")]
    if c.kind in _NUMERIC:
        num = _num(c)
        finite = num.filter(num.is_finite()) if c.kind == "float" else num
        out += [
            finite.min().cast(pl.Float64).alias(f"{i}:min"),
            finite.max().cast(pl.Float64).alias(f"{i}:max"),
            finite.mean().cast(pl.Float64).alias(f"{i}:mean"),
        ]
        if c.kind == "float":
            out += [
                num.is_nan().sum().alias(f"{i}:nan"),
                num.is_infinite().sum().alias(f"{i}:inf"),
            ]
    elif c.kind == "bool":
        out += [col.sum().alias(f"{i}:true"), (~col).sum().alias(f"{i}:false")]
    elif c.kind in ("text", "category"):
        unique = col.n_unique() if rows <= EXACT_UNIQUE_ROWS else col.approx_n_unique()
        out.append(unique.alias(f"{i}:unique"))
    elif c.kind in _RANGED:
        out += [col.min().alias(f"{i}:min"), col.max().alias(f"{i}:max")]
    return out


def _histogram_expr(c: Column) -> pl.Expr:
    num = _num(c).cast(pl.Float64)
    finite = num.filter(num.is_finite())
    return finite.hist(bin_count=HISTOGRAM_BINS).implode().alias(f"{c.index}:hist")


def _top_expr(c: Column, rows: int, unique: int) -> tuple[pl.Expr, bool]:
    """Most frequent values, exact or from an evenly spread sample; and whether sampled."""
    col = pl.col(c.name)
    sampled = c.kind == "text" and unique > TOP_EXACT_UNIQUE and rows > TOP_SAMPLE_ROWS
    if sampled:
        col = col.gather_every(max(1, rows // TOP_SAMPLE_ROWS))
    expr = (
        col.drop_nulls()
        .value_counts(sort=True, name="n")
        .head(TOP_VALUES)
        .implode()
        .alias(f"{c.index}:top")
    )
    return expr, sampled


def summarize(data: pl.DataFrame | pl.LazyFrame, columns: list[Column]) -> list[dict]:
    """One summary dict per column, in column order.

    >>> from kino.ui.table.columns import describe_schema
    >>> df = pl.DataFrame({"x": [1, 2, None]})
    >>> summarize(df, describe_schema(df.schema))[0]["nulls"]
    1
    """
    lf = data.lazy()
    rows = int(lf.select(pl.len()).collect().item())
    exprs = [e for c in columns for e in _scalar_exprs(c, rows)]
    stats = lf.select(exprs).collect().row(0, named=True) if exprs else {}
    summaries: list[dict] = []
    second: list[pl.Expr] = []
    for c in columns:
        i = c.index
        s: dict[str, Any] = {"kind": c.kind, "count": rows, "nulls": int(stats[f"{i}:nulls"])}
        if c.kind in _NUMERIC:
            s["min"] = _finite(stats[f"{i}:min"])
            s["max"] = _finite(stats[f"{i}:max"])
            s["mean"] = _finite(stats[f"{i}:mean"])
            if c.kind == "float":
                s["nan"] = int(stats[f"{i}:nan"] or 0)
                s["inf"] = int(stats[f"{i}:inf"] or 0)
            if s["min"] is not None and s["max"] is not None:
                if s["max"] > s["min"]:
                    second.append(_histogram_expr(c))
                else:
                    s["histogram"] = [rows - s["nulls"] - s.get("nan", 0) - s.get("inf", 0)]
        elif c.kind == "bool":
            s["true"] = int(stats[f"{i}:true"] or 0)
            s["false"] = int(stats[f"{i}:false"] or 0)
        elif c.kind in ("text", "category"):
            s["unique"] = int(stats[f"{i}:unique"])
            s["unique_approx"] = rows > EXACT_UNIQUE_ROWS
            expr, s["top_sampled"] = _top_expr(c, rows, s["unique"])
            second.append(expr)
        elif c.kind in _RANGED:
            s["min"] = _text(stats[f"{i}:min"])
            s["max"] = _text(stats[f"{i}:max"])
        summaries.append(s)
    if second:
        more = lf.select(second).collect().row(0, named=True)
        for c in columns:
            key = f"{c.index}:hist"
            if key in more:
                summaries[c.index]["histogram"] = [int(n) for n in more[key]]
            key = f"{c.index}:top"
            if key in more:
                summaries[c.index]["top"] = [[_text(e[c.name]), int(e["n"])] for e in more[key]]
    return summaries
