"""Pruning wired to kino.train: each epoch reports the validation metric to the trial; a
pruned trial halts its loop at that epoch, is recorded as pruned, and keeps no model alive.
A small MLP on the real digits data."""

from __future__ import annotations

import gc
import threading
import weakref

import optuna
import pytest
from flax import nnx

import kino
from kino import train
from kino.tune import Categorical
from tests.conftest import budget

EPOCHS = 5


@pytest.fixture(scope="module")
def digits():
    (x, y), (x_val, y_val) = kino.datasets.digits()
    return (x.reshape(len(x), -1), y), (x_val.reshape(len(x_val), -1), y_val)


def mlp(seed: int = 0) -> nnx.Module:
    rngs = nnx.Rngs(seed)
    return nnx.Sequential(nnx.Linear(64, 32, rngs=rngs), nnx.relu, nnx.Linear(32, 10, rngs=rngs))


def trainer(model, lr, val):
    return (
        train.trainer(model, "sparse_categorical_cross_entropy", "adam", learning_rate=lr)
        .metric("accuracy")
        .validate(val)
    )


def test_a_pruned_trial_stops_early_is_recorded_pruned_and_frees_its_model(digits):
    data, val = digits
    models, statuses = {}, {}

    def train_fn(params, trial):
        model = mlp()
        models[params["lr"]] = weakref.ref(model)
        loop = trial.prune_on(trainer(model, params["lr"], val))
        result = loop.run(data, epochs=EPOCHS, batch_size=64)
        statuses[params["lr"]] = result.status
        return result

    study = kino.tune(
        {"lr": Categorical((1e-2, 1e-7))},  # a rate too small to learn anything
        train_fn,
        sampler="grid",
        monitor="validation_accuracy",
        pruner=optuna.pruners.ThresholdPruner(lower=0.5),
    )
    by_lr = {t.params["lr"]: t for t in study.optuna.trials}
    good, bad = by_lr[1e-2], by_lr[1e-7]
    assert bad.state == optuna.trial.TrialState.PRUNED
    assert bad.user_attrs["halted"] == "pruned"
    assert statuses == {1e-2: "completed", 1e-7: "pruned"}  # the loop's own status
    assert list(bad.intermediate_values) == [1]  # halted after its first epoch
    assert good.state == optuna.trial.TrialState.COMPLETE
    assert list(good.intermediate_values) == list(range(1, EPOCHS + 1))
    assert good.value == max(good.intermediate_values.values()) > 0.9
    frame = study.trials.sort("lr")
    assert frame["state"].to_list() == ["pruned", "complete"]
    assert frame["epochs"].to_list() == [1, EPOCHS]
    gc.collect()
    assert models[1e-7]() is None, "the pruned trial's model is still referenced"
    assert models[1e-2]() is None


def test_the_monitor_named_by_prune_on_values_the_result(digits):
    data, val = digits

    def train_fn(params, trial):
        loop = trial.prune_on(trainer(mlp(), params["lr"], val), monitor="validation_loss")
        return loop.run(data, epochs=2, batch_size=64)

    study = kino.tune({"lr": Categorical((1e-2,))}, train_fn, n_trials=1)
    (trial,) = study.optuna.trials
    assert study.direction == "minimize"
    assert trial.value == min(trial.intermediate_values.values())


def test_the_monitor_must_be_a_metric_the_loop_reports(digits):
    data, val = digits

    def train_fn(params, trial):
        loop = trial.prune_on(trainer(mlp(), params["lr"], val), monitor="validation_f1")
        result = loop.run(data, epochs=1, batch_size=64)
        raise result.error

    with pytest.raises(KeyError, match="reports no 'validation_f1'"):
        kino.tune({"lr": Categorical((1e-2,))}, train_fn, n_trials=1)


def test_stop_halts_the_running_trial_at_its_next_epoch(digits):
    data, val = digits
    in_epoch, go_on = threading.Event(), threading.Event()

    def hold(state):
        if state.epoch == 2:
            in_epoch.set()
            assert go_on.wait(budget(120))

    def train_fn(params, trial):
        loop = trainer(mlp(), params["lr"], val).handle("epoch_completed", hold)
        return trial.prune_on(loop).run(data, epochs=EPOCHS, batch_size=64)

    study = kino.tune(
        {"lr": Categorical((1e-2, 3e-3))},
        train_fn,
        n_trials=10,
        monitor="validation_accuracy",
        pruner="none",
        background=True,
    )
    assert in_epoch.wait(budget(300))
    study.stop()
    go_on.set()
    study.wait(budget(300))
    (trial,) = study.optuna.trials
    assert trial.state == optuna.trial.TrialState.PRUNED
    assert trial.user_attrs["halted"] == "stopped"
    assert list(trial.intermediate_values) == [1, 2]
