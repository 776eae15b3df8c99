"""Fixtures of the kino.train tests."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import budget
from tests.train.tiny import blobs

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def data():
    return blobs()


@pytest.fixture
def val_data():
    return blobs(24, seed=1)


def run_script(script: str, *args: str, devices: int = 1, seconds: float = 300):
    """Run ``script`` in a fresh Python with ``devices`` CPU devices; its CompletedProcess.

    jax reads the device count once, when it starts, so tests that need several
    devices (or a process that may die) run their code in a child process.
    ``seconds`` is the budget before the child is given up on (scaled by budget()).
    """
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    if devices > 1:
        env["XLA_FLAGS"] = f"--xla_force_host_platform_device_count={devices}"
    return subprocess.run(
        [sys.executable, "-c", script, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=budget(seconds),
    )


def assert_matched(proc) -> None:
    """The child ran to its end and printed MATCH (its last stderr lines otherwise)."""
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "MATCH" in proc.stdout
