"""Training throughput: kino.train against hand-written JAX and Keras 3, in one process.

An MNIST-shaped MLP (784-256-128-10, batch 128, Adam 1e-3, 60,000 synthetic
samples), trained these ways:

  (a) a hand-written ``jax.jit`` + optax step, one dispatch per step;
  (b) a hand-written ``lax.scan`` fusing 32 steps per dispatch, batches
      shuffled and sliced outside the scan (host-fed style);
  (c) kino's trainer (``optax.adam(1e-3)``, the README's example) with the
      accuracy metric and an ``iteration_completed`` handler that receives every
      step's metrics; the data fits, so it is resident on the device;
  (d) Keras 3 on the JAX backend (``model.fit``), when keras is installed;
  (e) a hand-fused on-device ``lax.scan``: data placed on the device once, the
      epoch's permutation made on the device, each step gathering its batch inside
      the scan, 32 steps per dispatch;
  (h) kino as (c) with ``data_on_device=False`` (the host feed, overlapped).

(b) is the host-fed baseline: its batches are made outside the compiled scan (a
shuffled copy of the epoch, then a slice per dispatch, each its own dispatch), as a
host feed hands them over; kino (h) is compared with it. (e) is the on-device one,
compared with kino (c).

Repetitions are interleaved: kino (c) runs 2 + E epochs in one run, and one epoch of
each other variant runs beside each of kino's epochs, after it in even rounds and
before it in odd ones (A B, B A, ...), so load drift on a shared machine hits all of
them alike. The first two epochs of each (the compiling one and a warm-up, see
``WARMUP``) are neither timed nor measured.
Every round's rates are printed; each figure is the median over rounds, and each
ratio the median of the rounds' paired ratios; beside them, each variant's main-thread CPU
per epoch (the host work it adds to the compiled steps, steady under load). Peak memory is
the largest resident-set growth over the start of a timed epoch, sampled every 10 ms (on a GPU,
also the device's peak bytes in use). Then: a second run of the same cell (a new
trainer over an equal model, the same optax object) counts its compilations and
compares its first epoch with its later ones; and the host memory of the
device-resident path over its epochs (tracemalloc's peak of Python/numpy allocations
and the process's RSS high-water mark, against the data set's bytes). The GPU section
says whether it was measured. Ratios and their targets are printed last.

    .venv/bin/python benchmarks/train_throughput.py [--quick] [--epochs E]
"""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import argparse
import statistics
import threading
import time
import tracemalloc

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

from kino import train

N, FEATURES, CLASSES, BATCH, FUSED = 60_000, 784, 10, 128, 32
# Untimed epochs of each variant before the rounds: the compiling one, and one more,
# whose rates swung both ways against the later rounds' (a first round 0.93x and 1.69x
# of the median kino / (e) in two runs; the same in chart_overhead.py's first round).
WARMUP = 2


def loadavg() -> str:
    """/proc/loadavg as it reads (1, 5 and 15-minute load, runnable/all tasks)."""
    with open("/proc/loadavg") as f:
        return f.read().strip()


def rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class Memory:
    """Peak RSS growth per named window, sampled by a thread."""

    def __init__(self):
        self.peak: dict[str, int] = {}
        self.name = None
        self.base = 0
        self.stop = threading.Event()
        threading.Thread(target=self._sample, daemon=True).start()

    def _sample(self):
        while not self.stop.wait(0.01):
            if self.name is not None:
                grown = rss() - self.base
                self.peak[self.name] = max(self.peak.get(self.name, 0), grown)

    def window(self, name):
        self.base = rss()
        self.name = name

    def close(self):
        self.name = None


def mlp(seed=0):
    """The benchmarked MLP: 784-256-128-10 with ReLU, producing logits."""
    rngs = nnx.Rngs(seed)
    return nnx.Sequential(
        nnx.Linear(FEATURES, 256, rngs=rngs),
        nnx.relu,
        nnx.Linear(256, 128, rngs=rngs),
        nnx.relu,
        nnx.Linear(128, CLASSES, rngs=rngs),
    )


def data(n: int = N):
    """Synthetic MNIST-shaped samples whose labels a linear map of the inputs decides."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, FEATURES)).astype("float32")
    w = rng.normal(size=(FEATURES, CLASSES)).astype("float32")
    y = np.argmax(x @ w + rng.normal(size=(n, CLASSES)), axis=1).astype("int32")
    return x, y


def adam_step(graphdef, tx):
    """One hand-written training step over pure state ``(params, opt_state)``."""

    def step(state, xb, yb):
        params, opt_state = state

        def loss_fn(p):
            logits = nnx.merge(graphdef, p)(xb)
            return optax.softmax_cross_entropy_with_integer_labels(logits, yb).mean()

        loss, grads = jax.value_and_grad(loss_fn)(params)
        updates, opt_state = tx.update(grads, opt_state, params)
        return (optax.apply_updates(params, updates), opt_state), loss

    return step


class HandWritten:
    """(a) and (b): nnx.split once, a plain jax.jit step over pure state (flax's guide)."""

    def __init__(self, x, y, fused: bool):
        graphdef, params = nnx.split(mlp())
        tx = optax.adam(1e-3)
        self.state = (params, tx.init(params))
        self.x, self.y = jnp.asarray(x), jnp.asarray(y)
        self.steps = N // BATCH
        self.epoch = 0
        step = adam_step(graphdef, tx)

        def one(state, xs, ys, i):
            return step(state, xs[i], ys[i])

        def chunk(state, xs, ys):
            return jax.lax.scan(lambda s, b: step(s, *b), state, (xs, ys))

        self.one = jax.jit(one, donate_argnums=0)
        self.chunk = jax.jit(chunk, donate_argnums=0)
        self.fused = fused
        self.shuffle = jax.jit(
            lambda x, y, key: (
                jnp.take(
                    x, p := jax.random.permutation(key, N)[: self.steps * BATCH], axis=0
                ).reshape(self.steps, BATCH, FEATURES),
                jnp.take(y, p, axis=0).reshape(self.steps, BATCH),
            )
        )

    def run_epoch(self) -> int:
        self.epoch += 1
        xs, ys = self.shuffle(self.x, self.y, jax.random.key(self.epoch))
        if self.fused:
            for start in range(0, self.steps, FUSED):
                self.state, _ = self.chunk(
                    self.state, xs[start : start + FUSED], ys[start : start + FUSED]
                )
        else:
            for i in range(self.steps):
                self.state, _ = self.one(self.state, xs, ys, i)
        jax.block_until_ready(self.state)
        return self.steps


class OnDevice:
    """(e): data on the device once, the permutation and the gathers inside the program."""

    def __init__(self, x, y):
        graphdef, params = nnx.split(mlp())
        tx = optax.adam(1e-3)
        self.state = (params, tx.init(params))
        self.x, self.y = jax.device_put(x), jax.device_put(y)
        self.steps = N // BATCH
        self.epoch = 0
        step = adam_step(graphdef, tx)

        def chunk(state, x, y, order, ids):
            def body(s, i):
                rows = jax.lax.dynamic_slice_in_dim(order, i * BATCH, BATCH)
                return step(s, jnp.take(x, rows, axis=0), jnp.take(y, rows, axis=0))

            return jax.lax.scan(body, state, ids)

        self.chunk = jax.jit(chunk, donate_argnums=0)
        self.order = jax.jit(lambda key: jax.random.permutation(key, N))

    def run_epoch(self) -> int:
        self.epoch += 1
        order = self.order(jax.random.key(self.epoch))
        for start in range(0, self.steps, FUSED):
            ids = np.arange(start, min(start + FUSED, self.steps), dtype=np.int32)
            self.state, _ = self.chunk(self.state, self.x, self.y, order, ids)
        jax.block_until_ready(self.state)
        return self.steps


def kino_loop(model, tx, seen=None):
    """(c) and (h): the trainer as a user writes it, with a per-step handler."""
    loop = train.trainer(model, "sparse_categorical_cross_entropy", tx).metric("accuracy")
    if seen is not None:
        loop.handle("iteration_completed", lambda s: seen.append(s.metrics))
    return loop


class KinoHostFed:
    """(h): kino with ``data_on_device=False``, one epoch per call, timed by its own handlers."""

    def __init__(self, x, y, tx):
        self.data = train.batches(x, y, batch_size=BATCH, seed=0)
        self.loop = kino_loop(mlp(), tx, seen=[])
        self.loop.handle("epoch_started", self._start).handle("epoch_completed", self._end)
        self.result = None
        self.timed = None

    def _start(self, s):
        self.t, self.cpu, self.main = time.perf_counter(), time.process_time(), time.thread_time()

    def _end(self, s):
        self.timed = (
            s.iterations,
            time.perf_counter() - self.t,
            time.process_time() - self.cpu,
            time.thread_time() - self.main,
        )

    def run_epoch(self):
        epochs = 1 if self.result is None else self.result.epoch + 1
        self.result = self.loop.run(
            self.data, epochs=epochs, resume=self.result, data_on_device=False
        )
        assert self.result.status == "completed" and self.result.data_on_device is False
        return self.timed


class KerasFit:
    """(d): Keras 3 on the JAX backend, model.fit one epoch per call."""

    def __init__(self, x, y):
        import keras

        self.keras = keras
        self.model = keras.Sequential(
            [
                keras.Input((FEATURES,)),
                keras.layers.Dense(256, activation="relu"),
                keras.layers.Dense(128, activation="relu"),
                keras.layers.Dense(CLASSES),
            ]
        )
        self.model.compile(
            optimizer=keras.optimizers.Adam(1e-3),
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            metrics=["accuracy"],
        )
        self.x, self.y = x, y

    def run_epoch(self) -> int:
        self.model.fit(self.x, self.y, batch_size=BATCH, epochs=1, shuffle=True, verbose=0)
        return -(-N // BATCH)


def count_compilations():
    """A list whose length is the number of XLA compilations since the call."""
    from jax._src import monitoring

    seen = []

    def listen(event, duration, **kw):
        if event == "/jax/core/compile/backend_compile_duration":
            seen.append(duration)

    monitoring.register_event_duration_secs_listener(listen)
    return seen


def second_run(x, y, tx, epochs: int) -> tuple[int, list[float], list[float]]:
    """Run the training cell again (new trainer, equal model, same optax object).

    Returns the compilations, and each epoch's wall-clock and CPU seconds (all threads).
    """
    times, cpu, marks = [], [], {}

    def started(s):
        marks.update(t=time.perf_counter(), cpu=time.process_time())

    def completed(s):
        times.append(time.perf_counter() - marks["t"])
        cpu.append(time.process_time() - marks["cpu"])

    loop = kino_loop(mlp(1), tx, seen=[])
    loop.handle("epoch_started", started).handle("epoch_completed", completed)
    compiled = count_compilations()
    before = len(compiled)
    result = loop.run(train.batches(x, y, batch_size=BATCH, seed=0), epochs=epochs)
    assert result.status == "completed", result
    return len(compiled) - before, times, cpu


def high_water() -> int:
    """The process's peak resident set (VmHWM) in bytes."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return 0


def reset_high_water() -> bool:
    """Restart VmHWM from the current RSS (Linux); False where that is not allowed."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def resident_host_memory(x, y, tx, epochs: int = 3) -> tuple[int, int | None]:
    """Host memory of the device-resident path across epochs 2..1+E of one run.

    Returns (tracemalloc's peak of Python and numpy allocations, the RSS high-water
    mark's growth over the epochs' start, or None where it cannot be reset).
    """
    loop = kino_loop(mlp(2), tx, seen=[])
    marks = {}

    def started(s):
        if s.epoch == 2:  # the first epoch (and the one placement of the data) is left out
            tracemalloc.reset_peak()
            marks["traced"] = tracemalloc.get_traced_memory()[0]
            marks["rss"] = rss() if reset_high_water() else None

    def completed(s):
        if s.epoch == s.epochs:
            marks["peak"] = tracemalloc.get_traced_memory()[1] - marks["traced"]
            marks["hwm"] = None if marks["rss"] is None else high_water() - marks["rss"]

    loop.handle("epoch_started", started).handle("epoch_completed", completed)
    tracemalloc.start()
    try:
        result = loop.run(train.batches(x, y, batch_size=BATCH, seed=0), epochs=1 + epochs)
    finally:
        tracemalloc.stop()
    assert result.status == "completed" and result.data_on_device is True, result
    return marks["peak"], marks["hwm"]


def median_rate(rows, column: int) -> float:
    """Median over repetitions of steps per second (column 1) or per CPU-second (2)."""
    return statistics.median(r[0] / r[column] for r in rows)


def paired(timings, x: str, y: str, column: int) -> list[float]:
    """Per round, x's rate over y's (the same round: the same load)."""
    return [
        (a[0] / a[column]) / (b[0] / b[column]) for a, b in zip(timings[x], timings[y], strict=True)
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help="two timed rounds (about three minutes)"
    )
    parser.add_argument(
        "--epochs", type=int, default=None, help="timed rounds, one epoch each (default 6)"
    )
    args = parser.parse_args()
    epochs = args.epochs or (2 if args.quick else 6)
    print(f"devices: {jax.devices()}  jax {jax.__version__}  cpus: {os.cpu_count()}")
    print(f"load average at the start: {loadavg()}")
    x, y = data()
    tx = optax.adam(1e-3)  # one object, as a notebook cell holds it
    mem = Memory()
    baselines = {
        "a": HandWritten(x, y, fused=False),
        "b": HandWritten(x, y, fused=True),
        "e": OnDevice(x, y),
        "h": KinoHostFed(x, y, tx),
    }
    try:
        baselines["d"] = KerasFit(x, y)
    except ImportError:
        print(
            "(d) NOT MEASURED: keras is not installed (pip install keras, or the [bench] "
            "extra); the kino / Keras ratio is not printed"
        )
    timings: dict[str, list[tuple[int, float, float]]] = {k: [] for k in ["c", *baselines]}
    timings = {k: timings[k] for k in sorted(timings)}
    seen = []
    marks = {}

    def run_baselines(s):
        names = list(baselines) if s.epoch % 2 == 0 else list(baselines)[::-1]
        for name in names:
            b = baselines[name]
            if s.epoch > WARMUP:
                mem.window(name)
            t, cpu, main = time.perf_counter(), time.process_time(), time.thread_time()
            steps = b.run_epoch()
            elapsed, cpu = time.perf_counter() - t, time.process_time() - cpu
            main = time.thread_time() - main
            mem.close()
            if isinstance(steps, tuple):  # timed by the variant itself (its epoch alone)
                steps, elapsed, cpu, main = steps
            if s.epoch > WARMUP:
                timings[name].append((steps, elapsed, cpu, main))

    def kino_epoch_started(s):
        if s.epoch > 1 and s.epoch % 2 == 1:  # odd rounds: the others first (B A)
            run_baselines(s)
        if s.epoch > WARMUP:  # the warm-up epochs are neither timed nor measured
            mem.window("c")
        marks["t"], marks["cpu"] = time.perf_counter(), time.process_time()
        marks["main"] = time.thread_time()

    def kino_epoch_completed(s):
        elapsed, cpu = time.perf_counter() - marks["t"], time.process_time() - marks["cpu"]
        main = time.thread_time() - marks["main"]
        mem.close()
        assert s.data_on_device is True, "the benchmark's data must be resident for (c)"
        if s.epoch > WARMUP:
            timings["c"].append((s.iterations, elapsed, cpu, main))
        if s.epoch == 1 or s.epoch % 2 == 0:  # even rounds (and the first epoch): after kino
            run_baselines(s)
        if s.epoch > WARMUP:
            rates = ", ".join(f"{k}: {v[-1][0] / v[-1][1]:.0f}" for k, v in timings.items())
            order = "kino first" if s.epoch % 2 == 0 else "kino last"
            print(
                f"round {s.epoch - WARMUP}/{s.epochs - WARMUP} ({order}): {rates} steps/s",
                flush=True,
            )

    loop = (
        kino_loop(mlp(), tx, seen)
        .handle("epoch_started", kino_epoch_started)
        .handle("epoch_completed", kino_epoch_completed)
    )
    result = loop.run(
        train.batches(x, y, batch_size=BATCH, seed=0),
        epochs=WARMUP + epochs,
        steps_per_dispatch=FUSED,
    )
    mem.stop.set()
    assert result.status == "completed", result
    assert len(seen) == (WARMUP + epochs) * -(-N // BATCH) and set(seen[0]) == {"loss", "accuracy"}
    labels = {
        "a": "(a) jax.jit + optax, 1 step/dispatch",
        "b": f"(b) lax.scan, {FUSED} steps/dispatch, host-fed batches",
        "c": "(c) kino, data on device (+accuracy, per-step handler)",
        "d": "(d) Keras 3 (JAX backend) fit",
        "e": f"(e) on-device lax.scan, {FUSED} steps/dispatch",
        "h": "(h) kino, data_on_device=False (overlapped host feed)",
    }
    rate = {k: median_rate(v, 1) for k, v in timings.items()}
    per_cpu = {k: median_rate(v, 2) for k, v in timings.items()}
    print(f"\nmedians over {epochs} rounds")
    print(
        f"{'variant':56s} {'steps/s':>8s} {'steps/CPU-s':>12s} {'peak RSS growth':>16s}"
        f" {'main thread':>12s}"
    )
    for name in timings:
        grown = mem.peak.get(name, 0) / 2**20
        main = statistics.median(r[3] for r in timings[name]) * 1e3
        print(
            f"{labels[name]:56s} {rate[name]:8.0f} {per_cpu[name]:12.0f} {grown:13.0f} MiB"
            f" {main:6.1f} ms/ep"
        )
    print(
        "(main thread: the calling thread's CPU per epoch, time.thread_time: the host work "
        "each variant adds beside the compiled steps)"
    )
    stats = jax.devices()[0].memory_stats() or {}
    if "peak_bytes_in_use" in stats:
        print(
            f"device peak bytes in use (whole process): {stats['peak_bytes_in_use'] / 2**20:.0f}"
            " MiB"
        )
    print(f"final kino training accuracy: {result.history['accuracy'][-1]:.3f}")
    compiled, times, cpu_times = second_run(x, y, tx, 1 + max(epochs, 3))
    print(
        f"second run of the cell: {compiled} compilations, first epoch {times[0]:.2f} s "
        f"({cpu_times[0]:.2f} CPU-s), later epochs "
        + ", ".join(f"{t:.2f} ({c:.2f})" for t, c in zip(times[1:], cpu_times[1:], strict=True))
        + " s (CPU-s)"
    )
    dataset = x.nbytes + y.nbytes
    traced, hwm = resident_host_memory(x, y, tx)
    print(
        f"device-resident path, epochs 2-4 of one run: tracemalloc peak {traced / 2**20:.1f} MiB,"
        f" RSS high-water growth "
        + ("not measurable here" if hwm is None else f"{hwm / 2**20:.1f} MiB")
        + f"; the data set is {dataset / 2**20:.1f} MiB"
    )
    print(f"load average at the end: {loadavg()}")
    gpus = [d for d in jax.devices() if d.platform == "gpu"]

    def ratio(x, y, target=""):
        wall, cpu = paired(timings, x, y, 1), paired(timings, x, y, 2)
        print(f"ratio ({x})/({y}) rounds: " + " ".join(f"{r:.2f}" for r in wall))
        print(
            f"ratio ({x})/({y}) = {statistics.median(wall):.2f} "
            f"({statistics.median(cpu):.2f}; worst round {min(wall):.2f}){target}"
        )

    print(
        "\nGPU: "
        + (
            f"measured on {gpus[0].device_kind}"
            if gpus
            else "NOT MEASURED: "
            "no GPU in this process (the GPU target, kino >= 3x Keras, is not checked)"
        )
    )
    print(
        "\nratios: median of the rounds' paired steps/s (steps per CPU-second, the steadier "
        "one on a shared machine; the slowest round)"
    )
    ratio("c", "a")
    ratio("c", "b")
    if "d" in rate:
        ratio("b", "d")
    print(f"second run: compilations = {compiled}   target 0")
    first_wall = times[0] / statistics.median(times[1:])
    first_cpu = cpu_times[0] / statistics.median(cpu_times[1:])
    print(
        f"second run: first epoch / median later epoch = {first_wall:.2f} "
        f"({first_cpu:.2f} by CPU time)   target <= 1.2"
    )
    print(
        f"resident path: host peak / data set = tracemalloc {traced / dataset:.3f}"
        + ("" if hwm is None else f", RSS high-water {hwm / dataset:.3f}")
        + "   target < 1 (no per-epoch copy of the data set on the host)"
    )
    ratio("h", "b", "   kino host-fed (forced) / hand-written host-fed scan: target >= 0.95")
    if "d" in rate:
        target = ">= 3 on GPU" if gpus else ">= 1.3 on CPU"
        ratio("c", "d", f"   kino / Keras fit: target {target}")
    else:
        print("kino / Keras fit: NOT MEASURED (keras is not installed)")
    ratio("c", "e", "   kino (data on device) / hand-fused on-device scan: target >= 1.0")


if __name__ == "__main__":
    main()
