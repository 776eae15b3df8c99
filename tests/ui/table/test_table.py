"""kino.table as a widget: the page protocol, errors, selection, view, update, export."""

from __future__ import annotations

import io
import re
import threading

import polars as pl
import pyarrow as pa
import pytest

import kino
from kino.ui.table import widget as table_module
from kino.ui.table.query import MAX_PAGE_SIZE, parse_query
from tests.conftest import budget


def rows_of(t) -> list[int]:
    """Data positions of the rows on the widget's current page."""
    return pa.ipc.open_stream(t.page).read_all().column("row").to_pylist()


def column_of(t, index: int) -> list:
    return pa.ipc.open_stream(t.page).read_all().column(f"c{index}").to_pylist()


def ask(t, **change) -> None:
    """What the front end does: set the query trait."""
    t.query = {**t.query, **change}


@pytest.fixture
def people() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "name": [f"person {i}" for i in range(1000)],
            "age": [(i * 37) % 90 for i in range(1000)],
            "score": [((i * 7919) % 1000) / 10 for i in range(1000)],
            "team": pl.Series(["red", "blue", "green", "gold"] * 250, dtype=pl.Categorical),
        }
    )


def test_first_page_travels_as_arrow_ipc_in_a_binary_buffer(comm_log, people):
    t = kino.table(people, page_size=25)
    assert t.total_rows == 1000 and t.row_count == 1000
    assert rows_of(t) == list(range(25))
    carrying = [m for m in comm_log if ["page"] in m.data.get("buffer_paths", [])]
    assert carrying, "the page is sent as a binary buffer"
    last = carrying[-1]
    assert "page" not in last.state, "the page bytes are not in the JSON state"
    index = last.data["buffer_paths"].index(["page"])
    assert last.buffers[index] == t.page
    assert pa.ipc.open_stream(last.buffers[index]).read_all().num_rows == 25


def test_paging_request_sends_one_update_with_the_new_page(comm_log, people):
    t = kino.table(people, page_size=10)
    before = len(comm_log)
    ask(t, page=3)
    assert rows_of(t) == list(range(30, 40))
    updates = [m for m in comm_log[before:] if m.method == "update" and "seq" in m.state]
    assert len(updates) == 1
    assert updates[0].data["buffer_paths"] == [["page"]]
    assert set(updates[0].state) == {"seq"}  # only what changed: page (a buffer) and seq


def test_sort_by_clicking_a_header_orders_the_page(people):
    t = kino.table(people, page_size=5)
    ask(t, sort=[{"column": "score", "descending": True}])
    top = people.sort("score", descending=True, maintain_order=True).head(5)
    assert column_of(t, 2) == top["score"].to_list()
    assert t.error == ""


def test_multi_column_sort(people):
    t = kino.table(people, page_size=8)
    ask(
        t,
        sort=[{"column": "team", "descending": False}, {"column": "age", "descending": True}],
    )
    expected = people.with_row_index("row").sort(
        ["team", "age"], descending=[False, True], maintain_order=True
    )
    assert rows_of(t) == expected["row"].head(8).to_list()


def test_filter_narrows_rows_and_search_combines(people):
    t = kino.table(people, page_size=50)
    ask(t, filters=[{"column": "age", "op": "between", "min": 10, "max": 19}])
    assert t.total_rows == people.filter(pl.col("age").is_between(10, 19)).height
    ask(t, search='"person 1"')  # a quoted phrase is one term
    expected = people.filter(
        pl.col("age").is_between(10, 19) & pl.col("name").str.contains("person 1", literal=True)
    )
    assert t.total_rows == expected.height
    assert t.error == ""
    # Unquoted, each word matches on its own: "person" in the name, 1 anywhere.
    ask(t, search="person 1")
    words = people.filter(
        pl.col("age").is_between(10, 19)
        & (pl.col("name").str.contains("1", literal=True) | (pl.col("score") == 1))
    )
    assert t.total_rows == words.height > expected.height


def test_query_trait_is_the_saved_state(people):
    t = kino.table(people, page_size=10)
    ask(t, page=2, sort=[{"column": "age", "descending": False}], search="9")
    state = t.get_state()
    assert state["query"]["page"] == 2
    assert state["query"]["sort"] == [{"column": "age", "descending": False}]
    assert isinstance(state["page"], (bytes, memoryview))


@pytest.mark.parametrize(
    ("request_change", "message"),
    [
        ({"sort": [{"column": "nope", "descending": False}]}, "unknown column 'nope'"),
        ({"filters": [{"column": "ghost", "op": "is_null"}]}, "unknown column 'ghost'"),
        ({"filters": [{"column": "age", "op": "regex"}]}, "unknown filter op"),
        ({"filters": [{"column": "name", "op": "between", "min": 1}]}, "no range filter"),
        ({"page_size": -5}, "page_size must be between 1"),
        ({"page_size": 0}, "page_size must be between 1"),
        ({"page_size": MAX_PAGE_SIZE + 1}, "page_size must be between 1"),
        ({"page": -1}, "page must be 0 or more"),
        ({"page": "two"}, "page must be an integer"),
        ({"search": 12}, "search must be text"),
        ({"filters": "age>3"}, "filters must be a list"),
    ],
)
def test_bad_requests_show_an_error_and_an_empty_page(people, request_change, message):
    t = kino.table(people)
    seq = t.seq
    ask(t, **request_change)
    assert message in t.error
    assert t.error.startswith("Bad request")
    assert rows_of(t) == []
    assert t.seq == seq + 1
    # the widget is still alive: a good request answers again
    t.query = {"page": 1, "page_size": 10}
    assert t.error == "" and rows_of(t) == list(range(10, 20))


def test_page_past_the_end_is_an_empty_page_with_a_note(people):
    t = kino.table(people, page_size=100)
    ask(t, page=50)
    assert rows_of(t) == []
    assert "past the end" in t.error and "10 pages" in t.error


def test_filter_matching_nothing_is_an_empty_page_without_error(people):
    t = kino.table(people)
    ask(t, search="no such person anywhere")
    assert t.total_rows == 0 and rows_of(t) == [] and t.error == ""


def test_selection_returns_a_dataframe_of_the_selected_rows(people):
    t = kino.table(people)
    t.selected_rows = [5, 2, 5, 999]
    assert t.selected_rows == [2, 5, 999]
    selected = t.selected
    assert isinstance(selected, pl.DataFrame)
    assert selected["name"].to_list() == ["person 2", "person 5", "person 999"]


def test_selection_from_the_front_end_drops_invalid_rows(people):
    t = kino.table(people)
    t.selected_rows = [1, -1, 10_000, "x", True, 3]
    assert t.selected_rows == [1, 3]


def test_selecting_rows_emits_a_select_event(people):
    t = kino.table(people)
    assert t.primary_event == "select"
    seen, every = [], []
    _ = kino.listen(t, seen.append)
    t.subscribe(every.append)
    t.selected_rows = [7, 3, "x"]  # what the front end does; the invalid entry is dropped
    assert [(e.type, e.value, e.source) for e in seen] == [("select", [3, 7], t)]
    t.selected_rows = [3, 7]  # the same selection: no change, no event
    assert len(seen) == 1
    t.update(people.head(10))  # new data clears the selection, which is an event too
    assert [(e.type, e.value) for e in seen] == [("select", [3, 7]), ("select", [])]
    assert [e.type for e in every] == ["select", "select"]


def test_table_is_one_class_with_one_signature(people):
    assert kino.table is kino.ui.table.Table
    t = kino.table(people, "people", 7)  # name and page_size may be positional
    assert (t.name, t.query["page_size"]) == ("people", 7)


def test_view_is_the_sorted_filtered_lazyframe(people):
    t = kino.table(people)
    ask(
        t,
        sort=[{"column": "age", "descending": True}],
        filters=[{"column": "team", "op": "in", "values": ["red"]}],
    )
    view = t.view
    assert isinstance(view, pl.LazyFrame)
    got = view.collect()
    expected = people.filter(pl.col("team") == "red").sort(
        "age", descending=True, maintain_order=True
    )
    assert got.equals(expected)


def test_update_replaces_data_in_place_and_keeps_applicable_query(people):
    t = kino.table(people, page_size=10)
    ask(t, sort=[{"column": "age", "descending": True}], page=4, search="person")
    t.selected_rows = [1]
    model_id = t.model_id
    smaller = people.head(30).drop("score")
    t.update(smaller)
    assert t.model_id == model_id
    assert t.row_count == 30 and t.total_rows == 30
    assert t.query["sort"] == [{"column": "age", "descending": True}]
    assert t.query["page"] == 0 and t.query["search"] == "person"
    assert [c["name"] for c in t.columns] == ["name", "age", "team"]
    assert t.selected_rows == []
    # a column that vanished drops out of the sort
    t.update(pl.DataFrame({"other": [1, 2]}))
    assert t.query["sort"] == [] and t.error == ""
    assert t.total_rows == 0  # the search still applies and matches nothing
    t.query = {**t.query, "search": ""}
    assert t.total_rows == 2


def test_update_recomputes_summaries(people):
    t = kino.table(people.head(10))
    assert t.summaries[1]["max"] == people.head(10)["age"].max()
    t.update(people)
    t.wait_for_summaries(budget(30))
    assert t.summaries[1]["max"] == people["age"].max()


def test_export_csv_and_parquet_of_the_current_view(people):
    t = kino.table(people)
    ask(t, filters=[{"column": "team", "op": "in", "values": ["gold"]}])
    csv = t.export("csv")
    assert pl.read_csv(io.BytesIO(csv)).height == 250
    parquet = t.export("parquet")
    back = pl.read_parquet(io.BytesIO(parquet))
    assert back.height == 250 and back["team"].cast(pl.String).unique().to_list() == ["gold"]
    with pytest.raises(ValueError, match="'format' must be one of csv, parquet"):
        t.export("xlsx")


def test_download_button_message_produces_the_file_on_click(comm_log, people):
    t = kino.table(people, name="people")
    assert not comm_log.custom(), "nothing is exported before the click"
    t._handle_custom_msg({"type": "export", "format": "csv"}, [])
    sent = comm_log.custom()[-1]
    assert sent.content == {"type": "export", "format": "csv", "filename": "people.csv"}
    assert pl.read_csv(io.BytesIO(sent.buffers[0])).height == 1000
    t._handle_custom_msg({"type": "export", "format": "exe"}, [])
    assert comm_log.custom()[-1].content["type"] == "export_error"


def test_export_above_the_limit_says_how_to_write_from_python(people, monkeypatch):
    monkeypatch.setattr(table_module, "EXPORT_MAX_BYTES", 100)
    t = kino.table(people)
    with pytest.raises(ValueError, match="sink_csv"):
        t.export("csv")


def test_an_export_over_the_limit_stops_writing_as_soon_as_it_is_reached(monkeypatch):
    frame = pl.DataFrame(
        {"id": range(100_000), "text": [f"row number {i}" for i in range(100_000)]}
    )
    limit = 100_000
    fits = limit * frame.height // len(frame.write_csv())  # rows the limit holds: ~4,000
    monkeypatch.setattr(table_module, "EXPORT_MAX_BYTES", limit)
    rows_written: list[int] = []
    real_write_csv = pl.DataFrame.write_csv

    def counting_write_csv(self, *args, **kwargs):
        rows_written.append(self.height)
        return real_write_csv(self, *args, **kwargs)

    monkeypatch.setattr(pl.DataFrame, "write_csv", counting_write_csv)
    t = kino.table(frame)
    with pytest.raises(ValueError, match=r"above the download limit of 100,000 bytes") as raised:
        t.export("csv")
    message = str(raised.value)
    assert "of its 100,000 rows" in message and "table.view.sink_csv(path)" in message
    # The work stops within a small batch of the limit, instead of writing all 100,000
    # rows (2.5 MB) and measuring afterwards.
    assert fits <= sum(rows_written) < 1.2 * fits, (fits, rows_written)


def test_parquet_export_over_the_limit_stops_early_too(monkeypatch):
    frame = pl.DataFrame(
        {"id": range(200_000), "text": [f"row number {i}" for i in range(200_000)]}
    )
    monkeypatch.setattr(table_module, "EXPORT_MAX_BYTES", 10_000)
    seen: list[int] = []
    real_write = table_module._BoundedBuffer.write

    def recording_write(self, data):
        seen.append(self.written)
        return real_write(self, data)

    monkeypatch.setattr(table_module._BoundedBuffer, "write", recording_write)
    with pytest.raises(
        ValueError, match=r"parquet export is above the download limit.*sink_parquet"
    ):
        kino.table(frame).export("parquet")
    assert max(seen) <= 10_000


def counted_source(rows: int, batch: int = 10_000) -> tuple[pl.LazyFrame, list[int]]:
    """A lazy frame produced batch by batch on demand, and the count of rows produced."""
    from polars.io.plugins import register_io_source

    produced = [0]

    def generate(with_columns, predicate, n_rows, batch_size):
        for start in range(0, rows, batch):
            k = min(batch, rows - start)
            df = pl.DataFrame(
                {"id": pl.int_range(start, start + k, eager=True), "city": ["Lima"] * k}
            )
            produced[0] += k
            if with_columns is not None:
                df = df.select(with_columns)
            if predicate is not None:
                df = df.filter(predicate)
            yield df

    schema = {"id": pl.Int64, "city": pl.String}
    return register_io_source(generate, schema=schema), produced


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_an_export_streams_the_view_and_stops_at_the_limit(monkeypatch, fmt):
    # 3,000,000 rows (about 40 MB of CSV) against a 1 MB limit: the export must stop
    # at the limit having produced a small part of the view, not collect all of it.
    limit = 1_000_000
    monkeypatch.setattr(table_module, "EXPORT_MAX_BYTES", limit)
    source, produced = counted_source(3_000_000)
    t = kino.table(source.filter(pl.col("id") % 3 != 0))  # a filtered view, streamed
    t.wait_for_summaries(budget(120))
    assert t.total_rows == 2_000_000
    produced[0] = 0
    written: list[int] = []
    real_write = table_module._BoundedBuffer.write

    def recording_write(self, data):
        size = real_write(self, data)
        written.append(self.written)
        return size

    monkeypatch.setattr(table_module._BoundedBuffer, "write", recording_write)
    # (Not tracemalloc: polars allocates outside it, and stopping it while polars' thread
    # runs this Python source crashes CPython 3.11.)
    with pytest.raises(ValueError, match=rf"{fmt} export is above the download limit") as e:
        t.export(fmt)
    assert re.search(r"after writing [\d,]+ of its 2,000,000 rows", str(e.value))
    assert f"table.view.sink_{fmt}(path)" in str(e.value)
    # Up to the limit (within one Parquet row group of it) and no further.
    assert limit / 2 <= max(written) <= limit, written
    # The view was produced only as far as the limit (plus polars' read-ahead of a few
    # batches; Parquet packs about 250,000 of these rows into 1 MB): under a quarter of
    # the source, where collecting the view produced all 3,000,000 rows.
    assert produced[0] <= 750_000, produced[0]


def test_an_empty_view_exports_its_header():
    t = kino.table(pl.DataFrame({"a": [1, 2], "b": ["x", "y"]}))
    ask(t, search="nothing matches this")
    assert t.export("csv") == b"a,b\n"
    back = pl.read_parquet(io.BytesIO(t.export("parquet")))
    assert back.columns == ["a", "b"] and back.height == 0


def test_export_batches_join_into_one_file_with_one_header(monkeypatch):
    monkeypatch.setattr(table_module, "EXPORT_BATCH_ROWS", 7)
    frame = pl.DataFrame(
        {
            "n": range(50),
            "tags": [[i, i + 1] for i in range(50)],
            "wait": pl.Series([i * 1_000_000 for i in range(50)], dtype=pl.Duration("us")),
        }
    )
    csv = kino.table(frame).export("csv")
    back = pl.read_csv(io.BytesIO(csv))
    assert back.height == 50 and back["n"].to_list() == list(range(50))
    assert back["tags"][3] == "[3,4]" and back["wait"][2] == "PT2S"
    assert csv.count(b"n,tags,wait") == 1


def test_big_frame_summaries_run_in_the_background(monkeypatch):
    monkeypatch.setattr(table_module, "SUMMARY_SYNC_CELLS", 10)
    started = []
    real = table_module.summarize

    def slow(frame, cols):
        started.append(True)
        return real(frame, cols)

    monkeypatch.setattr(table_module, "summarize", slow)
    frame = pl.DataFrame({"x": list(range(100)), "y": [float(i) for i in range(100)]})
    t = kino.table(frame)
    # the first page is there whatever the summaries are doing
    assert rows_of(t) == list(range(20))
    assert t._summary_thread is not None
    assert t.wait_for_summaries(budget(30))
    assert started and t.summary_state == "ready"
    assert t.summaries[0]["max"] == 99


def test_summaries_off():
    t = kino.table({"x": [1, 2]}, summaries=False)
    assert t.summary_state == "off" and t.summaries == []


def test_stale_background_summaries_are_dropped(monkeypatch):
    monkeypatch.setattr(table_module, "SUMMARY_SYNC_CELLS", 0)
    t = kino.table({"x": [1, 2, 3]})
    t.update({"y": ["a", "b"]})
    t.wait_for_summaries(budget(30))
    assert t.summaries[0]["kind"] == "text"


def test_formatter_text_replaces_cells_and_errors_are_shown():
    frame = pl.DataFrame({"price": [1.5, 2.25], "sku": ["a", "b"]})
    t = kino.table(frame, formatter=lambda col, v: f"${v:.2f}" if col == "price" else None)
    assert column_of(t, 0) == ["$1.50", "$2.25"]
    assert column_of(t, 1) == ["a", "b"]

    def broken(col, value):
        raise RuntimeError("boom")

    t2 = kino.table(frame, formatter=broken)
    assert "formatter raised RuntimeError: boom" in t2.error
    assert column_of(t2, 0) == [1.5, 2.25]
    t3 = kino.table(frame, formatter=lambda c, v: 3)
    assert "must return str or None" in t3.error


def test_lazyframe_collects_only_the_page():
    lazy = pl.LazyFrame({"x": list(range(50)), "y": [i % 7 for i in range(50)]})
    t = kino.table(lazy, page_size=5)
    t.wait_for_summaries(budget(30))
    ask(t, sort=[{"column": "y", "descending": True}], page=1)
    expected = (
        lazy.with_row_index("row")
        .sort("y", descending=True, maintain_order=True)
        .collect()["row"]
        .to_list()
    )
    assert rows_of(t) == expected[5:10]
    ask(t, filters=[{"column": "y", "op": "in", "values": [0]}], page=0)
    assert t.total_rows == 8
    t.selected_rows = [49, 0]
    assert t.selected["x"].to_list() == [0, 49]
    assert isinstance(t.view, pl.LazyFrame)
    assert t.summaries[0]["max"] == 49


@pytest.mark.parametrize(
    ("data", "shape"),
    [
        ({"a": [1, 2], "b": ["x", "y"]}, (2, 2)),
        ([{"a": 1}, {"a": 2, "b": 3}], (2, 2)),
        (pl.Series("s", [1, 2, 3]), (3, 1)),
        ([], (0, 0)),
    ],
)
def test_accepts_dicts_lists_of_dicts_and_series(data, shape):
    t = kino.table(data)
    assert (t.row_count, len(t.columns)) == shape
    assert t.error == ""


def test_accepts_pandas_and_arrow():
    import pandas as pd

    t = kino.table(pd.DataFrame({"a": [1, 2, 3]}))
    assert t.row_count == 3
    t2 = kino.table(pa.table({"a": [1, 2]}))
    assert t2.row_count == 2


@pytest.mark.parametrize("bad", [42, "text", object(), b"bytes", [1, 2, 3]])
def test_unsupported_data_is_a_type_error_naming_data(bad):
    with pytest.raises(TypeError, match="'data' must be a polars DataFrame"):
        kino.table(bad)


def test_ragged_dict_is_a_value_error_naming_data():
    with pytest.raises(ValueError, match="'data'"):
        kino.table({"a": [1, 2], "b": [1]})


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"page_size": -1}, ValueError, r"'page_size' must be an int from 1 to 500, got -1"),
        ({"page_size": 0}, ValueError, "'page_size'"),
        ({"page_size": MAX_PAGE_SIZE + 1}, ValueError, "'page_size'"),
        ({"page_size": 2.5}, TypeError, "'page_size' must be an int"),
        ({"page_size": True}, TypeError, "'page_size'"),
        ({"name": 3}, TypeError, "'name' must be a str"),
        ({"summaries": "yes"}, TypeError, "'summaries' must be True or False"),
        ({"formatter": "upper"}, TypeError, "'formatter' must be a function"),
    ],
)
def test_bad_arguments_name_the_argument(kwargs, error, match):
    with pytest.raises(error, match=match):
        kino.table({"a": [1]}, **kwargs)


def test_update_rejects_unsupported_data_and_keeps_the_old():
    t = kino.table({"a": [1, 2]})
    with pytest.raises(TypeError, match="'data'"):
        t.update(3)
    assert t.row_count == 2


def test_widget_loads_its_bundle():
    t = kino.table({"a": [1]})
    assert "render" in str(t._esm)


def test_background_summaries_start_when_the_browser_has_drawn_the_first_page(monkeypatch):
    monkeypatch.setattr(table_module, "SUMMARY_SYNC_CELLS", 0)
    monkeypatch.setattr(table_module, "SUMMARY_START_DELAY_S", 600)
    t = kino.table({"x": [1, 2, 3]})
    assert t.summary_state == "computing" and rows_of(t) == [0, 1, 2]
    t._handle_custom_msg({"type": "rendered"}, [])
    assert t.wait_for_summaries(budget(60))
    assert t.summary_state == "ready" and t.summaries[0]["max"] == 3


def test_unknown_front_end_messages_are_ignored(comm_log):
    t = kino.table({"x": [1]})
    for content in ({"type": "nonsense"}, "text", None, {"format": "csv"}):
        t._handle_custom_msg(content, [])
    assert comm_log.custom() == [] and t.error == ""


def front_end_asks(t, **change) -> None:
    """What a comm message from the browser does: set_state, as ipywidgets calls it."""
    t.set_state({"query": {**t.query, **change}})


def wait_until_answered(t, timeout: float = 30.0) -> None:
    thread = getattr(t, "_query_thread", None)
    if thread is not None:
        thread.join(budget(timeout))
        assert not thread.is_alive(), "the query worker did not finish"


def test_superseded_front_end_requests_are_dropped_before_their_work(people, monkeypatch):
    t = kino.table(people, page_size=10)
    real_page = table_module.Pager.page
    computed: list[dict] = []
    all_sent = threading.Event()

    def counting_page(self, query):
        computed.append(query.as_dict())
        if len(computed) == 1:
            all_sent.wait(
                budget(10)
            )  # the first request is slow: every other one arrives meanwhile
        return real_page(self, query)

    monkeypatch.setattr(table_module.Pager, "page", counting_page)
    seq_before = t.seq
    for i in range(100):
        column = "score" if i % 2 else "age"
        front_end_asks(t, page=40 + i % 7, sort=[{"column": column, "descending": i % 3 == 0}])
    all_sent.set()
    wait_until_answered(t)

    assert len(computed) <= 3, f"{len(computed)} of 100 superseded requests were computed"
    assert computed[-1] == parse_query(t.query, t._cols).as_dict()
    # the last request (i = 99): page 41 of score, descending
    last = people.with_row_index("row").sort("score", descending=True)
    assert rows_of(t) == last["row"][410:420].to_list()
    assert t.seq > seq_before and t.error == ""


def test_a_front_end_request_is_answered_and_python_sets_stay_synchronous(people):
    t = kino.table(people, page_size=10)
    seq = t.seq
    front_end_asks(t, page=2)
    wait_until_answered(t)
    assert rows_of(t) == list(range(20, 30)) and t.seq == seq + 1
    ask(t, page=3)  # from Python: answered before the assignment returns
    assert rows_of(t) == list(range(30, 40)) and t.seq == seq + 2


def test_an_unexpected_failure_in_the_background_is_shown_and_the_next_request_works(
    people, monkeypatch
):
    t = kino.table(people, page_size=10)
    real_page = table_module.Pager.page

    def broken_once(self, query):
        monkeypatch.setattr(table_module.Pager, "page", real_page)
        raise RuntimeError("boom")

    monkeypatch.setattr(table_module.Pager, "page", broken_once)
    front_end_asks(t, page=1)
    wait_until_answered(t)
    assert "RuntimeError: boom" in t.error
    front_end_asks(t, page=2)
    wait_until_answered(t)
    assert t.error == "" and rows_of(t) == list(range(20, 30))
