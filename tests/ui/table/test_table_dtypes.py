"""Every polars dtype displays sensibly, summaries describe each kind, pages stay small."""

from __future__ import annotations

import datetime as dt
import decimal
import json
import math

import numpy as np
import polars as pl
import pyarrow as pa
import pytest

import kino
from kino.ui.table.arrow import CELL_CHAR_STEPS, ELLIPSIS, MAX_CELL_CHARS, PAGE_BYTES_BUDGET
from kino.ui.table.summary import HISTOGRAM_BINS

XSS = "<img src=x onerror=alert(1)>"


@pytest.fixture(scope="module")
def zoo() -> pl.DataFrame:
    paris = pl.Series(
        [dt.datetime(2024, 1, 1, 12), None, dt.datetime(2020, 2, 29, 1, 2, 3, 500)]
    ).dt.replace_time_zone("Europe/Paris")
    return pl.DataFrame(
        {
            "int": [1, None, -3],
            "u8": pl.Series([1, 2, 255], dtype=pl.UInt8),
            "float": [1.5, float("nan"), float("inf")],
            "f32": pl.Series([0.1, -2.0, None], dtype=pl.Float32),
            "bool": [True, False, None],
            "text": ["a", XSS, None],
            "cat": pl.Series(["x", "y", "x"], dtype=pl.Categorical),
            "enum": pl.Series(["lo", "hi", "lo"], dtype=pl.Enum(["lo", "hi"])),
            "date": [dt.date(2024, 1, 1), None, dt.date(2020, 2, 29)],
            "datetime_tz": paris,
            "datetime": [dt.datetime(2024, 5, 6, 7, 8, 9), None, dt.datetime(2000, 1, 1)],
            "duration": [dt.timedelta(days=1, seconds=5), None, dt.timedelta(microseconds=3)],
            "time": [dt.time(1, 2, 3), None, dt.time(23, 59)],
            "decimal": pl.Series(
                [decimal.Decimal("1.23"), None, decimal.Decimal("-100.50")],
                dtype=pl.Decimal(10, 2),
            ),
            "binary": [b"hello", None, b""],
            "list": [[1, 2], [], None],
            "array": pl.Series([[1, 2], [3, 4], None], dtype=pl.Array(pl.Int64, 2)),
            "struct": [{"a": 1, "b": "x"}, None, {"a": 2, "b": XSS}],
            "null": [None, None, None],
            "i128": pl.Series([10**30, 2, None], dtype=pl.Int128),
            "object": pl.Series([{1, 2}, None, "s"], dtype=pl.Object),
        }
    )


def page_of(t) -> dict[str, list]:
    table = pa.ipc.open_stream(t.page).read_all()
    return {c["name"]: table.column(f"c{i}").to_pylist() for i, c in enumerate(t.columns)}


def test_every_dtype_has_a_kind_and_a_dtype_label(zoo):
    t = kino.table(zoo)
    kinds = {c["name"]: (c["kind"], c["dtype"]) for c in t.columns}
    assert kinds == {
        "int": ("int", "i64"),
        "u8": ("int", "u8"),
        "float": ("float", "f64"),
        "f32": ("float", "f32"),
        "bool": ("bool", "bool"),
        "text": ("text", "str"),
        "cat": ("category", "cat"),
        "enum": ("category", "enum"),
        "date": ("date", "date"),
        "datetime_tz": ("datetime", "datetime[μs, Europe/Paris]"),
        "datetime": ("datetime", "datetime[μs]"),
        "duration": ("duration", "duration[μs]"),
        "time": ("time", "time"),
        "decimal": ("decimal", "decimal[10,2]"),
        "binary": ("binary", "binary"),
        "list": ("list", "list[i64]"),
        "array": ("list", "array[i64, 2]"),
        "struct": ("struct", "struct[2]"),
        "null": ("null", "null"),
        "i128": ("bigint", "i128"),
        "object": ("object", "object"),
    }
    assert t.error == ""


def test_every_dtype_renders_in_the_page(zoo):
    t = kino.table(zoo)
    page = page_of(t)
    assert page["int"] == [1, None, -3]
    assert page["u8"] == [1, 2, 255]
    assert page["float"][0] == 1.5 and math.isnan(page["float"][1]) and page["float"][2] == math.inf
    assert page["f32"][1] == -2.0 and page["f32"][2] is None
    assert page["bool"] == [True, False, None]
    assert page["text"] == ["a", XSS, None]
    assert page["cat"] == ["x", "y", "x"] and page["enum"] == ["lo", "hi", "lo"]
    assert page["date"] == ["2024-01-01", None, "2020-02-29"]
    assert page["datetime_tz"] == [
        "2024-01-01 12:00:00 CET",
        None,
        "2020-02-29 01:02:03.000500 CET",
    ]
    assert page["datetime"] == ["2024-05-06 07:08:09", None, "2000-01-01 00:00:00"]
    assert page["duration"] == ["1d 5s", None, "3µs"]
    assert page["time"] == ["01:02:03", None, "23:59:00"]
    assert page["decimal"] == ["1.23", None, "-100.50"]
    assert page["binary"] == [5, None, 0]  # sizes in bytes
    assert page["list"] == ["[1,2]", "[]", None]
    assert page["array"] == ["[1,2]", "[3,4]", None]
    assert json.loads(page["struct"][2]) == {"a": 2, "b": XSS}
    assert page["null"] == [None, None, None]
    assert page["i128"] == [str(10**30), "2", None]
    assert page["object"][1] is None and page["object"][2] == "s"


def test_arrow_types_of_a_page_are_ones_the_browser_decodes(zoo):
    t = kino.table(zoo)
    schema = pa.ipc.open_stream(t.page).schema
    allowed = {
        pa.large_string(),
        pa.string(),
        pa.bool_(),
        pa.float32(),
        pa.float64(),
        pa.int64(),
        pa.uint8(),
        pa.uint32(),
        pa.uint64(),
        pa.null(),
    }
    assert {f.type for f in schema} <= allowed
    assert schema.names == ["row"] + [f"c{i}" for i in range(len(t.columns))]


def test_column_names_never_travel_in_the_arrow_page():
    t = kino.table({XSS: [1], "": [2], "row": [3]})
    schema = pa.ipc.open_stream(t.page).schema
    assert schema.names == ["row", "c0", "c1", "c2"]
    assert [c["name"] for c in t.columns] == [XSS, "", "row"]


def test_long_text_is_cut_with_an_ellipsis():
    long = "x" * (MAX_CELL_CHARS + 500)
    t = kino.table({"s": [long, "short"]})
    cell = page_of(t)["s"][0]
    assert len(cell) == MAX_CELL_CHARS + 1 and cell.endswith(ELLIPSIS)
    assert page_of(t)["s"][1] == "short"


def test_pages_of_huge_cells_shrink_to_the_byte_budget():
    frame = pl.DataFrame({f"s{i}": ["y" * 5000] * 50 for i in range(12)})
    frame = frame.with_columns(pl.col("s0").map_elements(lambda s: [s] * 3))
    t = kino.table(frame, page_size=50)
    assert len(t.page) <= PAGE_BYTES_BUDGET
    cell = page_of(t)["s1"][0]
    assert len(cell) <= CELL_CHAR_STEPS[-1] + 1 and cell.endswith(ELLIPSIS)


def test_page_of_50_rows_of_a_typical_frame_is_small():
    n = 10_000
    frame = pl.DataFrame(
        {
            "id": range(n),
            "x": [i * 0.37 for i in range(n)],
            "name": [f"item-{i:06d}" for i in range(n)],
            "cat": pl.Series(["a", "b", "c", "d"] * (n // 4), dtype=pl.Categorical),
            "day": pl.date_range(dt.date(2000, 1, 1), dt.date(2027, 5, 18), eager=True)[:n],
        }
    )
    t = kino.table(frame, page_size=50)
    assert len(t.page) <= PAGE_BYTES_BUDGET


def test_summaries_of_every_kind(zoo):
    t = kino.table(zoo)
    s = {c["name"]: summary for c, summary in zip(t.columns, t.summaries, strict=True)}
    assert s["int"]["nulls"] == 1 and s["int"]["min"] == -3 and s["int"]["max"] == 1
    assert s["int"]["mean"] == -1 and sum(s["int"]["histogram"]) == 2
    assert len(s["int"]["histogram"]) == HISTOGRAM_BINS
    assert s["float"]["nan"] == 1 and s["float"]["inf"] == 1 and s["float"]["min"] == 1.5
    assert s["bool"]["true"] == 1 and s["bool"]["false"] == 1
    assert s["text"]["unique"] == 3 and s["text"]["top"][0][1] == 1
    assert s["cat"]["top"][0] == ["x", 2] and s["enum"]["top"][0] == ["lo", 2]
    assert s["date"]["min"] == "2020-02-29" and s["date"]["max"] == "2024-01-01"
    assert s["datetime_tz"]["max"] == "2024-01-01 12:00:00 CET"
    assert s["duration"]["min"] == "3µs" and s["duration"]["max"] == "1d 5s"
    assert s["decimal"]["min"] == -100.5
    assert s["null"]["nulls"] == 3
    for summary in t.summaries:
        json.dumps(summary, allow_nan=False)  # only finite numbers reach the browser


def test_histogram_counts_every_finite_value():
    values = [float(i) for i in range(1000)] + [float("nan"), float("inf"), None]
    t = kino.table({"v": values})
    summary = t.summaries[0]
    assert sum(summary["histogram"]) == 1000
    expected, _ = np.histogram(np.arange(1000), bins=HISTOGRAM_BINS)
    assert summary["histogram"] == expected.tolist()
    assert summary["nan"] == 1 and summary["inf"] == 1 and summary["nulls"] == 1


@pytest.mark.parametrize(
    ("column", "descending", "expected"),
    [
        ("int", False, [2, 0, 1]),
        ("float", True, [1, 2, 0]),  # NaN sorts above inf in polars
        ("text", False, [1, 0, 2]),  # "<" < "a"; nulls last
        ("date", False, [2, 0, 1]),
        ("datetime_tz", True, [0, 2, 1]),
        ("duration", False, [2, 0, 1]),
        ("decimal", False, [2, 0, 1]),
        ("bool", False, [1, 0, 2]),
        ("cat", False, [0, 2, 1]),
        ("time", True, [2, 0, 1]),
    ],
)
def test_sortable_dtypes_sort(zoo, column, descending, expected):
    t = kino.table(zoo)
    t.query = {**t.query, "sort": [{"column": column, "descending": descending}]}
    assert t.error == ""
    assert pa.ipc.open_stream(t.page).read_all().column("row").to_pylist() == expected


@pytest.mark.parametrize("column", ["list", "struct", "binary", "null", "object"])
def test_unsortable_dtypes_explain_why(zoo, column):
    t = kino.table(zoo)
    t.query = {**t.query, "sort": [{"column": column, "descending": False}]}
    assert "cannot be sorted" in t.error


@pytest.mark.parametrize(
    ("flt", "rows"),
    [
        ({"column": "int", "op": "between", "min": 0}, 1),
        ({"column": "float", "op": "between", "min": 0, "max": 2}, 1),
        ({"column": "decimal", "op": "between", "max": 0}, 1),
        ({"column": "date", "op": "between", "min": "2021-01-01"}, 1),
        ({"column": "datetime_tz", "op": "between", "max": "2021-01-01T00:00"}, 1),
        ({"column": "datetime", "op": "between", "min": "2001-01-01 00:00:00"}, 1),
        ({"column": "duration", "op": "between", "min": 60}, 1),
        ({"column": "time", "op": "between", "min": "12:00"}, 1),
        ({"column": "text", "op": "contains", "value": "ONERROR"}, 1),
        ({"column": "cat", "op": "contains", "value": "x"}, 2),
        ({"column": "cat", "op": "in", "values": ["y"]}, 1),
        ({"column": "enum", "op": "in", "values": ["lo"]}, 2),
        ({"column": "bool", "op": "in", "values": [False, None]}, 2),
        ({"column": "int", "op": "in", "values": [1, -3]}, 2),
        ({"column": "text", "op": "in", "values": ["a"]}, 1),
        ({"column": "list", "op": "is_null"}, 1),
        ({"column": "struct", "op": "not_null"}, 2),
        ({"column": "null", "op": "is_null"}, 3),
        ({"column": "object", "op": "not_null"}, 2),
    ],
)
def test_filters_on_every_kind(zoo, flt, rows):
    t = kino.table(zoo)
    t.query = {**t.query, "filters": [flt]}
    assert t.error == ""
    assert t.total_rows == rows


@pytest.mark.parametrize(
    ("flt", "message"),
    [
        ({"column": "date", "op": "between", "min": "yesterday"}, "ISO date"),
        ({"column": "int", "op": "between", "min": "ten"}, "must be a number"),
        ({"column": "int", "op": "between"}, "needs a min or a max"),
        ({"column": "duration", "op": "between", "min": "long"}, "number of seconds"),
        ({"column": "text", "op": "contains", "value": ""}, "needs 1 to"),
        ({"column": "cat", "op": "in", "values": [1]}, "expected str values"),
        ({"column": "int", "op": "in", "values": [True]}, "expected int values"),
        ({"column": "bool", "op": "in", "values": "yes"}, "needs a list"),
        ({"column": "list", "op": "contains", "value": "1"}, "has no text filter"),
        ({"column": "float", "op": "in", "values": [1.5]}, "has no membership filter"),
    ],
)
def test_bad_filters_are_explained(zoo, flt, message):
    t = kino.table(zoo)
    t.query = {**t.query, "filters": [flt]}
    assert message in t.error


def test_search_matches_text_categories_numbers_and_bools(zoo):
    t = kino.table(zoo)
    for text, rows in [
        ("onerror", 1),
        ("Y", 1),
        ("LO", 2),
        ("-3", 1),
        ("1.5", 1),
        ("true", 1),
        ("zzz", 0),
    ]:
        t.query = {**t.query, "search": text}
        assert t.total_rows == rows, text
