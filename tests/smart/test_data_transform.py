"""kino.smart.data_transform: steps over a frame of the notebook -> one chained polars
expression that runs and gives the right frame; later steps see earlier steps' columns;
hostile names stay data; bad attributes are named in the form; the preview is bounded."""

from __future__ import annotations

import ast
import datetime as dt
import json
import sys

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from kino.smart._data_transform import NEW_STEP, PREVIEW_ROWS, DataTransform, typed_value
from kino.ui.smart import AttrError
from tests.smart.test_code import assert_formatted

PEOPLE = pl.DataFrame(
    {
        "name": ["ada", "bob", "cy", "dee", None],
        "team": ["x", "y", "x", "y", "x"],
        "age": [36, 41, 29, 41, 50],
        "score": [1.5, 2.0, None, 4.0, 5.5],
        "joined": [dt.date(2020, 1, day) for day in (1, 2, 3, 4, 5)],
        "active": [True, False, True, True, False],
    }
)


def step(**attrs):
    return {**NEW_STEP, **attrs}


def run(code, **frames):
    namespace = dict(frames)
    exec(compile(code, "<smart cell>", "exec"), namespace)
    return namespace


def made(cell, variable="result", **frames):
    assert cell.error == "", cell.error
    return run(cell.code, **frames)[variable]


@pytest.mark.parametrize(
    ("column", "operator", "value", "keep"),
    [
        ("age", ">", "36", lambda r: r["age"] > 36),
        ("age", "<=", "36", lambda r: r["age"] <= 36),
        ("age", "==", "41", lambda r: r["age"] == 41),
        ("score", ">=", "2", lambda r: r["score"] is not None and r["score"] >= 2),
        ("name", "!=", "bob", lambda r: r["name"] is not None and r["name"] != "bob"),
        ("name", "contains", "d", lambda r: r["name"] is not None and "d" in r["name"]),
        ("name", "is null", "", lambda r: r["name"] is None),
        ("score", "is not null", "", lambda r: r["score"] is not None),
        ("joined", ">", "2020-01-03", lambda r: r["joined"] > dt.date(2020, 1, 3)),
        ("active", "==", "True", lambda r: r["active"]),
    ],
)
def test_filter_keeps_the_rows_the_condition_holds_for(notebook, column, operator, value, keep):
    notebook(people=PEOPLE)
    steps = [step(kind="filter", column=column, operator=operator, value=value)]
    cell = DataTransform(source="people", steps=steps, variable="kept")
    assert made(cell, "kept", people=PEOPLE).rows(named=True) == [
        row for row in PEOPLE.rows(named=True) if keep(row)
    ]


def test_the_example_of_the_issue_reads_like_a_learner_wrote_it(notebook):
    notebook(people=PEOPLE)
    cell = DataTransform(
        source="people",
        steps=[
            step(kind="filter", column="age", operator=">", value="30"),
            step(kind="sort", column="name"),
        ],
    )
    assert (
        cell.code
        == 'import polars as pl\n\nresult = people.filter(pl.col("age") > 30).sort("name")'
    )


def test_select_sort_group_by_and_derive_chain_and_see_earlier_columns(notebook):
    notebook(people=PEOPLE)
    cell = DataTransform(
        source="people",
        steps=[
            step(kind="derive", name="age next year", left="age", op="+", right_value="1"),
            step(
                kind="derive", name="ratio", left="score", op="/", right_kind="column", right="age"
            ),
            step(
                kind="group_by",
                by=[{"column": "team"}],
                aggregations=[
                    {"column": "age next year", "function": "max"},
                    {"column": "name", "function": "count"},
                    {"column": "ratio", "function": "mean"},
                ],
            ),
            step(kind="sort", column="team", descending=True),
            step(kind="select", columns=[{"column": "team"}, {"column": "age next year_max"}]),
        ],
    )
    result = made(cell, people=PEOPLE)
    assert result.rows() == [("y", 42), ("x", 51)]
    offered = {value for value, _ in cell.fields[1]["fields"][1]["options"]}
    assert {"age next year", "ratio", "name_count", "age next year_max"} <= offered


def test_a_lazy_source_stays_lazy_in_the_code_and_the_preview_is_bounded(notebook):
    big = pl.LazyFrame({"i": range(PREVIEW_ROWS * 100)})
    notebook(big=big)
    cell = DataTransform(source="big", steps=[step(kind="sort", column="i", descending=True)])
    result = made(cell, big=big)
    assert isinstance(result, pl.LazyFrame)
    shown = cell.preview_frame.children[-1]
    assert type(shown).__name__ == "Table"
    assert_frame_equal(shown.data, result.head(PREVIEW_ROWS).collect())


@pytest.mark.parametrize(
    ("steps", "field", "fragment"),
    [
        ([step(column="height", operator=">", value="1")], "steps.0.column", "no column 'height'"),
        ([step(column="age", operator=">", value="old")], "steps.0.value", "must be a number"),
        ([step(column="age", operator="~", value="1")], "steps.0.operator", "must be one of"),
        ([step(column="age", operator="contains", value="1")], "steps.0.operator", "text column"),
        ([step(column="joined", operator=">", value="soon")], "steps.0.value", "date like"),
        ([step(column="active", operator="==", value="yes")], "steps.0.value", "true or false"),
        (
            [step(kind="select", columns=[{"column": "age"}]), step(kind="sort", column="name")],
            "steps.1.column",
            "no column 'name'",
        ),
        ([step(kind="select")], "steps.0.columns", "at least one"),
        ([step(kind="group_by", by=[{"column": "team"}])], "steps.0.aggregations", "at least"),
        (
            [step(kind="group_by", by=[{"column": "team"}], aggregations=[{"column": "age"}])],
            "steps.0.aggregations.0.function",
            "must be one of",
        ),
        ([step(kind="derive", left="age")], "steps.0.name", "new column"),
        ([step(kind="derive", name="n", left="age", right_value="x")], "steps.0.right_value", ""),
        ([step(kind="pivot")], "steps.0.kind", "must be one of"),
        (["filter"], "steps.0", "must be a step"),
    ],
)
def test_bad_steps_name_their_field_and_keep_the_last_good_code(notebook, steps, field, fragment):
    notebook(people=PEOPLE)
    cell = DataTransform(source="people", steps=[step(kind="sort", column="age")])
    good = cell.code
    cell.attrs = {**cell.attrs, "steps": steps}
    assert (cell.error_field, cell.code) == (field, good)
    assert fragment in cell.error


def test_a_vanished_frame_and_a_bad_variable_are_named(notebook, monkeypatch):
    notebook(people=PEOPLE)
    cell = DataTransform(source="people")
    assert cell.code == "result = people"
    cell.attrs = {**cell.attrs, "variable": "for"}
    assert cell.error_field == "variable" and cell.code == "result = people"
    cell.attrs = {**cell.attrs, "variable": "ok"}
    assert cell.code == "ok = people"
    monkeypatch.delattr(sys.modules["__main__"], "people")
    cell.refresh()  # what the kernel does after the cell that deleted it ran
    assert cell.error_field == "source" and "no polars frame named 'people'" in cell.error
    assert cell.code == "ok = people"


def test_a_polars_pattern_name_is_refused_rather_than_read_as_a_pattern(notebook):
    frame = pl.DataFrame({"^a$": [1], "a": [2]})
    notebook(frame=frame)
    cell = DataTransform(source="frame", steps=[step(kind="select", columns=[{"column": "^a$"}])])
    assert cell.error_field == "steps.0.columns.0.column" and "pattern" in cell.error


def test_typed_values_follow_the_dtype():
    assert typed_value("2.5", pl.Float32, "v", "c") == "2.5"
    assert typed_value(" 7 ", pl.Int8, "v", "c") == "7"
    assert typed_value("it's", pl.String, "v", "c") == '"it\'s"'
    utc = pl.Datetime("us", "UTC")
    assert typed_value("2024-01-31T12:30", utc, "v", "c") == (
        'pl.datetime(2024, 1, 31, 12, 30, 0, time_zone="UTC")'
    )
    with pytest.raises(AttrError, match="not supported"):
        typed_value("1", pl.List(pl.Int64), "v", "c")


HOSTILE = st.one_of(
    st.text(min_size=1, max_size=12),
    st.sampled_from(['"); import os; #', "it's", 'a"b', "x\ny", "pl.col('a')", "\\"]),
).filter(lambda name: name != "*" and not (name.startswith("^") and name.endswith("$")))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    names=st.lists(HOSTILE, min_size=2, max_size=2, unique=True),
    ages=st.lists(st.integers(-100, 100), min_size=1, max_size=8),
    text=st.text(max_size=10),
    limit=st.integers(-100, 100),
    operator=st.sampled_from(["==", "!=", "<", "<=", ">", ">="]),
    descending=st.booleans(),
)
def test_hostile_names_and_values_stay_data_and_the_code_round_trips(
    names, ages, text, limit, operator, descending
):
    number, label = names
    frame = pl.DataFrame({number: ages, label: [text + str(i) for i in range(len(ages))]})
    namespace = {"frame": frame}
    sys.modules["__main__"].frame = frame
    try:
        attrs = {
            "source": "frame",
            "steps": [
                step(kind="filter", column=number, operator=operator, value=str(limit)),
                step(kind="filter", column=label, operator="contains", value=text),
                step(kind="sort", column=number, descending=descending),
                step(kind="select", columns=[{"column": label}, {"column": number}]),
            ],
            "variable": "out",
        }
        cell = DataTransform(**attrs)
        assert cell.error == ""
        ast.parse(cell.code)
        assert_formatted(cell.code)
        result = run(cell.code, **namespace)["out"]
        compare = {
            "==": lambda a: a == limit,
            "!=": lambda a: a != limit,
            "<": lambda a: a < limit,
            "<=": lambda a: a <= limit,
            ">": lambda a: a > limit,
            ">=": lambda a: a >= limit,
        }[operator]
        rows = [(lab, age) for age, lab in frame.rows() if compare(age) and text in lab]
        rows.sort(key=lambda row: row[1], reverse=descending)
        assert result.columns == [label, number]
        assert sorted(result.rows()) == sorted(rows)
        assert [age for _, age in result.rows()] == [age for _, age in rows]
        again = DataTransform(**json.loads(json.dumps(cell.attrs)))
        assert again.code == cell.code
        again.close()
        cell.close()
    finally:
        del sys.modules["__main__"].frame
