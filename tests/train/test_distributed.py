"""kino.train under jax.distributed: 2 local CPU processes against one process, same global batch.

Each run is a child process tree started by ``python -m kino.train.launch`` (the launcher
under test); every process writes what it saw to ``process_<i>.json``
(tests/train/distributed_worker.py).
"""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from kino.train import launch
from tests.conftest import budget
from tests.train.conftest import ROOT

WORKER = str(ROOT / "tests" / "train" / "distributed_worker.py")


def _env(devices: int) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env["XLA_FLAGS"] = f"--xla_force_host_platform_device_count={devices}"
    return env


def _reports(out, count: int) -> list[dict]:
    return [json.loads((out / f"process_{i}.json").read_text()) for i in range(count)]


def distributed(out, *args, processes=2, devices=2) -> list[dict]:
    """Run the worker as ``processes`` processes of ``devices`` CPU devices; their reports."""
    out.mkdir(exist_ok=True)
    command = [sys.executable, "-m", "kino.train.launch", "--processes", str(processes)]
    command += ["--devices", str(devices), WORKER, str(out), *args]
    proc = subprocess.run(
        command, cwd=ROOT, env=_env(1), capture_output=True, text=True, timeout=budget(300)
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return _reports(out, processes)


def alone(out, *args, devices=4) -> dict:
    """The worker in one process with ``devices`` CPU devices (the same global mesh size)."""
    out.mkdir(exist_ok=True)
    proc = subprocess.run(
        [sys.executable, WORKER, str(out), *args],
        cwd=ROOT,
        env=_env(devices),
        capture_output=True,
        text=True,
        timeout=budget(300),
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return _reports(out, 1)[0]


def assert_same_curves(a: list[dict], b: list[dict]) -> None:
    assert [row["epoch"] for row in a] == [row["epoch"] for row in b]
    for row_a, row_b in zip(a, b, strict=True):
        assert row_a.keys() == row_b.keys()
        for key in row_a:
            np.testing.assert_allclose(row_a[key], row_b[key], rtol=1e-5, atol=1e-6, err_msg=key)


def test_two_processes_give_the_loss_curve_of_one_process(tmp_path):
    reports = distributed(tmp_path / "two", "feeds")
    single = alone(tmp_path / "one", "feeds")
    assert single["processes"] == 1 and single["devices"] == 4
    for report in reports:
        assert report["processes"] == 2 and report["devices"] == 4
        for feed in ("resident", "host"):
            run = report["runs"][feed]
            assert run["status"] == "completed"
            assert len(run["history"]) == 3
            assert_same_curves(run["history"], single["runs"][feed]["history"])
    # the curve moved: a run that never trained would match trivially
    losses = [row["loss"] for row in single["runs"]["resident"]["history"]]
    assert losses[-1] < losses[0]


def test_only_process_zero_runs_handlers_and_its_halt_stops_every_process(tmp_path):
    zero, one = distributed(tmp_path / "two", "halt")
    assert zero["events"] == ["epoch 1", "epoch 2"]
    assert one["events"] == []
    assert "epoch 2/4" in zero["dashboard"]
    assert one["dashboard"] == ""
    for report in (zero, one):
        run = report["runs"]["halt"]
        assert run["status"] == "halted"
        assert [row["epoch"] for row in run["history"]] == [1, 2]
    assert_same_curves(zero["runs"]["halt"]["history"], one["runs"]["halt"]["history"])


def test_a_handler_failing_in_process_zero_fails_every_process(tmp_path):
    zero, one = distributed(tmp_path / "two", "fail")
    assert "the dashboard broke" in zero["runs"]["fail"]["reason"]
    assert "failed in process 0" in one["runs"]["fail"]["reason"]
    for report in (zero, one):
        run = report["runs"]["fail"]
        assert run["status"] == "failed"
        # both keep the last epoch whose handlers all ran (process 1 did not hang in epoch 3)
        assert [row["epoch"] for row in run["history"]] == [1]


def test_checkpoints_resume_across_processes_like_an_uninterrupted_run(tmp_path):
    interrupted, whole = tmp_path / "interrupted", tmp_path / "whole"
    first = distributed(tmp_path / "first", "checkpoint", str(interrupted), "2", "0")
    assert [len(r["runs"]["checkpoint"]["history"]) for r in first] == [2, 2]
    assert sorted(p.name for p in interrupted.iterdir()) == ["epoch_000001", "epoch_000002"]
    resumed = distributed(tmp_path / "resumed", "checkpoint", str(interrupted), "4", "1")
    uninterrupted = distributed(tmp_path / "uninterrupted", "checkpoint", str(whole), "4", "0")
    assert (interrupted / "epoch_000004").is_dir()
    for got, want in zip(resumed, uninterrupted, strict=True):
        assert got["runs"]["checkpoint"]["status"] == "completed"
        assert len(got["runs"]["checkpoint"]["history"]) == 4
        assert_same_curves(
            got["runs"]["checkpoint"]["history"], want["runs"]["checkpoint"]["history"]
        )
    # the resumed processes ran only epochs 3 and 4: their own handler saw just those
    assert resumed[0]["events"] == ["epoch 3", "epoch 4"]


def test_a_fresh_run_overwrites_checkpoints_across_processes(tmp_path):
    directory = tmp_path / "checkpoints"
    distributed(tmp_path / "old", "checkpoint", str(directory), "2", "0")
    fresh = distributed(tmp_path / "fresh", "checkpoint", str(directory), "3", "overwrite")
    for report in fresh:
        assert report["runs"]["checkpoint"]["status"] == "completed", report["runs"]
        assert len(report["runs"]["checkpoint"]["history"]) == 3
    assert sorted(p.name for p in directory.iterdir()) == ["epoch_000002", "epoch_000003"]


def test_the_launcher_stops_every_process_when_one_fails(tmp_path):
    script = tmp_path / "fail.py"
    pids = tmp_path / "pids"
    pids.mkdir()
    script.write_text(
        "import os, pathlib, sys, jax\n"
        "from jax.experimental import multihost_utils\n"
        f"pathlib.Path({str(pids)!r}, str(jax.process_index())).write_text(str(os.getpid()))\n"
        "if jax.process_index() == 1:\n"
        "    sys.exit(3)\n"
        "multihost_utils.sync_global_devices('never reached by process 1')\n"
    )
    proc = subprocess.run(
        [sys.executable, "-m", "kino.train.launch", "--processes", "2", str(script)],
        cwd=ROOT,
        env=_env(1),
        capture_output=True,
        text=True,
        timeout=budget(120),
    )
    assert proc.returncode == 3, proc.stderr[-3000:]
    # process 0, blocked in a collective that process 1 never joins, was stopped, not left
    # behind and not left to wait out the collective's own timeout (which it reports on stderr)
    assert "DEADLINE_EXCEEDED" not in proc.stderr, proc.stderr[-3000:]
    blocked = int((pids / "0").read_text())
    with pytest.raises(ProcessLookupError):
        os.kill(blocked, 0)


def test_settings_come_from_kino_or_slurm_variables():
    env = {"KINO_COORDINATOR": "n1:9", "KINO_NUM_PROCESSES": "2", "KINO_PROCESS_ID": "1"}
    assert launch.settings(env) == ("n1:9", 2, 1)
    slurm = {"KINO_COORDINATOR": "n1:9", "SLURM_NTASKS": "8", "SLURM_PROCID": "7"}
    assert launch.settings(slurm) == ("n1:9", 8, 7)
    with pytest.raises(ValueError, match="'KINO_COORDINATOR' must be set to host:port"):
        launch.settings({"SLURM_NTASKS": "2", "SLURM_PROCID": "0"})
    with pytest.raises(ValueError, match="KINO_PROCESS_ID"):
        launch.settings({"KINO_COORDINATOR": "n1:9", "SLURM_NTASKS": "2", "SLURM_PROCID": "2"})
