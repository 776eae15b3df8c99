"""Optimizers by name, and a learning-rate factor that changes without recompiling.

Every optimizer is wrapped as ``optax.chain(base, scale_by_factor())``. The
factor is an array in the optimizer state, so ``reduce_lr_on_plateau`` changes
the effective learning rate by replacing one scalar: same shapes, same dtypes,
no new compilation. Named optimizers are built with
``optax.inject_hyperparams`` so their learning rate (and any schedule) is
readable from the state as well.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax

NAMES = (
    "adabelief",
    "adadelta",
    "adafactor",
    "adagrad",
    "adam",
    "adamax",
    "adamw",
    "amsgrad",
    "lamb",
    "lars",
    "lion",
    "nadam",
    "nadamw",
    "novograd",
    "radam",
    "rmsprop",
    "sgd",
    "sm3",
    "yogi",
)

DEFAULT_LEARNING_RATE = {"sgd": 1e-2}
"""Learning rate used when a name is given without one (1e-3 for the others)."""


class FactorState(NamedTuple):
    """The multiplier applied to every update (1.0 until a plateau reduces it)."""

    factor: jax.Array


def scale_by_factor() -> optax.GradientTransformation:
    """Multiply updates by a factor kept in the optimizer state."""

    def init(params):
        return FactorState(jnp.ones((), jnp.float32))

    def update(updates, state, params=None):
        return jax.tree.map(lambda u: u * state.factor.astype(u.dtype), updates), state

    return optax.GradientTransformation(init, update)


class Optimizer(NamedTuple):
    tx: optax.GradientTransformation
    name: str
    learning_rate: float | Callable | None


def resolve(optimizer, learning_rate=None) -> Optimizer:
    """Build the wrapped optax transformation from a name or a transformation.

    Example:
        >>> resolve("adam", 1e-3).name
        'adam'
    """
    if isinstance(optimizer, str):
        if optimizer not in NAMES:
            raise ValueError(
                f"unknown optimizer {optimizer!r}; allowed: {', '.join(NAMES)} "
                "or an optax.GradientTransformation"
            )
        lr = DEFAULT_LEARNING_RATE.get(optimizer, 1e-3) if learning_rate is None else learning_rate
        if not callable(lr) and not lr > 0:
            raise ValueError(f"learning_rate must be > 0 or an optax schedule, got {lr!r}")
        base = optax.inject_hyperparams(getattr(optax, optimizer))(learning_rate=lr)
        return Optimizer(optax.chain(base, scale_by_factor()), optimizer, lr)
    if isinstance(optimizer, optax.GradientTransformation):
        return Optimizer(optax.chain(optimizer, scale_by_factor()), "custom", learning_rate)
    raise TypeError(
        f"optimizer must be a name ({', '.join(NAMES)}) or an optax.GradientTransformation, "
        f"got {type(optimizer).__name__}"
    )


def _hyperparams(state):
    for node in jax.tree.leaves(state, is_leaf=lambda n: hasattr(n, "hyperparams")):
        if hasattr(node, "hyperparams") and "learning_rate" in node.hyperparams:
            return node.hyperparams
    return None


def learning_rate(opt_state, fallback) -> jax.Array:
    """The effective learning rate (traceable): injected rate (or ``fallback``) times the factor."""
    hp = _hyperparams(opt_state[0])
    if hp is not None:
        base = jnp.asarray(hp["learning_rate"], jnp.float32)
    elif fallback is not None and not callable(fallback):
        base = jnp.float32(fallback)
    else:
        base = jnp.float32(1.0)
    return base * opt_state[1].factor


def factor(opt_state) -> jax.Array:
    return opt_state[1].factor


def with_factor(opt_state, value: float):
    """The same optimizer state with a new factor (same shape, dtype and placement)."""
    old = opt_state[1].factor
    new = jax.device_put(jnp.asarray(value, old.dtype), old.sharding)
    return (opt_state[0], FactorState(new))
