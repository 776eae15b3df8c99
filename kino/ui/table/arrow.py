"""Pages of ``kino.table`` as Arrow IPC bytes, ready to travel as a binary buffer.

Numbers and booleans keep their Arrow type (the browser formats them);
temporal, decimal and wide-integer values become text formatted here by polars;
lists and structs become compact JSON text; binary values become their size.
Long text is cut so a page stays small: see :data:`MAX_CELL_CHARS` and
:data:`PAGE_BYTES_BUDGET`.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from typing import Any

import polars as pl

from kino.ui.table.columns import Column

#: Text cells longer than this are cut (the browser shows the kept part on hover).
MAX_CELL_CHARS = 1000
#: A page whose Arrow bytes exceed this is re-encoded with shorter text cells.
PAGE_BYTES_BUDGET = 64 * 1024
#: Successively shorter cuts tried until a page fits :data:`PAGE_BYTES_BUDGET`.
CELL_CHAR_STEPS = (MAX_CELL_CHARS, 120, 32)
#: Marks a cell whose text was cut.
ELLIPSIS = "…"

Formatter = Callable[[str, Any], "str | None"]


class FormatterError(ValueError):
    """The user's formatter raised or returned something other than str/None."""


def _cut(expr: pl.Expr, limit: int) -> pl.Expr:
    return (
        pl.when(expr.str.len_chars() > limit)
        .then(expr.str.slice(0, limit) + pl.lit(ELLIPSIS))
        .otherwise(expr)
    )


def json_text(value: Any) -> str | None:
    if value is None:
        return None
    return json.dumps(value, default=str, ensure_ascii=False, separators=(",", ":"))


def _python_text(series: pl.Series, limit: int, to_text: Callable[[Any], str | None]) -> pl.Series:
    out = []
    for value in series.to_list():
        text = to_text(value)
        if text is not None and len(text) > limit:
            text = text[:limit] + ELLIPSIS
        out.append(text)
    return pl.Series(series.name, out, dtype=pl.String)


def _datetime_format(column: Column) -> str:
    if getattr(column.dtype, "time_zone", None):
        return "%Y-%m-%d %H:%M:%S%.f %Z"
    return "%Y-%m-%d %H:%M:%S%.f"


def display_column(series: pl.Series, column: Column, limit: int) -> pl.Series:
    """One page column converted to what the browser draws."""
    kind = column.kind
    expr = pl.col(series.name)
    frame = series.to_frame()
    if kind in ("int", "bool"):
        return series
    if kind == "float":
        return series if series.dtype in (pl.Float32, pl.Float64) else series.cast(pl.Float32)
    if kind in ("text", "category"):
        return frame.select(_cut(expr.cast(pl.String), limit)).to_series()
    if kind == "date":
        return frame.select(expr.dt.to_string("%Y-%m-%d")).to_series()
    if kind == "datetime":
        return frame.select(expr.dt.to_string(_datetime_format(column))).to_series()
    if kind == "duration":
        return frame.select(expr.dt.to_string("polars")).to_series()
    if kind in ("time", "decimal", "bigint"):
        return series.cast(pl.String)
    if kind == "binary":
        return frame.select(expr.bin.size().cast(pl.UInt64)).to_series()
    if kind in ("list", "struct"):
        return _python_text(series, limit, json_text)
    if kind == "null":
        return pl.Series(series.name, [None] * series.len(), dtype=pl.String)
    return _python_text(series, limit, lambda v: None if v is None else str(v))


def _apply_formatter(
    formatter: Formatter, column: Column, raw: pl.Series, shown: pl.Series, limit: int
) -> pl.Series:
    results: list[str | None] = []
    for value in raw.to_list():
        try:
            text = formatter(column.name, value)
        except Exception as error:
            raise FormatterError(
                f"formatter raised {type(error).__name__}: {error} "
                f"(column {column.name!r}, value {value!r:.40})"
            ) from error
        if text is not None and not isinstance(text, str):
            raise FormatterError(
                f"formatter must return str or None, got {type(text).__name__} "
                f"for column {column.name!r}"
            )
        results.append(text)
    if all(text is None for text in results):
        return shown
    defaults = shown.cast(pl.String) if shown.dtype != pl.String else shown
    merged = [
        text if text is not None else default
        for text, default in zip(results, defaults.to_list(), strict=True)
    ]
    return _python_text(pl.Series(shown.name, merged), limit, lambda v: v)


def _encode(frame: pl.DataFrame) -> bytes:
    buffer = io.BytesIO()
    # The oldest compat level writes plain (large) strings, which apache-arrow in
    # the browser decodes; newer levels write string views.
    frame.write_ipc_stream(buffer, compat_level=pl.CompatLevel.oldest())
    return buffer.getvalue()


def encode_page(
    page: pl.DataFrame,
    columns: list[Column],
    row_id: str,
    formatter: Formatter | None = None,
) -> bytes:
    """Arrow IPC stream of a page: field ``row`` (positions) then ``c0``, ``c1``, ...

    Fields are named by column index, so any column name (empty, duplicated
    after escaping, HTML-looking) travels only in the JSON ``columns`` trait and
    is drawn as text.
    """
    data = b""
    for limit in CELL_CHAR_STEPS:
        shown = [page.get_column(row_id).alias("row")]
        for column in columns:
            raw = page.get_column(column.name)
            converted = display_column(raw, column, limit)
            if formatter is not None:
                converted = _apply_formatter(formatter, column, raw, converted, limit)
            shown.append(converted.alias(f"c{column.index}"))
        data = _encode(pl.DataFrame(shown))
        if len(data) <= PAGE_BYTES_BUDGET:
            break
    return data
