"""What a run hands back: ``TrainState``, ``Result`` and the ``Run`` handle."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl
from flax import nnx


@dataclass
class TrainState:
    """Model and optimizer state after a run: usable by the evaluator and for resume.

    ``params``/``rest`` are the model's ``nnx.Param`` state and everything else
    (RNG counters, batch statistics); ``opt_state`` is the optax state.

    Example:
        >>> from flax import nnx
        >>> m = nnx.Linear(2, 1, rngs=nnx.Rngs(0))
        >>> s = TrainState.from_model(m)
        >>> s.model()(np.ones((1, 2))).shape
        (1, 1)
    """

    params: Any
    rest: Any
    opt_state: Any = None
    step: int = 0
    epoch: int = 0
    graphdef: Any = None

    @classmethod
    def from_model(cls, model: nnx.Module) -> TrainState:
        graphdef, params, rest = nnx.split(model, nnx.Param, ...)
        return cls(params, rest, graphdef=graphdef)

    def model(self) -> nnx.Module:
        """A new model object holding this state (in training mode: call ``.eval()`` to predict)."""
        return nnx.merge(self.graphdef, self.params, self.rest)

    def apply_to(self, model: nnx.Module) -> nnx.Module:
        """Write this state into ``model`` (in place) and return it."""
        nnx.update(model, self.params, self.rest)
        return model


@dataclass
class Result:
    """The outcome of :meth:`Trainer.run`: status, reason, final state and history.

    ``status`` is one of ``"completed"``, ``"halted"``, ``"pruned"``, ``"stopped"``,
    ``"interrupted"`` or ``"failed"``. A run fails when a handler raises or a checkpoint
    cannot be written: it is not re-raised (that would lose this Result); ``error`` is the
    exception, ``reason`` names it, and ``state`` (also applied to the model) is the one after the
    last epoch whose handlers all ran. ``raise result.error`` re-raises it.
    ``data_on_device`` says which path fed the data: True for arrays resident on the
    device (batches drawn inside the compiled program), False for batches sent from the host.

    Example:
        >>> import polars as pl
        >>> r = Result("failed", "handler 'save' on 'epoch_completed' raised OSError: full",
        ...            None, pl.DataFrame(), error=OSError("full"))
        >>> r.status, type(r.error).__name__
        ('failed', 'OSError')
    """

    status: str
    reason: str | None
    state: TrainState | None
    history: pl.DataFrame
    metrics: dict[str, float] = field(default_factory=dict)
    confusion_matrix: np.ndarray | None = None
    error: BaseException | None = None
    data_on_device: bool | None = None

    @property
    def step(self) -> int:
        return 0 if self.state is None else self.state.step

    @property
    def epoch(self) -> int:
        return 0 if self.state is None else self.state.epoch

    def __repr__(self) -> str:
        return (
            f"Result(status={self.status!r}, reason={self.reason!r}, "
            f"epoch={self.epoch}, step={self.step}, data_on_device={self.data_on_device})"
        )


class Run:
    """Handle of a (possibly background) run: stop(), wait(), status, progress, done."""

    def __init__(self):
        self._stop = threading.Event()
        self._interrupt = threading.Event()
        self._done = threading.Event()
        self.result: Result | None = None
        self.error: BaseException | None = None
        self.progress = None
        self.thread: threading.Thread | None = None

    def stop(self) -> None:
        """End the run at the next dispatch boundary (thread-safe); its status becomes "stopped"."""
        self._stop.set()

    @property
    def stop_requested(self) -> bool:
        return self._stop.is_set()

    @property
    def done(self) -> bool:
        return self._done.is_set()

    @property
    def status(self) -> str:
        if self.result is not None:
            return self.result.status
        return "failed" if self.error is not None else "running"

    def wait(self, timeout: float | None = None) -> Result:
        """Block until the run ends and return its Result.

        A run that failed in a handler returns its Result (status "failed", ``error`` set);
        any other exception of the run (the data's own) is re-raised here.
        """
        if not self._done.wait(timeout):
            raise TimeoutError(f"the run did not finish within {timeout} s")
        if self.error is not None:
            raise self.error
        return self.result

    def _finish(self, result: Result | None, error: BaseException | None = None) -> None:
        self.result = result
        self.error = error
        self._done.set()

    def __repr__(self) -> str:
        return f"Run(status={self.status!r}, done={self.done})"
