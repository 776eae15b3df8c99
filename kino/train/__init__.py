"""kino.train: a JAX training runtime (Axon.Loop's shape) on flax.nnx and optax.

Usable with no Jupyter at all; widgets attach to a loop as event handlers.

Example::

    from kino import train
    result = (train.Trainer(model, "categorical_cross_entropy", "adam", learning_rate=1e-3)
              .metric("accuracy")
              .validate((x_val, y_val))
              .early_stopping("validation_loss", patience=5)
              .checkpoint("checkpoints/", keep=3, monitor="validation_loss")
              .run(train.batches(x, y, batch_size=32), epochs=20))
    result.status, result.reason, result.history
    train.Evaluator(model).metric("accuracy").run((x_test, y_test), result)

``train.trainer`` and ``train.evaluator`` are the same classes under lower-case
names. In a plain script, ``train.TextProgress().follow(loop)`` prints one
progress line (``kino.dashboard(loop)`` falls back to it outside Jupyter).

How it runs: the trainer and the evaluator share one preparation
(``prepare.prepare``: placement, graph definitions, one traced example batch,
loss and metric checks, all before compiling) and one cache of compiled
programs. The model is split once with ``nnx.split``; a plain ``jax.jit``
function fuses ``steps_per_dispatch`` optimizer steps into one ``lax.scan``,
donating the carried state (``steps.Carry``: params, rest, optimizer state,
step, a non-finite flag and the epoch's metric accumulators). Metrics
accumulate on the device; per-step values reach ``iteration_completed``
handlers after their dispatch (lagged by one), never through a per-step
``float()``. Arrays that fit a share (``DEVICE_MEMORY_FRACTION``, or
``run(device_budget=...)``) of the devices' free memory stay on the device for the
whole run (split over the devices' ``"data"`` axis): each epoch's order is a
permutation made on the device from the seed and the epoch, and the program gathers
each batch itself (``resident.py``); other data is assembled on the host while the
previous dispatch computes (``prefetch.py``). ``run(data_on_device=True/False)``
forces a path; ``Result.data_on_device`` and ``LoopState.data_on_device`` say which ran.
The learning rate lives in the optimizer state
(``optim.OptState``: the base state and a factor) and only there, so plateaus
and schedules never recompile, and validation is a separate compiled function.

Handlers never hold the loop: they return what they want. Any handler may halt
(``"halt_epoch"``, ``"halt_loop"``, ``Halt``); an ``epoch_completed`` handler
may also return ``ScaleLearningRate``, ``KeepBest`` or ``SaveCheckpoint``
(alone or in a tuple), which the loop applies after the event's handlers ran.
The built-in callbacks (``early_stopping``, ``reduce_lr_on_plateau``,
``checkpoint``) are such handlers, with ``reset`` / ``state_dict`` /
``load_state_dict`` so checkpoints save their counters.

A NaN/Inf loss halts with the last finite state; Ctrl-C / a kernel interrupt
returns status "interrupted"; ``Run.stop()`` returns "stopped"; both at a
dispatch boundary. A handler that raises, or a checkpoint that cannot be
written, returns status "failed" (not re-raised: ``Result.error`` holds the
exception, the ``kino`` logger logs it) with the state after the last epoch
whose handlers all ran, applied to the model, so finished epochs are never
lost; a background ``Run.wait()`` returns that Result too. An exception raised
by the data itself reaches the caller unchanged.

Data: an iterable without ``__len__`` (a generator, a stream) trains with an
unknown number of steps (progress shows steps without a total and no ETA); a
one-shot iterator feeds one epoch only. A ``batch_size`` larger than the data
is reduced to the number of examples, so memory follows the data.

Several devices: with more than one device in ``jax.devices()`` (or passed as
``devices=``), batches are split over a ``jax.sharding.Mesh`` axis ``"data"``
and parameters and optimizer state are replicated; results match one device
within float tolerance.

Several processes: start every process with the same script and call
``jax.distributed.initialize()`` before creating the trainer, or let
``python -m kino.train.launch --processes N script.py`` (``kino.train.launch``; a SLURM
template is ``scripts/slurm-train.sbatch``) start them and do it. After that
``jax.devices()`` lists the devices of all processes, so the default mesh spans them.
Every process must pass the same data and seed: each places its own rows on its own
devices, and the batch indices of every step are computed identically everywhere, so each
device trains on its slice of the same global batch. Handlers attached with
``loop.handle`` (widgets, dashboards, printing) run in process 0 only, and a halt they
return stops every process at the same step; the built-in callbacks run everywhere.
Checkpoints go through orbax, which all processes call together and which coordinates
the write, so the checkpoint directory must be storage that every host sees.

The names below load on first use, so ``import kino.train`` (and
``kino.train.progress``, which ``kino.dashboard`` uses) loads no JAX.
"""

from typing import TYPE_CHECKING

from kino._lazy import lazy_exports

if TYPE_CHECKING:
    from kino.train.callbacks import EarlyStopping, ReduceLROnPlateau
    from kino.train.checkpoint import CheckpointStore
    from kino.train.data import Batches, batches
    from kino.train.evaluation import Evaluator, evaluator
    from kino.train.events import (
        EVENTS,
        Halt,
        KeepBest,
        LoopState,
        SaveCheckpoint,
        ScaleLearningRate,
    )
    from kino.train.loop import Trainer, trainer
    from kino.train.losses import NAMES as LOSSES
    from kino.train.metrics import NAMES as METRICS
    from kino.train.metrics import Metric
    from kino.train.optim import NAMES as OPTIMIZERS
    from kino.train.progress import TextProgress
    from kino.train.resident import DEVICE_MEMORY_FRACTION
    from kino.train.run import Result, Run, TrainState

__all__ = [
    "DEVICE_MEMORY_FRACTION",
    "EVENTS",
    "LOSSES",
    "METRICS",
    "OPTIMIZERS",
    "Batches",
    "CheckpointStore",
    "EarlyStopping",
    "Evaluator",
    "Halt",
    "KeepBest",
    "LoopState",
    "Metric",
    "ReduceLROnPlateau",
    "Result",
    "Run",
    "SaveCheckpoint",
    "ScaleLearningRate",
    "TextProgress",
    "TrainState",
    "Trainer",
    "batches",
    "evaluator",
    "trainer",
]

__getattr__ = lazy_exports(
    __name__,
    {
        "EVENTS": ".events:EVENTS",
        "LOSSES": ".losses:NAMES",
        "DEVICE_MEMORY_FRACTION": ".resident:DEVICE_MEMORY_FRACTION",
        "METRICS": ".metrics:NAMES",
        "OPTIMIZERS": ".optim:NAMES",
        "Batches": ".data:Batches",
        "CheckpointStore": ".checkpoint:CheckpointStore",
        "EarlyStopping": ".callbacks:EarlyStopping",
        "Evaluator": ".evaluation:Evaluator",
        "Halt": ".events:Halt",
        "KeepBest": ".events:KeepBest",
        "LoopState": ".events:LoopState",
        "Metric": ".metrics:Metric",
        "ReduceLROnPlateau": ".callbacks:ReduceLROnPlateau",
        "Result": ".run:Result",
        "Run": ".run:Run",
        "SaveCheckpoint": ".events:SaveCheckpoint",
        "ScaleLearningRate": ".events:ScaleLearningRate",
        "TextProgress": ".progress:TextProgress",
        "TrainState": ".run:TrainState",
        "Trainer": ".loop:Trainer",
        "batches": ".data:batches",
        "evaluator": ".evaluation:evaluator",
        "trainer": ".loop:trainer",
    },
)
