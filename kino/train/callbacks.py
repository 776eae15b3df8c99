"""Built-in epoch handlers: early stopping, learning-rate reduction on plateau, checkpoints.

Each is an ``epoch_completed`` handler attached in chain order, with a
``state_dict`` saved in checkpoints so a resumed run continues their counters.
"""

from __future__ import annotations

import math

from kino.train.events import Halt

MAXIMIZE = {"accuracy", "precision", "recall", "f1", "roc_auc", "r2"}
"""Metrics that improve upwards; mode="auto" maximizes these and minimizes the rest."""


def resolve_mode(mode: str, monitor: str) -> str:
    if mode not in ("auto", "min", "max"):
        raise ValueError(f"mode must be 'auto', 'min' or 'max', got {mode!r}")
    if mode != "auto":
        return mode
    base = monitor.removeprefix("validation_")
    return "max" if base in MAXIMIZE else "min"


class _Monitor:
    def __init__(self, monitor: str, mode: str, min_delta: float, patience: int):
        if not isinstance(monitor, str):
            raise TypeError(f"monitor must be a metric name, got {type(monitor).__name__}")
        if isinstance(patience, bool) or not isinstance(patience, int) or patience < 0:
            raise ValueError(f"patience must be an int >= 0, got {patience!r}")
        if not min_delta >= 0:
            raise ValueError(f"min_delta must be >= 0, got {min_delta!r}")
        self.monitor = monitor
        self.mode = resolve_mode(mode, monitor)
        self.min_delta = float(min_delta)
        self.patience = patience
        self.best: float | None = None
        self.best_epoch = 0
        self.wait = 0
        self.runner = None

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
        super().__init__(monitor, mode, min_delta, patience)
        self.restore_best = bool(restore_best)
        self.__qualname__ = "early_stopping"

    def __call__(self, state):
        if self.observe(state):
            if self.restore_best:
                self.runner.remember_best()
            return None
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
        super().__init__(monitor, mode, min_delta, patience)
        if not 0 < factor < 1:
            raise ValueError(f"factor must be in (0, 1), got {factor!r}")
        if not min_lr >= 0:
            raise ValueError(f"min_lr must be >= 0, got {min_lr!r}")
        self.factor = float(factor)
        self.min_lr = float(min_lr)
        self.cooldown = int(cooldown)
        self.cooling = 0
        self.__qualname__ = "reduce_lr_on_plateau"

    def __call__(self, state):
        if self.cooling > 0:
            self.cooling -= 1
            self.wait = 0
        if self.observe(state) or self.wait < max(self.patience, 1):
            return None
        self.runner.scale_learning_rate(self.factor, self.min_lr)
        self.wait = 0
        self.cooling = self.cooldown
        return None

    def state_dict(self) -> dict:
        return dict(super().state_dict(), cooling=self.cooling)

    def load_state_dict(self, d: dict) -> None:
        super().load_state_dict(d)
        self.cooling = d["cooling"]


class Checkpoint:
    """Write a checkpoint every ``every`` epochs, then fire ``checkpointed``."""

    def __init__(self, store, every: int = 1):
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise ValueError(f"every must be an int >= 1, got {every!r}")
        self.store = store
        self.every = every
        self.monitor = store.monitor
        self.runner = None
        self.__qualname__ = "checkpoint"

    def __call__(self, state):
        if state.epoch % self.every == 0:
            self.runner.save_checkpoint(self.store)
        return None

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, d: dict) -> None:
        return None
