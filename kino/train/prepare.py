"""What the trainer and the evaluator do before compiling, and the program cache they share.

:func:`prepare` places the data, splits the model into graph definitions and
state, traces the output shape of one example batch and checks the loss and
every metric against it, so a wrong shape fails before any compilation.
:func:`train_program` and :func:`eval_program` return the compiled
:class:`~kino.train.steps.Program` for a configuration, kept in one LRU cache
(a re-run cell with the same model reuses its programs).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import jax
from flax import nnx

from kino.contracts import fail
from kino.train import metrics as metrics_mod
from kino.train.data import wrap
from kino.train.feed import source
from kino.train.fingerprint import fingerprint
from kino.train.losses import Loss
from kino.train.metrics import Metric
from kino.train.resident import DEVICE_MEMORY_FRACTION
from kino.train.sharding import Placement
from kino.train.steps import Program

PROGRAM_CACHE_SIZE = 16
"""Compiled programs kept across trainers and evaluators."""

_programs: OrderedDict = OrderedDict()


DEVICES_ALLOWED = "None or a non-empty list of distinct jax devices (such as jax.devices())"


def check_devices(devices, *, func: str) -> list | None:
    """``devices`` as a list of distinct ``jax.Device`` (``None`` stays ``None``: all devices).

    Example:
        >>> import jax
        >>> check_devices(jax.devices()[:1], func="train.Trainer") == jax.devices()[:1]
        True
        >>> check_devices("cpu", func="train.Trainer")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        TypeError: train.Trainer: 'devices' must be None or a non-empty list ..., got str: 'cpu'
    """
    if devices is None:
        return None
    if not isinstance(devices, Sequence) or isinstance(devices, str | bytes):
        fail(func, "devices", DEVICES_ALLOWED, devices)
    if not all(isinstance(d, jax.Device) for d in devices):
        fail(func, "devices", DEVICES_ALLOWED, devices)
    if not devices or len(set(devices)) != len(devices):
        fail(func, "devices", DEVICES_ALLOWED, devices, ValueError)
    return list(devices)


def graphdefs(model: nnx.Module):
    """Train- and eval-mode graph definitions of a model (its own mode untouched)."""
    t = nnx.clone(model)
    t.train()
    e = nnx.clone(model)
    e.eval()
    return nnx.split(t, nnx.Param, ...)[0], nnx.split(e, nnx.Param, ...)[0]


def output_struct(gd, params, rest, x) -> jax.ShapeDtypeStruct:
    """Shape of the model output for one batch (traced, never compiled)."""
    struct = jax.ShapeDtypeStruct(x.shape, x.dtype)
    try:
        return jax.eval_shape(lambda p, r, a: nnx.merge(gd, p, r)(a), params, rest, struct)
    except Exception as exc:
        raise ValueError(
            f"the model cannot be applied to a batch of x with shape {x.shape} ({x.dtype}): {exc}"
        ) from exc


@dataclass(frozen=True)
class Prepared:
    """A model and its data, checked and ready to compile for.

    ``params``/``rest`` are the model state (or the given state's), not yet placed;
    ``example`` is one batch ``(x, y)`` as the compiled step sees it.
    """

    placement: Placement
    src: Any
    gd_train: Any
    gd_eval: Any
    params: Any
    rest: Any
    example: tuple
    pred_struct: jax.ShapeDtypeStruct
    y_struct: jax.ShapeDtypeStruct


def prepare(
    model: nnx.Module,
    data,
    *,
    loss: Loss | None,
    metrics: Sequence[Metric],
    devices=None,
    batch_size: int,
    shuffle: bool,
    seed: int = 0,
    epochs: int = 1,
    mode: str = "train",
    state=None,
    data_on_device: bool | None = None,
    device_budget: float = DEVICE_MEMORY_FRACTION,
    func: str,
) -> Prepared:
    """Place ``data``, split ``model`` and check ``loss`` and ``metrics`` on one batch.

    ``mode`` ("train" or "eval") picks the graph definition the output shape is
    traced with; ``state`` (a TrainState) replaces the model's own parameters.
    ``data_on_device``/``device_budget`` choose the feeding path (:mod:`kino.train.feed`).
    ``func`` names the caller in argument errors.
    """
    placement = Placement(check_devices(devices, func=func))
    wrapped = wrap(data, batch_size=batch_size, shuffle=shuffle, seed=seed, func=func)
    src = source(
        wrapped,
        placement,
        epochs,
        data_on_device=data_on_device,
        device_budget=device_budget,
        func=func,
    )
    gd_train, gd_eval = graphdefs(model)
    if state is None:
        _, params, rest = nnx.split(model, nnx.Param, ...)
    else:
        params, rest = state.params, state.rest
    x, y = src.example()
    pred = output_struct(gd_train if mode == "train" else gd_eval, params, rest, x)
    y_struct = jax.ShapeDtypeStruct(y.shape, y.dtype)
    if loss is not None:
        loss.check(pred, y_struct)
    for m in metrics:
        metrics_mod.check(m, pred, y_struct)
    return Prepared(placement, src, gd_train, gd_eval, params, rest, (x, y), pred, y_struct)


def _cached_program(key: tuple, make) -> Program:
    """The Program cached under ``key``, made with ``make()`` the first time (LRU)."""
    program = _programs.get(key)
    if program is None:
        program = _programs[key] = make()
        while len(_programs) > PROGRAM_CACHE_SIZE:
            _programs.popitem(last=False)
    _programs.move_to_end(key)
    return program


def _loss_key(loss: Loss) -> tuple:
    return (loss.name, fingerprint(loss.fn), loss.from_logits, loss.builtin)


def _metrics_key(metrics: Sequence[Metric]) -> tuple:
    return tuple(fingerprint(m.key) if m.key else m for m in metrics)


def train_program(prep: Prepared, loss: Loss, metrics, optimizer, penalty) -> Program:
    """The cached training Program (same graph, loss, metrics, optimizer, penalty, devices).

    Functions and transformations are keyed by :func:`~kino.train.fingerprint.fingerprint`,
    so a re-run cell, a new trainer over an equal model or a resumed run (new objects
    computing the same thing) reuses the compiled program; shapes and dtypes are jit's
    own cache key inside the program.
    """
    key = (
        prep.gd_train,
        prep.gd_eval,
        _loss_key(loss),
        _metrics_key(metrics),
        optimizer.key,
        fingerprint(penalty),
        tuple(prep.placement.devices),
    )
    return _cached_program(
        key,
        lambda: Program(
            prep.gd_train, prep.gd_eval, loss, list(metrics), optimizer.tx, penalty, prep.placement
        ),
    )


def eval_program(prep: Prepared, loss: Loss, metrics) -> Program:
    """The cached evaluation-only Program."""
    key = (
        "eval",
        prep.gd_eval,
        _loss_key(loss),
        _metrics_key(metrics),
        tuple(prep.placement.devices),
    )
    return _cached_program(
        key,
        lambda: Program(
            prep.gd_eval, prep.gd_eval, loss, list(metrics), None, None, prep.placement
        ),
    )
