"""Loss functions by name, mapped onto optax, with ``from_logits``.

Every loss here maps ``(y_pred, y_true)`` to one value per example (shape
``[batch]``); the loop weights and averages them, so a padded last batch
never biases the mean.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np
import optax

from kino.contracts import resolve_alias

EPSILON = 1e-7
"""Probabilities are clipped to [EPSILON, 1 - EPSILON] when ``from_logits=False``."""


def _mean_tail(a: jax.Array) -> jax.Array:
    return jnp.mean(a.reshape(a.shape[0], -1), axis=1) if a.ndim > 1 else a


def _like_pred(y_pred: jax.Array, y_true: jax.Array) -> jax.Array:
    if y_true.ndim == y_pred.ndim - 1 and y_pred.shape[-1] == 1:
        y_true = y_true[..., None]
    return y_true.astype(y_pred.dtype)


def _categorical(y_pred, y_true, from_logits):
    y_true = y_true.astype(y_pred.dtype)
    if from_logits:
        per = optax.softmax_cross_entropy(y_pred, y_true)
    else:
        per = -jnp.sum(y_true * jnp.log(jnp.clip(y_pred, EPSILON, 1.0)), axis=-1)
    return _mean_tail(per)


def _sparse_categorical(y_pred, y_true, from_logits):
    if y_true.ndim == y_pred.ndim:
        y_true = y_true[..., 0]
    y_true = y_true.astype(jnp.int32)
    if from_logits:
        per = optax.softmax_cross_entropy_with_integer_labels(y_pred, y_true)
    else:
        p = jnp.take_along_axis(y_pred, y_true[..., None], axis=-1)[..., 0]
        per = -jnp.log(jnp.clip(p, EPSILON, 1.0))
    return _mean_tail(per)


def _binary(y_pred, y_true, from_logits):
    y_true = _like_pred(y_pred, y_true)
    if from_logits:
        per = optax.sigmoid_binary_cross_entropy(y_pred, y_true)
    else:
        p = jnp.clip(y_pred, EPSILON, 1.0 - EPSILON)
        per = -(y_true * jnp.log(p) + (1.0 - y_true) * jnp.log(1.0 - p))
    return _mean_tail(per)


def _kl(y_pred, y_true, from_logits):
    log_p = (
        jax.nn.log_softmax(y_pred, axis=-1)
        if from_logits
        else jnp.log(jnp.clip(y_pred, EPSILON, 1.0))
    )
    return _mean_tail(optax.kl_divergence(log_p, y_true.astype(y_pred.dtype)))


def _elementwise(fn):
    def loss(y_pred, y_true, from_logits):
        return _mean_tail(fn(y_pred, _like_pred(y_pred, y_true)))

    return loss


_LOSSES: dict[str, Callable] = {
    "categorical_cross_entropy": _categorical,
    "sparse_categorical_cross_entropy": _sparse_categorical,
    "binary_cross_entropy": _binary,
    "kl_divergence": _kl,
    "mean_squared_error": _elementwise(optax.squared_error),
    "mean_absolute_error": _elementwise(lambda p, t: jnp.abs(p - t)),
    "huber": _elementwise(optax.huber_loss),
    "log_cosh": _elementwise(optax.log_cosh),
    "hinge": _elementwise(optax.hinge_loss),
}

ALIASES = {
    "categorical_crossentropy": "categorical_cross_entropy",
    "sparse_categorical_crossentropy": "sparse_categorical_cross_entropy",
    "binary_crossentropy": "binary_cross_entropy",
    "mse": "mean_squared_error",
    "mae": "mean_absolute_error",
    "kld": "kl_divergence",
}

CLASSIFICATION = {
    "categorical_cross_entropy",
    "sparse_categorical_cross_entropy",
    "binary_cross_entropy",
    "kl_divergence",
    "hinge",
}

NAMES = tuple(sorted(_LOSSES))


@dataclass(frozen=True)
class Loss:
    """A resolved loss: ``per_example(y_pred, y_true) -> [batch]``."""

    name: str
    fn: Callable
    from_logits: bool
    builtin: bool

    @property
    def classification(self) -> bool:
        return self.builtin and self.name in CLASSIFICATION

    def per_example(self, y_pred: jax.Array, y_true: jax.Array) -> jax.Array:
        if self.builtin:
            return self.fn(y_pred, y_true, self.from_logits)
        out = self.fn(y_pred, y_true)
        if jnp.ndim(out) == 0:
            one = jax.vmap(lambda p, t: self.fn(p[None], t[None]))(y_pred, y_true)
            return jnp.reshape(one, (y_pred.shape[0],))
        return _mean_tail(jnp.asarray(out))

    def label_classes(self, y_pred, y_true) -> int | None:
        """``C`` when this loss reads ``y_true`` as class indices, which must be in ``[0, C)``.

        Example:
            >>> import jax.numpy as jnp
            >>> resolve("sparse_categorical_cross_entropy").label_classes(
            ...     jnp.zeros((4, 3)), jnp.zeros(4, jnp.int32))
            3
        """
        if self.builtin and self.name == "sparse_categorical_cross_entropy":
            return int(y_pred.shape[-1])
        return None

    def check(self, y_pred: jax.ShapeDtypeStruct, y_true: jax.ShapeDtypeStruct) -> None:
        """Raise ValueError when labels of this shape/dtype cannot match the output."""
        check_labels(self.name if self.builtin else "custom", y_pred, y_true)
        if not self.builtin:
            try:
                out = jax.eval_shape(self.fn, y_pred, y_true)
            except Exception as exc:
                raise ValueError(
                    f"loss function {self.name!r} fails on model output of shape "
                    f"{tuple(y_pred.shape)} and labels of shape {tuple(y_true.shape)}: {exc}"
                ) from exc
            if out.shape not in ((), (y_pred.shape[0],)):
                raise ValueError(
                    f"loss function {self.name!r} must return a scalar or one value per "
                    f"example (shape ({y_pred.shape[0]},)), got shape {tuple(out.shape)}"
                )


def _is_int(dtype) -> bool:
    return np.issubdtype(np.dtype(dtype), np.integer)


def check_labels(kind: str, y_pred, y_true) -> None:
    """Shape/dtype rules of each loss family; raise ValueError before compiling."""
    ps, ys = tuple(y_pred.shape), tuple(y_true.shape)
    shapes = f"model output has shape {ps} and labels have shape {ys} (dtype {y_true.dtype})"
    if ps[:1] != ys[:1]:
        raise ValueError(f"batch sizes differ: {shapes}")
    if kind in ("categorical_cross_entropy", "kl_divergence"):
        if ys == ps:
            return
        hint = (
            "; integer class labels need 'sparse_categorical_cross_entropy' "
            "(or one-hot encode them)"
            if ys == ps[:-1] and _is_int(y_true.dtype)
            else ""
        )
        raise ValueError(f"{kind} needs one-hot labels shaped like the output: {shapes}{hint}")
    if kind == "sparse_categorical_cross_entropy":
        if not _is_int(y_true.dtype):
            raise ValueError(
                f"sparse_categorical_cross_entropy needs integer class labels: {shapes}; "
                "one-hot labels need 'categorical_cross_entropy'"
            )
        if ys in (ps[:-1], (*ps[:-1], 1)):
            return
        raise ValueError(
            f"sparse_categorical_cross_entropy needs labels shaped {ps[:-1]}: {shapes}"
        )
    if kind == "custom":
        return
    if ys == ps or (ps[-1:] == (1,) and ys == ps[:-1]):
        return
    raise ValueError(f"{kind} needs labels shaped like the output {ps}: {shapes}")


def resolve(loss: str | Callable, *, from_logits: bool = True) -> Loss:
    """Resolve a loss name or ``fn(y_pred, y_true)`` into a :class:`Loss`.

    Example:
        >>> resolve("mse").name
        'mean_squared_error'
    """
    if isinstance(loss, Loss):
        return loss
    if isinstance(loss, str):
        name = resolve_alias(
            loss, NAMES, ALIASES, what="loss", also="or a function fn(y_pred, y_true)"
        )
        return Loss(name, _LOSSES[name], from_logits, True)
    if callable(loss):
        return Loss(getattr(loss, "__name__", "loss"), loss, from_logits, False)
    raise TypeError(
        f"loss must be a name or a function fn(y_pred, y_true), got {type(loss).__name__}"
    )
