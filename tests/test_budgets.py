"""One setting, KINO_TEST_TIMEOUT_SCALE, stretches every waiting budget of the suite."""

from __future__ import annotations

import ast
import os
import re
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


# Harness helpers that scale the ``timeout`` they take (tests/browser/harness.py, and
# tests/browser/test_smart_cells.py's wait_cells, which hands it to wait_until).
SCALING_HELPERS = {
    "open_notebook",
    "run_all",
    "run_notebook",
    "wait_cells",
    "wait_until",
    "wait_for_app",
    "_wait_http",
}
TIMEOUT_KEYWORDS = {"timeout", "timeout_s", "timeout_ms"}
WAITS = re.compile(r"^(join|wait\w*|result|exception)$")
SLEEPS = {"sleep", "wait_for_timeout"}
# A literal pause inside a `while` loop is its polling step (the loop keeps the deadline).
NOT_SCANNED = {
    # kino.serving's tests pass request deadlines (timeout=0.01) as the behaviour under test;
    # their waits for answers go through budget() all the same.
    "tests/serving": "deadlines under test",
}


def _literal(node: ast.AST) -> bool:
    parts = list(ast.walk(node))
    allowed = (ast.Constant, ast.BinOp, ast.UnaryOp, ast.operator, ast.unaryop)
    numbers = [p for p in parts if isinstance(p, ast.Constant) and type(p.value) in (int, float)]
    return bool(numbers) and all(isinstance(p, allowed) for p in parts)


def _name(call: ast.Call) -> str:
    func = call.func
    return getattr(func, "attr", None) or getattr(func, "id", "")


def literal_waits(source: str) -> list[str]:
    """Every wait in ``source`` whose limit is a bare number (not scaled by budget())."""
    found: list[str] = []

    def visit(node: ast.AST, polling: bool) -> None:
        for child in ast.iter_child_nodes(node):
            inside = polling or isinstance(node, ast.While)
            if isinstance(child, ast.Call) and _name(child) not in SCALING_HELPERS:
                name = _name(child)
                limits = [k.value for k in child.keywords if k.arg in TIMEOUT_KEYWORDS]
                if child.args and not inside and (name in SLEEPS or WAITS.match(name)):
                    limits.append(child.args[0])
                if any(_literal(limit) for limit in limits):
                    found.append(f"{child.lineno}: {ast.unparse(child)[:80]}")
            if (
                isinstance(child, ast.BinOp)
                and isinstance(child.left, ast.Call)
                and _name(child.left) in {"monotonic", "time"}
                and _literal(child.right)
            ):
                found.append(f"{child.lineno}: {ast.unparse(child)} (a deadline)")
            visit(child, inside)

    visit(ast.parse(source), False)
    return found


def test_the_scan_finds_literal_waits_and_passes_scaled_ones():
    bad = (
        "t.join(10)\nevent.wait(2.5)\npage.wait_for_selector('x', timeout=60_000)\n"
        "subprocess.run(cmd, timeout=120)\npage.wait_for_timeout(300)\ntime.sleep(0.5)\n"
        "deadline = time.monotonic() + 60\nt.wait_for_summaries(30)\n"
    )
    assert [line.split(":")[0] for line in literal_waits(bad)] == [str(i) for i in range(1, 9)]
    good = (
        "t.join(budget(10))\nevent.wait(timeout)\npage.wait_for_selector('x')\n"
        "run_all(page, timeout=400_000)\n', '.join(parts)\n"
        "while not done():\n    time.sleep(0.1)\n    page.wait_for_timeout(100)\n"
        "    threading.Event().wait(0.02)\n"
        "deadline = time.monotonic() + budget(60)\n"
    )
    assert literal_waits(good) == []


def test_no_test_waits_on_a_bare_number_of_seconds():
    """A literal limit is not scaled by KINO_TEST_TIMEOUT_SCALE: pass it through budget()."""
    found = []
    for path in sorted((REPO / "tests").rglob("*.py")):
        relative = path.relative_to(REPO).as_posix()
        if relative.startswith("tests/train/") or any(
            relative == skip or relative.startswith(skip + "/") for skip in NOT_SCANNED
        ):
            continue
        found += [f"{relative}:{hit}" for hit in literal_waits(path.read_text())]
    assert found == [], "\n".join(found)
