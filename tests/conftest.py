"""Fixtures shared by every test: a recorded comm so widgets run without a kernel."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import comm
import pytest
from comm.base_comm import BaseComm


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
