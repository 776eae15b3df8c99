"""kino.tune's study: samplers, directions, storage passed through, background runs and
Stop, and a clear error for each mistake (all on plain objectives: no training here)."""

from __future__ import annotations

import subprocess
import sys
import threading

import optuna
import pytest

import kino
from kino.tune import Categorical, Float, Int
from tests.conftest import budget


def test_grid_visits_every_point_once():
    seen = []

    def objective(trial):
        seen.append((trial.params["n"], trial.params["act"]))
        return trial.params["n"]

    space = {"n": Int(1, 3), "act": Categorical(("relu", "gelu"))}
    study = kino.tune(objective, sampler="grid", space=space, direction="maximize")
    assert sorted(seen) == [(n, a) for n in (1, 2, 3) for a in ("gelu", "relu")]
    assert study.best_value == 3.0 and study.trials.height == 6


def test_a_seed_makes_random_and_tpe_studies_repeat():
    def objective(trial):
        return (trial.suggest_float("x", -5, 5) - 1) ** 2

    for sampler in ("random", "tpe"):
        first = kino.tune(objective, sampler=sampler, n_trials=15, seed=3).trials["x"].to_list()
        again = kino.tune(objective, sampler=sampler, n_trials=15, seed=3).trials["x"].to_list()
        other = kino.tune(objective, sampler=sampler, n_trials=15, seed=4).trials["x"].to_list()
        assert first == again and first != other


def test_tpe_beats_random_on_a_smooth_objective():
    def objective(trial):
        return (trial.suggest_float("x", -10, 10) - 3) ** 2 + trial.suggest_float("y", -10, 10) ** 2

    tpe = [kino.tune(objective, n_trials=60, seed=s).best_value for s in range(3)]
    rnd = [kino.tune(objective, sampler="random", n_trials=60, seed=s).best_value for s in range(3)]
    assert sum(tpe) < sum(rnd)


def test_a_form_and_train_fn_get_the_drawn_values_by_field_name():
    form = kino.form(
        lr=kino.input.range("Learning rate", 1e-4, 1e-1, log=True),
        width=kino.input.select("Width", [32, 64, 128]),
    )
    calls = []

    def train_fn(params, trial):
        calls.append(params)
        assert params == trial.params
        return params["lr"] * params["width"]

    study = kino.tune(form, train_fn, n_trials=8, seed=0)
    assert len(calls) == 8
    assert all(1e-4 <= p["lr"] <= 1e-1 and p["width"] in (32, 64, 128) for p in calls)
    assert study.trials.columns == ["number", "state", "value", "epochs", "seconds", "lr", "width"]
    assert study.best_params == min(calls, key=lambda p: p["lr"] * p["width"])


def test_direction_follows_an_accuracy_monitor_unless_given():
    study = kino.tune(lambda t: t.suggest_float("x", 0, 1), n_trials=1)
    assert study.direction == "minimize"
    study = kino.tune(lambda t: 0.5, n_trials=1, monitor="validation_accuracy")
    assert study.direction == "maximize"
    study = kino.tune(
        lambda t: 0.5, n_trials=1, monitor="validation_accuracy", direction="minimize"
    )
    assert study.direction == "minimize"


def test_storage_and_study_name_continue_a_shared_study(tmp_path):
    url = f"sqlite:///{tmp_path / 'study.db'}"
    one = kino.tune(lambda t: t.suggest_float("x", 0, 1), n_trials=3, storage=url, study_name="s")
    two = kino.tune(lambda t: t.suggest_float("x", 0, 1), n_trials=2, storage=url, study_name="s")
    assert one.name == two.name == "s"
    assert two.trials["number"].to_list() == [0, 1, 2, 3, 4]
    # Anyone reading the storage sees the same trials: the study lives there, not in kino.
    assert len(optuna.load_study(study_name="s", storage=url).trials) == 5


def test_a_background_study_leaves_the_caller_free_and_stop_ends_it_after_the_trial():
    started, release = threading.Event(), threading.Event()

    def objective(trial):
        started.set()
        assert release.wait(budget(60))
        return trial.suggest_float("x", 0, 1)

    study = kino.tune(objective, n_trials=50, background=True)
    assert started.wait(budget(60))
    assert not study.done  # the caller got the study back while the trial still runs
    study.stop()
    release.set()
    study.wait(budget(60))
    assert study.trials["state"].to_list() == ["complete"]


def test_subscribers_hear_each_trial_and_the_end():
    release = threading.Event()

    def objective(trial):
        assert release.wait(budget(60))
        return trial.suggest_float("x", 0, 1)

    heard = []
    study = kino.tune(objective, n_trials=3, background=True)
    study.subscribe(lambda s: heard.append((s.trials.height, s.done)))
    release.set()
    study.wait(budget(60))
    assert heard == [(1, False), (2, False), (3, False), (3, True)]


def test_an_error_in_the_objective_ends_the_study_and_wait_raises_it():
    def objective(trial):
        if trial.number == 1:
            raise ZeroDivisionError("boom")
        return 1.0

    with pytest.raises(ZeroDivisionError, match="boom"):
        kino.tune(objective, n_trials=5)
    study = kino.tune(objective, n_trials=5, background=True)
    with pytest.raises(ZeroDivisionError, match="boom"):
        study.wait(budget(60))
    assert study.trials["state"].to_list() == ["complete", "fail"]
    caught = kino.tune(objective, n_trials=3, catch=(ZeroDivisionError,))
    assert caught.trials["state"].to_list() == ["complete", "fail", "complete"]


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: kino.tune(42), TypeError, "kino.tune: 'objective' must be fn(trial) -> value"),
        (lambda: kino.tune(lambda t: 1.0, sampler="cma"), TypeError, "'sampler' must be 'tpe'"),
        (lambda: kino.tune(lambda t: 1.0, pruner="x"), ValueError, "'pruner' must be one of"),
        (lambda: kino.tune(lambda t: 1.0, direction="up"), ValueError, "'direction' must be"),
        (lambda: kino.tune(lambda t: 1.0, n_trials=0), ValueError, "'n_trials' must be an int"),
        (lambda: kino.tune(lambda t: 1.0, timeout="1m"), TypeError, "'timeout' must be a finite"),
        (lambda: kino.tune(lambda t: 1.0, sampler="grid"), ValueError, "pass a form or space="),
        (lambda: kino.tune(lambda t: "high", n_trials=1), TypeError, "must return a number"),
        (lambda: kino.tune(lambda t: 1.0, lambda p, t: 1.0), TypeError, "a kino.form or a space"),
    ],
)
def test_mistakes_get_a_clear_error_at_the_call(call, error, message):
    with pytest.raises(error) as raised:
        call()
    assert message in str(raised.value)


def test_an_optuna_style_objective_reads_what_it_drew_from_trial_params():
    seen = []

    def objective(trial):
        trial.suggest_float("x", 0, 1)
        trial.suggest_categorical("act", ["relu", "gelu"])
        seen.append(dict(trial.params))
        return trial.params["x"]

    study = kino.tune(objective, n_trials=3)
    assert [sorted(p) for p in seen] == [["act", "x"]] * 3
    assert seen == [t.params for t in study.optuna.trials]


def test_numpy_and_jax_scalars_are_values_but_arrays_are_not():
    import jax.numpy as jnp
    import numpy as np

    assert kino.tune(lambda t: np.float32(0.25), n_trials=1).best_value == 0.25
    assert kino.tune(lambda t: jnp.asarray(0.5), n_trials=1).best_value == 0.5
    with pytest.raises(TypeError, match=r"must return a number or a kino\.train Result"):
        kino.tune(lambda t: np.zeros(2), n_trials=1)


def test_kino_tune_is_the_module_and_the_function():
    assert kino.tune.Float is Float
    study = kino.tune(lambda t: t.suggest_float("x", 0, 1), n_trials=2)
    assert isinstance(study, kino.tune.Study)


def test_without_optuna_kino_tune_names_the_tune_extra():
    code = (
        "import sys\nsys.modules['optuna'] = None\nimport kino\n"
        "try:\n    kino.tune(lambda t: 1.0)\nexcept Exception as e:\n"
        "    print(type(e).__name__, e.extra, e)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=budget(120)
    )
    assert out.stdout.startswith("MissingExtra tune kino.tune needs the 'tune' extra"), (
        out.stdout + out.stderr
    )


def test_import_kino_and_kino_tune_load_no_optuna():
    code = "import sys, kino, kino.tune\nprint('optuna' in sys.modules, 'jax' in sys.modules)\n"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=budget(120)
    )
    assert out.stdout.split() == ["False", "False"], out.stderr


def test_floats_in_a_space_are_drawn_within_bounds():
    study = kino.tune(lambda t: t.params["x"], space={"x": Float(2.0, 3.0)}, n_trials=10)
    assert study.trials["x"].is_between(2.0, 3.0).all()
