"""kino.smart.data_source: a file path / upload / kino data set -> polars reading code that
runs, its preview, hostile paths staying data, bad attributes named in the form."""

from __future__ import annotations

import ast
import json
import keyword
import tempfile
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from kino import datasets
from kino.smart._data_source import PREVIEW_ROWS, DataSource
from tests.smart.test_code import assert_formatted

FRAME = pl.DataFrame({"name": ["ada", "bob", "cy"], "age": [36, 41, 29]})


def run(code):
    """Run generated code in a fresh namespace; return the namespace."""
    namespace = {}
    exec(compile(code, "<smart cell>", "exec"), namespace)
    return namespace


@pytest.fixture
def folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_a_csv_path_reads_into_the_named_variable(folder):
    FRAME.write_csv(folder / "people.csv")
    cell = DataSource(path="people.csv", variable="people")
    assert cell.code == 'import polars as pl\n\npeople = pl.read_csv("people.csv")'
    assert_frame_equal(run(cell.code)["people"], FRAME)


def test_csv_options_separator_and_no_header(folder):
    (folder / "t.tsv").write_text("ada\t36\nbob\t41\n")
    cell = DataSource(path="t.tsv", separator="\t", header=False)
    assert 'separator="\\t"' in cell.code and "has_header=False" in cell.code
    frame = run(cell.code)["df"]
    assert frame.shape == (2, 2)
    assert frame.row(1) == ("bob", 41)


def test_parquet_by_suffix_and_by_choice(folder):
    FRAME.write_parquet(folder / "p.parquet")
    FRAME.write_parquet(folder / "p.data")
    assert 'pl.read_parquet("p.parquet")' in DataSource(path="p.parquet").code
    chosen = DataSource(path="p.data", format="parquet")
    assert_frame_equal(run(chosen.code)["df"], FRAME)


def test_an_uploaded_file_is_read_from_its_path_under_uploads(folder):
    (folder / "uploads").mkdir()
    FRAME.write_csv(folder / "uploads" / "sales.csv")
    cell = DataSource(source="upload", upload="uploads/sales.csv")
    assert_frame_equal(run(cell.code)["df"], FRAME)
    assert cell.error == ""
    assert_frame_equal(cell.preview_frame.children[-1].data, FRAME)


def test_a_kino_data_set_reads_offline():
    cell = DataSource(source="dataset", dataset="penguins_complete", variable="birds")
    assert cell.code == "import kino\n\nbirds = kino.datasets.penguins(drop_nulls=True)"
    assert_frame_equal(run(cell.code)["birds"], datasets.penguins(drop_nulls=True))


def test_the_preview_is_the_first_rows_as_a_kino_table(folder):
    big = pl.DataFrame({"i": range(PREVIEW_ROWS * 50)})
    big.write_csv(folder / "big.csv")
    cell = DataSource(path="big.csv")
    shown = cell.preview_frame.children[-1]
    assert type(shown).__name__ == "Table"
    assert_frame_equal(shown.data, big.head(PREVIEW_ROWS))


def test_a_missing_file_is_a_message_on_the_path_field_and_no_preview(folder):
    FRAME.write_csv(folder / "here.csv")
    cell = DataSource(path="here.csv")
    cell.attrs = {**cell.attrs, "path": "not-here.csv"}
    assert cell.error_field == "path"
    assert "no file at 'not-here.csv'" in cell.error
    assert all(type(child).__name__ != "Table" for child in cell.preview_frame.children)


@pytest.mark.parametrize(
    ("attrs", "field", "fragment"),
    [
        ({"path": ""}, "path", "type the path"),
        ({"source": "upload"}, "upload", "choose a file"),
        ({"path": "x.json"}, "format", "cannot tell the format"),
        ({"path": "x.csv", "format": "excel"}, "format", "must be one of"),
        ({"path": "x.csv", "separator": "ab"}, "separator", "must be one of"),
        ({"path": "x.csv", "header": "yes"}, "header", "true or false"),
        ({"path": "x.csv", "variable": "my df"}, "variable", "Python name"),
        ({"path": "x.csv", "variable": "import"}, "variable", "keyword"),
        ({"source": "dataset", "dataset": "mnist"}, "dataset", "must be one of"),
        ({"source": "web"}, "source", "must be one of"),
    ],
)
def test_bad_attributes_name_their_field_and_keep_the_last_good_code(
    folder, attrs, field, fragment
):
    FRAME.write_csv(folder / "good.csv")
    cell = DataSource(path="good.csv")
    good = cell.code
    cell.attrs = {**cell.defaults(), **attrs}
    assert (cell.error_field, cell.code) == (field, good)
    assert fragment in cell.error


PATH_TEXT = st.text(
    alphabet=st.characters(codec="utf-8", exclude_characters="/\\\x00"), min_size=1, max_size=20
).filter(lambda name: name.strip(" .") == name and name not in (".", ".."))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    name=st.one_of(
        PATH_TEXT, st.sampled_from(['"); import os; #', "it's", 'a"b', "x\ny", "a[b", "*", "?"])
    ),
    fmt=st.sampled_from(["csv", "parquet"]),
    header=st.booleans(),
    variable=st.from_regex(r"[a-z_][a-z0-9_]{0,8}", fullmatch=True),
)
def test_hostile_file_names_stay_data_and_the_code_round_trips(name, fmt, header, variable):
    assume(not keyword.iskeyword(variable))
    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / f"{name}.{fmt}")
        if fmt == "csv":
            FRAME.write_csv(path, include_header=header)
        else:
            FRAME.write_parquet(path)
        attrs = {"path": path, "header": header, "variable": variable}
        cell = DataSource(**attrs)
        assert cell.error == ""
        tree = ast.parse(cell.code)
        assert_formatted(cell.code)
        assert [type(node).__name__ for node in tree.body] == ["Import", "Assign"]
        frame = run(cell.code)[variable]
        if fmt == "parquet" or header:
            assert_frame_equal(frame, FRAME)
        else:  # no header: polars names the columns; the rows are the data
            assert frame.rows() == FRAME.rows()
        again = DataSource(**json.loads(json.dumps(cell.attrs)))
        assert again.code == cell.code


def test_the_form_shows_only_the_fields_of_the_chosen_source():
    fields = {field["name"]: field for field in DataSource().fields}
    assert fields["path"]["when"] == {"source": ["path"]}
    assert fields["upload"]["when"] == {"source": ["upload"]}
    assert fields["upload"]["accept"] == ".csv,.tsv,.txt,.parquet,.pq"
    assert "200 MB" in fields["upload"]["help"]
    assert fields["dataset"]["when"] == {"source": ["dataset"]}
    for name in ("format", "separator", "header"):
        assert fields[name]["when"] == {"source": ["path", "upload"]}
