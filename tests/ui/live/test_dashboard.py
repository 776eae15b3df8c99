import importlib
import math
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import jax
import numpy as np
import pytest
from flax import nnx

import kino
from kino import train
from kino.ui.base.widget import bundle_path
from kino.ui.live import stream as _stream
from kino.ui.live.dashboard import Dashboard, _Series
from tests.conftest import budget
from tests.ui.live._vegastream import Page

dashboard_module = importlib.import_module("kino.ui.live.dashboard")

RNG = np.random.default_rng(0)
X = RNG.normal(size=(512, 8)).astype("float32")
Y = ((X[:, 0] > 0).astype("int32") + (X[:, 1] > 0)).astype("int32")


def classifier_loop():
    model = nnx.Sequential(
        nnx.Linear(8, 16, rngs=nnx.Rngs(0)), nnx.relu, nnx.Linear(16, 3, rngs=nnx.Rngs(1))
    )
    return (
        train.trainer(model, "sparse_categorical_cross_entropy", "adam", learning_rate=1e-2)
        .metric("accuracy")
        .validate((X[:128], Y[:128]))
    )


def test_dashboard_bundle_is_built():
    assert bundle_path("dashboard").is_file()
    assert "cdn.jsdelivr.net" not in bundle_path("dashboard").read_text()


def test_dashboard_follows_a_real_run(comm_log):
    loop = classifier_loop()
    dash = kino.dashboard(loop, text=False, labels=["none", "one", "both"])
    assert isinstance(dash, Dashboard)
    assert "confusion_matrix" in [m.name for m in loop.metrics], "added for classification"
    result = loop.run((X, Y), epochs=3, batch_size=32)
    assert result.status == "completed"
    assert dash.metrics == ["loss", "accuracy"]
    progress = dash.progress
    assert progress["status"] == "completed"
    assert (progress["epoch"], progress["epochs"]) == (3, 3)
    assert progress["step"] == progress["total_steps"] == 48
    assert progress["learning_rate"] == pytest.approx(1e-2)
    assert progress["steps_per_second"] > 0
    assert set(progress["latest"]) >= {"loss", "accuracy", "validation_loss"}
    loss = dash.series("loss")
    train_rows = [r for r in loss if r["split"] == "train"]
    val_rows = [r for r in loss if r["split"] == "validation"]
    assert [r["step"] for r in train_rows] == list(range(1, 49))
    assert [r["step"] for r in val_rows] == [16, 32, 48]
    assert all(math.isfinite(r["value"]) for r in loss)
    cells = dash.series("confusion_matrix")
    assert len(cells) == 9
    assert {c["actual"] for c in cells} == {"none", "one", "both"}
    assert sum(c["count"] for c in cells) == 128, "validation set counts"
    assert progress["confusion"] == {"epoch": 3, "classes": 3}
    # what a page shows (stream + snapshot) is what Python holds
    page = Page().feed(comm_log)
    assert page.data["loss"] == loss
    assert page.data["confusion_matrix"] == cells
    # the saved state alone (a reopened notebook) holds the final curves
    snapshot = Page().feed(comm_log.updates("_data")[-1:])
    assert snapshot.data["loss"] == loss


def test_dashboard_adds_no_device_to_host_transfer():
    loop = classifier_loop()
    loop.run((X, Y), epochs=1, batch_size=32)  # compile outside the guard
    kino.dashboard(loop, text=False)
    loop.run((X[:64], Y[:64]), epochs=1, batch_size=32)  # the dashboard's metric compiles
    with jax.transfer_guard_device_to_host("disallow"):
        result = loop.run((X, Y), epochs=2, batch_size=32)
    assert result.status == "completed"


def test_stop_message_from_the_browser_stops_a_background_run(comm_log):
    loop = classifier_loop()
    dash = kino.dashboard(loop, text=False)
    started = threading.Event()
    loop.handle("iteration_completed", lambda s: started.set())
    run = loop.run((X, Y), epochs=10_000, batch_size=32, background=True)
    assert started.wait(budget(120))
    dash._handle_custom_msg({"type": "stop"}, [])  # what the Stop button sends
    result = run.wait(budget(120))
    assert result.status == "stopped"
    assert dash.progress["status"] == "stopped"
    assert result.epoch < 10_000


def test_stream_messages_are_coalesced_during_a_run(comm_log):
    loop = classifier_loop()
    dash = kino.dashboard(loop, text=False)
    result = loop.run((X, Y), epochs=8, batch_size=16)
    steps = result.step
    assert steps == 256
    sent = len(comm_log.custom())
    elapsed = dash.progress["elapsed"]
    assert sent <= elapsed / _stream.FLUSH_INTERVAL + 8 + 2
    assert len(dash.series("loss")) == steps + 8


def test_long_runs_keep_at_most_max_points_per_curve(monkeypatch):
    monkeypatch.setattr(dashboard_module, "MAX_POINTS", 16)
    s = _Series()
    points = []
    for step in range(1, 1001):
        p = s.add(step, float(step))
        if p is not None:
            points.append(p)
            s.compact()
    assert len(s.points) <= 16
    assert s.stride > 1
    # merged points are means of their steps: the curve keeps its shape
    for step, value in s.points:
        assert step - s.stride < value <= step


def test_dashboard_compacts_series_while_running(comm_log, monkeypatch):
    monkeypatch.setattr(dashboard_module, "MAX_POINTS", 8)
    loop = classifier_loop()
    dash = kino.dashboard(loop, text=False)
    loop.run((X, Y), epochs=20, batch_size=64)
    rows = dash.series("loss")
    train_rows = [r for r in rows if r["split"] == "train"]
    val_rows = [r for r in rows if r["split"] == "validation"]
    assert len(train_rows) <= 9 and len(val_rows) <= 9, "both curves stay bounded"
    assert train_rows[-1]["step"] == val_rows[-1]["step"] == 160
    assert [r["step"] for r in rows] == sorted(r["step"] for r in rows)
    assert Page().feed(comm_log).data["loss"] == rows


def test_no_confusion_matrix_for_regression():
    model = nnx.Linear(8, 1, rngs=nnx.Rngs(0))
    loop = train.trainer(model, "mse", "sgd")
    kino.dashboard(loop, text=False)
    assert "confusion_matrix" not in [m.name for m in loop.metrics]
    result = loop.run((X, X[:, :1]), epochs=1, batch_size=64)
    assert result.status == "completed"


def test_plain_script_prints_a_progress_line_instead(tmp_path):
    script = tmp_path / "train_script.py"
    script.write_text(
        textwrap.dedent(
            """
            import numpy as np
            from flax import nnx
            import kino
            from kino import train
            x = np.random.default_rng(0).normal(size=(256, 4)).astype("float32")
            y = (x[:, 0] > 0).astype("int32")
            model = nnx.Linear(4, 2, rngs=nnx.Rngs(0))
            loop = train.trainer(model, "sparse_categorical_cross_entropy", "adam")
            progress = kino.dashboard(loop)
            print(type(progress).__name__)
            print(loop.run((x, y), epochs=2, batch_size=32).status)
            """
        )
    )
    done = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        timeout=budget(300),
        check=True,
    )
    assert done.stdout.split() == ["TextProgress", "completed"]
    assert "epoch 1/2" in done.stderr and "epoch 2/2" in done.stderr
    assert "completed after" in done.stderr


def test_bad_arguments_are_named():
    with pytest.raises(
        TypeError, match=r"kino\.dashboard: 'loop' must be a kino\.train loop .*, got object: "
    ):
        kino.dashboard(object())
    loop = classifier_loop()
    with pytest.raises(ValueError, match=r"kino\.dashboard: 'every' must be an int >= 1, got 0"):
        kino.dashboard(loop, every=0)
    with pytest.raises(ValueError, match=r"kino\.dashboard: 'every' must be an int >= 1, got 0"):
        kino.dashboard(loop, every=0, text=False)
    with pytest.raises(
        TypeError, match=r"kino\.dashboard: 'labels' must be a list of class names, got str: 'abc'"
    ):
        kino.dashboard(loop, labels="abc", text=False)


def test_dashboard_is_one_class_with_one_signature():
    assert kino.dashboard is Dashboard
    loop = classifier_loop()
    assert isinstance(kino.dashboard(loop, text=True), train.TextProgress)
    assert isinstance(Dashboard(loop, text=False), Dashboard)


def test_log_scale_toggle_and_title_are_state():
    dash = kino.dashboard(classifier_loop(), text=False, title="MNIST", log_scale=True)
    assert dash.title == "MNIST" and dash.log_scale is True
    assert dash.progress == {"status": "waiting"}
    assert "dashboard" in kino.__all__


# -- what the dashboard costs the loop, and its states ---------------------------------


class _NoLoop:
    """Enough of a loop for a dashboard fed LoopStates by hand."""

    def handle(self, *args, **kwargs):
        return self


class _FakeRun:
    done = False
    stopped = False

    def stop(self):
        self.stopped = True


def _state(event, step, elapsed, **kw):
    fields = {
        "epoch": 1,
        "epochs": 1,
        "iteration": step,
        "iterations": 410,
        "step": step,
        "total_steps": 410,
        "elapsed": elapsed,
        "learning_rate": 1e-3,
        "metrics": {"loss": 1.0 / (step + 1)},
    }
    fields.update(kw)
    return train.LoopState(event=event, **fields)


def _fed_dashboard():
    dash = Dashboard(_NoLoop(), text=False, confusion_matrix=False)
    dash._pump.due = True  # the test drains by hand: no timer drain in between
    statuses = []
    dash.observe(lambda change: statuses.append(change["new"]["status"]), names="progress")
    return dash, statuses


def test_handlers_only_record_and_send_nothing_on_the_training_thread(comm_log, monkeypatch):
    # every progress change would be sent if the handlers sent it themselves
    monkeypatch.setattr(dashboard_module, "PROGRESS_INTERVAL", 0.0)
    sent_in_handlers = []
    for name in ("_iteration", "_epoch"):
        original = getattr(Dashboard, name)

        def spy(self, state, original=original):
            before = len(comm_log)
            original(self, state)
            sent_in_handlers.append(len(comm_log) - before)

        monkeypatch.setattr(Dashboard, name, spy)
    loop = classifier_loop()
    dash = kino.dashboard(loop, text=False)
    result = loop.run((X, Y), epochs=8, batch_size=16, steps_per_dispatch=4)
    assert len(sent_in_handlers) == result.step + 8
    assert sum(sent_in_handlers) == 0, "no comm message leaves from a step or epoch handler"
    # ... and the page still gets everything, in few messages
    assert dash.progress["status"] == "completed"
    assert dash.progress["step"] == result.step == 256
    assert len([r for r in dash.series("loss") if r["split"] == "train"]) == 256
    progress_updates = len(comm_log.updates("progress"))
    elapsed = dash.progress["elapsed"]
    assert progress_updates <= elapsed / dashboard_module.DRAIN_INTERVAL + 8 + 4
    assert progress_updates < result.step / 4


def test_the_buffer_the_handlers_fill_is_bounded(monkeypatch):
    monkeypatch.setattr(dashboard_module, "INBOX_MAX", 50)
    dash, _ = _fed_dashboard()  # a drain is due but has not run: the handlers keep recording
    for step in range(1, 1001):
        dash._iteration(_state("iteration_completed", step, 1.0 + step / 1000))
    assert len(dash._inbox) == 50
    dash._drain()
    assert not dash._inbox
    assert dash.progress["step"] == 1000, "the newest states are the ones kept"


def test_compiling_until_the_first_step_then_rates_of_compiled_steps(comm_log):
    dash, statuses = _fed_dashboard()
    assert dash.progress["status"] == "waiting"
    dash._started(_state("started", 0, 0.0, metrics={}, steps_per_second=0.0))
    shown = dash.progress
    assert shown["status"] == "compiling"
    assert shown["steps_per_second"] is None and shown["eta"] is None
    assert shown["compile_seconds"] is None
    # the first dispatch (32 steps) arrives 35.05 s in, 35.0 s of which compiled; the
    # runner's own rate for it may be polluted (what showed "ETA 11:11" at step 1)
    for step in range(1, 33):
        dash._iteration(
            _state(
                "iteration_completed",
                step,
                35.05,
                compile_seconds=35.0,
                steps_per_second=0.9,
            )
        )
    dash._drain()
    shown = dash.progress
    assert shown["status"] == "running"
    assert shown["compile_seconds"] == pytest.approx(35.0)
    assert shown["steps_per_second"] == pytest.approx(32 / 0.05)
    assert shown["eta"] == pytest.approx((410 - 32) / (32 / 0.05))
    assert shown["elapsed"] == pytest.approx(35.05)
    assert statuses == ["compiling", "running"]


def test_without_a_reported_compile_time_steps_per_second_waits_for_enough_steps(monkeypatch):
    monkeypatch.setattr(dashboard_module, "PROGRESS_INTERVAL", 0.0)
    dash, _ = _fed_dashboard()
    dash._started(_state("started", 0, 0.0, metrics={}))
    dash._iteration(_state("iteration_completed", 1, 30.0, steps_per_second=0.03))
    dash._iteration(_state("iteration_completed", 2, 30.0, steps_per_second=0.03))
    dash._drain()
    assert dash.progress["status"] == "running"
    assert dash.progress["compile_seconds"] == pytest.approx(30.0)
    assert dash.progress["steps_per_second"] is None, "not from 0.0 s of steps"
    assert dash.progress["eta"] is None
    later = 30.0 + dashboard_module.RATE_MIN_SECONDS
    dash._iteration(_state("iteration_completed", 101, later, steps_per_second=0.03))
    dash._drain()
    rate = 100 / dashboard_module.RATE_MIN_SECONDS
    assert dash.progress["steps_per_second"] == pytest.approx(rate)


def test_stop_shows_stopping_never_running_again_then_the_real_last_step(comm_log):
    dash, statuses = _fed_dashboard()
    run = _FakeRun()
    dash._started(_state("started", 0, 0.0, metrics={}, run=run))
    for step in range(1, 124):
        dash._iteration(_state("iteration_completed", step, 1 + step / 100, compile_seconds=1.0))
    dash._drain()
    assert dash.progress["status"] == "running"
    # recorded by the handlers, not drained yet
    for step in range(124, 131):
        dash._iteration(_state("iteration_completed", step, 1 + step / 100, compile_seconds=1.0))
    dash.stop()  # the Stop button, at step 130
    assert run.stopped
    assert dash.progress["status"] == "stopping"
    assert dash.progress["step"] == 130, "the newest step the kernel has, not the last sent"
    # steps already in flight still arrive with the runner's status "running"
    for step in range(131, 160):
        dash._iteration(_state("iteration_completed", step, 2 + step / 100, compile_seconds=1.0))
    dash._epoch(_state("epoch_completed", 159, 3.6, metrics={"validation_loss": 0.5}))
    dash._drain()
    assert dash.progress["status"] == "stopping"
    assert dash.progress["step"] == 159
    dash._completed(
        _state("completed", 160, 3.7, status="stopped", reason="stopped by Run.stop()", run=run)
    )
    assert dash.progress["status"] == "stopped"
    assert dash.progress["step"] == 160
    first_stop = statuses.index("stopping")
    assert "running" not in statuses[first_stop:], statuses
    assert statuses[-1] == "stopped"
    dash.stop()  # after the end: nothing changes
    assert dash.progress["status"] == "stopped"


def test_stop_of_a_real_run_halts_within_a_dispatch_and_shows_its_last_step(comm_log):
    loop = classifier_loop()
    dash = kino.dashboard(loop, text=False)
    statuses = []
    dash.observe(lambda change: statuses.append(change["new"]["status"]), names="progress")
    reached = threading.Event()
    loop.handle("iteration_completed", lambda s: reached.set() if s.step >= 100 else None)
    k = 4
    run = loop.run((X, Y), epochs=10_000, batch_size=16, steps_per_dispatch=k, background=True)
    assert reached.wait(budget(300))
    dash._handle_custom_msg({"type": "stop"}, [])  # what the Stop button sends
    at_stop = run.progress.step  # the runner had delivered no more than this when it was asked
    result = run.wait(budget(300))
    assert result.status == "stopped"
    assert at_stop <= result.step <= at_stop + 2 * k, "the dispatch in flight, then one more"
    assert dash.progress["status"] == "stopped"
    assert dash.progress["step"] == result.step, "the page shows the kernel's real position"
    assert "running" not in statuses[statuses.index("stopping") :], statuses
    assert statuses[0] == "compiling"


def test_train_click_in_the_dashboard_notebook_gives_feedback_at_once(comm_log, monkeypatch):
    """notebooks/dashboards/train-and-predict: the form is disabled as soon as Train is
    clicked (the handler's first act), a dashboard is shown, and the form comes back when
    the run ends."""
    import nbformat

    path = Path(__file__).resolve().parents[3] / "notebooks/dashboards/train-and-predict.ipynb"
    monkeypatch.setattr(dashboard_module, "_in_kernel", lambda: True)  # as in Voila
    ns: dict = {"__name__": "__dashboard__"}
    for cell in nbformat.read(path, as_version=4).cells:
        if cell.cell_type == "code":
            exec(compile(cell.source, path.name, "exec"), ns)
    form = ns["form"]
    form.update({"epochs": 2})
    assert form.submit()
    run = ns["state"]["run"]
    assert form.disabled, "the button is disabled while the run trains"
    assert not form.submit(), "a second click starts nothing"
    shown = ns["board"].items[0]
    assert isinstance(shown, Dashboard)
    assert shown.progress["status"] in ("waiting", "compiling", "running", "completed")
    assert run.wait(budget(600)).status == "completed"
    assert not form.disabled, "enabled again when the run ends"
    assert shown.progress["status"] == "completed"


def test_the_data_path_is_shown_when_the_runtime_names_it(monkeypatch):
    monkeypatch.setattr(dashboard_module, "PROGRESS_INTERVAL", 0.0)
    dash, _ = _fed_dashboard()
    dash._started(_state("started", 0, 0.0, metrics={}))
    assert dash.progress["data_path"] is None, "a runtime that does not say: nothing shown"

    class Fed:  # a LoopState of a runtime that says where its batches come from
        def __init__(self, state, on_device):
            self._state, self.data_on_device = state, on_device

        def __getattr__(self, name):
            return getattr(self._state, name)

    state = _state("iteration_completed", 1, 2.0, compile_seconds=1.0)
    dash._iteration(Fed(state, True))
    dash._drain()
    assert dash.progress["data_path"] == "on device"
    dash._iteration(Fed(_state("iteration_completed", 2, 2.5, compile_seconds=1.0), False))
    dash._drain()
    assert dash.progress["data_path"] == "host feed"
