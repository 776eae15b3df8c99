"""Four worker processes share one kino.tune study on a real PostgreSQL server: every
trial of the budget runs once, the study widget follows the database, and a worker
killed mid-trial loses nothing (its trial is marked failed and retried by the others)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import optuna
import pytest

import kino
from kino.tune.widget import StudyView
from tests.conftest import budget

REPO = Path(__file__).resolve().parents[2]
State = optuna.trial.TrialState


def start_worker(url, study, objective, folder, seed, **env):
    command = [sys.executable, "-m", "kino.tune.worker", "--storage", url, "--study", study,
               "--seed", str(seed), "--heartbeat", "1",
               f"tests.tune.objectives:{objective}"]  # fmt: skip
    environment = {**os.environ, "KINO_TEST_DIR": str(folder), **env}
    return subprocess.Popen(command, cwd=REPO, env=environment, stderr=subprocess.PIPE, text=True)


def finish(workers):
    for worker in workers:
        _, err = worker.communicate(timeout=budget(120))
        assert worker.returncode == 0, err[-3000:]


def wait_until(condition, what, seconds=60):
    deadline = time.monotonic() + budget(seconds)
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"waited {budget(seconds)} s for {what}")
        time.sleep(0.05)


def runs(folder):
    return [tuple(map(int, line.split())) for line in (folder / "runs").read_text().splitlines()]


@pytest.fixture
def workers():
    started = []
    yield started
    for worker in started:  # a failed test leaves no process behind
        if worker.poll() is None:
            worker.kill()
            worker.wait()


def test_four_workers_run_each_trial_of_the_budget_once(postgres, tmp_path, workers):
    followed = kino.tune.shared(postgres, "four", n_trials=12)
    view = StudyView(followed, interval=0.2)
    try:
        workers += [start_worker(postgres, "four", "together", tmp_path, s) for s in range(4)]
        finish(workers)
        trials = followed.optuna.get_trials()
        assert sorted(t.number for t in trials) == list(range(12))
        assert {t.state for t in trials} == {State.COMPLETE}
        ran = runs(tmp_path)
        assert sorted(number for number, _ in ran) == list(range(12))  # each ran once
        assert {pid for _, pid in ran} == {w.pid for w in workers}  # all four took part
        assert followed.done
        wait_until(lambda: view.summary.value.startswith("12 trials · 12 complete"), "the view")
        assert view.summary.value.endswith("finished") and view.table.total_rows == 12
    finally:
        view.close()


def test_a_worker_killed_mid_trial_is_retried_and_nothing_is_lost(postgres, tmp_path, workers):
    followed = kino.tune.shared(postgres, "killed", n_trials=8)
    victim = start_worker(postgres, "killed", "hangs", tmp_path, 0, KINO_TEST_HANG="1")
    workers.append(victim)
    wait_until((tmp_path / "hung").exists, "the first worker to hang in its trial")
    hung = int((tmp_path / "hung").read_text())
    assert followed.optuna.trials[hung].state == State.RUNNING
    workers += [start_worker(postgres, "killed", "hangs", tmp_path, s) for s in (1, 2, 3)]
    os.kill(victim.pid, signal.SIGKILL)
    assert victim.wait(timeout=budget(30)) == -signal.SIGKILL
    finish(workers[1:])

    trials = followed.optuna.get_trials()
    states = Counter(t.state for t in trials)
    assert states == {State.COMPLETE: 8, State.FAIL: 1}  # nothing RUNNING or WAITING is left
    failed = trials[hung]
    assert failed.state == State.FAIL
    (retry,) = [t for t in trials if t.system_attrs.get("failed_trial") == hung]
    assert retry.state == State.COMPLETE and retry.params == failed.params
    ran = Counter(number for number, _ in runs(tmp_path))
    assert set(ran) == {t.number for t in trials} and set(ran.values()) == {1}
    assert followed.done


def test_a_worker_needs_a_study_made_by_shared(tmp_path):
    url = f"sqlite:///{tmp_path / 'study.db'}"
    kino.tune(lambda t: 0.0, n_trials=1, storage=url, study_name="plain")
    with pytest.raises(ValueError, match=r"'plain' has no budget: create it with kino\.tune"):
        kino.tune.join(lambda t: 0.0, storage=url, study_name="plain")
    with pytest.raises(KeyError, match="no study 'absent' in the storage"):
        kino.tune.join(lambda t: 0.0, storage=url, study_name="absent")
    with pytest.raises(ValueError, match="'heartbeat' must be an int >= 1, got 0"):
        kino.tune.join(lambda t: 0.0, storage=url, study_name="plain", heartbeat=0)


def test_shared_follows_an_existing_budget_and_refuses_another(tmp_path):
    url = f"sqlite:///{tmp_path / 'study.db'}"
    kino.tune.shared(url, "s", n_trials=3)
    again = kino.tune.shared(url, "s", n_trials=3)
    assert again.budget == 3 and again.trials.height == 3  # nothing queued twice
    with pytest.raises(ValueError, match=r"'n_trials' must be the existing study's budget \(3\)"):
        kino.tune.shared(url, "s", n_trials=5)


def test_the_followers_stop_ends_the_workers_after_their_running_trial(tmp_path):
    url = f"sqlite:///{tmp_path / 'study.db'}"
    followed = kino.tune.shared(url, "s", n_trials=10)

    def objective(trial):
        if trial.number == 2:
            followed.stop()  # the widget's Stop button, in the notebook that follows
        return float(trial.number)

    worker = kino.tune.join(objective, storage=url, study_name="s")
    assert worker.done and followed.done
    assert followed.trials["state"].to_list() == ["complete"] * 3 + ["waiting"] * 7
    again = kino.tune.join(objective, storage=url, study_name="s")  # a late worker: no trial
    assert again.done and followed.trials["state"].to_list().count("complete") == 3


def test_the_server_programs_are_found_on_path_or_in_debians_folder(tmp_path, monkeypatch):
    from tests.tune import postgres

    def programs(folder):
        folder.mkdir(parents=True)
        for name in ("initdb", "pg_ctl"):
            (folder / name).write_text("#!/bin/sh\n")
            (folder / name).chmod(0o755)
        return folder

    on_path = programs(tmp_path / "path")
    monkeypatch.setenv("PATH", str(on_path))
    assert postgres.server_bin() == on_path
    debian = [str(programs(tmp_path / "lib" / v / "bin")) for v in ("9", "15")]
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.setattr(postgres.glob, "glob", lambda pattern: debian)
    assert postgres.server_bin() == Path(debian[1])  # the newest version, not the last name
    monkeypatch.setattr(postgres.glob, "glob", lambda pattern: [])
    assert postgres.server_bin() is None
    assert "install Debian's postgresql" in postgres.MISSING
