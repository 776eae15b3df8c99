"""Executing one run: the host loop around the compiled dispatches.

The host never waits for the dispatch it just issued: it issues dispatch i+1,
then fetches the per-step values of dispatch i (already finished or finishing)
and fires their ``iteration_completed`` handlers. Epoch metrics stay on the
device until the epoch ends. Stop requests, interrupts and halts are honoured
at dispatch boundaries, so the returned state is always a whole dispatch.

A handler that raises, or a checkpoint that cannot be written, ends the run
with status "failed": the state after the last epoch whose handlers all ran
(a copy kept at each epoch end) is applied to the model and returned, with
the exception as ``Result.error``. Any other exception (the data's own, a
compilation error) is re-raised unchanged, after that same state is applied
to the model.
"""

from __future__ import annotations

import contextlib
import logging
import math
import signal
import threading
import time

import jax
import jax.numpy as jnp
import polars as pl
from flax import nnx

from kino.contracts import check_int
from kino.train import optim
from kino.train.checkpoint import CheckpointStore
from kino.train.events import (
    HALT_EPOCH,
    HALT_LOOP,
    Halt,
    HandlerError,
    KeepBest,
    LoopState,
    SaveCheckpoint,
    ScaleLearningRate,
    stronger,
)
from kino.train.feed import check_feed, source
from kino.train.prefetch import prefetch
from kino.train.prepare import prepare, train_program
from kino.train.resident import DEVICE_MEMORY_FRACTION
from kino.train.run import Result, Run, TrainState
from kino.train.steps import Carry

RUN = "train.Trainer.run"

log = logging.getLogger("kino")


class _Failed(Exception):
    """Something the run did for a handler failed (a checkpoint write); ends it as "failed"."""

    def __init__(self, reason: str, error: Exception):
        super().__init__(reason)
        self.reason, self.error = reason, error


class Runner:
    """One run of a Trainer (foreground or in a thread); built by ``Trainer.run``.

    Everything after ``loop`` and ``data`` is keyword-only: the arguments of ``run``
    under the same names, so a call site reads like the user's call.

    Example:
        >>> import numpy as np
        >>> from flax import nnx
        >>> from kino import train
        >>> loop = train.trainer(nnx.Linear(2, 2, rngs=nnx.Rngs(0)),
        ...                      "sparse_categorical_cross_entropy", "sgd")
        >>> data = (np.zeros((8, 2), "float32"), np.zeros(8, "int32"))
        >>> Runner(loop, data, epochs=1, batch_size=4).execute().status
        'completed'
    """

    def __init__(
        self,
        loop,
        data,
        *,
        epochs: int,
        iterations: int | None = None,
        resume=None,
        steps_per_dispatch: int = 32,
        batch_size: int = 32,
        background: bool = False,
        data_on_device: bool | None = None,
        device_budget: float = DEVICE_MEMORY_FRACTION,
    ):
        self.loop = loop
        self.epochs = check_int(epochs, func=RUN, argument="epochs", min=1)
        self.iterations = check_int(
            iterations, func=RUN, argument="iterations", min=1, allow_none=True
        )
        self.k = check_int(steps_per_dispatch, func=RUN, argument="steps_per_dispatch", min=1)
        batch_size = check_int(batch_size, func=RUN, argument="batch_size", min=1)
        data_on_device, device_budget = check_feed(data_on_device, device_budget, func=RUN)
        self.background = background
        self.run_handle = Run()
        # every check happens here, before any compilation
        prep = prepare(
            loop.model,
            data,
            loss=loop.loss,
            metrics=loop.metrics,
            devices=loop.devices,
            batch_size=batch_size,
            shuffle=True,
            seed=loop.seed,
            epochs=self.epochs,
            data_on_device=data_on_device,
            device_budget=device_budget,
            func=RUN,
        )
        self.placement, self.src = prep.placement, prep.src
        self.val_src = None
        if loop.validation is not None:
            self.val_src = source(
                loop.validation,
                self.placement,
                self.epochs,
                data_on_device=False if data_on_device is False else None,
                device_budget=device_budget,
            )
            self._check_validation(prep)
        self.scalar_names = ["loss"] + [m.name for m in loop.metrics if m.scalar]
        self._check_monitors()
        self.program = loop._program = train_program(
            prep, loop.loss, loop.metrics, loop.optimizer, loop.penalty
        )
        self.gd_train = prep.gd_train
        self.pred_struct, self.y_struct = prep.pred_struct, prep.y_struct
        # resident labels are checked once here; only data with a bad one is checked per step
        self.check_labels = not (
            self.src.on_device
            and self.program.labels_in_range(
                self.src.y, self.src.n, self.pred_struct, self.y_struct
            )
        )
        params = self.placement.replicate(prep.params)
        rest = self.placement.replicate(prep.rest)
        opt_state = self.placement.replicate(loop.optimizer.tx.init(params))
        self.start_epoch = 0
        self.start_step = 0
        self.history: list[dict] = []
        self.callback_states = None
        if resume is not None:
            params, rest, opt_state = self._resume(resume, params, rest, opt_state)
        self.carry = Carry(
            params,
            rest,
            opt_state,
            step=self.placement.replicate(jnp.asarray(self.start_step, jnp.int32)),
            bad=self.placement.replicate(jnp.asarray(False)),
        )

    def _check_validation(self, prep) -> None:
        x, y = prep.example
        vx, vy = self.val_src.example()
        if vx.shape[1:] != x.shape[1:] or vy.shape[1:] != y.shape[1:]:
            raise ValueError(
                f"validation batches have x {vx.shape[1:]} and y {vy.shape[1:]} per example, "
                f"but training batches have x {x.shape[1:]} and y {y.shape[1:]}"
            )

    def _check_monitors(self) -> None:
        names = self.scalar_names
        produced = names + (["validation_" + n for n in names] if self.val_src is not None else [])
        for cb in self.loop._callbacks:
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

    # ---- what handlers ask for (intents) ---------------------------------------
    def _apply(self, intent) -> Halt | None:
        """Do what an ``epoch_completed`` handler asked for; a checkpoint's handlers may halt."""
        if isinstance(intent, KeepBest):
            self._keep_best()
        elif isinstance(intent, ScaleLearningRate):
            self._scale_learning_rate(intent.factor, intent.min_lr)
        elif isinstance(intent, SaveCheckpoint):
            return self._save_checkpoint(intent.store)
        return None

    def _snapshot(self) -> tuple:
        """A device copy of the trained state (the carry itself is donated to the next step)."""
        c = self.carry
        return self.program.copy((c.params, c.rest, c.opt_state, c.step))

    def _keep_best(self) -> None:
        self.best = self._snapshot()
        self.best_epoch = self.epoch

    def _scale_learning_rate(self, factor: float, min_lr: float) -> None:
        opt_state = self.carry.opt_state
        old, lr = (
            float(v) for v in jax.device_get((opt_state.factor, optim.learning_rate(opt_state)))
        )
        new = old * factor
        if min_lr > 0 and lr > 0:
            new = max(new, old * min_lr / lr)
        self.carry = self.carry._replace(opt_state=optim.with_factor(opt_state, new))
        self.lr = lr * new / old

    def _save_checkpoint(self, store: CheckpointStore) -> Halt | None:
        c = self.carry
        meta = {
            "epoch": self.epoch,
            "step": self.step,
            "metrics": self.epoch_metrics,
            "history": self.history,
            "callbacks": [cb.state_dict() for cb in self.loop._callbacks],
        }
        try:
            path = store.save(self.epoch, (c.params, c.rest, c.opt_state), meta)
        except Exception as exc:
            raise _Failed(
                f"saving the checkpoint of epoch {self.epoch} to {str(store.directory)!r} "
                f"raised {type(exc).__name__}: {exc}",
                exc,
            ) from exc
        return self.fire("checkpointed", checkpoint_path=str(path), metrics=self.epoch_metrics)

    # ---- the loop -----------------------------------------------------------------
    def _state(self, event: str, **kw) -> LoopState:
        fields = self._fields(event)
        fields.update(kw)
        return LoopState.of(fields)

    def _fields(self, event: str) -> dict:
        """Every field of a :class:`LoopState` for ``event`` as the run stands now."""
        return {
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
            "compile_seconds": self.compile_s,
            "history": self.history_frame,
            "confusion_matrix": None,
            "run": self.run_handle,
            "data_on_device": self.src.on_device,
            "checkpoint_path": None,
        }

    def fire(self, event: str, **kw) -> Halt | None:
        """Call the handlers of ``event``, apply what they ask for; return the strongest halt."""
        state = self._state(event, **kw)
        self.run_handle.progress = state
        halt, intents = self.loop.handlers.fire(event, lambda: state)
        for intent in intents:
            halt = stronger(halt, self._apply(intent))
        return halt

    def _frame(self) -> pl.DataFrame:
        if not self.history:
            return pl.DataFrame({"epoch": pl.Series([], dtype=pl.Int64)})
        return pl.DataFrame(self.history)

    @property
    def carry(self) -> Carry:
        """The train state between dispatches (kept as flat leaves; rebuilt when read)."""
        if self._carry is None:
            self._carry = jax.tree.unflatten(self._treedef, self._leaves)
        return self._carry

    @carry.setter
    def carry(self, carry: Carry) -> None:
        self._carry = carry
        self._leaves, self._treedef = jax.tree.flatten(carry)

    def _dispatch(self, chunk):
        p = self.program
        if chunk.ids is not None:
            args, static = self.src.inputs(chunk)
            self._leaves, outs = p.train_resident(
                self._leaves, self._treedef, *args, **static, checked=self.check_labels
            )
        else:
            self._leaves, outs = p.train_stacked(
                self._leaves, self._treedef, chunk.xs, chunk.ys, chunk.w
            )
        self._carry = None  # the old one was donated; rebuilt from the leaves when read
        return outs

    def _process(self, outs, k: int, allow_halt: bool) -> Halt | None:
        """Deliver one finished dispatch's per-step values; detect a non-finite loss."""
        host = jax.device_get(outs)
        now = time.perf_counter()
        self.rate = k / max(now - self.t_last, 1e-9)
        self.t_last = now
        strongest = error = nan = None
        lead_only = False  # a process-0-only handler was due: agree once, for the dispatch
        handlers = self.loop.handlers
        listeners = handlers.of("iteration_completed")
        listen = bool(listeners)
        if listen:  # what stays the same for the dispatch's steps is gathered once
            fields = self._fields("iteration_completed")
            lead = handlers.lead()
        # one conversion per dispatch, not per step: plain floats for every step's values
        columns = {n: host[n].tolist() for n in self.scalar_names}
        losses, rates = columns["loss"], host["learning_rate"].tolist()
        for j in range(k):
            loss = losses[j]
            if not math.isfinite(loss):
                # a step the program refused for another reason (labels out of range) says why
                step_error = getattr(self.program, "step_error", None)
                why = step_error(host, j) if step_error is not None else None
                where = (
                    f"at step {self.step + 1} (epoch {self.epoch}, iteration {self.iteration + 1})"
                )
                self.nan = (
                    f"{why} {where}; the state is the last good one, after step {self.step}"
                    if why
                    else f"loss became {loss} {where}; "
                    f"the state is the last finite one, after step {self.step}"
                )
                nan = Halt(HALT_LOOP, self.nan)
                break
            self.step += 1
            self.iteration += 1
            self.lr = rates[j]
            if listen:
                fields.update(
                    iteration=self.iteration,
                    step=self.step,
                    learning_rate=self.lr,
                    elapsed=time.perf_counter() - self.t0,
                    metrics={n: column[j] for n, column in columns.items()},
                )
                state = self.run_handle.progress = LoopState.of(fields)
                halt, _, error, due = handlers.fire_local(
                    "iteration_completed", lambda s=state: s, lead, listeners
                )
                lead_only |= due
                if error is not None:
                    break
                if (
                    allow_halt
                    and halt is not None
                    and (strongest is None or halt.action == HALT_LOOP)
                ):
                    strongest = halt
        if not listen and nan is None:
            last = {n: column[k - 1] for n, column in columns.items()}
            self.run_handle.progress = self._state("iteration_completed", metrics=last)
        # under jax.distributed: one broadcast of process 0's outcome per dispatch, not per step
        strongest = handlers.agree("iteration_completed", strongest, error, lead_only)
        return nan or strongest

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
        length = self.src.steps()  # None: a stream of unknown length
        self.per_epoch = (
            None
            if length is None
            else (length if self.iterations is None else min(length, self.iterations))
        )
        self.t0 = self.t_last = time.perf_counter()
        self.rate = 0.0
        self.nan = None
        self.compile_s = None
        self.best = None
        self.epoch_metrics: dict = {}
        self.confusion = None
        self.history_frame = self._frame()
        self.lr = float(jax.device_get(optim.learning_rate(self.carry.opt_state)))
        self.error = None
        self.best_epoch = 0
        self._keep_good()
        loop.handlers.reset()
        states = self.callback_states or ()
        for i, cb in enumerate(loop._callbacks):
            cb.reset()
            if i < len(states):
                cb.load_state_dict(states[i])
        try:
            self._epochs()
        except KeyboardInterrupt:
            self.status, self.reason = "interrupted", "interrupted by KeyboardInterrupt"
        except HandlerError as exc:
            self._fail(str(exc), exc.error)
        except _Failed as exc:
            self._fail(exc.reason, exc.error)
        except Exception:
            self._restore_good()  # the data's own error: re-raised as it is, no work lost
            nnx.update(loop.model, self.carry.params, self.carry.rest)
            raise
        return self._finish()

    def _keep_good(self) -> None:
        """Copy the state as it is now, at an epoch end whose handlers all ran."""
        self.good = (
            self._snapshot(),
            self.step,
            len(self.history),
            dict(self.epoch_metrics),
            self.confusion,
            self.best,
            self.best_epoch,
            self.lr,
        )
        self.good_epoch = self.epoch

    def _restore_good(self) -> None:
        (params, rest, opt_state, step), self.step, n, metrics, cm, best, best_epoch, lr = self.good
        self.carry = self.carry._replace(params=params, rest=rest, opt_state=opt_state, step=step)
        self.history = self.history[:n]
        self.history_frame = self._frame()
        self.epoch_metrics, self.confusion, self.lr = metrics, cm, lr
        self.best, self.best_epoch = best, best_epoch
        self.epoch = self.good_epoch

    def _fail(self, reason: str, error: Exception) -> None:
        """End as "failed" with the last good state; the error is kept, logged, not raised."""
        self._restore_good()
        self.status = "failed"
        self.reason = f"{reason}; the state is the one after epoch {self.good_epoch}"
        self.error = error
        log.error("kino.train: the run failed: %s", self.reason, exc_info=error)

    def _epochs(self) -> None:
        halt = self.fire("started")
        if halt is not None and halt.action == HALT_LOOP:
            self.status, self.reason = halt.status, halt.reason
            return
        for epoch in range(self.start_epoch + 1, self.epochs + 1):
            flag = self._flags()
            if flag:
                self._set_flag(flag)
                return
            self.epoch, self.iteration = epoch, 0
            halt = self.fire("epoch_started")
            if halt is not None and halt.action == HALT_LOOP:
                self.status, self.reason = halt.status, halt.reason
                return
            skip = halt is not None and halt.action == HALT_EPOCH
            self.carry = self.carry._replace(
                acc=self.program.zero_acc(self.pred_struct, self.y_struct)
            )
            ended = None if skip else self._iterate(epoch)
            if ended is not None:
                return
            self._epoch_end()
            self._keep_good()
            if self.status != "running":
                return

    def _set_flag(self, flag: str) -> None:
        self.status = flag
        self.reason = (
            "stopped by Run.stop()" if flag == "stopped" else "interrupted by KeyboardInterrupt"
        )

    def _iterate(self, epoch: int) -> str | None:
        """Run an epoch's dispatches; returns a status when the run must end now."""
        chunks = self.src.chunks(epoch, self.iterations, self.k)
        if not self.src.on_device:  # host batches: made on a thread while dispatches compute
            chunks = prefetch(chunks)
        with contextlib.closing(chunks):  # an early end stops the feed's thread now
            return self._dispatch_all(chunks)

    def _dispatch_all(self, chunks) -> str | None:
        pending = None
        end_epoch = False
        for chunk in chunks:
            flag = self._flags()
            if flag:
                self._set_flag(flag)
                break
            if self.compile_s is None:
                # the run's first dispatch call compiles (or finds its program cached): its
                # time is reported apart, and steps/s counts from its end
                t = time.perf_counter()
                outs = self._dispatch(chunk)
                self.t_last = time.perf_counter()
                self.compile_s = self.t_last - t
            else:
                outs = self._dispatch(chunk)
            if pending is not None:
                halt = self._process(*pending, allow_halt=True)
                if self.nan:
                    pending = None
                    break
                if halt is not None:
                    if halt.action == HALT_LOOP:
                        self.status, self.reason = halt.status, halt.reason
                    else:
                        end_epoch = True
            pending = (outs, chunk.k)
            if self.status != "running" or end_epoch:
                break
        if pending is not None and not self.nan:
            halt = self._process(*pending, allow_halt=self.status == "running" and not end_epoch)
            if halt is not None and halt.action == HALT_LOOP and not self.nan:
                self.status, self.reason = halt.status, halt.reason
        if self.nan:
            self.status, self.reason = "halted", self.nan
        return None if self.status == "running" else self.status

    def _epoch_end(self) -> None:
        acc = self.program.fetch(self.carry.acc)
        train, cm = self.program.summarize(acc)
        values = dict(train)
        if self.val_src is not None:
            c = self.carry
            vacc = self.program.zero_acc(self.pred_struct, self.y_struct)
            vacc = self.program.fetch(self.program.evaluate(c.params, c.rest, self.val_src, vacc))
            bad = self.program.eval_error(vacc)
            if bad is not None:  # the epoch's training is kept; its validation is meaningless
                self._refuse_validation(bad, values)
                return
            val, vcm = self.program.summarize(vacc)
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
                self.status, self.reason = halt.status, halt.reason
                return

    def _refuse_validation(self, why: str, train_values: dict) -> None:
        self.epoch_metrics = train_values
        self.history.append({"epoch": self.epoch, **train_values})
        self.history_frame = self._frame()
        self.status = "halted"
        self.reason = (
            f"validation data: {why}; the run halted after training epoch {self.epoch}, "
            "whose state is kept"
        )

    def _finish(self) -> Result:
        loop = self.loop
        if self.status == "running":
            self.status = "completed"
        c = self.carry
        state = None
        leaves = jax.tree.leaves((c.params, c.rest, c.opt_state))
        if not any(getattr(a, "is_deleted", lambda: False)() for a in leaves):
            params, rest, opt_state, step = c.params, c.rest, c.opt_state, c.step
            epoch = (
                self.good_epoch
                if self.status == "failed"
                else self.epoch
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
        for event in ("halted", "completed") if self.status != "completed" else ("completed",):
            try:
                self.fire(event, **last)
            except HandlerError as exc:  # the state is final already; the first error is kept
                if self.error is None:
                    self.status, self.reason, self.error = "failed", str(exc), exc.error
                    log.error("kino.train: the run failed: %s", self.reason, exc_info=exc.error)
                else:
                    log.error("kino.train: %s (after the run failed)", exc, exc_info=exc.error)
        return Result(
            self.status,
            self.reason,
            state,
            self.history_frame,
            dict(self.epoch_metrics),
            self.confusion,
            self.error,
            self.src.on_device,
        )


__all__ = ["Runner"]
