"""Optimizers by name, and a learning-rate factor that changes without recompiling.

Every optimizer is wrapped (:func:`wrap`) so its state is an :class:`OptState`:
the base state and a factor that multiplies every update. The factor is an
array, so ``reduce_lr_on_plateau`` changes the effective learning rate by
replacing one scalar: same shapes, same dtypes, no new compilation. Named
optimizers are built with ``optax.inject_hyperparams`` so their learning rate
(and any schedule) is readable from the state as well; the state is the one
place the rate lives, read by :func:`learning_rate` alone.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

from kino.contracts import check_number, fail
from kino.train.fingerprint import fingerprint

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


class OptState(NamedTuple):
    """The wrapped optimizer's state: the base transformation's state and the update factor.

    ``learning_rate`` is the nominal rate of a custom transformation that does not
    inject its hyperparameters (``None`` for named optimizers, whose rate is in
    ``inner``'s hyperparameters); it is an array, so it never enters a compiled program.
    """

    inner: Any
    factor: jax.Array
    learning_rate: jax.Array | None = None


class Optimizer(NamedTuple):
    """A resolved optimizer: the wrapped transformation, its name and its program-cache key.

    ``key`` is the name for a named optimizer with a numeric rate (the rate is a state
    array, so every rate shares one compiled program), otherwise the
    :func:`~kino.train.fingerprint.fingerprint` of the schedule or transformation, so an
    equal transformation built anew (a re-run cell) reuses the compiled program.
    """

    tx: optax.GradientTransformation
    name: str
    key: Any


def wrap(base: optax.GradientTransformation, nominal=None) -> optax.GradientTransformation:
    """``base`` followed by a multiplication by the factor kept in :class:`OptState`."""

    def init(params):
        lr = None if nominal is None else jnp.asarray(nominal, jnp.float32)
        return OptState(base.init(params), jnp.ones((), jnp.float32), lr)

    def update(updates, state, params=None):
        updates, inner = base.update(updates, state.inner, params)
        scaled = jax.tree.map(lambda u: u * state.factor.astype(u.dtype), updates)
        return scaled, state._replace(inner=inner)

    return optax.GradientTransformation(init, update)


def resolve(optimizer, learning_rate=None, *, func: str = "train.Trainer") -> Optimizer:
    """Build the wrapped optax transformation from a name or a transformation.

    Example:
        >>> resolve("adam", 1e-3).name
        'adam'
        >>> resolve(optax.adam(1e-3)).key == resolve(optax.adam(1e-3)).key
        True
    """
    allowed = f"one of {', '.join(NAMES)} or an optax.GradientTransformation"
    if isinstance(optimizer, str):
        if optimizer not in NAMES:
            fail(func, "optimizer", allowed, optimizer, ValueError)
        lr = DEFAULT_LEARNING_RATE.get(optimizer, 1e-3) if learning_rate is None else learning_rate
        if not callable(lr):
            check_number(lr, func=func, argument="learning_rate")
            if not lr > 0:
                fail(func, "learning_rate", "a number > 0 or an optax schedule", lr, ValueError)
        tx = wrap(optax.inject_hyperparams(getattr(optax, optimizer))(learning_rate=lr))
        return Optimizer(tx, optimizer, (optimizer, fingerprint(lr)) if callable(lr) else optimizer)
    if isinstance(optimizer, optax.GradientTransformation):
        # a custom transformation reports learning_rate (a number) times the factor, or the
        # factor alone; its rate lives in the state like every other one
        nominal = 1.0 if learning_rate is None or callable(learning_rate) else learning_rate
        tx = wrap(optimizer, check_number(nominal, func=func, argument="learning_rate"))
        # the nominal rate is a state array: only the transformation shapes the program
        return Optimizer(tx, "custom", ("custom", fingerprint(optimizer)))
    fail(func, "optimizer", allowed, optimizer)


def _hyperparams(inner):
    for node in jax.tree.leaves(inner, is_leaf=lambda n: hasattr(n, "hyperparams")):
        if hasattr(node, "hyperparams") and "learning_rate" in node.hyperparams:
            return node.hyperparams
    return None


def learning_rate(opt_state: OptState) -> jax.Array:
    """The effective learning rate (traceable), read from the state alone.

    The injected rate of the base transformation (a named optimizer, a schedule's
    current value) or else the nominal rate, times the factor.
    """
    hp = _hyperparams(opt_state.inner)
    if hp is not None:
        base = jnp.asarray(hp["learning_rate"], jnp.float32)
    elif opt_state.learning_rate is not None:
        base = opt_state.learning_rate
    else:
        base = jnp.float32(1.0)
    return base * opt_state.factor


def with_factor(opt_state: OptState, value: float) -> OptState:
    """The same optimizer state with a new factor (same shape, dtype and placement)."""
    old = opt_state.factor
    new = jax.device_put(jnp.asarray(value, old.dtype), old.sharding)
    return opt_state._replace(factor=new)
