import contextlib
import datetime as dt
import math
import threading
import time
import warnings
from unittest import mock

import altair as alt
import comm
import numpy as np
import polars as pl
import pytest
from comm.base_comm import BaseComm
from hypothesis import given, settings
from hypothesis import strategies as st

import kino
from kino.ui.base.widget import bundle_path
from kino.ui.live import stream as _stream
from kino.ui.live.chart import MAX_ROWS, Chart
from tests.conftest import CommLog, CommMessage, budget
from tests.ui.live._vegastream import Page, decode_block


@contextlib.contextmanager
def recording():
    """Like the comm_log fixture, for use inside a hypothesis test."""
    log = CommLog()

    recorder = type("Recorder", (_Recorder,), {"log": log})
    with mock.patch.object(comm, "create_comm", recorder):
        yield log


class _Recorder(BaseComm):
    def publish_msg(self, msg_type, data=None, metadata=None, buffers=None, **keys):
        self.log.append(CommMessage(msg_type, data or {}, [bytes(b) for b in buffers or []]))


LINE = alt.Chart().mark_line().encode(x="step:Q", y="loss:Q", color="split:N")


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch):
    """Freeze the stream's clock and keep the timer thread out of the way."""
    fake = FakeClock()
    monkeypatch.setattr(_stream.time, "monotonic", fake)
    monkeypatch.setattr(_stream._scheduler, "call_at", lambda when, store: None)
    return fake


def rows_of(n, split="train"):
    return [{"step": i, "loss": 1.0 / (i + 1), "split": split} for i in range(n)]


def test_chart_bundles_vega_embed_and_loads_no_cdn():
    js = bundle_path("chart").read_text()
    assert "vega-embed" in js or "vegaEmbed" in js or "embed" in js
    assert "cdn.jsdelivr.net" not in js
    assert 'import("http' not in js and 'from"http' not in js


def test_push_coalesces_a_tight_loop_into_few_messages(comm_log, clock):
    c = kino.chart(LINE)
    before = len(comm_log.custom())
    for r in rows_of(10_000):
        c.push(r)
    # pushing only appends: the timer thread sends the batch
    assert len(comm_log.custom()) == before
    c._stream._tick()
    assert len(comm_log.custom()) - before == 1
    c.push(rows_of(1))
    c._stream._tick()  # less than FLUSH_INTERVAL later: nothing leaves yet
    assert len(comm_log.custom()) - before == 1
    clock.now += _stream.FLUSH_INTERVAL * 1.01
    c._stream._tick()
    assert len(comm_log.custom()) - before == 2
    page = Page().feed(comm_log)
    assert page.data["data"] == rows_of(10_000) + rows_of(1)
    assert c.rows() == rows_of(10_000) + rows_of(1)


def test_pushes_between_flushes_arrive_in_order_in_one_message(comm_log, clock):
    c = kino.chart(LINE)
    c.push(rows_of(1))
    c._stream._tick()
    n = len(comm_log.custom())
    for step in range(1, 50):
        c.push({"step": step, "loss": 0.5, "split": "val" if step % 2 else "train"})
    clock.now += 1
    c._stream._tick()
    (last,) = comm_log.custom()[n:]
    (op,) = last.content["ops"]
    got = decode_block(op["rows"], last.buffers)
    assert [r["step"] for r in got] == list(range(1, 50))
    assert [r["split"] for r in got][:3] == ["val", "train", "val"]


def test_real_timer_delivers_every_row_with_a_bounded_message_rate(comm_log):
    c = kino.chart(LINE)
    start_messages = len(comm_log.custom())
    start = time.monotonic()
    total = 30_000
    for i in range(total):
        c.push({"step": i, "loss": float(i), "split": "train"})
    elapsed = time.monotonic() - start
    deadline = time.monotonic() + budget(10)
    while c._stream._pending and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not c._stream._pending, "the timer thread did not flush the tail"
    sent = len(comm_log.custom()) - start_messages
    assert sent <= elapsed / _stream.FLUSH_INTERVAL + 2
    assert Page().feed(comm_log).data["data"] == c.rows()
    assert len(c.rows()) == total


def test_window_keeps_the_newest_rows_in_python_and_the_page(comm_log, clock):
    c = kino.chart(LINE)
    for r in rows_of(100):
        c.push(r, window=7)
    c.flush()
    assert c.rows() == rows_of(100)[-7:]
    assert Page().feed(comm_log).data["data"] == rows_of(100)[-7:]


def test_window_changes_between_flushes_match_python_exactly(comm_log, clock):
    c = kino.chart(LINE)
    c.push(rows_of(10), window=10)
    clock.now += 1
    c.push(rows_of(3), window=2)  # coalesced with the next push
    c.push(rows_of(1), window=10)
    c.flush()
    assert len(c.rows()) == 3
    assert Page().feed(comm_log).data["data"] == c.rows()


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["push", "push", "push", "replace", "clear", "flush"]),
            st.integers(0, 12),
            st.one_of(st.none(), st.integers(1, 9)),
        ),
        max_size=25,
    )
)
def test_page_always_matches_python(actions):
    with recording() as log:
        c = Chart(LINE, max_rows=15)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            counter = 0
            for action, n, window in actions:
                batch = [{"step": counter + i, "loss": 0.0, "split": "a"} for i in range(n)]
                counter += n
                if action == "push":
                    c.push(batch, window=window)
                elif action == "replace":
                    c.replace(batch)
                elif action == "clear":
                    c.clear()
                else:
                    c._stream.flush()
        c.flush()
        assert Page().feed(log).data["data"] == c.rows()


def test_replace_is_one_changeset_that_drops_the_old_rows(comm_log, clock):
    c = kino.chart(LINE)
    c.push(rows_of(5))
    c._stream._tick()
    clock.now += 1
    n = len(comm_log.custom())
    c.replace(rows_of(2, "val"))
    c._stream._tick()
    (msg,) = comm_log.custom()[n:]
    (op,) = msg.content["ops"]
    assert op["keep"] == 0
    assert decode_block(op["rows"], msg.buffers) == rows_of(2, "val")
    assert c.rows() == rows_of(2, "val")


def test_clear_empties_the_dataset(comm_log, clock):
    c = kino.chart(LINE)
    c.push(rows_of(5))
    clock.now += 1
    c.clear()
    assert c.rows() == []
    assert Page().feed(comm_log).data["data"] == []


def test_state_holds_the_current_rows_for_saved_notebooks_and_new_views(comm_log, clock):
    c = kino.chart(LINE)
    for r in rows_of(500):
        c.push(r, window=300)
    c.flush()
    update = comm_log.updates("_data")[-1]
    assert update.buffers, "numeric columns travel as binary buffers, not JSON"
    assert all(b"step" not in b for b in update.buffers)
    # a page that opens now (or a notebook reopened from saved state) sees only
    # the snapshot and no stream message, and shows the same rows
    fresh = Page()
    fresh.feed([update])
    assert fresh.data["data"] == rows_of(500)[-300:]
    step_column = next(col for col in c._data["datasets"]["data"]["columns"])
    assert step_column["kind"] == "f64"


def test_snapshot_follows_the_stream_after_it_goes_quiet(comm_log, clock):
    c = kino.chart(LINE)
    c.push(rows_of(3))
    c._stream._tick()
    assert c._stream.snapshot_seq != c._stream.seq
    clock.now += _stream.SNAPSHOT_QUIET / 2
    c._stream._tick()
    assert c._stream.snapshot_seq != c._stream.seq, "not yet quiet"
    clock.now += _stream.SNAPSHOT_QUIET
    c._stream._tick()
    assert c._stream.snapshot_seq == c._stream.seq
    assert Page().feed(comm_log.updates("_data")[-1:]).data["data"] == rows_of(3)


def test_a_page_that_missed_messages_asks_for_a_snapshot(comm_log, clock):
    c = kino.chart(LINE)
    c.push(rows_of(4))
    c._stream._tick()
    clock.now += 1
    c.push(rows_of(2))
    c._stream._tick()
    n = len(comm_log.updates("_data"))
    c._handle_custom_msg({"type": "hello", "seq": 0}, [])
    assert len(comm_log.updates("_data")) == n + 1
    page = Page()
    page.feed(comm_log.updates("_data")[-1:])
    assert page.data["data"] == c.rows()
    # a page that is up to date does not cost a snapshot
    c._handle_custom_msg({"type": "hello", "seq": c._stream.seq}, [])
    assert len(comm_log.updates("_data")) == n + 1


def test_several_named_datasets(comm_log, clock):
    train = alt.Chart(alt.NamedData("train")).mark_line().encode(x="step:Q", y="loss:Q")
    val = alt.Chart(alt.NamedData("val")).mark_point().encode(x="step:Q", y="acc:Q")
    c = kino.chart(alt.layer(train, val))
    assert set(c.datasets) == {"train", "val"}
    c.push({"step": 1, "loss": 0.5}, dataset="train")
    c.push({"step": 1, "acc": 0.7}, dataset="val")
    c.flush()
    page = Page().feed(comm_log)
    assert page.data["train"] == [{"step": 1, "loss": 0.5}]
    assert page.data["val"] == [{"step": 1, "acc": 0.7}]
    with pytest.raises(ValueError, match=r"no dataset 'test'.*\['train', 'val'\]"):
        c.push({"step": 1}, dataset="test")
    with pytest.raises(ValueError, match="several datasets"):
        c.push({"step": 2, "loss": 0.1})
    with pytest.raises(ValueError, match="field 'acc'"):
        c.push({"step": 2, "loss": 0.1}, dataset="val")


def test_inline_data_of_an_altair_chart_becomes_the_initial_rows(comm_log):
    df = pl.DataFrame({"a": [1, 2, 3], "b": ["x", "y", "z"]})
    c = kino.chart(alt.Chart(df).mark_bar().encode(x="b:N", y="a:Q"))
    assert c.rows() == df.to_dicts()
    assert "datasets" not in c.spec
    dict_spec = {
        "data": {"values": [{"a": 1}]},
        "mark": "point",
        "encoding": {"x": {"field": "a", "type": "quantitative"}},
    }
    assert kino.chart(dict_spec).rows() == [{"a": 1}]


def test_push_accepts_dataframes_and_numpy_values(comm_log, clock):
    c = kino.chart(LINE)
    c.push(pl.DataFrame({"step": [1, 2], "loss": [0.5, 0.25], "split": ["a", "b"]}))
    c.push({"step": np.int64(3), "loss": np.float32(0.125), "split": np.str_("c")})
    assert c.rows()[-1] == {"step": 3, "loss": 0.125, "split": "c"}
    assert type(c.rows()[-1]["step"]) is int
    when = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    t = kino.chart(alt.Chart().mark_line().encode(x="t:T", y="v:Q"))
    t.push({"t": when, "v": 1})
    assert t.rows()[0]["t"] == when.timestamp() * 1000


def test_nan_and_none_survive_the_trip(comm_log, clock):
    c = kino.chart(LINE)
    c.push([{"step": 1, "loss": math.nan, "split": "a"}, {"step": 2, "loss": None, "split": None}])
    c.flush()
    got = Page().feed(comm_log).data["data"]
    assert got[1] == {"step": 2, "loss": None, "split": None}
    assert got[0]["loss"] is None or math.isnan(got[0]["loss"])


def test_missing_encoded_field_is_named():
    c = kino.chart(LINE)
    with pytest.raises(ValueError, match=r"row 0 has no field 'loss'.*encodes as y"):
        c.push({"step": 1, "split": "train"})
    assert c.rows() == []


def test_non_numeric_quantitative_field_is_refused():
    c = kino.chart(LINE)
    with pytest.raises(ValueError, match=r"'loss' is quantitative \(y\).*must be a number.*str"):
        c.push([{"step": 1, "loss": 0.2, "split": "a"}, {"step": 2, "loss": "high", "split": "a"}])
    assert c.rows() == [], "a refused batch adds nothing"


@pytest.mark.parametrize(
    ("window", "error", "got"),
    [
        (0, ValueError, "0"),
        (-3, ValueError, "-3"),
        (2.5, TypeError, "2.5"),
        (True, TypeError, "True"),
        ("10", TypeError, "str: '10'"),
    ],
)
def test_bad_window_is_named(window, error, got):
    # kino.contracts: a wrong type is a TypeError, an int out of range a ValueError.
    c = kino.chart(LINE)
    message = rf"kino.chart.push: 'window' must be an int >= 1 or None, got {got}$"
    with pytest.raises(error, match=message):
        c.push({"step": 1, "loss": 1.0, "split": "a"}, window=window)
    assert c.rows() == []


def test_chart_is_one_class_with_one_signature():
    assert kino.chart is Chart
    with pytest.raises(ValueError, match=r"kino.chart: 'max_rows' must be an int >= 1, got 0"):
        Chart(LINE, max_rows=0)
    with pytest.raises(TypeError):
        Chart(LINE, 10)  # max_rows is keyword-only, as it always was


def test_a_selection_from_the_browser_is_a_select_event(comm_log):
    c = kino.chart(alt.Chart().mark_point().encode(x="a:Q").add_params(alt.selection_point()))
    assert c.primary_event == "select" and c.selection == {}
    seen, every = [], []
    _ = kino.listen(c, seen.append)
    c.subscribe(every.append, type="select")
    # What the front end does: set the synced trait to {param name: Vega signal value}.
    c.set_state({"selection": {"param_1": {"a": [3]}}})
    c.selection = {"param_1": {"a": [3]}}  # the same value again: no second event
    assert [(e.type, e.value, e.source) for e in seen] == [("select", {"param_1": {"a": [3]}}, c)]
    c.selection = {}  # the selection cleared
    assert [e.value for e in every] == [{"param_1": {"a": [3]}}, {}]
    assert "selection" in c.get_state()


@pytest.mark.parametrize("bad", [3, "row", None, [1, 2]])
def test_rows_must_be_dicts(bad):
    with pytest.raises(TypeError, match="dict"):
        kino.chart(LINE).push(bad)


def test_unshowable_values_are_refused_with_the_field_named():
    with pytest.raises(TypeError, match=r"field 'split'.*object"):
        kino.chart(LINE).push({"step": 1, "loss": 1.0, "split": object()})


@pytest.mark.parametrize("bad", [42, "mark: line", None])
def test_spec_must_be_a_chart_or_dict(bad):
    with pytest.raises(TypeError, match="'spec' must be an altair chart or a Vega-Lite spec dict"):
        kino.chart(bad)


def test_fields_made_by_transforms_are_not_required():
    spec = (
        alt.Chart()
        .transform_calculate(double="2 * datum.v")
        .mark_line()
        .encode(x="step:Q", y="double:Q")
    )
    c = kino.chart(spec)
    c.push({"step": 1, "v": 3})
    folded = alt.Chart().transform_fold(["a", "b"]).mark_line().encode(x="key:N", y="value:Q")
    kino.chart(folded).push({"a": 1, "b": 2})


def test_without_window_the_chart_keeps_max_rows_and_says_so_once(comm_log, clock):
    assert MAX_ROWS == 100_000
    c = kino.chart(LINE, max_rows=10)
    c.push(rows_of(10))
    assert c.notice == ""
    with pytest.warns(RuntimeWarning, match="newest 10 rows of 'data'"):
        c.push(rows_of(3))
    assert "older rows are dropped" in c.notice
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        c.push(rows_of(30))
    assert len(c.rows()) == 10
    c.flush()
    assert Page().feed(comm_log).data["data"] == rows_of(30)[-10:]


def test_default_limit_applies_to_replace_too():
    c = kino.chart(LINE, max_rows=5)
    with pytest.warns(RuntimeWarning):
        c.replace(rows_of(8))
    assert c.rows() == rows_of(8)[-5:]


def test_width_follows_the_cell_unless_set():
    assert kino.chart(LINE).spec["width"] == "container"
    assert kino.chart(LINE.properties(width=200)).spec["width"] == 200


def test_to_png_and_to_svg_render_the_current_rows():
    c = kino.chart(LINE)
    c.push(rows_of(20))
    svg = c.to_svg()
    assert svg.startswith("<svg") and "</svg>" in svg
    png = c.to_png()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert c.to_spec()["datasets"]["data"] == rows_of(20)


class FakeLoop:
    def __init__(self):
        self.handlers = []

    def handle(self, event, fn, every=1):
        self.handlers.append((event, fn, every))
        return self


class FakeState:
    def __init__(self, step, metrics, event="iteration_completed"):
        self.step, self.epoch, self.metrics, self.event = step, 1, metrics, event


def test_follow_attaches_an_ordinary_handler_that_pushes_rows(clock):
    loop = FakeLoop()
    c = kino.chart(alt.Chart().mark_line().encode(x="step:Q", y="loss:Q"))
    assert c.follow(loop, ["loss"], every=5, window=2) is c
    ((event, fn, every),) = loop.handlers
    assert (event, every) == ("iteration_completed", 5)
    for step in (5, 10, 15):
        fn(FakeState(step, {"loss": 1 / step, "accuracy": 0.5}))
    assert c.rows() == [
        {"step": 10, "epoch": 1, "loss": 0.1},
        {"step": 15, "epoch": 1, "loss": 1 / 15},
    ]
    with pytest.raises(ValueError, match=r"no metric 'loss'.*'validation_loss'"):
        fn(FakeState(20, {"validation_loss": 0.3}, "validated"))
    with pytest.raises(ValueError, match="'every'"):
        c.follow(loop, ["loss"], every=0)


def test_threads_can_push_concurrently(comm_log):
    c = kino.chart(LINE)

    def worker(split):
        for i in range(2000):
            c.push({"step": i, "loss": 0.0, "split": split})

    threads = [threading.Thread(target=worker, args=(s,)) for s in "abc"]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    c.flush()
    got = Page().feed(comm_log).data["data"]
    assert got == c.rows() and len(got) == 6000
    for s in "abc":
        assert [r["step"] for r in got if r["split"] == s] == list(range(2000))


def test_chart_is_exported():
    assert kino.chart is not None and "chart" in kino.__all__
    assert isinstance(kino.chart(LINE), Chart)


def test_follow_a_real_loop_pushes_every_nth_step(comm_log):
    from flax import nnx

    from kino import train

    x = np.random.default_rng(0).normal(size=(256, 4)).astype("float32")
    y = (x[:, 0] > 0).astype("int32")
    loop = train.trainer(nnx.Linear(4, 2, rngs=nnx.Rngs(0)), "sparse_categorical_cross_entropy")
    c = kino.chart(alt.Chart().mark_line().encode(x="step:Q", y="loss:Q"))
    c.follow(loop, ["loss"], every=4)
    result = loop.run((x, y), epochs=2, batch_size=32)
    assert result.status == "completed"
    assert [r["step"] for r in c.rows()] == list(range(4, 17, 4))
    assert all(type(r["loss"]) is float for r in c.rows())
    c.flush()
    assert Page().feed(comm_log).data["data"] == c.rows()


@pytest.mark.parametrize(
    ("scale", "error", "got"),
    [
        (0, ValueError, "0"),
        (-1, ValueError, "-1"),
        (float("nan"), ValueError, "nan"),
        (float("inf"), ValueError, "inf"),
        (17, ValueError, "17"),
        ("2", TypeError, "str: '2'"),
        (True, TypeError, "True"),
    ],
)
def test_to_png_refuses_a_bad_scale_at_the_call(scale, error, got):
    # vl-convert panicked (a Rust panic on stderr) on these; the call names them now.
    c = kino.chart(alt.Chart().mark_point().encode(x="x:Q"))
    message = rf"kino\.chart\.to_png: 'scale' must be a finite number > 0 and <= 16, got {got}$"
    with pytest.raises(error, match=message):
        c.to_png(scale=scale)


@pytest.mark.parametrize("name", ['a"b', "a[b", "a]b", "it's", 'x[0]"'])
def test_a_field_name_vega_lite_cannot_read_is_refused_at_the_call(name):
    # Vega-Lite failed on these in the browser only ("Access path missing ...").
    spec = {"mark": "point", "encoding": {"x": {"field": name, "type": "quantitative"}}}
    with pytest.raises(ValueError, match=r"kino\.chart: 'field' must be a field name Vega-Lite"):
        kino.chart(spec)
    with pytest.raises(ValueError, match="'field'"):
        kino.chart({"mark": "point", "encoding": {"tooltip": [{"field": name}]}})


@pytest.mark.parametrize("name", ["loss", "a.b", "a[0]", "a\\[b\\]", "val loss (%)"])
def test_field_names_vega_lite_reads_are_kept(name):
    spec = {"mark": "point", "encoding": {"x": {"field": name, "type": "quantitative"}}}
    assert kino.chart(spec).spec["encoding"]["x"]["field"] == name
