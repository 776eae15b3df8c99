"""Metrics that accumulate on the device.

A metric is three pure functions, in the spirit of optax: ``init`` builds a
zero state from the shapes of a batch, ``update`` folds one weighted batch into
it (weights are 0 for padding rows), ``compute`` turns the state into the value.
Everything runs inside the jitted train/eval step; only the final numbers cross
to the host, once per dispatch.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

import jax
import jax.numpy as jnp
import numpy as np

from kino.contracts import resolve_alias

AUC_BINS = 1000
"""Score histogram size for roc_auc (binary); the AUC is exact up to ties within a bin."""


def _kind(y_pred) -> str:
    return "multiclass" if y_pred.ndim >= 2 and y_pred.shape[-1] > 1 else "binary"


def _classes(y_pred) -> int:
    return y_pred.shape[-1] if _kind(y_pred) == "multiclass" else 2


def _labels_and_predictions(y_pred, y_true, from_logits):
    """Integer true class and predicted class per example (flattened)."""
    if _kind(y_pred) == "multiclass":
        pred = jnp.argmax(y_pred, axis=-1)
        true = jnp.argmax(y_true, axis=-1) if y_true.shape == y_pred.shape else y_true
        if true.ndim == pred.ndim + 1:
            true = true[..., 0]
    else:
        score = y_pred[..., 0] if y_pred.ndim >= 2 else y_pred
        pred = (score > (0.0 if from_logits else 0.5)).astype(jnp.int32)
        true = y_true[..., 0] if y_true.ndim == y_pred.ndim and y_pred.ndim >= 2 else y_true
        true = (true > 0.5).astype(jnp.int32)
    return true.astype(jnp.int32), pred.astype(jnp.int32)


def _row_weights(w, per):
    """Broadcast per-example weights [B] onto a per-example array [B, ...] and flatten."""
    w = jnp.reshape(w, w.shape + (1,) * (per.ndim - 1))
    return jnp.broadcast_to(w, per.shape).reshape(-1), per.reshape(-1)


@dataclass(frozen=True)
class Metric:
    """A named metric: ``init(y_pred, y_true)``, ``update(state, y_pred, y_true, w)``,
    ``compute(state)``. States are sums, so batch states add up to the epoch state."""

    name: str
    init: Callable
    update: Callable
    compute: Callable
    scalar: bool = True
    needs: str = "any"
    key: tuple = field(default=(), compare=False)

    def batch_value(self, y_pred, y_true, w):
        return self.compute(self.update(self.init(y_pred, y_true), y_pred, y_true, w))


def _accuracy(from_logits):
    def init(p, t):
        return jnp.zeros(2, jnp.float32)

    def update(s, p, t, w):
        true, pred = _labels_and_predictions(p, t, from_logits)
        ww, eq = _row_weights(w, (true == pred).astype(jnp.float32))
        return s + jnp.stack([jnp.sum(ww * eq), jnp.sum(ww)])

    return Metric(
        "accuracy", init, update, lambda s: s[0] / jnp.maximum(s[1], 1e-12), needs="class"
    )


def _confusion(from_logits):
    def init(p, t):
        c = _classes(p)
        return jnp.zeros((c, c), jnp.float32)

    def update(s, p, t, w):
        true, pred = _labels_and_predictions(p, t, from_logits)
        ww, true = _row_weights(w, true)
        c = s.shape[0]
        onehot_t = jax.nn.one_hot(true, c, dtype=jnp.float32) * ww[:, None]
        onehot_p = jax.nn.one_hot(pred.reshape(-1), c, dtype=jnp.float32)
        return s + onehot_t.T @ onehot_p

    return Metric("confusion_matrix", init, update, lambda s: s, scalar=False, needs="class")


def _prf(which, from_logits):
    """precision / recall / f1: binary for one output unit (or two classes), else macro-averaged."""

    def init(p, t):
        c = _classes(p)
        return jnp.zeros((c, c), jnp.float32)

    update = _confusion(from_logits).update

    def compute(s):
        tp = jnp.diag(s)
        predicted = jnp.sum(s, axis=0)
        actual = jnp.sum(s, axis=1)
        precision = tp / jnp.maximum(predicted, 1e-12)
        recall = tp / jnp.maximum(actual, 1e-12)
        f1 = 2 * tp / jnp.maximum(predicted + actual, 1e-12)
        value = {"precision": precision, "recall": recall, "f1": f1}[which]
        return value[1] if s.shape[0] == 2 else jnp.mean(value)

    return Metric(which, init, update, compute, needs="class")


def _roc_auc(from_logits):
    def init(p, t):
        return jnp.zeros((2, AUC_BINS), jnp.float32)

    def update(s, p, t, w):
        score = p[..., 0] if p.ndim >= 2 else p
        prob = jax.nn.sigmoid(score) if from_logits else score
        true = t[..., 0] if t.ndim == p.ndim and p.ndim >= 2 else t
        ww, prob = _row_weights(w, prob)
        true = (true.reshape(-1) > 0.5).astype(jnp.int32)
        b = jnp.clip((prob * AUC_BINS).astype(jnp.int32), 0, AUC_BINS - 1)
        return s.at[true, b].add(ww)

    def compute(s):
        neg, pos = s[0], s[1]
        neg_below = jnp.cumsum(neg) - neg
        pairs = jnp.sum(pos * (neg_below + 0.5 * neg))
        return pairs / jnp.maximum(jnp.sum(pos) * jnp.sum(neg), 1e-12)

    return Metric("roc_auc", init, update, compute, needs="binary")


def _regression(which):
    def init(p, t):
        d = int(np.prod(p.shape[1:])) if p.ndim > 1 else 1
        return jnp.zeros((5, d), jnp.float32)

    def update(s, p, t, w):
        p2 = p.reshape(p.shape[0], -1).astype(jnp.float32)
        t2 = jnp.reshape(t, p2.shape).astype(jnp.float32)
        ww = w[:, None]
        r = p2 - t2
        rows = [
            jnp.sum(ww * r * r, 0),
            jnp.sum(ww * jnp.abs(r), 0),
            jnp.sum(ww * t2, 0),
            jnp.sum(ww * t2 * t2, 0),
            jnp.broadcast_to(jnp.sum(w), (p2.shape[1],)),
        ]
        return s + jnp.stack(rows)

    def compute(s):
        sq, ab, sy, syy, n = s
        n = jnp.maximum(n, 1e-12)
        if which == "mean_squared_error":
            return jnp.mean(sq / n)
        if which == "mean_absolute_error":
            return jnp.mean(ab / n)
        total = syy - sy * sy / n
        return jnp.mean(1.0 - sq / jnp.maximum(total, 1e-12))

    return Metric(which, init, update, compute, needs="regression")


def _custom(fn, name):
    def init(p, t):
        return jnp.zeros(2, jnp.float32)

    def per_example(p, t):
        out = fn(p, t)
        if jnp.ndim(out) == 0:
            return jax.vmap(lambda a, b: fn(a[None], b[None]))(p, t).reshape(p.shape[0])
        return jnp.reshape(out, (p.shape[0], -1)).mean(axis=1)

    def update(s, p, t, w):
        v = per_example(p, t).astype(jnp.float32)
        return s + jnp.stack([jnp.sum(w * v), jnp.sum(w)])

    return Metric(name, init, update, lambda s: s[0] / jnp.maximum(s[1], 1e-12))


_BUILTIN = {
    "accuracy": _accuracy,
    "precision": lambda fl: _prf("precision", fl),
    "recall": lambda fl: _prf("recall", fl),
    "f1": lambda fl: _prf("f1", fl),
    "roc_auc": _roc_auc,
    "confusion_matrix": _confusion,
    "mean_squared_error": lambda fl: _regression("mean_squared_error"),
    "mean_absolute_error": lambda fl: _regression("mean_absolute_error"),
    "r2": lambda fl: _regression("r2"),
}

ALIASES = {"mse": "mean_squared_error", "mae": "mean_absolute_error", "auc": "roc_auc"}

NAMES = tuple(_BUILTIN)


def resolve(
    metric: str | Callable | Metric, *, from_logits: bool = True, name: str | None = None
) -> Metric:
    """Resolve a metric name, ``fn(y_pred, y_true) -> value`` or :class:`Metric`.

    Custom functions are averaged over examples (each example weighs the same).

    Example:
        >>> resolve("mse").name
        'mean_squared_error'
    """
    if isinstance(metric, Metric):
        return metric
    if isinstance(metric, str):
        canonical = resolve_alias(
            metric, NAMES, ALIASES, what="metric", also="or a function fn(y_pred, y_true)"
        )
        m = _BUILTIN[canonical](from_logits)
        return replace(m, name=name or m.name, key=(canonical, from_logits, name or m.name))
    if callable(metric):
        m = _custom(metric, name or getattr(metric, "__name__", "metric"))
        return replace(m, key=("custom", metric, m.name))
    raise TypeError(
        f"metric must be a name or a function fn(y_pred, y_true), got {type(metric).__name__}"
    )


def label_classes(metric: Metric, y_pred, y_true) -> int | None:
    """``C`` when ``metric`` reads ``y_true`` as class indices, which must be in ``[0, C)``.

    Example:
        >>> import jax.numpy as jnp
        >>> label_classes(resolve("accuracy"), jnp.zeros((4, 3)), jnp.zeros(4, jnp.int32))
        3
    """
    sparse = tuple(y_true.shape) != tuple(y_pred.shape)
    if metric.needs == "class" and _kind(y_pred) == "multiclass" and sparse:
        return int(y_pred.shape[-1])
    return None


def check(metric: Metric, y_pred, y_true) -> None:
    """Raise ValueError, before compiling, when a metric cannot apply to this output."""
    if metric.needs == "binary" and _kind(y_pred) != "binary":
        raise ValueError(
            f"metric {metric.name!r} supports binary classification (one output unit); "
            f"the model output has shape {tuple(y_pred.shape)}"
        )
    if metric.needs == "class" and _kind(y_pred) == "multiclass":
        ok = tuple(y_true.shape) in (
            tuple(y_pred.shape),
            tuple(y_pred.shape[:-1]),
            (*y_pred.shape[:-1], 1),
        )
        if not ok:
            raise ValueError(
                f"metric {metric.name!r}: labels of shape {tuple(y_true.shape)} match neither "
                "one-hot "
                f"{tuple(y_pred.shape)} nor class indices {tuple(y_pred.shape[:-1])}"
            )
    sizes = int(np.prod(y_true.shape)), int(np.prod(y_pred.shape))
    if metric.needs == "regression" and sizes[0] != sizes[1]:
        raise ValueError(
            f"metric {metric.name!r} needs labels with as many values as the output "
            f"{tuple(y_pred.shape)}, got shape {tuple(y_true.shape)}"
        )
    try:
        jax.eval_shape(
            lambda p, t: metric.batch_value(p, t, jnp.ones(p.shape[0], jnp.float32)), y_pred, y_true
        )
    except Exception as exc:
        raise ValueError(
            f"metric {metric.name!r} fails on model output of shape {tuple(y_pred.shape)} and "
            f"labels of shape {tuple(y_true.shape)}: {exc}"
        ) from exc
