"""What an objective receives: an Optuna trial plus the drawn values and a pruning hook.

``Trial.prune_on(loop)`` attaches an ``epoch_completed`` handler to a ``kino.train`` loop:
each epoch it reports the monitored metric to the trial; when Optuna's pruner says the
trial is behind (or the study was asked to stop), the handler returns ``Halt``, so the
loop ends at that epoch boundary with status "pruned" ("halted" when the study was
stopped) and the study records the trial as pruned. The handler holds the trial only,
never the loop or its model, so a pruned trial's parameters and optimizer state are
freed when its objective returns.

>>> import optuna
>>> from kino.train.events import LoopState
>>> study = optuna.create_study(direction="maximize", pruner=optuna.pruners.NopPruner())
>>> trial = Trial(study.ask(), monitor="validation_accuracy", stopping=lambda: False)
>>> trial.on_epoch(LoopState("epoch_completed", epoch=1, metrics={"validation_accuracy": 0.5}))
>>> trial.reported
{1: 0.5}
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from kino.contracts import check_str, fail


class Trial:
    """One trial of a study: Optuna's trial (``suggest_*``, ``report``, ``should_prune``
    and the rest pass through), the values drawn so far (``params``, the study's space
    included), and :meth:`prune_on` to let the pruner halt a ``kino.train`` loop.

    >>> import optuna
    >>> t = Trial(optuna.create_study().ask(), None, lambda: False)
    >>> t.suggest_int("n", 4, 4), t.params
    (4, {'n': 4})
    """

    def __init__(self, trial: Any, monitor: str | None, stopping: Callable[[], bool]) -> None:
        self.optuna = trial
        self.monitor = monitor
        self.reported: dict[int, float] = {}
        self.pruned_at: int | None = None
        self.stopped = False
        self._stopping = stopping

    def __getattr__(self, name: str) -> Any:
        # Only reached for names this class lacks: Optuna's own trial API.
        if "optuna" not in self.__dict__:  # not set up yet (a copy being made)
            raise AttributeError(name)
        return getattr(self.__dict__["optuna"], name)

    @property
    def params(self) -> dict[str, Any]:
        """The values drawn for this trial so far, by name (Optuna's ``trial.params``)."""
        return self.optuna.params

    @property
    def halted(self) -> bool:
        """Whether the pruner or a stop request halted this trial's training."""
        return self.pruned_at is not None or self.stopped

    def prune_on(self, loop: Any, monitor: str | None = None) -> Any:
        """Report ``monitor`` (default: the study's) to the pruner after each epoch of
        ``loop`` (a ``kino.train`` trainer) and halt it when pruned; returns the loop.

        >>> import optuna
        >>> t = Trial(optuna.trial.FixedTrial({}), None, lambda: False)
        >>> t.prune_on(object())
        Traceback (most recent call last):
        ...
        ValueError: kino.tune.Trial.prune_on: 'monitor' must be a metric name \
(e.g. 'validation_accuracy'; the study has no monitor=), got None
        """
        func = "kino.tune.Trial.prune_on"
        monitor = monitor if monitor is not None else self.monitor
        allowed = "a metric name (e.g. 'validation_accuracy'; the study has no monitor=)"
        if monitor is None:
            fail(func, "monitor", allowed, None, ValueError)
        self.monitor = check_str(monitor, func=func, argument="monitor", allowed=allowed)
        if not callable(getattr(loop, "handle", None)):
            fail(func, "loop", "a kino.train trainer", loop)
        loop.handle("epoch_completed", self.on_epoch)
        return loop

    def on_epoch(self, state: Any) -> Any:
        """The ``epoch_completed`` handler: report, then halt if pruned or stopping."""
        from kino.train import Halt

        metrics = state.metrics
        if self.monitor not in metrics:
            raise KeyError(
                f"kino.tune: the loop reports no {self.monitor!r} (it has {sorted(metrics)}); "
                "add .validate(...) or name a metric it reports"
            )
        value = float(metrics[self.monitor])
        self.reported[state.epoch] = value
        if math.isfinite(value):
            self.optuna.report(value, state.epoch)
        if self._stopping():
            self.stopped = True
            return Halt("halt_loop", f"study stopped at epoch {state.epoch}")
        if self.optuna.should_prune():
            self.pruned_at = state.epoch
            return Halt("halt_loop", f"pruned at epoch {state.epoch}", status="pruned")
        return None
