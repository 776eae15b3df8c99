"""Fixtures shared by every test: a recorded comm so widgets run without a kernel, a
notebook namespace and an IPython shell for the smart cells, and
the one setting that scales every waiting budget (``KINO_TEST_TIMEOUT_SCALE``)."""

from __future__ import annotations

import math
import os
import sys
from dataclasses import dataclass, field
from typing import Any

import comm
import pytest
from comm.base_comm import BaseComm

TIMEOUT_SCALE_VARIABLE = "KINO_TEST_TIMEOUT_SCALE"


def timeout_scale() -> float:
    """How much longer than usual tests may wait: ``KINO_TEST_TIMEOUT_SCALE`` (default 1).

    Tests wait on the condition they need; the budget only says when to give up. On a
    loaded or slow machine, ``KINO_TEST_TIMEOUT_SCALE=4`` makes every budget four times
    longer, so the suite gets slower instead of red.

    >>> os.environ[TIMEOUT_SCALE_VARIABLE] = "2.5"; timeout_scale()
    2.5
    >>> os.environ[TIMEOUT_SCALE_VARIABLE] = "fast"; timeout_scale()
    Traceback (most recent call last):
    ...
    ValueError: KINO_TEST_TIMEOUT_SCALE must be a number >= 1, got str: 'fast'
    >>> del os.environ[TIMEOUT_SCALE_VARIABLE]; timeout_scale()
    1.0
    """
    raw = os.environ.get(TIMEOUT_SCALE_VARIABLE, "").strip() or "1"
    try:
        scale = float(raw)
    except ValueError:
        scale = math.nan
    if not (math.isfinite(scale) and scale >= 1):
        # A scale below 1 would turn budgets into races on a fast machine.
        raise ValueError(f"{TIMEOUT_SCALE_VARIABLE} must be a number >= 1, got str: {raw!r}")
    return scale


def budget(seconds: float) -> float:
    """``seconds`` of waiting, scaled by ``KINO_TEST_TIMEOUT_SCALE``: pass every wait's limit here.

    >>> os.environ[TIMEOUT_SCALE_VARIABLE] = "3"; budget(10)
    30.0
    >>> del os.environ[TIMEOUT_SCALE_VARIABLE]; budget(10)
    10.0
    """
    return seconds * timeout_scale()


def budget_ms(milliseconds: float) -> float:
    """A Playwright ``timeout=`` (milliseconds), scaled like :func:`budget`.

    >>> budget_ms(60_000) >= 60_000
    True
    """
    return milliseconds * timeout_scale()


def pytest_collection_modifyitems(config, items):
    """Scale pytest-timeout's limits (pyproject's ``timeout``, ``@pytest.mark.timeout``) too."""
    scale = timeout_scale()
    if scale == 1:
        return
    default = float(config.getini("timeout") or 0)
    for item in items:
        marker = item.get_closest_marker("timeout")
        limit = float(marker.args[0]) if marker and marker.args else default
        if limit > 0:
            # Prepended, so pytest-timeout's get_closest_marker finds the scaled one.
            item.add_marker(pytest.mark.timeout(limit * scale), append=False)


@dataclass
class CommMessage:
    """One message a widget sent to the front end."""

    msg_type: str
    data: dict[str, Any]
    buffers: list[bytes] = field(default_factory=list)

    @property
    def method(self) -> str | None:
        return self.data.get("method")

    @property
    def state(self) -> dict[str, Any]:
        return self.data.get("state", {})

    @property
    def content(self) -> Any:
        """The payload of a custom ``widget.send`` message."""
        return self.data.get("content")


class CommLog(list):
    """Every message widgets sent while the fixture was active, in order."""

    def updates(self, trait: str | None = None) -> list[CommMessage]:
        """State updates (trait syncs), optionally only those that touch ``trait``."""
        found = [m for m in self if m.method == "update"]
        if trait is not None:
            found = [m for m in found if trait in m.state]
        return found

    def custom(self) -> list[CommMessage]:
        """Custom messages sent with ``widget.send``."""
        return [m for m in self if m.method == "custom"]


class _RecordingComm(BaseComm):
    log: CommLog

    def publish_msg(self, msg_type, data=None, metadata=None, buffers=None, **keys):
        data = data or {}
        self.log.append(
            CommMessage(msg_type, data, [bytes(memoryview(b)) for b in (buffers or [])])
        )


@pytest.fixture
def comm_log(monkeypatch) -> CommLog:
    """Record every comm message widgets send; widgets then work with no kernel.

    >>> def test_push(comm_log):
    ...     md = kino.markdown("a"); md.update("b")
    ...     assert comm_log.updates("value")[-1].state["value"] == "b"
    """
    log = CommLog()

    # A class per test: BaseComm publishes its "open" message from __init__,
    # so the log must be reachable before the instance exists.
    recording = type("RecordingComm", (_RecordingComm,), {"log": log})

    def create_comm(*args, **kwargs):
        return recording(*args, **kwargs)

    monkeypatch.setattr(comm, "create_comm", create_comm)
    return log


@pytest.fixture
def notebook(monkeypatch):
    """Put frames in ``__main__`` (the namespace outside IPython), undone after the test:
    ``notebook(sales=frame)`` (the smart cells list the notebook's frames)."""

    def put(**frames):
        for name, frame in frames.items():
            monkeypatch.setattr(sys.modules["__main__"], name, frame, raising=False)

    return put


@pytest.fixture
def shell():
    """An IPython shell: its ``user_ns`` is the namespace, cells run with ``run_cell``."""
    from IPython.core.interactiveshell import InteractiveShell

    existed = InteractiveShell.initialized()
    shell = InteractiveShell.instance()
    # A shell an earlier test made keeps its namespace: start from no frames_ names.
    for name in [n for n in shell.user_ns if n.startswith("frames_")]:
        del shell.user_ns[name]
    yield shell
    if not existed:
        shell.events.callbacks["post_run_cell"].clear()
        InteractiveShell.clear_instance()
