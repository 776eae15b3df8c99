"""kino.smart.chart_builder: a frame of the notebook, a mark and encodings -> altair code
that runs and gives the chart asked for (checked on ``chart.to_dict()``); hostile column
names stay data; bad attributes are named in the form; the preview is a bounded sample."""

from __future__ import annotations

import ast
import datetime as dt
import json
import sys

import altair as alt
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kino.smart._chart_builder import ALTAIR_MAX_ROWS, PREVIEW_MAX_ROWS, ChartBuilder
from kino.ui.live import Chart
from tests.smart.test_code import assert_formatted

SALES = pl.DataFrame(
    {
        "month": [1, 2, 3, 4],
        "amount": [3.5, 4.0, 2.5, 6.0],
        "region": ["n", "s", "n", "s"],
        "day": [dt.date(2024, 1, d) for d in (1, 2, 3, 4)],
    }
)


@pytest.fixture
def altair_limit():
    """Generated code may lift altair's row limit: put it back after the test."""
    yield
    alt.data_transformers.enable("default", max_rows=ALTAIR_MAX_ROWS)


def run(cell, **frames):
    """Run the cell's code in a fresh namespace; return the altair chart and its spec."""
    assert cell.error == "", cell.error
    namespace = dict(frames)
    exec(compile(cell.code, "<smart cell>", "exec"), namespace)
    chart = namespace["chart"]
    return chart, chart.to_dict()


def rows_of(spec):
    (rows,) = spec["datasets"].values()
    return rows


def test_a_point_chart_encodes_the_columns_with_types_from_their_dtypes(notebook):
    notebook(sales=SALES)
    cell = ChartBuilder(source="sales", x="day", y="amount", color="region", size="month")
    _, spec = run(cell, sales=SALES)
    assert spec["mark"] == {"type": "point"}
    assert spec["encoding"] == {
        "x": {"field": "day", "type": "temporal"},
        "y": {"field": "amount", "type": "quantitative"},
        "color": {"field": "region", "type": "nominal"},
        "size": {"field": "month", "type": "quantitative"},
    }
    assert len(rows_of(spec)) == SALES.height
    assert cell.code.splitlines()[:3] == ["import altair as alt", "", "import kino"]
    assert cell.code.splitlines()[-1] == "kino.chart(chart)"


def test_aggregates_counts_types_title_and_size(notebook):
    notebook(sales=SALES)
    cell = ChartBuilder(
        source="sales",
        mark="bar",
        x="month",
        x_type="ordinal",
        y="amount",
        y_aggregate="mean",
        color_aggregate="count",
        title="Mean 'amount'",
        width=320,
        height=200,
    )
    _, spec = run(cell, sales=SALES)
    assert spec["mark"] == {"type": "bar"}
    assert spec["encoding"]["x"] == {"field": "month", "type": "ordinal"}
    assert spec["encoding"]["y"] == {"field": "amount", "aggregate": "mean", "type": "quantitative"}
    assert spec["encoding"]["color"] == {"aggregate": "count", "type": "quantitative"}
    assert (spec["title"], spec["width"], spec["height"]) == ("Mean 'amount'", 320, 200)


def test_a_lazy_frame_is_collected_in_the_code(notebook):
    lazy = SALES.lazy()
    notebook(sales=lazy)
    cell = ChartBuilder(source="sales", mark="line", x="month", y="amount")
    assert "alt.Chart(sales.collect())" in cell.code
    _, spec = run(cell, sales=lazy)
    assert len(rows_of(spec)) == SALES.height


def test_a_frame_over_altairs_limit_charts_all_its_rows_and_previews_a_sample(
    notebook, altair_limit
):
    big = pl.DataFrame({"i": range(ALTAIR_MAX_ROWS + 10), "v": [1.0] * (ALTAIR_MAX_ROWS + 10)})
    notebook(big=big)
    cell = ChartBuilder(source="big", x="i", y="v")
    assert "alt.data_transformers.disable_max_rows()" in cell.code
    _, spec = run(cell, big=big)
    assert len(rows_of(spec)) == big.height
    preview = cell.preview_frame.children[-1]
    assert isinstance(preview, Chart)
    assert len(preview.rows()) == PREVIEW_MAX_ROWS


def test_the_preview_is_the_chart_of_the_code(notebook):
    notebook(sales=SALES)
    cell = ChartBuilder(source="sales", mark="area", x="month", y="amount")
    preview = cell.preview_frame.children[-1]
    assert preview.spec["mark"] == {"type": "area"}
    assert preview.spec["encoding"] == run(cell, sales=SALES)[1]["encoding"]
    assert [row["amount"] for row in preview.rows()] == SALES["amount"].to_list()


@pytest.mark.parametrize(
    ("attrs", "field", "fragment"),
    [
        ({"mark": "pie"}, "mark", "must be one of"),
        ({"x": "profit"}, "x", "no column 'profit'"),
        ({"y": "amount", "y_aggregate": "total"}, "y_aggregate", "must be one of"),
        ({"color": "region", "color_type": "colour"}, "color_type", "must be one of"),
        ({"x": "", "y": ""}, "x", "choose a column"),
        ({"width": 10}, "width", "from 50 to 4000"),
        ({"height": "tall"}, "height", "from 50"),
        ({"title": 3}, "title", "must be text"),
        ({"source": "gone"}, "source", "no polars frame named 'gone'"),
    ],
)
def test_bad_attributes_name_their_field_and_keep_the_good_code(notebook, attrs, field, fragment):
    notebook(sales=SALES)
    cell = ChartBuilder(source="sales", x="month", y="amount")
    good = cell.code
    cell.attrs = {**cell.attrs, **attrs}
    assert (cell.error_field, cell.code) == (field, good)
    assert fragment in cell.error


def test_the_frames_and_columns_offered_follow_the_namespace(notebook, monkeypatch):
    notebook(sales=SALES)
    cell = ChartBuilder(source="sales", x="month")
    assert "sales" in [value for value, _ in cell.fields[0]["options"]]
    assert [value for value, _ in field(cell, "x")["options"]] == ["", *SALES.columns]
    monkeypatch.setattr(sys.modules["__main__"], "sales", SALES.select("month"))
    cell.refresh()  # what the kernel does after a cell runs
    assert [value for value, _ in field(cell, "x")["options"]] == ["", "month"]


def unescape(field):
    """Vega-Lite's reading of an escaped field name (a backslash escapes the next char)."""
    out, i = [], 0
    while i < len(field):
        if field[i] == "\\":
            i += 1
        out.append(field[i])
        i += 1
    return "".join(out)


HOSTILE = st.one_of(
    st.text(min_size=1, max_size=12),
    st.sampled_from(['"); import os; #', "it's", "a.b", "a[0]", "x\ny", "\\", "count()"]),
)


def one_line(name):
    return "".join(c if c.isprintable() else " " for c in name)


def charted(name):
    """The name a column has in the chart's data: Vega-Lite cannot read quotes or line
    breaks, so the code renames them (typographic quotes; control characters spaces)."""
    return one_line(name.replace("'", "\u2019").replace('"', "\u201d"))


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    names=st.lists(HOSTILE, min_size=2, max_size=2, unique_by=charted),
    values=st.lists(st.integers(-1000, 1000), min_size=1, max_size=6),
    title=st.text(max_size=12),
    mark=st.sampled_from(["point", "bar", "line", "tick"]),
)
def test_hostile_names_stay_data_and_the_code_round_trips(names, values, title, mark):
    number, label = names
    frame = pl.DataFrame({number: values, label: [str(v) for v in values]})
    sys.modules["__main__"].frame = frame
    try:
        attrs = {"source": "frame", "mark": mark, "x": label, "y": number, "title": title}
        cell = ChartBuilder(**attrs)
        ast.parse(cell.code)
        assert_formatted(cell.code)
        _, spec = run(cell, frame=frame)
        x, y = spec["encoding"]["x"], spec["encoding"]["y"]
        assert (unescape(x["field"]), unescape(y["field"])) == (charted(label), charted(number))
        # Titles are the real names, on one line (Vega parses them inside expressions).
        assert (x.get("title", label), y.get("title", number)) == (
            one_line(label),
            one_line(number),
        )
        assert (x["type"], y["type"]) == ("nominal", "quantitative")
        assert spec["mark"] == {"type": mark}
        assert spec.get("title", "") == title
        assert [row[charted(number)] for row in rows_of(spec)] == values
        # What Vega parses as an expression never holds a line break or a quote.
        assert all(c.isprintable() and c not in "'\"" for c in x["field"] + y["field"])
        again = ChartBuilder(**json.loads(json.dumps(cell.attrs)))
        assert again.code == cell.code
        again.close()
        cell.close()
    finally:
        del sys.modules["__main__"].frame


def test_a_quoted_name_whose_renaming_would_collide_is_refused_on_its_channel(notebook):
    frame = pl.DataFrame({"it's": [1], "it\u2019s": [2]})
    notebook(frame=frame)
    cell = ChartBuilder(source="frame", y="it's")
    assert cell.error_field == "y" and "rename it" in cell.error


def field(cell, name):
    """The form field called ``name``."""
    return next(f for f in cell.fields if f["name"] == name)
