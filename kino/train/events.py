"""Events, handlers and the read-only ``LoopState`` snapshot handed to them.

Handlers run on the host in attachment order. ``every=N`` calls a handler on
every N-th occurrence of its event. A handler may return ``"halt_epoch"``
(finish the current epoch early: its remaining iterations are skipped, the
epoch still validates and completes) or ``"halt_loop"`` (end the run with status
"halted"), or a :class:`Halt` carrying its own reason. With several steps per
dispatch, a halt from ``iteration_completed`` takes effect at the next dispatch
boundary. Every handler of an event runs even when an earlier one halts.

Order of events in a run::

    started
      epoch_started
        iteration_completed      (one per step, delivered after its dispatch)
      validated                  (when the loop has validation data)
      epoch_completed            (checkpointed right after a checkpoint is written)
    halted                       (when the run ended early: halted, stopped, interrupted)
    completed                    (always, last, for every ending)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

EVENTS = (
    "started",
    "epoch_started",
    "iteration_completed",
    "epoch_completed",
    "validated",
    "checkpointed",
    "halted",
    "completed",
)

HALT_EPOCH = "halt_epoch"
HALT_LOOP = "halt_loop"
STATUSES = ("running", "completed", "halted", "stopped", "interrupted")


@dataclass(frozen=True)
class Halt:
    """What a handler returns to halt with its own reason: ``Halt("halt_loop", "why")``."""

    action: str
    reason: str | None = None

    def __post_init__(self):
        if self.action not in (HALT_EPOCH, HALT_LOOP):
            raise ValueError(
                f"Halt action must be 'halt_epoch' or 'halt_loop', got {self.action!r}"
            )


@dataclass(frozen=True)
class LoopState:
    """A snapshot for handlers; every number is already a plain host value.

    Example:
        >>> s = LoopState(event="started", epochs=3)
        >>> s.status, s.epoch, s.metrics
        ('running', 0, {})
    """

    event: str
    status: str = "running"
    reason: str | None = None
    epoch: int = 0
    epochs: int = 0
    iteration: int = 0
    iterations: int | None = None
    step: int = 0
    total_steps: int | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    learning_rate: float = float("nan")
    elapsed: float = 0.0
    steps_per_second: float = 0.0
    history: pl.DataFrame = field(
        default_factory=lambda: pl.DataFrame({"epoch": pl.Series([], dtype=pl.Int64)})
    )
    confusion_matrix: np.ndarray | None = None
    run: Any = None
    checkpoint_path: str | None = None


def _normalize(result, event: str, name: str) -> Halt | None:
    if isinstance(result, Halt):
        return result
    if isinstance(result, str):
        if result not in (HALT_EPOCH, HALT_LOOP):
            raise ValueError(
                f"handler {name!r} on {event!r} returned {result!r}; allowed: None, 'halt_epoch', "
                "'halt_loop' or train.Halt(...)"
            )
        return Halt(result, f"{name} returned {result!r} on {event}")
    return None


class Handler:
    """One attached handler: its event, function and ``every``."""

    def __init__(self, event: str, fn: Callable, every: int = 1):
        if event not in EVENTS:
            raise ValueError(f"unknown event {event!r}; allowed: {', '.join(EVENTS)}")
        if not callable(fn):
            raise TypeError(f"handler must be callable, got {type(fn).__name__}")
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise ValueError(f"every must be an int >= 1, got {every!r}")
        self.event = event
        self.fn = fn
        self.every = every
        self.count = 0
        self.name = getattr(fn, "__qualname__", None) or type(fn).__name__

    def due(self) -> bool:
        """Count one occurrence of the event; True when this one is an every-th."""
        self.count += 1
        return self.count % self.every == 0


class Handlers:
    """The handlers of a loop, fired in attachment order."""

    def __init__(self):
        self.items: list[Handler] = []

    def add(self, handler: Handler) -> None:
        self.items.append(handler)

    def any(self, event: str) -> bool:
        return any(h.event == event for h in self.items)

    def reset(self) -> None:
        for h in self.items:
            h.count = 0

    def fire(self, event: str, make_state: Callable[[], LoopState]) -> Halt | None:
        """Call every due handler of ``event``; return the strongest halt (loop beats epoch)."""
        state = None
        strongest = None
        for h in self.items:
            if h.event != event or not h.due():
                continue
            if state is None:
                state = make_state()
            halt = _normalize(h.fn(state), event, h.name)
            if halt is not None and (
                strongest is None or (halt.action == HALT_LOOP and strongest.action != HALT_LOOP)
            ):
                strongest = halt
        return strongest
