"""Events, handlers and the read-only ``LoopState`` snapshot handed to them.

Handlers run on the host in attachment order. ``every=N`` calls a handler on
every N-th occurrence of its event. A handler may return ``"halt_epoch"``
(finish the current epoch early: its remaining iterations are skipped, the
epoch still validates and completes) or ``"halt_loop"`` (end the run with status
"halted"), or a :class:`Halt` carrying its own reason. With several steps per
dispatch, a halt from ``iteration_completed`` takes effect at the next dispatch
boundary. Every handler of an event runs even when an earlier one halts.

An ``epoch_completed`` handler may also return what it wants the loop to do
with its state, and the loop does it once every handler of the event has run,
in the order they were returned: :class:`ScaleLearningRate`,
:class:`KeepBest`, :class:`SaveCheckpoint` (a tuple or list returns several,
a ``Halt`` among them). The built-in callbacks (early stopping, plateaus,
checkpoints) work this way; no handler ever holds the loop or its runner.

Order of events in a run::

    started
      epoch_started
        iteration_completed      (one per step, delivered after its dispatch)
      validated                  (when the loop has validation data)
      epoch_completed            (checkpointed right after a checkpoint is written)
    halted                       (when the run ended early: halted, stopped, interrupted,
                                  failed)
    completed                    (always, last, for every ending)

A handler that raises (or a checkpoint that cannot be written) ends the run
with status ``"failed"``: the exception is logged on the ``kino`` logger and
kept as ``Result.error``, the reason names it, and the model and the Result
hold the state after the last epoch whose handlers all succeeded, so finished
epochs are never lost. ``Trainer.run`` returns that Result rather than
re-raising (a re-raise would lose it); a background ``Run.wait()`` returns it
too. An exception from the data itself is not a handler's and reaches the
caller unchanged.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from kino.contracts import check_callable, check_choice, check_int
from kino.train.processes import process_count, process_index, shared_action

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
HALT_STATUSES = ("halted", "pruned")
STATUSES = ("running", "completed", "halted", "pruned", "stopped", "interrupted", "failed")


class HandlerError(Exception):
    """A handler raised or returned what it may not; ``error`` (also ``__cause__``) is why."""

    def __init__(self, message: str, error: Exception):
        super().__init__(message)
        self.error = error


@dataclass(frozen=True)
class Halt:
    """What a handler returns to halt with its own reason: ``Halt("halt_loop", "why")``.

    A loop halted this way ends with ``status`` (``"halted"``, or ``"pruned"`` for a
    search that gave up on the run, as ``kino.tune`` does).

    Example:
        >>> Halt("halt_loop", "pruned at epoch 3", status="pruned").status
        'pruned'
    """

    action: str
    reason: str | None = None
    status: str = "halted"

    def __post_init__(self):
        check_choice(self.action, (HALT_EPOCH, HALT_LOOP), func="train.Halt", argument="action")
        check_choice(self.status, HALT_STATUSES, func="train.Halt", argument="status")


@dataclass(frozen=True)
class ScaleLearningRate:
    """Multiply the learning rate by ``factor``, never below ``min_lr`` (when ``min_lr > 0``).

    Example:
        >>> ScaleLearningRate(0.5, min_lr=1e-5)
        ScaleLearningRate(factor=0.5, min_lr=1e-05)
    """

    factor: float
    min_lr: float = 0.0


@dataclass(frozen=True)
class KeepBest:
    """Keep the state as it is now as the run's result (the best so far)."""


@dataclass(frozen=True)
class SaveCheckpoint:
    """Write a checkpoint of the state now to ``store`` (a ``train.CheckpointStore``)."""

    store: Any


INTENTS = ScaleLearningRate | KeepBest | SaveCheckpoint
"""What an ``epoch_completed`` handler may return besides a halt."""


@dataclass(frozen=True)
class LoopState:
    """A snapshot for handlers; every number is already a plain host value.

    ``compile_seconds`` is how long the run's first dispatch call took (compiling its
    program, or finding it cached); ``None`` before it. ``steps_per_second`` leaves it out.
    ``data_on_device`` says which path feeds the run: True when the data is resident on
    the device and batches are drawn inside the program, False when batches come from
    the host (``None`` outside a run).

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
    data_on_device: bool | None = None
    checkpoint_path: str | None = None
    compile_seconds: float | None = None

    @classmethod
    def of(cls, fields: dict) -> LoopState:
        """A state from a dict naming every field (the runner's per-step path).

        The same object ``LoopState(**fields)`` makes, without the frozen ``__init__``'s
        one ``object.__setattr__`` per field: a run makes one of these per step.

        >>> s = LoopState(event="started", epochs=3)
        >>> LoopState.of(vars(s)) == s
        True
        """
        state = object.__new__(cls)
        state.__dict__.update(fields)
        return state


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


def _intents(result, event: str, name: str) -> list:
    """What a handler returned, as a list of halts and intents (empty for None)."""
    several = isinstance(result, tuple | list) and all(
        isinstance(i, Halt | INTENTS) for i in result
    )
    out = []
    for item in result if several else (result,):
        if isinstance(item, INTENTS):
            if event != "epoch_completed":
                raise ValueError(
                    f"handler {name!r} on {event!r} returned {item!r}; the loop's state can "
                    "change only on 'epoch_completed'"
                )
            out.append(item)
        elif (halt := _normalize(item, event, name)) is not None:
            out.append(halt)
    return out


def stronger(a: Halt | None, b: Halt | None) -> Halt | None:
    """The halt that wins: any beats none, ``halt_loop`` beats ``halt_epoch``, else the first."""
    if a is None or (b is not None and b.action == HALT_LOOP and a.action != HALT_LOOP):
        return b
    return a


class Handler:
    """One attached handler: its event, function and ``every``.

    ``everywhere``: under ``jax.distributed``, run it in every process (the built-in
    callbacks, whose checkpoints are collective); other handlers (widgets, dashboards,
    printing) run in process 0 only.

    >>> Handler("completed", print).everywhere
    False
    """

    def __init__(self, event: str, fn: Callable, every: int = 1, *, everywhere: bool = False):
        func = "train.Trainer.handle"
        self.everywhere = everywhere
        self.event = check_choice(event, EVENTS, func=func, argument="event")
        self.fn = check_callable(fn, func=func, argument="fn")
        self.every = check_int(every, func=func, argument="every", min=1)
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

    @staticmethod
    def lead() -> bool:
        """True in process 0 (the one that runs every handler): always, in a single process.

        >>> Handlers.lead()
        True
        """
        return process_index() == 0

    def any(self, event: str) -> bool:
        return any(h.event == event for h in self.items)

    def of(self, event: str) -> list[Handler]:
        """The handlers attached to ``event``, in attachment order.

        >>> hs = Handlers(); hs.add(Handler("completed", print)); len(hs.of("started"))
        0
        """
        return [h for h in self.items if h.event == event]

    def reset(self) -> None:
        for h in self.items:
            h.count = 0

    def fire(self, event: str, make_state: Callable[[], LoopState]) -> tuple[Halt | None, list]:
        """Call every due handler of ``event``.

        Returns the strongest halt (loop beats epoch) and the other intents in the order
        the handlers returned them.
        """
        strongest, intents, error, lead_only = self.fire_local(event, make_state)
        strongest = self.agree(event, strongest, error, lead_only)
        return strongest, intents

    def fire_local(self, event: str, make_state: Callable[[], LoopState], lead=None, among=None):
        """:meth:`fire` without agreeing with the other processes or raising.

        Returns ``(strongest halt, intents, HandlerError or None, lead_only)``; ``lead_only``
        is True when a handler that runs in process 0 alone was due, so the outcome must go
        through :meth:`agree` (once for several events: a dispatch's steps share one).
        ``lead``: whether this is process 0, when the caller knows it already; ``among``:
        the handlers of ``event`` (:meth:`of`), when the caller fires it many times.
        """
        due = [h for h in (self.items if among is None else among) if h.event == event and h.due()]
        if not due:
            return None, [], None, False
        lead = self.lead() if lead is None else lead
        mine = due if lead else [h for h in due if h.everywhere]
        strongest, intents, error = self._call(mine, event, make_state)
        return strongest, intents, error, any(not h.everywhere for h in due)

    @staticmethod
    def agree(event: str, strongest: Halt | None, error, lead_only: bool) -> Halt | None:
        """Process 0's outcome in every process (one broadcast); raises a handler's error.

        In a single process, or when no process-0-only handler was due, nothing is sent.

        >>> Handlers.agree("iteration_completed", Halt("halt_loop"), None, lead_only=True)
        Halt(action='halt_loop', reason=None, status='halted')
        """
        if process_count() > 1 and lead_only:
            # process 0's handlers halted or failed alone: every process must stop with it
            outcome = strongest.action if strongest is not None else None
            outcome = "failed" if error is not None else outcome
            action = shared_action(outcome)
            if action == "failed" and error is None:
                why = f"a handler on {event!r} failed in process 0"
                error = HandlerError(why, RuntimeError(why))
            elif action != outcome and action != "failed":
                strongest = None if action is None else Halt(action, "a handler in process 0")
        if error is not None:
            raise error
        return strongest

    def _call(self, due, event: str, make_state) -> tuple[Halt | None, list, HandlerError | None]:
        state = None
        strongest = None
        intents: list = []
        for h in due:
            if state is None:
                state = make_state()
            try:
                returned = h.fn(state)
            except Exception as exc:
                message = f"handler {h.name!r} on {event!r} raised {type(exc).__name__}: {exc}"
                error = HandlerError(message, exc)
                error.__cause__ = exc
                return strongest, intents, error
            if returned is None:  # the usual answer, per step: nothing to interpret
                continue
            try:
                items = _intents(returned, event, h.name)
            except ValueError as exc:
                error = HandlerError(str(exc), exc)
                error.__cause__ = exc
                return strongest, intents, error
            for item in items:
                if isinstance(item, Halt):
                    strongest = stronger(strongest, item)
                else:
                    intents.append(item)
        return strongest, intents, None
