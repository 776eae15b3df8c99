"""``train.evaluator``: metrics of a model (or a trained state) on data, in eval mode."""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from kino.train import losses
from kino.train import metrics as metrics_mod
from kino.train.data import source, wrap
from kino.train.run import Result, TrainState
from kino.train.sharding import Placement


def _no_loss(y_pred, y_true):
    return 0.0 * jnp.sum(y_pred)


class Evaluator:
    """Evaluate metrics (and optionally a loss) of a model on data; dropout off, batch stats frozen.

    Example:
        >>> import numpy as np
        >>> from flax import nnx
        >>> model = nnx.Linear(2, 3, rngs=nnx.Rngs(0))
        >>> x, y = np.ones((8, 2), "float32"), np.zeros(8, "int32")
        >>> sorted(Evaluator(model).metric("accuracy").run((x, y)))
        ['accuracy']
    """

    def __init__(
        self,
        model: nnx.Module,
        loss: str | Callable | None = None,
        *,
        from_logits: bool = True,
        devices=None,
    ):
        if not isinstance(model, nnx.Module):
            raise TypeError(f"model must be a flax.nnx.Module, got {type(model).__name__}")
        self.model = model
        self.from_logits = bool(from_logits)
        self.loss = None if loss is None else losses.resolve(loss, from_logits=self.from_logits)
        self.metrics: list[metrics_mod.Metric] = []
        self.devices = devices

    def metric(self, metric: str | Callable, name: str | None = None) -> Evaluator:
        """Add a metric by name or ``fn(y_pred, y_true)``; returns the evaluator."""
        m = metrics_mod.resolve(metric, from_logits=self.from_logits, name=name)
        if m.name in {x.name for x in self.metrics}:
            raise ValueError(
                f"metric {m.name!r} is already evaluated; pass name= to evaluate it twice"
            )
        self.metrics.append(m)
        return self

    def run(self, data, state: Result | TrainState | None = None, batch_size: int = 256) -> dict:
        """Metric values over ``data`` (``confusion_matrix`` as an int array) for ``state``
        (a Result, a TrainState, or None for the model's current state)."""
        from kino.train.runner import eval_program_for, graphdefs, output_struct

        if not self.metrics and self.loss is None:
            raise ValueError("nothing to evaluate: add .metric(...) or pass loss=")
        if isinstance(state, Result):
            if state.state is None:
                raise ValueError(f"the run ended without a state ({state.reason})")
            state = state.state
        if state is not None and not isinstance(state, TrainState):
            raise TypeError(
                "state must be a train.Result, train.TrainState or None, "
                f"got {type(state).__name__}"
            )
        placement = Placement(self.devices)
        src = source(
            wrap(data, batch_size=batch_size, shuffle=False, seed=0, name="data"), placement, 1
        )
        _, gd_eval = graphdefs(self.model)
        if state is None:
            _, params, rest = nnx.split(self.model, nnx.Param, ...)
        else:
            params, rest = state.params, state.rest
        x, y = src.example()
        pred = output_struct(gd_eval, params, rest, x)
        y_struct = jax.ShapeDtypeStruct(y.shape, y.dtype)
        loss = self.loss or losses.resolve(_no_loss, from_logits=self.from_logits)
        if self.loss is not None:
            self.loss.check(pred, y_struct)
        for m in self.metrics:
            metrics_mod.check(m, pred, y_struct)
        program = eval_program_for(gd_eval, loss, self.metrics, placement)
        params, rest = placement.replicate((params, rest))
        acc = program.evaluate(params, rest, src, program.zero_acc(pred, y_struct))
        values, cm = program.summarize(jax.device_get(acc))
        out = {k: v for k, v in values.items() if k != "loss" or self.loss is not None}
        if cm is not None:
            out["confusion_matrix"] = np.asarray(cm)
        return out


def evaluator(
    model: nnx.Module, loss: str | Callable | None = None, *, from_logits: bool = True, devices=None
) -> Evaluator:
    """Evaluate a model: ``train.evaluator(model).metric("accuracy").run(test_data, result)``.

    Example:
        >>> from flax import nnx
        >>> ev = evaluator(nnx.Linear(2, 2, rngs=nnx.Rngs(0))).metric("accuracy")
        >>> [m.name for m in ev.metrics]
        ['accuracy']
    """
    return Evaluator(model, loss, from_logits=from_logits, devices=devices)
