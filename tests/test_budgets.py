"""One setting, KINO_TEST_TIMEOUT_SCALE, stretches every waiting budget of the suite."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.browser.harness import REPO, _wait_http, free_port
from tests.conftest import TIMEOUT_SCALE_VARIABLE, budget, budget_ms, timeout_scale


def test_budgets_scale_with_the_one_setting(monkeypatch):
    monkeypatch.delenv(TIMEOUT_SCALE_VARIABLE, raising=False)
    assert (timeout_scale(), budget(10), budget_ms(60_000)) == (1.0, 10.0, 60_000.0)
    monkeypatch.setenv(TIMEOUT_SCALE_VARIABLE, "4")
    assert (timeout_scale(), budget(10), budget_ms(60_000)) == (4.0, 40.0, 240_000.0)


@pytest.mark.parametrize("value", ["slow", "0.5", "0", "-2", "nan", "inf"])
def test_a_scale_that_is_not_a_number_of_at_least_one_is_refused(monkeypatch, value):
    monkeypatch.setenv(TIMEOUT_SCALE_VARIABLE, value)
    with pytest.raises(
        ValueError, match=f"KINO_TEST_TIMEOUT_SCALE must be a number >= 1, got str: '{value}'"
    ):
        timeout_scale()


def test_the_harness_server_wait_uses_the_scaled_budget(monkeypatch, tmp_path):
    monkeypatch.setenv(TIMEOUT_SCALE_VARIABLE, "3")
    log = tmp_path / "server.log"
    log.write_text("never answers")
    silent = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    try:
        with pytest.raises(TimeoutError, match=r"in 1\.5s"):
            _wait_http(f"http://127.0.0.1:{free_port()}/", silent, log, timeout=0.5)
    finally:
        silent.kill()
        silent.wait()


def test_pytest_timeout_limit_follows_the_scale(request):
    marker = request.node.get_closest_marker("timeout")
    limit = marker.args[0] if marker else float(request.config.getini("timeout"))
    assert limit == 900 * timeout_scale()


def test_the_scale_reaches_pytest_timeout_in_a_fresh_run():
    env = {**os.environ, TIMEOUT_SCALE_VARIABLE: "3"}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         "tests/test_budgets.py::test_pytest_timeout_limit_follows_the_scale"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=budget(120),
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:]
    assert "1 passed" in result.stdout
