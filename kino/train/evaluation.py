"""``train.Evaluator`` (also ``train.evaluator``): metrics of a model (or a trained state) on data.

It shares the trainer's preparation (:func:`kino.train.prepare.prepare`) and program cache.
"""

from __future__ import annotations

from collections.abc import Callable

import jax.numpy as jnp
import numpy as np
from flax import nnx

from kino.contracts import check_bool, check_int, fail
from kino.train import losses
from kino.train import metrics as metrics_mod
from kino.train.prepare import check_devices, eval_program, prepare
from kino.train.run import Result, TrainState


def _no_loss(y_pred, y_true):
    return 0.0 * jnp.sum(y_pred)


class Evaluator:
    """Evaluate metrics (and optionally a loss) of a model on data; dropout off, batch stats frozen.

    ``train.evaluator(model).metric("accuracy").run(test_data, result)``; ``train.evaluator``
    is the same class.

    Example:
        >>> import numpy as np
        >>> from flax import nnx
        >>> model = nnx.Linear(2, 3, rngs=nnx.Rngs(0))
        >>> x, y = np.ones((8, 2), "float32"), np.zeros(8, "int32")
        >>> sorted(Evaluator(model).metric("accuracy").run((x, y)))
        ['accuracy']
        >>> [m.name for m in evaluator(model).metric("accuracy").metrics]
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
            fail("train.Evaluator", "model", "a flax.nnx.Module", model)
        self.model = model
        self.from_logits = check_bool(from_logits, func="train.Evaluator", argument="from_logits")
        self.loss = None if loss is None else losses.resolve(loss, from_logits=self.from_logits)
        self.metrics: list[metrics_mod.Metric] = []
        self.devices = check_devices(devices, func="train.Evaluator")

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
        func = "train.Evaluator.run"
        if not self.metrics and self.loss is None:
            raise ValueError(f"{func}: nothing to evaluate: add .metric(...) or pass loss=")
        if isinstance(state, Result):
            if state.state is None:
                raise ValueError(f"{func}: the run ended without a state ({state.reason})")
            state = state.state
        if state is not None and not isinstance(state, TrainState):
            fail(func, "state", "a train.Result, train.TrainState or None", state)
        prep = prepare(
            self.model,
            data,
            loss=self.loss,
            metrics=self.metrics,
            devices=self.devices,
            batch_size=check_int(batch_size, func=func, argument="batch_size", min=1),
            shuffle=False,
            mode="eval",
            state=state,
            func=func,
        )
        loss = self.loss or losses.resolve(_no_loss, from_logits=self.from_logits)
        program = eval_program(prep, loss, self.metrics)
        params, rest = prep.placement.replicate((prep.params, prep.rest))
        acc = program.evaluate(
            params, rest, prep.src, program.zero_acc(prep.pred_struct, prep.y_struct)
        )
        host = program.fetch(acc)
        bad = program.eval_error(host)
        if bad is not None:
            raise ValueError(f"{func}: {bad}")
        values, cm = program.summarize(host)
        out = {k: v for k, v in values.items() if k != "loss" or self.loss is not None}
        if cm is not None:
            out["confusion_matrix"] = np.asarray(cm)
        return out


evaluator = Evaluator
"""``train.evaluator(model, loss=None, ...)``: the same as ``train.Evaluator``."""
