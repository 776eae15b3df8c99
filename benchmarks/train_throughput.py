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

All share the machine at the same time: kino (c) runs 1 + E epochs, and
between its epochs (from an ``epoch_completed`` handler) one epoch of each other
variant runs, so load drift on a shared machine hits all of them alike. The
first epoch of each (compilation) is neither timed nor measured. Peak memory is the
largest resident-set growth over the start of a timed epoch, sampled every 10 ms (on a GPU,
also the device's peak bytes in use). Then a second kino run of the same cell
(a new trainer over an equal model, the same optax object) counts its
compilations and compares its first epoch with its later ones. Prints steps/s and
memory for each, and the ratios with their targets last.

    .venv/bin/python benchmarks/train_throughput.py [--quick] [--epochs E]
"""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import argparse
import threading
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

from kino import train

N, FEATURES, CLASSES, BATCH, FUSED = 60_000, 784, 10, 128, 32


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


class HandWritten:
    """(a) and (b): nnx.split once, a plain jax.jit step over pure state (flax's guide)."""

    def __init__(self, x, y, fused: bool):
        graphdef, params = nnx.split(mlp())
        tx = optax.adam(1e-3)
        self.state = (params, tx.init(params))
        self.x, self.y = jnp.asarray(x), jnp.asarray(y)
        self.steps = N // BATCH
        self.epoch = 0

        def step(state, xb, yb):
            params, opt_state = state

            def loss_fn(p):
                logits = nnx.merge(graphdef, p)(xb)
                return optax.softmax_cross_entropy_with_integer_labels(logits, yb).mean()

            loss, grads = jax.value_and_grad(loss_fn)(params)
            updates, opt_state = tx.update(grads, opt_state, params)
            return (optax.apply_updates(params, updates), opt_state), loss

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

        def step(state, xb, yb):
            params, opt_state = state

            def loss_fn(p):
                logits = nnx.merge(graphdef, p)(xb)
                return optax.softmax_cross_entropy_with_integer_labels(logits, yb).mean()

            loss, grads = jax.value_and_grad(loss_fn)(params)
            updates, opt_state = tx.update(grads, opt_state, params)
            return (optax.apply_updates(params, updates), opt_state), loss

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
        self.t, self.cpu = time.perf_counter(), time.process_time()

    def _end(self, s):
        self.timed = (s.iterations, time.perf_counter() - self.t, time.process_time() - self.cpu)

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


def second_run(x, y, tx, epochs: int) -> tuple[int, float, list[float]]:
    """Run the training cell again (new trainer, equal model, same optax object)."""
    times, marks = [], {}
    loop = kino_loop(mlp(1), tx, seen=[])
    loop.handle("epoch_started", lambda s: marks.update(t=time.perf_counter()))
    loop.handle("epoch_completed", lambda s: times.append(time.perf_counter() - marks["t"]))
    compiled = count_compilations()
    before = len(compiled)
    result = loop.run(train.batches(x, y, batch_size=BATCH, seed=0), epochs=epochs)
    assert result.status == "completed", result
    return len(compiled) - before, times[0], times[1:]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help="one timed epoch each (about two minutes)"
    )
    parser.add_argument(
        "--epochs", type=int, default=None, help="timed epochs per variant (default 3)"
    )
    args = parser.parse_args()
    epochs = args.epochs or (1 if args.quick else 3)
    print(f"devices: {jax.devices()}  jax {jax.__version__}  cpus: {os.cpu_count()}")
    print(f"load average at the start: {os.getloadavg()[0]:.1f}")
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

    def kino_epoch_started(s):
        if s.epoch > 1:  # the first (compiling) epoch is neither timed nor measured
            mem.window("c")
        marks["t"], marks["cpu"] = time.perf_counter(), time.process_time()

    def kino_epoch_completed(s):
        elapsed, cpu = time.perf_counter() - marks["t"], time.process_time() - marks["cpu"]
        mem.close()
        assert s.data_on_device is True, "the benchmark's data must be resident for (c)"
        if s.epoch > 1:
            timings["c"].append((s.iterations, elapsed, cpu))

    def run_baselines(s):
        for name, b in baselines.items():
            if s.epoch > 1:
                mem.window(name)
            t, cpu = time.perf_counter(), time.process_time()
            steps = b.run_epoch()
            elapsed, cpu = time.perf_counter() - t, time.process_time() - cpu
            mem.close()
            if isinstance(steps, tuple):  # timed by the variant itself (its epoch alone)
                steps, elapsed, cpu = steps
            if s.epoch > 1:
                timings[name].append((steps, elapsed, cpu))
        rates = ", ".join(f"{k}: {v[-1][0] / v[-1][1]:.0f}" for k, v in timings.items() if v)
        print(f"epoch {s.epoch}/{s.epochs}: {rates} steps/s")

    loop = (
        kino_loop(mlp(), tx, seen)
        .handle("epoch_started", kino_epoch_started)
        .handle("epoch_completed", kino_epoch_completed)
        .handle("epoch_completed", run_baselines)
    )
    result = loop.run(
        train.batches(x, y, batch_size=BATCH, seed=0), epochs=1 + epochs, steps_per_dispatch=FUSED
    )
    mem.stop.set()
    assert result.status == "completed", result
    assert len(seen) == (1 + epochs) * -(-N // BATCH) and set(seen[0]) == {"loss", "accuracy"}
    labels = {
        "a": "(a) jax.jit + optax, 1 step/dispatch",
        "b": f"(b) lax.scan, {FUSED} steps/dispatch, host-style batches",
        "c": "(c) kino, data on device (+accuracy, per-step handler)",
        "d": "(d) Keras 3 (JAX backend) fit",
        "e": f"(e) on-device lax.scan, {FUSED} steps/dispatch",
        "h": "(h) kino, data_on_device=False (overlapped host feed)",
    }
    rate, per_cpu = {}, {}
    print(f"\n{'variant':56s} {'steps/s':>8s} {'steps/CPU-s':>12s} {'peak RSS growth':>16s}")
    for name, rows in timings.items():
        rate[name] = sum(r[0] for r in rows) / sum(r[1] for r in rows)
        per_cpu[name] = sum(r[0] for r in rows) / sum(r[2] for r in rows)
        grown = mem.peak.get(name, 0) / 2**20
        print(f"{labels[name]:56s} {rate[name]:8.0f} {per_cpu[name]:12.0f} {grown:13.0f} MiB")
    stats = jax.devices()[0].memory_stats() or {}
    if "peak_bytes_in_use" in stats:
        print(
            f"device peak bytes in use (whole process): {stats['peak_bytes_in_use'] / 2**20:.0f}"
            " MiB"
        )
    print(f"final kino training accuracy: {result.history['accuracy'][-1]:.3f}")
    compiled, first, later = second_run(x, y, tx, 1 + max(epochs, 2))
    print(
        f"second run of the cell: {compiled} compilations, first epoch {first:.2f} s, "
        f"later epochs {', '.join(f'{t:.2f}' for t in later)} s"
    )
    print(f"load average at the end: {os.getloadavg()[0]:.1f} (CPUs: {os.cpu_count()})")
    print("\nratios: steps/s (steps per CPU-second, the steadier one on a shared machine)")

    def ratio(x, y, target=""):
        print(
            f"ratio ({x})/({y}) = {rate[x] / rate[y]:.2f} ({per_cpu[x] / per_cpu[y]:.2f}){target}"
        )

    ratio("c", "a")
    ratio("c", "b")
    if "d" in rate:
        ratio("b", "d")
    ratio("h", "b", "   kino host-fed (forced) / hand-written host-style scan: target >= 0.95")
    if "d" in rate:
        ratio("c", "d", "   kino / Keras fit: target >= 1.3 on CPU, >= 3 on GPU")
    else:
        print("kino / Keras fit: NOT MEASURED (keras is not installed)")
    print(f"second run: compilations = {compiled}   target 0")
    print(
        f"second run: first epoch / later epoch = {first / (sum(later) / len(later)):.2f}"
        "   target <= 1.2"
    )
    ratio("c", "e", "   kino (data on device) / hand-fused on-device scan: target >= 1.0")


if __name__ == "__main__":
    main()
