"""The "Chart builder" smart cell: a polars frame of the notebook, a mark and the x / y /
color / size encodings, written as altair code shown with ``kino.chart``.

>>> import __main__, polars as pl
>>> __main__.sales = pl.DataFrame({"month": [1, 2], "amount": [3.5, 4.0]})
>>> print(ChartBuilder(source="sales", mark="line", x="month", y="amount").code)
import altair as alt
<BLANKLINE>
import kino
<BLANKLINE>
chart = (
    alt.Chart(sales)
    .mark_line()
    .encode(
        x=alt.X(field="month", type="quantitative"),
        y=alt.Y(field="amount", type="quantitative"),
    )
)
kino.chart(chart)
>>> del __main__.sales
"""

from __future__ import annotations

from typing import Any

import polars as pl

from kino.smart._code import call, identifier, imports, literal
from kino.smart._namespace import frames, lookup, schema, source_field
from kino.ui.smart import AttrError, SmartCell

PREVIEW_MAX_ROWS = 2_000
"""Rows the live preview charts: a sample of a larger frame (the code charts them all)."""

ALTAIR_MAX_ROWS = 5_000
"""altair's own limit on rows embedded in a chart: a larger frame's code lifts it."""

MARKS = ["point", "circle", "line", "bar", "area", "tick", "rect", "boxplot"]
CHANNELS = {"x": "X", "y": "Y", "color": "Color", "size": "Size"}
AGGREGATES = ["", "count", "sum", "mean", "median", "min", "max", "distinct"]
TYPES = ["auto", "quantitative", "nominal", "ordinal", "temporal"]


class ChartBuilder(SmartCell):
    """A form that charts a frame of the notebook with altair.

    >>> ChartBuilder(source="", x="a").error
    'choose a polars frame (frames: none yet: run a cell that makes one)'
    """

    kind, title = "chart_builder", "Chart builder"

    def defaults(self) -> dict[str, Any]:
        """Points, no columns chosen yet, no title, the cell's width."""
        channels = {}
        for channel in CHANNELS:
            channels |= {channel: "", f"{channel}_aggregate": "", f"{channel}_type": "auto"}
        return {
            "source": "",
            "mark": "point",
            **channels,
            "title": "",
            "width": None,
            "height": None,
        }

    def form(self, attrs: dict[str, Any]) -> list[dict[str, Any]]:
        """Frame, mark and title, then each channel's column / aggregate / type (a row
        each in the form's three columns), then the size."""
        available = frames()
        columns = [
            [name, f"{name} ({dtype})"] for name, dtype in available.get(attrs["source"], [])
        ]
        fields: list[dict[str, Any]] = [
            source_field(available),
            {"name": "mark", "label": "Mark", "type": "select", "options": [[m, m] for m in MARKS]},
            {"name": "title", "label": "Title", "type": "text"},
        ]
        for channel in CHANNELS:
            fields += [
                {
                    "name": channel,
                    "label": channel.capitalize(),
                    "type": "select",
                    "options": [["", "(none)"], *columns],
                },
                {
                    "name": f"{channel}_aggregate",
                    "label": f"{channel.capitalize()} aggregate",
                    "type": "select",
                    "options": [[a, a or "(none)"] for a in AGGREGATES],
                },
                {
                    "name": f"{channel}_type",
                    "label": f"{channel.capitalize()} type",
                    "type": "select",
                    "options": [[t, "from the column" if t == "auto" else t] for t in TYPES],
                },
            ]
        return [
            *fields,
            {"name": "width", "label": "Width", "type": "number", "min": 50, "integer": True},
            {"name": "height", "label": "Height", "type": "number", "min": 50, "integer": True},
        ]

    def generate(self, attrs: dict[str, Any]) -> str:
        """``chart = alt.Chart(<frame>).mark_<mark>().encode(...)`` then ``kino.chart(chart)``."""
        frame = lookup(attrs["source"], "source")
        source = identifier(attrs["source"], "source")
        expression = chart_expression(attrs, source, schema(frame), lazy=_is_lazy(frame))
        lines = [imports("import altair as alt", "import kino"), ""]
        if not _is_lazy(frame) and frame.height > ALTAIR_MAX_ROWS:
            lines.append("alt.data_transformers.disable_max_rows()")
        return "\n".join([*lines, f"chart = {expression}", "kino.chart(chart)"])

    def preview(self, attrs: dict[str, Any]) -> Any:
        """The chart itself over a sample of at most ``PREVIEW_MAX_ROWS`` rows."""
        import altair as alt

        from kino.ui.live import chart

        frame = lookup(attrs["source"], "source")
        source = identifier(attrs["source"], "source")
        lazy = _is_lazy(frame)
        expression = chart_expression(attrs, source, schema(frame), lazy=lazy)
        if lazy:
            sample: Any = frame.head(PREVIEW_MAX_ROWS).collect().lazy()
        elif frame.height > PREVIEW_MAX_ROWS:
            sample = frame.sample(n=PREVIEW_MAX_ROWS, seed=0)
        else:
            sample = frame
        # The preview evaluates the very expression the cell writes, over the sample;
        # every name and value in it is a literal.
        built = eval(expression, {"__builtins__": {}, "alt": alt}, {source: sample})
        return chart(built)


def chart_expression(
    attrs: dict[str, Any], source: str, columns: dict[str, Any], *, lazy: bool
) -> str:
    """The altair expression of ``attrs`` over the frame ``source`` with these columns.

    >>> attrs = {"mark": "bar", "x": "team", "y_aggregate": "count"}
    >>> print(chart_expression(attrs, "df", {"team": pl.String}, lazy=False))
    (
        alt.Chart(df)
        .mark_bar()
        .encode(
            x=alt.X(field="team", type="nominal"),
            y=alt.Y(aggregate="count", type="quantitative"),
        )
    )
    """
    mark = attrs.get("mark")
    if mark not in MARKS:
        raise AttrError("mark", f"must be one of {', '.join(MARKS)}, got {mark!r}")
    renames: dict[str, str] = {}
    encodings = []
    for channel, klass in CHANNELS.items():
        arguments = _encoding(attrs, channel, columns, renames)
        if arguments:
            written = call(f"{channel}=alt.{klass}", arguments, indent=8, tail=1)
            encodings.append(written)
    if not encodings:
        raise AttrError("x", "choose a column for x or y (or a count aggregate)")
    data = source + (".collect()" if lazy else "")
    if renames:
        data = f"{data}.rename({literal(renames)})"
    # The encodings end in a trailing comma, so ruff keeps them (and so the chain) one
    # per line: the layout is the same however short the chart is.
    calls = [
        call("alt.Chart", [data], indent=4),
        f".mark_{mark}()",
        ".encode(\n" + "".join(f"        {line},\n" for line in encodings) + "    )",
    ]
    properties = _properties(attrs)
    if properties:
        calls.append(call(".properties", properties, indent=4))
    return "(\n" + "".join(f"    {line}\n" for line in calls) + ")"


def _encoding(
    attrs: dict[str, Any], channel: str, columns: dict[str, Any], renames: dict[str, str]
) -> list[str]:
    """One channel's ``alt.X(...)`` arguments, or ``[]`` when it is not used."""
    column, aggregate = attrs.get(channel, ""), attrs.get(f"{channel}_aggregate", "")
    kind = attrs.get(f"{channel}_type", "auto")
    if aggregate not in AGGREGATES:
        allowed = ", ".join(a or "none" for a in AGGREGATES)
        raise AttrError(f"{channel}_aggregate", f"must be one of {allowed}, got {aggregate!r}")
    if kind not in TYPES:
        raise AttrError(f"{channel}_type", f"must be one of {', '.join(TYPES)}, got {kind!r}")
    if column in ("", None):
        if aggregate == "count":
            return ['aggregate="count"', 'type="quantitative"']
        return []
    if not isinstance(column, str) or column not in columns:
        there = ", ".join(repr(name) for name in columns) or "none"
        raise AttrError(channel, f"no column {column!r} (columns: {there})")
    field, title = _vega_field(column, columns, renames, channel)
    if kind == "auto":
        kind = (
            "quantitative" if aggregate in ("count", "distinct") else _default_type(columns[column])
        )
    arguments = [f"field={literal(field)}"]
    if aggregate:
        arguments.append(f"aggregate={literal(aggregate)}")
    arguments.append(f"type={literal(kind)}")
    if title:
        # Vega-Lite writes the title into expressions (the marks' descriptions), where a
        # line break is a syntax error: the title keeps the name on one line.
        one_line = "".join(c if c.isprintable() else " " for c in column)
        arguments.append(f"title={literal(one_line)}")
    return arguments


def _vega_field(
    column: str, columns: dict[str, Any], renames: dict[str, str], channel: str
) -> tuple[str, bool]:
    """How Vega-Lite names ``column``, and whether the axis needs its real name as title.

    Vega-Lite reads ``.`` and ``[]`` as nested access (escaped with a backslash) and
    cannot read a quote or a line break at all: such a column is renamed in the chart's
    data (quotes become typographic ones, line breaks and other control characters
    spaces)."""
    name = column
    if "'" in name or '"' in name or not name.isprintable():
        name = name.replace("'", "\u2019").replace('"', "\u201d")
        name = "".join(c if c.isprintable() else " " for c in name)
        if name in columns and name != column:
            raise AttrError(
                channel, f"cannot chart {column!r}: rename it (it has quotes or line breaks)"
            )
        renames[column] = name
    escaped = "".join("\\" + c if c in ".[]\\" else c for c in name)
    return escaped, escaped != column


def _default_type(dtype: Any) -> str:
    if dtype.is_numeric():
        return "quantitative"
    if dtype.is_temporal():
        return "temporal"
    return "nominal"


def _properties(attrs: dict[str, Any]) -> list[str]:
    properties = []
    title = attrs.get("title", "")
    if not isinstance(title, str):
        raise AttrError("title", f"must be text, got {type(title).__name__}")
    if title:
        properties.append(f"title={literal(title)}")
    for side in ("width", "height"):
        size = attrs.get(side)
        if size is None:
            continue
        if isinstance(size, bool) or not isinstance(size, int | float) or not 50 <= size <= 4000:
            raise AttrError(side, f"must be a number of pixels from 50 to 4000, got {size!r}")
        properties.append(f"{side}={int(size)}")
    return properties


def _is_lazy(frame: Any) -> bool:
    return isinstance(frame, pl.LazyFrame)
