"""``train.Trainer`` (also ``train.trainer``): the chained configuration of a training loop.

The shape of Elixir's Axon.Loop: every configuring method returns the loop.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from flax import nnx

from kino.contracts import check_bool, check_int, check_str, fail
from kino.train import losses, metrics, optim
from kino.train.callbacks import (
    Callback,
    Checkpoint,
    EarlyStopping,
    ReduceLROnPlateau,
    resolve_mode,
)
from kino.train.checkpoint import CheckpointStore, describe_run, differences, run_record
from kino.train.events import Handler, Handlers
from kino.train.prepare import check_devices
from kino.train.run import Result, Run, TrainState


class Trainer:
    """A training loop for an ``nnx.Module``; every configuring method returns the loop.

    ``loss``: a name (``train.LOSSES``) or ``fn(y_pred, y_true)``. ``optimizer``: a name
    (``train.OPTIMIZERS``, built with ``learning_rate``) or an optax transformation.
    ``from_logits=False`` when the model ends in softmax/sigmoid. ``devices``: the devices to
    shard batches over (default: all of ``jax.devices()``). ``train.trainer`` is the same class.

    Example:
        >>> import numpy as np
        >>> from flax import nnx
        >>> from kino import train
        >>> model = nnx.Linear(3, 1, rngs=nnx.Rngs(0))
        >>> x = np.random.default_rng(0).normal(size=(64, 3)).astype("float32")
        >>> y = x.sum(1, keepdims=True)
        >>> result = train.trainer(model, "mse", "sgd").metric("mae").run((x, y), epochs=2)
        >>> result.status, result.history.columns
        ('completed', ['epoch', 'loss', 'mean_absolute_error'])
        >>> loop = train.trainer(model, "mse", "adam", learning_rate=1e-2)
        >>> loop.metric("mae") is loop
        True
    """

    def __init__(
        self,
        model: nnx.Module,
        loss: str | Callable,
        optimizer="adam",
        *,
        learning_rate=None,
        seed: int = 0,
        from_logits: bool = True,
        devices=None,
    ):
        func = "train.Trainer"
        if not isinstance(model, nnx.Module):
            fail(func, "model", "a flax.nnx.Module", model)
        self.model = model
        self.seed = check_int(seed, func=func, argument="seed")
        self.from_logits = check_bool(from_logits, func=func, argument="from_logits")
        self.loss = losses.resolve(loss, from_logits=self.from_logits)
        self.optimizer = optim.resolve(optimizer, learning_rate, func=func)
        self._learning_rate = learning_rate
        self.devices = check_devices(devices, func=func)
        self.metrics: list[metrics.Metric] = []
        self.validation = None
        self.validation_batch_size = 256
        self.handlers = Handlers()
        self.penalty: Callable | None = None
        self._callbacks: list[Callback] = []
        self._program = None
        self._run: Run | None = None

    # ---- configuration ----------------------------------------------------
    def metric(self, metric: str | Callable, name: str | None = None) -> Trainer:
        """Track a metric, a name (``train.METRICS``) or ``fn(y_pred, y_true)``; returns loop.

        ``name``: the column it is reported under; ``None`` (the default) means the metric's
        own name (the canonical name of a built-in one, the function's ``__name__``).
        """
        func = "train.Trainer.metric"
        if not isinstance(metric, str | metrics.Metric) and not callable(metric):
            fail(func, "metric", "a metric name (train.METRICS) or fn(y_pred, y_true)", metric)
        allowed = "a non-empty str or None (the metric's own name)"
        check_str(name, func=func, argument="name", allowed=allowed, allow_none=True)
        if name is not None and not name.strip():
            fail(func, "name", allowed, name, ValueError)
        m = metrics.resolve(metric, from_logits=self.from_logits, name=name)
        if m.name in {x.name for x in self.metrics} or m.name == "loss":
            raise ValueError(f"metric {m.name!r} is already tracked; pass name= to track it twice")
        self.metrics.append(m)
        self._program = None
        return self

    def validate(self, data, batch_size: int = 256) -> Trainer:
        """Evaluate on ``data`` after each epoch: adds validation_loss and validation_<metric>."""
        from kino.train.data import wrap

        self.validation_batch_size = check_int(
            batch_size, func="train.Trainer.validate", argument="batch_size", min=1
        )
        self.validation = wrap(
            data, batch_size=batch_size, shuffle=False, seed=0, func="train.Trainer.validate"
        )
        return self

    def regularize(self, penalty: Callable) -> Trainer:
        """Add ``penalty(model) -> scalar`` (e.g. an L2 term) to the training/validation loss."""
        if not callable(penalty):
            fail(
                "train.Trainer.regularize",
                "penalty",
                "a function penalty(model) -> scalar",
                penalty,
            )
        self.penalty = penalty
        self._program = None
        return self

    def handle(self, event: str, fn: Callable, every: int = 1) -> Trainer:
        """Call ``fn(state: LoopState)`` on ``event``, every ``every``-th time; returns the loop.

        Under ``jax.distributed`` it runs in process 0 only (widgets, dashboards, printing);
        a halt it returns stops every process at the same step.
        """
        self.handlers.add(Handler(event, fn, every))
        return self

    def early_stopping(
        self,
        monitor: str = "validation_loss",
        patience: int = 5,
        mode: str = "auto",
        min_delta: float = 0.0,
        restore_best: bool = True,
    ) -> Trainer:
        """Halt when ``monitor`` stops improving for ``patience`` epochs; keep the best state."""
        cb = EarlyStopping(monitor, patience, mode, min_delta, restore_best)
        return self._builtin(cb)

    def reduce_lr_on_plateau(
        self,
        monitor: str = "validation_loss",
        factor: float = 0.1,
        patience: int = 3,
        mode: str = "auto",
        min_delta: float = 0.0,
        min_lr: float = 0.0,
        cooldown: int = 0,
    ) -> Trainer:
        """Multiply the learning rate by ``factor`` after ``patience`` epochs with no progress."""
        return self._builtin(
            ReduceLROnPlateau(monitor, factor, patience, mode, min_delta, min_lr, cooldown)
        )

    def checkpoint(
        self,
        directory,
        keep: int = 3,
        monitor: str | None = None,
        mode: str = "auto",
        every: int = 1,
        overwrite: bool = False,
    ) -> Trainer:
        """Write atomic orbax checkpoints to ``directory``; keep the ``keep`` best by monitor.

        Without a monitor the ``keep`` newest are kept. The directory must be writable (checked
        now) and, for a fresh run, empty: ``overwrite=True`` replaces what is there once the
        run has written its first checkpoint. A resumed run may continue its own checkpoints.
        """
        func = "train.Trainer.checkpoint"
        check_str(
            monitor, func=func, argument="monitor", allowed="a metric name or None", allow_none=True
        )
        mode = resolve_mode(mode, monitor or "loss", func=func)
        store = CheckpointStore(directory, keep, monitor, mode, overwrite=overwrite)
        store.check_writable(func)
        return self._builtin(Checkpoint(store, every))

    def _builtin(self, cb: Callback) -> Trainer:
        self._callbacks.append(cb)
        self.handlers.add(Handler("epoch_completed", cb, everywhere=True))
        return self

    def restore(
        self, directory, epoch: int | None = None, monitor: str | None = None, mode: str = "auto"
    ) -> TrainState:
        """Load a checkpoint of this loop: ``epoch``, the best by ``monitor``, or the newest.

        Example: ``state = loop.restore("checkpoints/", monitor="validation_loss")``.
        """
        from kino.train.prepare import graphdefs

        check_str(
            monitor,
            func="train.Trainer.restore",
            argument="monitor",
            allowed="a metric name or None",
            allow_none=True,
        )
        mode = resolve_mode(mode, monitor or "loss", func="train.Trainer.restore")
        store = CheckpointStore(directory, monitor=monitor, mode=mode)
        if epoch is None:
            epoch = store.best() if monitor is not None else store.latest()
        if epoch is None:
            raise FileNotFoundError(f"no complete checkpoint in {str(directory)!r}")
        _, params, rest = nnx.split(self.model, nnx.Param, ...)
        like = (params, rest, self.optimizer.tx.init(params))
        (params, rest, opt_state), meta = store.restore(like, epoch)
        gd_train, _ = graphdefs(self.model)
        return TrainState(params, rest, opt_state, int(meta["step"]), int(meta["epoch"]), gd_train)

    # ---- running ----------------------------------------------------------
    def run_record(self) -> dict:
        """What identifies this loop's runs in their checkpoints (``CheckpointStore.run``)."""
        opt = self.optimizer.name
        if opt != "custom":
            lr = self._learning_rate
            lr = optim.DEFAULT_LEARNING_RATE.get(opt, 1e-3) if lr is None else lr
            lr = getattr(lr, "__qualname__", type(lr).__name__) if callable(lr) else float(lr)
            opt = f"{opt}(learning_rate={lr})"
        loss = self.loss.name + ("" if self.from_logits else " (from probabilities)")
        if self.penalty is not None:
            loss += " + " + getattr(self.penalty, "__qualname__", type(self.penalty).__name__)
        return run_record(self.model, loss, [m.name for m in self.metrics], opt, self.seed)

    def _check_resume_dir(self, directory, record: dict) -> None:
        store = CheckpointStore(directory)
        epoch = store.latest()
        theirs = None if epoch is None else store.writer(epoch)
        if theirs is not None and theirs.get("id") != record["id"]:
            raise ValueError(
                f"train.Trainer.run: resume={str(directory)!r} holds checkpoints (newest: epoch "
                f"{epoch}) written by another run, {describe_run(theirs)}; this loop is "
                f"{describe_run(record)}. They differ in {differences(theirs, record)}. Resume "
                "with the loop that wrote them, or run without resume= to start afresh"
            )

    @property
    def current_run(self) -> Run | None:
        """The active run, if any."""
        run = self._run
        return run if run is not None and not run.done else None

    def run(
        self,
        data,
        epochs: int = 1,
        iterations: int | None = None,
        *,
        background: bool = False,
        resume=None,
        steps_per_dispatch: int = 32,
        batch_size: int = 32,
        data_on_device: bool | None = None,
        device_budget: float = 0.5,
    ) -> Result | Run:
        """Train; blocks and returns a Result, or with ``background=True`` returns a Run at once.

        ``data``: ``train.batches(...)``, an ``(x, y)`` pair of arrays (batched with ``batch_size``,
        shuffled with the loop's seed) or an iterable of ``(x, y)`` batches. ``epochs`` is the total
        number of epochs, counted from the start of training also when resuming. ``iterations``
        caps the steps per epoch. ``resume``: a checkpoint directory, a Result or a TrainState.
        ``steps_per_dispatch``: steps fused into one ``lax.scan`` dispatch.
        ``data_on_device``: ``None`` keeps arrays that fit ``device_budget`` (a fraction of the
        devices' free memory) on the device for the whole run, batches drawn there by index in
        an order made on the device from the seed; ``True``/``False`` force that path or the
        host feed. ``Result.data_on_device`` says which path ran.
        """
        from kino.train.runner import Runner

        if self.current_run is not None:
            raise RuntimeError(
                "this loop is already running; call loop.current_run.stop() or wait()"
            )
        record = self.run_record()
        if isinstance(resume, str | os.PathLike):
            self._check_resume_dir(resume, record)
        for cb in self._callbacks:
            if isinstance(cb, Checkpoint):
                cb.store.begin(record, resuming=resume is not None)
        runner = Runner(
            self,
            data,
            epochs=epochs,
            iterations=iterations,
            resume=resume,
            steps_per_dispatch=steps_per_dispatch,
            batch_size=batch_size,
            background=background,
            data_on_device=data_on_device,
            device_budget=device_budget,
        )
        run = runner.run_handle
        self._run = run
        if not background:
            return runner.execute()
        import threading

        run.thread = threading.Thread(
            target=runner.execute_in_thread, name="kino-train", daemon=True
        )
        run.thread.start()
        return run


trainer = Trainer
"""``train.trainer(model, loss, optimizer, ...)``: the same as ``train.Trainer``."""
