"""Built-in epoch handlers: early stopping, learning-rate reduction on plateau, checkpoints.

Each is an ``epoch_completed`` handler attached in chain order. It never holds
the loop or its runner: it says what it wants done by returning intents
(``Halt``, ``ScaleLearningRate``, ``KeepBest``, ``SaveCheckpoint``), which the
runner applies. Every callback has the same small protocol: ``monitor`` (the
metric it reads, or ``None``), ``reset()`` at the start of a fresh run, and
``state_dict()`` / ``load_state_dict()``, saved in checkpoints so a resumed run
continues their counters.

Example:
    >>> from kino.train.events import LoopState
    >>> stop = EarlyStopping("loss", patience=1)
    >>> stop(LoopState(event="epoch_completed", epoch=1, metrics={"loss": 1.0}))
    KeepBest()
    >>> stop(LoopState(event="epoch_completed", epoch=2, metrics={"loss": 2.0})).reason
    'early stopping: loss did not improve for 1 epochs (best 1 at epoch 1)'
"""

from __future__ import annotations

import math

from kino.contracts import check_bool, check_choice, check_int, check_number, check_str, fail
from kino.train.events import Halt, KeepBest, SaveCheckpoint, ScaleLearningRate

MAXIMIZE = {"accuracy", "precision", "recall", "f1", "roc_auc", "r2"}
"""Metrics that improve upwards; mode="auto" maximizes these and minimizes the rest."""


def resolve_mode(mode: str, monitor: str, *, func: str) -> str:
    check_choice(mode, ("auto", "min", "max"), func=func, argument="mode")
    if mode != "auto":
        return mode
    base = monitor.removeprefix("validation_")
    return "max" if base in MAXIMIZE else "min"


class Callback:
    """The protocol of a built-in callback: an ``epoch_completed`` handler with state."""

    monitor: str | None = None

    def __call__(self, state):
        raise NotImplementedError

    def reset(self) -> None:
        """Forget what earlier runs saw (a fresh run, not a resumed one)."""

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, d: dict) -> None:
        return None


class _Monitor(Callback):
    def __init__(self, monitor: str, mode: str, min_delta: float, patience: int, func: str):
        self.monitor = check_str(monitor, func=func, argument="monitor", allowed="a metric name")
        self.mode = resolve_mode(mode, monitor, func=func)
        self.min_delta = float(check_number(min_delta, func=func, argument="min_delta", min=0))
        self.patience = check_int(patience, func=func, argument="patience", min=0)
        self.reset()

    def reset(self) -> None:
        self.best: float | None = None
        self.best_epoch = 0
        self.wait = 0

    def improved(self, value: float) -> bool:
        if math.isnan(value):
            return False
        if self.best is None:
            return True
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta

    def observe(self, state) -> bool:
        value = float(state.metrics[self.monitor])
        if self.improved(value):
            self.best, self.best_epoch, self.wait = value, state.epoch, 0
            return True
        self.wait += 1
        return False

    def state_dict(self) -> dict:
        return {"best": self.best, "best_epoch": self.best_epoch, "wait": self.wait}

    def load_state_dict(self, d: dict) -> None:
        self.best, self.best_epoch, self.wait = d["best"], d["best_epoch"], d["wait"]


class EarlyStopping(_Monitor):
    """Halt when ``monitor`` has not improved for ``patience`` epochs; may restore the best."""

    def __init__(self, monitor, patience=5, mode="auto", min_delta=0.0, restore_best=True):
        func = "train.EarlyStopping"
        super().__init__(monitor, mode, min_delta, patience, func)
        self.restore_best = check_bool(restore_best, func=func, argument="restore_best")
        self.__qualname__ = "early_stopping"

    def __call__(self, state) -> KeepBest | Halt | None:
        if self.observe(state):
            return KeepBest() if self.restore_best else None
        if self.wait >= self.patience:
            return Halt(
                "halt_loop",
                f"early stopping: {self.monitor} did not improve for {self.wait} epochs "
                f"(best {self.best:.6g} at epoch {self.best_epoch})",
            )
        return None


class ReduceLROnPlateau(_Monitor):
    """Multiply the learning rate by ``factor`` when ``monitor`` stalls for ``patience`` epochs."""

    def __init__(
        self, monitor, factor=0.1, patience=3, mode="auto", min_delta=0.0, min_lr=0.0, cooldown=0
    ):
        func = "train.ReduceLROnPlateau"
        super().__init__(monitor, mode, min_delta, patience, func)
        check_number(factor, func=func, argument="factor")
        if not 0 < factor < 1:
            fail(func, "factor", "a number between 0 and 1 (exclusive)", factor, ValueError)
        self.factor = float(factor)
        self.min_lr = float(check_number(min_lr, func=func, argument="min_lr", min=0))
        self.cooldown = check_int(cooldown, func=func, argument="cooldown", min=0)
        self.__qualname__ = "reduce_lr_on_plateau"

    def reset(self) -> None:
        super().reset()
        self.cooling = 0

    def __call__(self, state) -> ScaleLearningRate | None:
        if self.cooling > 0:
            self.cooling -= 1
            self.wait = 0
        if self.observe(state) or self.wait < max(self.patience, 1):
            return None
        self.wait = 0
        self.cooling = self.cooldown
        return ScaleLearningRate(self.factor, self.min_lr)

    def state_dict(self) -> dict:
        return dict(super().state_dict(), cooling=self.cooling)

    def load_state_dict(self, d: dict) -> None:
        super().load_state_dict(d)
        self.cooling = d["cooling"]


class Checkpoint(Callback):
    """Write a checkpoint every ``every`` epochs (the loop then fires ``checkpointed``)."""

    def __init__(self, store, every: int = 1):
        self.store = store
        self.every = check_int(every, func="train.Trainer.checkpoint", argument="every", min=1)
        self.monitor = store.monitor
        self.__qualname__ = "checkpoint"

    def __call__(self, state) -> SaveCheckpoint | None:
        return SaveCheckpoint(self.store) if state.epoch % self.every == 0 else None
