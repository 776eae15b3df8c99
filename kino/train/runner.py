"""Executing one run: the host loop around the compiled dispatches.

The host never waits for the dispatch it just issued: it issues dispatch i+1,
then fetches the per-step values of dispatch i (already finished or finishing)
and fires their ``iteration_completed`` handlers. Epoch metrics stay on the
device until the epoch ends. Stop requests, interrupts and halts are honoured
at dispatch boundaries, so the returned state is always a whole dispatch.
"""

from __future__ import annotations

import math
import signal
import threading
import time
from collections import OrderedDict

import jax
import jax.numpy as jnp
import numpy as np
import polars as pl
from flax import nnx

from kino.train import data as data_mod
from kino.train import metrics as metrics_mod
from kino.train import optim
from kino.train.callbacks import Checkpoint, EarlyStopping, ReduceLROnPlateau
from kino.train.checkpoint import CheckpointStore
from kino.train.events import HALT_EPOCH, HALT_LOOP, Halt, LoopState
from kino.train.run import Result, Run, TrainState
from kino.train.sharding import Placement
from kino.train.steps import Program


def _positive_int(value, name: str, allow_none: bool = False):
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ValueError(f"{name} must be an int >= 1, got {value!r}")
    return int(value)


def graphdefs(model: nnx.Module):
    """Train- and eval-mode graph definitions of a model (its own mode untouched)."""
    t = nnx.clone(model)
    t.train()
    e = nnx.clone(model)
    e.eval()
    return nnx.split(t, nnx.Param, ...)[0], nnx.split(e, nnx.Param, ...)[0]


def output_struct(gd, params, rest, x):
    """Shape of the model output for one batch (traced, never compiled)."""
    struct = jax.ShapeDtypeStruct(x.shape, x.dtype)
    try:
        return jax.eval_shape(lambda p, r, a: nnx.merge(gd, p, r)(a), params, rest, struct)
    except Exception as exc:
        raise ValueError(
            f"the model cannot be applied to a batch of x with shape {x.shape} ({x.dtype}): {exc}"
        ) from exc


PROGRAM_CACHE_SIZE = 16
"""Compiled programs kept across trainers (a re-run cell with the same model reuses them)."""

_programs: OrderedDict = OrderedDict()


def _cached_program(key: tuple, make) -> Program:
    """The Program cached under ``key``, made with ``make()`` the first time (LRU)."""
    program = _programs.get(key)
    if program is None:
        program = _programs[key] = make()
        while len(_programs) > PROGRAM_CACHE_SIZE:
            _programs.popitem(last=False)
    _programs.move_to_end(key)
    return program


def program_for(loop, gd_train, gd_eval, placement) -> Program:
    """The cached Program for this configuration (same graph, loss, metrics, optimizer, devices)."""
    opt = loop.optimizer
    # a named optimizer keeps a numeric learning rate in its state, so it is not part of the key
    opt_key = opt.name if opt.name != "custom" and not callable(opt.learning_rate) else opt.tx
    key = (
        gd_train,
        gd_eval,
        loop.loss,
        tuple(m.key or m for m in loop.metrics),
        opt_key,
        loop.penalty,
        tuple(placement.devices),
    )
    program = _cached_program(
        key,
        lambda: Program(
            gd_train,
            gd_eval,
            loop.loss,
            loop.metrics,
            opt.tx,
            opt.learning_rate,
            loop.penalty,
            placement,
        ),
    )
    loop._program = program
    return program


def eval_program_for(gd_eval, loss, metrics, placement) -> Program:
    """The cached evaluation-only Program."""
    key = ("eval", gd_eval, loss, tuple(m.key or m for m in metrics), tuple(placement.devices))
    return _cached_program(
        key, lambda: Program(gd_eval, gd_eval, loss, metrics, None, None, None, placement)
    )


class Runner:
    """One run of a Trainer (foreground or in a thread)."""

    def __init__(
        self, loop, data, epochs, iterations, resume, steps_per_dispatch, batch_size, background
    ):
        self.loop = loop
        self.epochs = _positive_int(epochs, "epochs")
        self.iterations = _positive_int(iterations, "iterations", allow_none=True)
        self.k = _positive_int(steps_per_dispatch, "steps_per_dispatch")
        self.background = background
        self.run_handle = Run()
        self.placement = Placement(loop.devices)
        wrapped = data_mod.wrap(
            data, batch_size=batch_size, shuffle=True, seed=loop.seed, name="data"
        )
        self.src = data_mod.source(wrapped, self.placement, self.epochs)
        self.val_src = None
        if loop.validation is not None:
            self.val_src = data_mod.source(loop.validation, self.placement, self.epochs)
        self._prepare(resume)

    # ---- preparation: every check happens here, before any compilation -------
    def _prepare(self, resume) -> None:
        loop = self.loop
        gd_train, gd_eval = graphdefs(loop.model)
        _, params, rest = nnx.split(loop.model, nnx.Param, ...)
        x, y = self.src.example()
        pred = output_struct(gd_train, params, rest, x)
        y_struct = jax.ShapeDtypeStruct(y.shape, y.dtype)
        loop.loss.check(pred, y_struct)
        for m in loop.metrics:
            metrics_mod.check(m, pred, y_struct)
        if self.val_src is not None:
            vx, vy = self.val_src.example()
            if vx.shape[1:] != x.shape[1:] or vy.shape[1:] != y.shape[1:]:
                raise ValueError(
                    f"validation batches have x {vx.shape[1:]} and y {vy.shape[1:]} per example, "
                    f"but training batches have x {x.shape[1:]} and y {y.shape[1:]}"
                )
        names = ["loss"] + [m.name for m in loop.metrics if m.scalar]
        produced = names + (["validation_" + n for n in names] if self.val_src is not None else [])
        for cb in loop._builtins:
            monitor = cb.monitor
            if monitor is not None and monitor not in produced:
                raise ValueError(
                    f"monitor {monitor!r} is not produced by this loop; "
                    f"available: {', '.join(produced)}"
                    + (
                        ""
                        if self.val_src is not None
                        else " (validation_* needs loop.validate(data))"
                    )
                )
        self.scalar_names = names
        self.program = program_for(loop, gd_train, gd_eval, self.placement)
        self.gd_train = gd_train
        self.pred_struct = pred
        self.y_struct = y_struct
        params = self.placement.replicate(params)
        rest = self.placement.replicate(rest)
        opt_state = self.placement.replicate(loop.optimizer.tx.init(params))
        self.start_epoch = 0
        self.start_step = 0
        self.history: list[dict] = []
        self.callback_states = None
        if resume is not None:
            params, rest, opt_state = self._resume(resume, params, rest, opt_state)
        self.carry = {
            "params": params,
            "rest": rest,
            "opt_state": opt_state,
            "step": self.placement.replicate(jnp.asarray(self.start_step, jnp.int32)),
            "bad": self.placement.replicate(jnp.asarray(False)),
            "acc": None,
        }

    def _resume(self, resume, params, rest, opt_state):
        if isinstance(resume, Result):
            if resume.state is None:
                raise ValueError(f"resume: that run ended without a state ({resume.reason})")
            self.history = resume.history.to_dicts()
            resume = resume.state
        if isinstance(resume, TrainState):
            opt = opt_state if resume.opt_state is None else resume.opt_state
            tree = self.placement.replicate((resume.params, resume.rest, opt))
            self.start_epoch, self.start_step = resume.epoch, resume.step
            got = tree
        else:
            store = CheckpointStore(resume)
            if store.latest() is None:
                raise ValueError(
                    f"resume={str(resume)!r}: no complete checkpoint in that directory"
                )
            got, meta = store.restore((params, rest, opt_state))
            self.start_epoch, self.start_step = int(meta["epoch"]), int(meta["step"])
            self.history = list(meta.get("history", []))
            self.callback_states = meta.get("callbacks")
        if self.start_epoch >= self.epochs:
            raise ValueError(
                f"epochs={self.epochs}, but the state to resume already finished epoch "
                f"{self.start_epoch}; "
                "epochs counts from the start of training"
            )
        return got

    # ---- helpers used by handlers ---------------------------------------------
    def remember_best(self) -> None:
        c = self.carry
        self.best = jax.tree.map(jnp.copy, (c["params"], c["rest"], c["opt_state"], c["step"]))
        self.best_epoch = self.epoch

    def scale_learning_rate(self, factor: float, min_lr: float) -> None:
        opt_state = self.carry["opt_state"]
        old = float(jax.device_get(optim.factor(opt_state)))
        lr = float(
            jax.device_get(optim.learning_rate(opt_state, self.loop.optimizer.learning_rate))
        )
        new = old * factor
        if min_lr > 0 and lr > 0:
            new = max(new, old * min_lr / lr)
        self.carry["opt_state"] = optim.with_factor(opt_state, new)
        self.lr = lr * new / old

    def save_checkpoint(self, store: CheckpointStore) -> None:
        c = self.carry
        meta = {
            "epoch": self.epoch,
            "step": self.step,
            "metrics": self.epoch_metrics,
            "history": self.history,
            "callbacks": [cb.state_dict() for cb in self.loop._builtins],
        }
        path = store.save(self.epoch, (c["params"], c["rest"], c["opt_state"]), meta)
        self.fire("checkpointed", checkpoint_path=str(path), metrics=self.epoch_metrics)

    # ---- the loop -----------------------------------------------------------------
    def _state(self, event: str, **kw) -> LoopState:
        fields = {
            "event": event,
            "status": self.status,
            "reason": self.reason,
            "epoch": self.epoch,
            "epochs": self.epochs,
            "iteration": self.iteration,
            "iterations": self.per_epoch,
            "step": self.step,
            "total_steps": None if self.per_epoch is None else self.per_epoch * self.epochs,
            "metrics": {},
            "learning_rate": self.lr,
            "elapsed": time.perf_counter() - self.t0,
            "steps_per_second": self.rate,
            "history": self.history_frame,
            "confusion_matrix": None,
            "run": self.run_handle,
        }
        fields.update(kw)
        return LoopState(**fields)

    def fire(self, event: str, **kw) -> Halt | None:
        state = self._state(event, **kw)
        self.run_handle.progress = state
        return self.loop.handlers.fire(event, lambda: state)

    def _frame(self) -> pl.DataFrame:
        if not self.history:
            return pl.DataFrame({"epoch": pl.Series([], dtype=pl.Int64)})
        return pl.DataFrame(self.history)

    def _dispatch(self, chunk):
        p = self.program
        if chunk.idx is not None:
            self.carry, outs = p.train_indexed(
                self.carry, self.src.x, self.src.y, chunk.idx, chunk.w
            )
        else:
            self.carry, outs = p.train_stacked(self.carry, chunk.xs, chunk.ys, chunk.w)
        return outs

    def _process(self, outs, k: int, allow_halt: bool) -> Halt | None:
        """Deliver one finished dispatch's per-step values; detect a non-finite loss."""
        host = jax.device_get(outs)
        now = time.perf_counter()
        self.rate = k / max(now - self.t_last, 1e-9)
        self.t_last = now
        strongest = None
        listen = self.loop.handlers.any("iteration_completed")
        for j in range(k):
            loss = float(host["loss"][j])
            if not math.isfinite(loss):
                self.nan = (
                    f"loss became {loss} at step {self.step + 1} "
                    f"(epoch {self.epoch}, iteration {self.iteration + 1}); "
                    f"the state is the last finite one, after step {self.step}"
                )
                return Halt(HALT_LOOP, self.nan)
            self.step += 1
            self.iteration += 1
            self.lr = float(host["learning_rate"][j])
            if listen:
                values = {n: float(host[n][j]) for n in self.scalar_names}
                halt = self.fire("iteration_completed", metrics=values)
                if (
                    allow_halt
                    and halt is not None
                    and (strongest is None or halt.action == HALT_LOOP)
                ):
                    strongest = halt
        if not listen:
            last = {n: float(host[n][k - 1]) for n in self.scalar_names}
            self.run_handle.progress = self._state("iteration_completed", metrics=last)
        return strongest

    def _flags(self) -> str | None:
        if self.run_handle._interrupt.is_set():
            return "interrupted"
        if self.run_handle.stop_requested:
            return "stopped"
        return None

    def execute_in_thread(self) -> None:
        try:
            self.execute()
        except BaseException as exc:  # delivered to Run.wait()
            self.run_handle._finish(None, exc)

    def execute(self) -> Result:
        previous = None
        if threading.current_thread() is threading.main_thread():
            previous = signal.getsignal(signal.SIGINT)

            def on_sigint(signum, frame):
                if self.run_handle._interrupt.is_set():
                    raise KeyboardInterrupt
                self.run_handle._interrupt.set()

            signal.signal(signal.SIGINT, on_sigint)
        try:
            result = self._execute()
        except BaseException as exc:
            self.run_handle._finish(None, exc)
            raise
        finally:
            if previous is not None:
                signal.signal(signal.SIGINT, previous)
        self.run_handle._finish(result)
        return result

    def _execute(self) -> Result:
        loop = self.loop
        self.status, self.reason = "running", None
        self.epoch, self.iteration, self.step = self.start_epoch, 0, self.start_step
        length = len(self.src)
        self.per_epoch = (
            None
            if length is None
            else (length if self.iterations is None else min(length, self.iterations))
        )
        self.t0 = self.t_last = time.perf_counter()
        self.rate = 0.0
        self.nan = None
        self.best = None
        self.epoch_metrics: dict = {}
        self.confusion = None
        self.history_frame = self._frame()
        self.lr = float(
            jax.device_get(
                optim.learning_rate(self.carry["opt_state"], loop.optimizer.learning_rate)
            )
        )
        loop.handlers.reset()
        for cb in loop._builtins:
            cb.runner = self
        if self.callback_states is not None:
            for cb, st in zip(loop._builtins, self.callback_states, strict=False):
                cb.load_state_dict(st)
        else:
            for cb in loop._builtins:
                if isinstance(cb, EarlyStopping | ReduceLROnPlateau):
                    cb.best, cb.best_epoch, cb.wait = None, 0, 0
                if isinstance(cb, ReduceLROnPlateau):
                    cb.cooling = 0
        try:
            self._epochs()
        except KeyboardInterrupt:
            self.status, self.reason = "interrupted", "interrupted by KeyboardInterrupt"
        return self._finish()

    def _epochs(self) -> None:
        halt = self.fire("started")
        if halt is not None and halt.action == HALT_LOOP:
            self.status, self.reason = "halted", halt.reason
            return
        for epoch in range(self.start_epoch + 1, self.epochs + 1):
            flag = self._flags()
            if flag:
                self._set_flag(flag)
                return
            self.epoch, self.iteration = epoch, 0
            halt = self.fire("epoch_started")
            if halt is not None and halt.action == HALT_LOOP:
                self.status, self.reason = "halted", halt.reason
                return
            skip = halt is not None and halt.action == HALT_EPOCH
            self.carry["acc"] = self.program.zero_acc(self.pred_struct, self.y_struct)
            ended = None if skip else self._iterate(epoch)
            if ended is not None:
                return
            self._epoch_end()
            if self.status != "running":
                return

    def _set_flag(self, flag: str) -> None:
        self.status = flag
        self.reason = (
            "stopped by Run.stop()" if flag == "stopped" else "interrupted by KeyboardInterrupt"
        )

    def _iterate(self, epoch: int) -> str | None:
        """Run an epoch's dispatches; returns a status when the run must end now."""
        pending = None
        end_epoch = False
        for chunk in self.src.chunks(epoch, self.iterations, self.k):
            flag = self._flags()
            if flag:
                self._set_flag(flag)
                break
            outs = self._dispatch(chunk)
            if pending is not None:
                halt = self._process(*pending, allow_halt=True)
                if self.nan:
                    pending = None
                    break
                if halt is not None:
                    if halt.action == HALT_LOOP:
                        self.status, self.reason = "halted", halt.reason
                    else:
                        end_epoch = True
            pending = (outs, chunk.k)
            if self.status != "running" or end_epoch:
                break
        if pending is not None and not self.nan:
            halt = self._process(*pending, allow_halt=self.status == "running" and not end_epoch)
            if halt is not None and halt.action == HALT_LOOP and not self.nan:
                self.status, self.reason = "halted", halt.reason
        if self.nan:
            self.status, self.reason = "halted", self.nan
        return None if self.status == "running" else self.status

    def _epoch_end(self) -> None:
        acc = jax.device_get(self.carry["acc"])
        train, cm = self.program.summarize(acc)
        values = dict(train)
        if self.val_src is not None:
            c = self.carry
            vacc = self.program.zero_acc(self.pred_struct, self.y_struct)
            vacc = self.program.evaluate(c["params"], c["rest"], self.val_src, vacc)
            val, vcm = self.program.summarize(jax.device_get(vacc))
            values.update({"validation_" + k: v for k, v in val.items()})
            cm = vcm
        self.epoch_metrics = values
        self.confusion = cm
        self.history.append({"epoch": self.epoch, **values})
        self.history_frame = self._frame()
        halts = []
        if self.val_src is not None:
            halts.append(self.fire("validated", metrics=dict(values), confusion_matrix=cm))
        halts.append(self.fire("epoch_completed", metrics=dict(values), confusion_matrix=cm))
        for halt in halts:
            if halt is not None and halt.action == HALT_LOOP:
                self.status, self.reason = "halted", halt.reason
                return

    def _finish(self) -> Result:
        loop = self.loop
        if self.status == "running":
            self.status = "completed"
        c = self.carry
        state = None
        leaves = jax.tree.leaves((c["params"], c["rest"], c["opt_state"]))
        if not any(getattr(a, "is_deleted", lambda: False)() for a in leaves):
            params, rest, opt_state, step = c["params"], c["rest"], c["opt_state"], c["step"]
            epoch = (
                self.epoch
                if self.history and self.history[-1]["epoch"] == self.epoch
                else self.epoch - 1
            )
            if self.best is not None:
                params, rest, opt_state, step = self.best
                epoch = self.best_epoch
            jax.block_until_ready((params, rest, opt_state))
            state = TrainState(
                params, rest, opt_state, int(jax.device_get(step)), max(epoch, 0), self.gd_train
            )
            nnx.update(loop.model, params, rest)
        elif self.reason is not None:
            self.reason += " (the state was lost: the interrupt arrived during a dispatch)"
        last = {"metrics": dict(self.epoch_metrics), "confusion_matrix": self.confusion}
        if self.status != "completed":
            self.fire("halted", **last)
        self.fire("completed", **last)
        return Result(
            self.status,
            self.reason,
            state,
            self.history_frame,
            dict(self.epoch_metrics),
            self.confusion,
        )


__all__ = ["Checkpoint", "Runner", "graphdefs"]
