"""kino.tune against its baselines, in one process (issue 16's two numbers).

The model is the digits MLP of notebook 10 (64-width-10, relu, dropout held as model
state), trained with ``kino.train`` on scikit-learn's digits (1,437 training and 360
validation images); the space is the learning rate (log-uniform 1e-4..1e-1), the width
(32, 64 or 128) and the dropout rate (0..0.5).

1. Pruning: 30 TPE trials of ``--epochs`` (20) epochs with Optuna's median pruner (through
   ``Trial.prune_on``), against the same 30 trials with no pruner, same sampler seed.
   Targets: the pruned study's best validation accuracy within 0.5 points of the
   unpruned one's, using <= 60% of its training epochs.
2. Overhead: the same objective (train ``--epochs`` epochs, return the best
   validation accuracy) under ``kino.tune`` and under plain ``optuna.create_study``
   + ``optimize``, same sampler seed (so the same trials), no pruner, rounds
   alternating which goes first. Printed also with the live study widget following
   (no target: it draws on its own thread, which shares the GIL with the trials).
   Target: kino.tune's wall time <= 1.05x plain Optuna's (the median over rounds). The
   machine's other load moves single runs by more than 5%, so kino.tune's own cost is
   also measured alone: studies of an objective that only draws its values (the fastest
   of 5 rounds each), the difference per trial as a share of a digits trial.

Every compiled program is warmed first (one per width), so neither side pays for XLA.

    .venv/bin/python benchmarks/tune.py [--trials N] [--epochs E] [--rounds R]
"""

from __future__ import annotations

import argparse
import math
import statistics
import time

import jax
import jax.numpy as jnp
import optuna
from flax import nnx

import kino
from kino import train
from kino.tune import Categorical, Float

optuna.logging.set_verbosity(optuna.logging.WARNING)

SPACE = {
    "learning_rate": Float(1e-4, 1e-1, log=True),
    "width": Categorical((32, 64, 128)),
    "dropout": Float(0.0, 0.5),
}


class Dropout(nnx.Module):
    """Dropout whose rate is a variable of the model: changing it compiles nothing."""

    def __init__(self, rate: float, *, rngs: nnx.Rngs):
        self.rate = nnx.Variable(jnp.asarray(rate, jnp.float32))
        self.deterministic = False
        self.rngs = rngs

    def __call__(self, x):
        if self.deterministic:
            return x
        keep = 1.0 - self.rate[...]
        return jnp.where(jax.random.bernoulli(self.rngs.dropout(), keep, x.shape), x / keep, 0.0)


def mlp(width: int, dropout: float) -> nnx.Module:
    rngs = nnx.Rngs(0, dropout=1)
    return nnx.Sequential(
        nnx.Linear(64, width, rngs=rngs), nnx.relu, Dropout(dropout, rngs=rngs),
        nnx.Linear(width, 10, rngs=rngs),
    )  # fmt: skip


def data():
    (x, y), (xv, yv) = kino.datasets.digits()
    return (x.reshape(len(x), -1), y), (xv.reshape(len(xv), -1), yv)


def loop_for(params, val):
    model = mlp(params["width"], params["dropout"])
    return (
        train.trainer(model, "sparse_categorical_cross_entropy", "adam",
                      learning_rate=params["learning_rate"])
        .metric("accuracy")
        .validate(val)
    )  # fmt: skip


def pruning(trials: int, epochs: int, seed: int) -> dict[str, float]:
    (x, y), val = data()

    def train_fn(params, trial):
        return trial.prune_on(loop_for(params, val)).run((x, y), epochs=epochs, batch_size=64)

    figures = {}
    for name, pruner in (("unpruned", "none"), ("pruned", "median")):
        study = kino.tune(SPACE, train_fn, n_trials=trials, seed=seed, pruner=pruner,
                          monitor="validation_accuracy")  # fmt: skip
        frame = study.trials
        figures[f"{name}_best"] = study.best_value
        figures[f"{name}_epochs"] = int(frame["epochs"].sum())
        figures[f"{name}_pruned"] = int((frame["state"] == "pruned").sum())
        print(
            f"{name:>8}: best validation accuracy {study.best_value:.4f}, "
            f"{figures[f'{name}_epochs']} epochs, {figures[f'{name}_pruned']} of {trials} pruned"
        )
    return figures


def overhead(trials: int, epochs: int, rounds: int, seed: int) -> dict[str, float]:
    (x, y), val = data()

    def fit(params) -> float:
        result = loop_for(params, val).run((x, y), epochs=epochs, batch_size=64)
        return float(result.history["validation_accuracy"].max())

    def plain() -> None:
        study = optuna.create_study(
            direction="maximize", sampler=optuna.samplers.TPESampler(seed=seed)
        )
        study.optimize(
            lambda t: fit({name: p.suggest(t, name) for name, p in SPACE.items()}),
            n_trials=trials,
        )

    def kino_tune() -> None:
        kino.tune(SPACE, lambda p, t: fit(p), n_trials=trials, seed=seed, pruner="none",
                  direction="maximize")  # fmt: skip

    def kino_widget() -> None:
        study = kino.tune(SPACE, lambda p, t: fit(p), n_trials=trials, seed=seed,
                          pruner="none", direction="maximize", background=True)  # fmt: skip
        view = study.widget
        study.wait()
        view.close()

    runs = {"optuna": plain, "kino.tune": kino_tune, "kino.tune + widget": kino_widget}
    times: dict[str, list[float]] = {name: [] for name in runs}
    for r in range(rounds):
        order = list(runs) if r % 2 == 0 else list(reversed(runs))
        for name in order:
            start = time.perf_counter()
            runs[name]()
            times[name].append(time.perf_counter() - start)
        print(f"round {r + 1}: " + ", ".join(f"{n} {times[n][-1]:.2f} s" for n in runs))
    ratios = {
        name: statistics.median(k / o for k, o in zip(times[name], times["optuna"], strict=True))
        for name in ("kino.tune", "kino.tune + widget")
    }
    for name, ratio in ratios.items():
        print(f"{name} / optuna wall time (median over rounds): {ratio:.3f}")
    ratios["trial_seconds"] = statistics.median(times["optuna"]) / trials
    return ratios


def per_trial(trials: int, rounds: int, seed: int) -> float:
    """kino.tune's own cost per trial (seconds): a study of an objective that only draws
    its values, under kino.tune and plain Optuna, the fastest round of each."""

    def draw(t) -> float:
        return sum(float(p.suggest(t, name) if name != "width" else 0.0)
                   for name, p in SPACE.items())  # fmt: skip

    def plain() -> None:
        study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
        study.optimize(draw, n_trials=trials)

    def kino_tune() -> None:
        kino.tune(lambda t: draw(t.optuna), sampler="random", n_trials=trials, seed=seed,
                  pruner="none")  # fmt: skip

    best = {"optuna": math.inf, "kino.tune": math.inf}
    for r in range(rounds):
        for name, run in (("optuna", plain), ("kino.tune", kino_tune))[:: 1 if r % 2 else -1]:
            start = time.perf_counter()
            run()
            best[name] = min(best[name], time.perf_counter() - start)
    extra = (best["kino.tune"] - best["optuna"]) / trials
    print(
        f"{trials} trials drawing values only: optuna {best['optuna']:.3f} s, "
        f"kino.tune {best['kino.tune']:.3f} s (fastest of {rounds}): "
        f"{1e3 * extra:.3f} ms per trial"
    )
    return extra


def warm(epochs: int) -> None:
    (x, y), val = data()
    for width in SPACE["width"].choices:
        loop_for({"width": width, "dropout": 0.1, "learning_rate": 1e-3}, val).run(
            (x, y), epochs=1, batch_size=64
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=30)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--overhead-trials", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    warm(args.epochs)
    p = pruning(args.trials, args.epochs, args.seed)
    o = overhead(args.overhead_trials, args.epochs, args.rounds, args.seed)
    extra = per_trial(500, 5, args.seed)
    share = extra / o["trial_seconds"]
    gap = 100 * (p["unpruned_best"] - p["pruned_best"])
    epochs = p["pruned_epochs"] / p["unpruned_epochs"]
    print(f"pruned best is {gap:+.2f} points below unpruned (target <= 0.5)")
    print(f"pruned epochs / unpruned epochs: {epochs:.3f} (target <= 0.60)")
    print(
        f"kino.tune's cost per trial / a digits trial ({o['trial_seconds']:.3f} s): "
        f"{100 * share:.2f}% (target <= 5%)"
    )
    print(f"kino.tune / plain optuna wall time: {o['kino.tune']:.3f} (target <= 1.05)")


if __name__ == "__main__":
    main()
