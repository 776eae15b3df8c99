"""kino.train: a JAX training runtime (Axon.Loop's shape) on flax.nnx and optax.

Usable with no Jupyter at all; widgets attach to a loop as event handlers.

Example::

    from kino import train
    result = (train.trainer(model, "categorical_cross_entropy", "adam", learning_rate=1e-3)
              .metric("accuracy")
              .validate((x_val, y_val))
              .early_stopping("validation_loss", patience=5)
              .checkpoint("checkpoints/", keep=3, monitor="validation_loss")
              .run(train.batches(x, y, batch_size=32), epochs=20))
    result.status, result.reason, result.history
    train.evaluator(model).metric("accuracy").run((x_test, y_test), result)

How it runs: the model is split once with ``nnx.split``; a plain ``jax.jit``
function fuses ``steps_per_dispatch`` optimizer steps into one ``lax.scan``,
donating the carried state. Metrics accumulate on the device; per-step values
reach ``iteration_completed`` handlers after their dispatch (lagged by one),
never through a per-step ``float()``. Data that fits (``MAX_DEVICE_BYTES``)
stays on the device. The learning rate lives in the optimizer state, so
plateaus and schedules never recompile, and validation is a separate
compiled function. A NaN/Inf loss halts with the last finite state;
Ctrl-C / a kernel interrupt returns status "interrupted"; ``Run.stop()``
returns "stopped"; both at a dispatch boundary.

Several devices: with more than one device in ``jax.devices()`` (or passed as
``devices=``), batches are split over a ``jax.sharding.Mesh`` axis ``"data"``
and parameters and optimizer state are replicated; results match one device
within float tolerance.

Several hosts: start every process with the same script and call
``jax.distributed.initialize()`` (coordinator address, process count and id;
on Cloud TPU and SLURM they are detected) before creating the trainer. After
that ``jax.devices()`` lists the devices of all processes, so the default mesh
spans them. Every process must pass the same data and seed: each places its
copy on its own devices, and the batch indices of every step are computed
identically everywhere, so each device trains on its slice of the same global
batch. Handlers run in every process (guard side effects such as printing with
``jax.process_index() == 0``). Checkpoints go through orbax, which all
processes call together and which coordinates the write, so the checkpoint
directory must be storage that every host sees. The multi-host path is
documented here, not tested (the tests cover 8 devices in one process).
"""

from kino.train.callbacks import EarlyStopping, ReduceLROnPlateau
from kino.train.checkpoint import CheckpointStore
from kino.train.data import MAX_DEVICE_BYTES, Batches, batches
from kino.train.evaluator import Evaluator, evaluator
from kino.train.events import EVENTS, Halt, LoopState
from kino.train.loop import Trainer, trainer
from kino.train.losses import NAMES as LOSSES
from kino.train.metrics import NAMES as METRICS
from kino.train.metrics import Metric
from kino.train.optim import NAMES as OPTIMIZERS
from kino.train.run import Result, Run, TrainState

__all__ = [
    "EVENTS",
    "LOSSES",
    "MAX_DEVICE_BYTES",
    "METRICS",
    "OPTIMIZERS",
    "Batches",
    "CheckpointStore",
    "EarlyStopping",
    "Evaluator",
    "Halt",
    "LoopState",
    "Metric",
    "ReduceLROnPlateau",
    "Result",
    "Run",
    "TrainState",
    "Trainer",
    "batches",
    "evaluator",
    "trainer",
]
