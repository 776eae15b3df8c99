"""The compiled programs: a fused multi-step train dispatch and an eval dispatch.

The model is split once (``nnx.split``) into a graph definition and pure
state; the functions below are plain ``jax.jit`` over that state, with
``nnx.merge`` only at trace time (flax's performance guide). One dispatch runs
``k`` steps with ``lax.scan`` and donates the carried state. Per-step loss and
metric values come back as ``[k]`` arrays; epoch metrics accumulate on the
device in the carry. A non-finite loss freezes the carry at the last finite
state for the rest of the run (the host halts when it sees the flag). So do class
labels outside ``[0, C)`` where the loss or a metric reads labels as class indices:
the step's ``label_check`` output says which (:meth:`Program.step_error`), and its
loss is reported as NaN, so the host halts there without waiting on any extra value.
Resident data's labels are checked once before the run (:meth:`Program.labels_in_range`);
its dispatches carry the per-step check only when a label is out of range.
Evaluation passes count such labels in their accumulators, on the device, and the host
reads the count with the pass's metrics (:meth:`Program.eval_error`).
Train and eval use different graph definitions (dropout on/off), so they are
separate compiled functions: validating never recompiles the train step.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax
from flax import nnx

from kino.train import optim
from kino.train.losses import Loss
from kino.train.metrics import Metric, label_classes
from kino.train.prefetch import prefetch


class Carry(NamedTuple):
    """The state a train dispatch carries from step to step (donated to each dispatch).

    ``bad`` turns True at the first non-finite loss and freezes the rest; ``acc`` holds the
    epoch's metric accumulators (``Program.zero_acc``).
    """

    params: Any
    rest: Any
    opt_state: optim.OptState
    step: jax.Array
    bad: jax.Array
    acc: Any = None


def _label_error(check, where: str) -> str | None:
    """The message for a ``[out-of-range count, first such label, C]`` check, or None."""
    n, first, c = (int(v) for v in check)
    if n == 0:
        return None
    more = f" ({n} labels {where} are out of range)" if n > 1 else ""
    return f"labels must be in [0, {c}) for {c} classes; got {first}{more}"


def _zeros_like_struct(tree):
    return jax.tree.map(lambda s: jnp.zeros(s.shape, s.dtype), tree)


class Program:
    """Jitted train/eval functions for one model, loss, metric set and optimizer."""

    def __init__(
        self,
        gd_train,
        gd_eval,
        loss: Loss,
        metrics: list[Metric],
        tx: optax.GradientTransformation | None,
        penalty: Callable | None,
        placement,
    ):
        self.gd_train = gd_train
        self.gd_eval = gd_eval
        self.loss = loss
        self.metrics = metrics
        self.tx = tx
        self.penalty = penalty
        self.placement = placement
        resident = ("batch", "width")
        # train dispatches take the carry as its flat list of leaves and its treedef (static):
        # a flat list crosses jit's call path without a Python flatten of the nnx/optax
        # pytrees on every dispatch (and the outputs without an unflatten)
        self.train_resident = jax.jit(
            self._flat(self._train_resident),
            donate_argnums=0,
            static_argnums=1,
            static_argnames=(*resident, "checked"),
        )
        self.train_stacked = jax.jit(
            self._flat(self._train_stacked), donate_argnums=0, static_argnums=1
        )
        self.eval_resident = jax.jit(self._eval_resident, static_argnames=resident)
        self.eval_stacked = jax.jit(self._eval_stacked)
        self._finish = jax.jit(self._finish_acc)
        self._copy = jax.jit(lambda tree: jax.tree.map(jnp.copy, tree))
        self._zeros: dict = {}  # (pred, y) shapes -> a compiled maker of zero accumulators

    # ---- accumulators -------------------------------------------------
    def _batch_states(self, pred, y, w):
        states = {"loss": None}
        for m in self.metrics:
            states[m.name] = m.update(m.init(pred, y), pred, y, w)
        return states

    def zero_acc(self, pred_struct, y_struct):
        """Zero epoch accumulators (on the device) for outputs/labels of these shapes.

        Made on the device by one compiled call: traced once per shape, never per epoch.
        """
        key = (pred_struct.shape, str(pred_struct.dtype), y_struct.shape, str(y_struct.dtype))
        make = self._zeros.get(key)
        if make is None:

            def init(p, t):
                acc = {"loss": jnp.zeros(2, jnp.float32)}
                for m in self.metrics:
                    acc[m.name] = m.init(p, t)
                if self._label_check(p, t, jnp.ones(p.shape[:1], jnp.float32)) is not None:
                    acc["label_check"] = jnp.zeros(3, jnp.int32)  # filled by eval passes
                return acc

            struct = jax.eval_shape(init, pred_struct, y_struct)
            where = self.placement.replicated()
            make = jax.jit(lambda: _zeros_like_struct(struct), out_shardings=where)
            self._zeros[key] = make
        return make()

    def copy(self, tree):
        """A device copy of ``tree`` in one dispatch (kept while the original is donated)."""
        return self._copy(tree)

    def _finish_acc(self, acc):
        out = dict(acc)
        for m in self.metrics:
            if m.scalar:
                out[m.name] = m.compute(acc[m.name])
        return out

    def fetch(self, acc) -> dict:
        """Accumulators to the host, scalar metrics computed on the device first (one call).

        The result is what :meth:`summarize` and :meth:`eval_error` read.
        """
        return jax.device_get(self._finish(acc))

    def _loss(self, model, x, y, w):
        pred = model(x)
        per = self.loss.per_example(pred, y)
        n = jnp.sum(w)
        loss = jnp.sum(per * w) / jnp.maximum(n, 1.0)
        if self.penalty is not None:
            loss = loss + self.penalty(model)
        return loss, (pred, n)

    def _classes(self, pred, y) -> int | None:
        """``C`` when the loss or a metric reads labels of these shapes as class indices."""
        counts = [self.loss.label_classes(pred, y)] if self.loss is not None else []
        counts += [label_classes(m, pred, y) for m in self.metrics]
        counts = [c for c in counts if c is not None]
        return min(counts) if counts else None

    def labels_in_range(self, y_all, n: int, pred_struct, y_struct) -> bool:
        """True when the first ``n`` labels of resident data are all valid class indices.

        Resident labels never change during a run, so they are checked once, in one pass
        on the device: when they pass, the run's dispatches skip the per-step check; when
        one fails, the checking program runs and halts at that label's step, as the host
        feed does.
        """
        c = self._classes(pred_struct, y_struct)
        return c is None or int(self._outside(y_all, n=n, c=c)) == 0

    @staticmethod
    @functools.partial(jax.jit, static_argnames=("n", "c"))
    def _outside(y_all, *, n: int, c: int):
        labels = y_all[:n].reshape(n, -1)
        return jnp.sum((labels < 0) | (labels >= c), dtype=jnp.int32)

    def _label_check(self, pred, y, w):
        """``[out-of-range count, first such label, C]`` for class-index labels, else None."""
        c = self._classes(pred, y)
        if c is None:
            return None
        labels = y.reshape(y.shape[0], -1)
        outside = ((labels < 0) | (labels >= c)) & (w[:, None] > 0)
        flat = outside.reshape(-1)
        first = labels.reshape(-1)[jnp.argmax(flat)].astype(jnp.int32)
        return jnp.stack(
            [jnp.sum(flat, dtype=jnp.int32), jnp.where(jnp.any(flat), first, 0), jnp.int32(c)]
        )

    def step_error(self, host_outs, j: int) -> str | None:
        """Why step ``j`` of a fetched dispatch was refused, other than a non-finite loss.

        ``host_outs``: the dispatch's per-step outputs fetched to the host. The runner halts
        on the step's NaN loss and reports this text (with the step number) when it is not None.
        """
        check = host_outs.get("label_check")
        return None if check is None else _label_error(check[j], "of that batch")

    def eval_error(self, acc_host) -> str | None:
        """Why an evaluation pass's numbers are meaningless: labels out of range, or None.

        ``acc_host``: the pass's accumulators fetched to the host (one fetch per pass, none
        per batch). The text names the first such label and how many there were.
        """
        check = acc_host.get("label_check")
        return None if check is None else _label_error(check, "in that data")

    # ---- train --------------------------------------------------------
    def _step(self, carry: Carry, x, y, w, checked: bool = True) -> tuple[Carry, dict]:
        x = self.placement.constrain(x)
        y = self.placement.constrain(y)
        w = self.placement.constrain(w)
        params, rest, opt_state = carry.params, carry.rest, carry.opt_state

        model = nnx.merge(self.gd_train, params, rest)
        grad_fn = nnx.value_and_grad(lambda m: self._loss(m, x, y, w), has_aux=True)
        (loss, (pred, n)), grads = grad_fn(model)
        _, _, new_rest = nnx.split(model, nnx.Param, ...)
        finite = jnp.isfinite(loss)
        check = self._label_check(pred, y, w) if checked else None
        outs = {}
        if check is not None:  # bad labels count as a non-finite loss: freeze, report NaN
            finite = finite & (check[0] == 0)
            loss = jnp.where(check[0] == 0, loss, jnp.nan)
            outs["label_check"] = check
        ok = finite & ~carry.bad

        def apply(_):
            updates, new_opt = self.tx.update(grads, opt_state, params)
            return optax.apply_updates(params, updates), new_rest, new_opt

        # only a good step computes its update; a refused one keeps the state as it was (a
        # select over both would pass over the whole state every step)
        new = jax.lax.cond(ok, apply, lambda _: (params, rest, opt_state), None)
        new_opt = new[2]
        batch = self._batch_states(pred, y, w)
        okf = ok.astype(jnp.float32)
        acc = dict(carry.acc)
        acc["loss"] = acc["loss"] + okf * jnp.stack([jnp.where(ok, loss, 0.0) * n, n])
        outs.update(loss=loss, learning_rate=optim.learning_rate(new_opt))
        for m in self.metrics:
            acc[m.name] = acc[m.name] + okf * batch[m.name]
            if m.scalar:
                outs[m.name] = m.compute(batch[m.name])
        new_carry = Carry(
            *new, step=carry.step + ok.astype(jnp.int32), bad=carry.bad | ~finite, acc=acc
        )
        return new_carry, outs

    def _draw(self, x_all, y_all, order, i, batch: int, width: int):
        """Batch ``i`` of an epoch ``order`` of device-resident data: ``(x, y, weights)``.

        A short last batch repeats its rows up to ``width`` with weight 0, exactly as the
        host feed pads it, so both paths compute the same numbers.
        """
        lane = jnp.arange(width)
        count = jnp.minimum(batch, order.shape[0] - i * batch)
        rows = jnp.take(order, i * batch + lane % count)
        w = (lane < count).astype(jnp.float32)
        gather = self.placement.gather_rows
        return gather(x_all, rows), gather(y_all, rows), w

    @staticmethod
    def _flat(dispatch):
        """``dispatch(carry, ...)`` as ``(leaves, treedef, ...) -> (leaves, outs)``."""

        def flat(leaves, treedef, *args, **kwargs):
            carry, outs = dispatch(jax.tree.unflatten(treedef, leaves), *args, **kwargs)
            return jax.tree.leaves(carry), outs

        return flat

    def _train_resident(self, carry, x_all, y_all, order, ids, *, batch, width, checked=True):
        def body(c, i):
            return self._step(c, *self._draw(x_all, y_all, order, i, batch, width), checked)

        return jax.lax.scan(body, carry, ids)

    def _train_stacked(self, carry, xs, ys, w):
        def body(c, b):
            return self._step(c, *b)

        return jax.lax.scan(body, carry, (xs, ys, w))

    # ---- eval ---------------------------------------------------------
    def _eval_batch(self, params, rest, acc, x, y, w):
        x = self.placement.constrain(x)
        y = self.placement.constrain(y)
        w = self.placement.constrain(w)
        loss, (pred, n) = self._loss(nnx.merge(self.gd_eval, params, rest), x, y, w)
        batch = self._batch_states(pred, y, w)
        acc = dict(acc)
        check = self._label_check(pred, y, w)
        if check is not None:  # counted on the device; the host reads it once per pass
            seen = acc["label_check"]
            first = jnp.where(seen[0] > 0, seen[1], check[1])
            acc["label_check"] = jnp.stack([seen[0] + check[0], first, check[2]])
        acc["loss"] = acc["loss"] + jnp.stack([loss * n, n])
        for m in self.metrics:
            acc[m.name] = acc[m.name] + batch[m.name]
        return acc

    def _eval_resident(self, params, rest, acc, x_all, y_all, order, ids, *, batch, width):
        def body(a, i):
            return self._eval_batch(
                params, rest, a, *self._draw(x_all, y_all, order, i, batch, width)
            ), None

        return jax.lax.scan(body, acc, ids)[0]

    def _eval_stacked(self, params, rest, acc, xs, ys, w):
        def body(a, b):
            return self._eval_batch(params, rest, a, *b), None

        return jax.lax.scan(body, acc, (xs, ys, w))[0]

    # ---- host side ----------------------------------------------------
    def evaluate(self, params, rest, src, acc):
        """Accumulate metrics over one pass of a source; returns the device accumulators."""
        if src.indexed:
            (chunk,) = src.chunks(1, None, 1 << 30)  # every batch in one dispatch
            args, static = src.inputs(chunk)
            return self.eval_resident(params, rest, acc, *args, **static)
        with contextlib.closing(prefetch(src.chunks(1, None, 64))) as chunks:
            for chunk in chunks:
                acc = self.eval_stacked(params, rest, acc, chunk.xs, chunk.ys, chunk.w)
        return acc

    def summarize(self, acc_host) -> tuple[dict[str, float], object]:
        """Epoch values from :meth:`fetch`'s host accumulators: (scalars, confusion matrix)."""
        import numpy as np

        out = {}
        s = acc_host["loss"]
        if s[1] > 0:
            out["loss"] = float(s[0] / s[1])
        cm = None
        for m in self.metrics:
            if m.scalar:
                out[m.name] = float(acc_host[m.name])
            else:
                cm = np.rint(np.asarray(acc_host[m.name])).astype(np.int64)
        return out, cm
