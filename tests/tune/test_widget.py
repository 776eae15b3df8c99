"""The live study widget: it follows the study (its storage), draws on its own thread,
never holds a trial up, and its Stop button ends the study."""

from __future__ import annotations

import threading
import time

import optuna
import pytest

import kino
from kino.tune.widget import StudyView
from tests.conftest import budget


def wait_for(condition, what: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + budget(seconds)
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        threading.Event().wait(0.02)


@pytest.fixture
def gated():
    """An objective that runs one trial per ``gate.release()``: ``(x - 2) ** 2``."""
    permits = threading.Semaphore(0)

    def objective(trial):
        assert permits.acquire(timeout=budget(60))
        return (trial.suggest_float("x", 0, 4) - 2) ** 2 + trial.suggest_int("n", 1, 3)

    objective.release = permits.release
    return objective


def test_the_view_follows_each_trial_with_the_best_so_far(comm_log, gated):
    study = kino.tune(gated, n_trials=6, seed=0, background=True)
    view = study.widget
    for n in range(1, 7):
        gated.release()
        wait_for(lambda n=n: len(view.objective.rows()) == n, f"trial {n} in the chart")
    study.wait(budget(60))
    wait_for(lambda: view.importances.rows(), "the importances")
    rows = view.objective.rows()
    assert [r["trial"] for r in rows] == list(range(6))
    values = [r["value"] for r in rows]
    assert [r["best"] for r in rows] == [min(values[: i + 1]) for i in range(6)]
    assert view.table.total_rows == 6
    # parallel coordinates: one line per complete trial through both parameters, in 0..1
    lines = view.parallel.rows()
    assert {(r["trial"], r["param"]) for r in lines} == {(t, p) for t in range(6) for p in "xn"}
    assert all(0 <= r["position"] <= 1 for r in lines)
    assert {r["param"] for r in view.importances.rows()} == {"x", "n"}
    assert view.summary.value.startswith("6 trials · 6 complete · 0 pruned · best")
    assert view.summary.value.endswith("finished")
    view.close()


def test_stop_ends_the_study_after_the_running_trial(comm_log, gated):
    study = kino.tune(gated, n_trials=50, background=True)
    view = study.widget
    gated.release()
    wait_for(lambda: len(view.objective.rows()) == 1, "the first trial")
    view.stop.click()
    gated.release()
    study.wait(budget(60))
    assert study.trials.height == 2 and study.stop_requested
    assert view.stop.button.disabled
    wait_for(lambda: view.summary.value.endswith("stopped"), "the stopped summary")
    view.close()


def test_a_slow_view_never_holds_up_the_trials(comm_log, monkeypatch):
    stuck, drawing = threading.Event(), threading.Event()

    def objective(trial):
        if trial.number == 0:  # start once the view is drawing (it sees this trial running)
            assert drawing.wait(budget(60))
        return trial.suggest_float("x", 0, 1)

    study = kino.tune(objective, n_trials=20, background=True)
    view = study.widget

    def slow_update(frame):
        drawing.set()
        assert stuck.wait(budget(120))

    monkeypatch.setattr(view.table, "update", slow_update)
    study.wait(budget(60))  # all 20 trials ran while the view was stuck drawing
    assert study.trials.height == 20 and not stuck.is_set()
    stuck.set()
    view.close()


def test_the_view_reads_the_storage_so_it_shows_other_workers_trials(comm_log, tmp_path):
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    study = kino.tune(
        lambda t: t.suggest_float("x", 0, 1), n_trials=2, storage=url, study_name="shared"
    )
    view = StudyView(study, interval=60)
    assert view.refresh()["complete"] == 2
    other = optuna.load_study(study_name="shared", storage=url)  # another process, say
    other.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=3)
    assert view.refresh()["complete"] == 5
    assert view.table.total_rows == 5 and len(view.objective.rows()) == 5
    view.close()


def test_a_study_displays_as_its_widget(comm_log):
    study = kino.tune(lambda t: t.suggest_float("x", 0, 1), n_trials=2)
    bundle = study._repr_mimebundle_()
    assert bundle["application/vnd.jupyter.widget-view+json"]["model_id"] == (
        study.widget.widget.model_id
    )
    assert study.widget is study.widget
    study.widget.close()


def test_the_interval_is_checked():
    study = kino.tune(lambda t: 1.0, n_trials=1)
    with pytest.raises(ValueError, match=r"'interval' must be a finite number >= 0\.1, got 0"):
        StudyView(study, interval=0)


def test_a_study_without_importances_still_shows_its_end(comm_log, monkeypatch):
    study = kino.tune(lambda t: t.suggest_float("x", 0, 1) + t.suggest_float("y", 0, 1), n_trials=3)

    def refuse():
        raise RuntimeError("cannot evaluate importances")

    monkeypatch.setattr(study, "importances", refuse)
    view = StudyView(study, interval=60)
    assert view.refresh()["complete"] == 3
    assert view.summary.value.endswith("finished") and view.stop.button.disabled
    assert view.importances.rows() == []
    view.close()


def test_a_refresh_that_fails_does_not_end_the_following(comm_log, gated, monkeypatch):
    study = kino.tune(gated, n_trials=2, background=True)
    view = study.widget
    update, calls = view.table.update, []

    def flaky(frame):
        calls.append(frame.height)
        if len(calls) == 1:
            raise OSError("storage hiccup")
        update(frame)

    monkeypatch.setattr(view.table, "update", flaky)
    gated.release()
    wait_for(lambda: calls, "the failing refresh")
    gated.release()
    study.wait(budget(60))
    wait_for(lambda: view.table.total_rows == 2, "the view to catch up after the failure")
    view.close()
