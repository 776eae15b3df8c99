"""``train.trainer``: the chained configuration of a training loop (Axon.Loop's shape)."""

from __future__ import annotations

from collections.abc import Callable

from flax import nnx

from kino.train import losses, metrics, optim
from kino.train.callbacks import Checkpoint, EarlyStopping, ReduceLROnPlateau, resolve_mode
from kino.train.checkpoint import CheckpointStore
from kino.train.events import Handler, Handlers
from kino.train.run import Result, Run, TrainState


class Trainer:
    """A training loop under construction; every configuring method returns the loop.

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
        if not isinstance(model, nnx.Module):
            raise TypeError(f"model must be a flax.nnx.Module, got {type(model).__name__}")
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise TypeError(f"seed must be an int, got {seed!r}")
        self.model = model
        self.from_logits = bool(from_logits)
        self.loss = losses.resolve(loss, from_logits=self.from_logits)
        self.optimizer = optim.resolve(optimizer, learning_rate)
        self.seed = seed
        self.devices = devices
        self.metrics: list[metrics.Metric] = []
        self.validation = None
        self.validation_batch_size = 256
        self.handlers = Handlers()
        self.penalty: Callable | None = None
        self._builtins: list = []
        self._program = None
        self._run: Run | None = None

    # ---- configuration ----------------------------------------------------
    def metric(self, metric: str | Callable, name: str | None = None) -> Trainer:
        """Track a metric, a name (``train.METRICS``) or ``fn(y_pred, y_true)``; returns loop."""
        m = metrics.resolve(metric, from_logits=self.from_logits, name=name)
        if m.name in {x.name for x in self.metrics} or m.name == "loss":
            raise ValueError(f"metric {m.name!r} is already tracked; pass name= to track it twice")
        self.metrics.append(m)
        self._program = None
        return self

    def validate(self, data, batch_size: int = 256) -> Trainer:
        """Evaluate on ``data`` after each epoch: adds validation_loss and validation_<metric>."""
        from kino.train.data import _check_batch_size, wrap

        self.validation_batch_size = _check_batch_size(batch_size)
        self.validation = wrap(
            data, batch_size=batch_size, shuffle=False, seed=0, name="validation data"
        )
        return self

    def regularize(self, penalty: Callable) -> Trainer:
        """Add ``penalty(model) -> scalar`` (e.g. an L2 term) to the training/validation loss."""
        if not callable(penalty):
            raise TypeError(
                f"penalty must be a function penalty(model) -> scalar, got {type(penalty).__name__}"
            )
        self.penalty = penalty
        self._program = None
        return self

    def handle(self, event: str, fn: Callable, every: int = 1) -> Trainer:
        """Call ``fn(state: LoopState)`` on ``event``, every ``every``-th time; returns the loop."""
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
    ) -> Trainer:
        """Write atomic orbax checkpoints to ``directory``; keep the ``keep`` best by monitor."""
        store = CheckpointStore(directory, keep, monitor, resolve_mode(mode, monitor or "loss"))
        return self._builtin(Checkpoint(store, every))

    def _builtin(self, cb) -> Trainer:
        self._builtins.append(cb)
        self.handlers.add(Handler("epoch_completed", cb))
        return self

    def restore(
        self, directory, epoch: int | None = None, monitor: str | None = None, mode: str = "auto"
    ) -> TrainState:
        """Load a checkpoint of this loop: ``epoch``, the best by ``monitor``, or the newest.

        Example: ``state = loop.restore("checkpoints/", monitor="validation_loss")``.
        """
        from kino.train.runner import graphdefs

        store = CheckpointStore(
            directory, monitor=monitor, mode=resolve_mode(mode, monitor or "loss")
        )
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
    ) -> Result | Run:
        """Train; blocks and returns a Result, or with ``background=True`` returns a Run at once.

        ``data``: ``train.batches(...)``, an ``(x, y)`` pair of arrays (batched with ``batch_size``,
        shuffled with the loop's seed) or an iterable of ``(x, y)`` batches. ``epochs`` is the total
        number of epochs, counted from the start of training also when resuming. ``iterations``
        caps the steps per epoch. ``resume``: a checkpoint directory, a Result or a TrainState.
        ``steps_per_dispatch``: steps fused into one ``lax.scan`` dispatch.
        """
        from kino.train.runner import Runner

        if self.current_run is not None:
            raise RuntimeError(
                "this loop is already running; call loop.current_run.stop() or wait()"
            )
        runner = Runner(
            self, data, epochs, iterations, resume, steps_per_dispatch, batch_size, background
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


def trainer(
    model: nnx.Module,
    loss: str | Callable,
    optimizer="adam",
    *,
    learning_rate=None,
    seed: int = 0,
    from_logits: bool = True,
    devices=None,
) -> Trainer:
    """Start a training loop for an ``nnx.Module``.

    ``loss``: a name (``train.LOSSES``) or ``fn(y_pred, y_true)``. ``optimizer``: a name
    (``train.OPTIMIZERS``, built with ``learning_rate``) or an optax transformation.
    ``from_logits=False`` when the model ends in softmax/sigmoid. ``devices``: the devices to
    shard batches over (default: all of ``jax.devices()``).

    Example:
        >>> from flax import nnx
        >>> model = nnx.Linear(4, 3, rngs=nnx.Rngs(0))
        >>> loop = trainer(model, "sparse_categorical_cross_entropy", "adam")
        >>> loop.metric("accuracy") is loop
        True
    """
    return Trainer(
        model,
        loss,
        optimizer,
        learning_rate=learning_rate,
        seed=seed,
        from_logits=from_logits,
        devices=devices,
    )
