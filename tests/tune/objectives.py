"""Objectives the worker processes of tests/tune/test_workers.py import (module:function).

Each writes one line per run to ``$KINO_TEST_DIR/runs`` ("trial pid"), so a test can
tell which process ran which trial and that none ran twice.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from tests.conftest import budget

WORKERS = 4


def _record(trial) -> Path:
    folder = Path(os.environ["KINO_TEST_DIR"])
    with open(folder / "runs", "a") as runs:  # one short append per run: whole lines
        runs.write(f"{trial.number} {os.getpid()}\n")
    return folder


def _square(trial) -> float:
    return (trial.suggest_float("x", -2.0, 2.0) - 1.0) ** 2


def together(trial) -> float:
    """Each worker's first trial waits until all four workers hold one, so all take part."""
    folder = _record(trial)
    (folder / f"started-{os.getpid()}").touch()
    deadline = time.monotonic() + budget(60)
    while len(list(folder.glob("started-*"))) < WORKERS:
        if time.monotonic() > deadline:
            raise TimeoutError("the four workers did not all start a trial")
        time.sleep(0.02)
    return _square(trial)


def hangs(trial) -> float:
    """With KINO_TEST_HANG set, say which trial runs (file ``hung``), then block until killed."""
    folder = _record(trial)
    value = _square(trial)
    if os.environ.get("KINO_TEST_HANG"):
        (folder / "hung").write_text(str(trial.number))
        signal.pause()
    return value
