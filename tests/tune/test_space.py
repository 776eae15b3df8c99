"""The search space read from a kino.form: which input becomes which parameter, with the
input's bounds, and every value a sampler draws is one the form itself accepts."""

from __future__ import annotations

import math

import optuna
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import kino
from kino.tune import Categorical, Float, Int, from_form, grid
from kino.tune.space import suggest

optuna.logging.set_verbosity(optuna.logging.WARNING)


def test_each_input_kind_maps_to_its_parameter():
    form = kino.form(
        lr=kino.input.range("Learning rate", 1e-5, 1e-1, default=1e-3, log=True),
        decay=kino.input.number("Weight decay", default=1e-4, min=1e-6, max=1e-2, log=True),
        width=kino.input.range("Width", 16, 256, step=16, default=64),
        momentum=kino.input.range("Momentum", 0.0, 0.99, default=0.9),
        dropout=kino.input.number("Dropout", default=0.1, min=0.0, max=0.5),
        layers=kino.input.number("Layers", default=2, min=1, max=4),
        optimizer=kino.input.select("Optimizer", {"Adam": "adam", "SGD": "sgd"}),
        shuffle=kino.input.checkbox("Shuffle"),
    )
    assert from_form(form) == {
        "lr": Float(1e-5, 1e-1, log=True),
        "decay": Float(1e-6, 1e-2, log=True),
        "width": Int(16, 256, step=16),
        "momentum": Float(0.0, 0.99),
        "dropout": Float(0.0, 0.5),
        "layers": Int(1, 4),
        "optimizer": Categorical(("adam", "sgd")),
        "shuffle": Categorical((False, True)),
    }


@pytest.mark.parametrize(
    ("field", "error", "message"),
    [
        (kino.input.text("Name"), TypeError, "field 'f' must be a range, a number with min"),
        (kino.input.date("Day"), TypeError, "got DateInput: 'Day'"),
        (kino.input.number("Seed", default=1), ValueError, "with both min and max"),
        (kino.input.number("Low", default=1, min=0), ValueError, "with both min and max"),
        (kino.input.select("Act", [max, min]), TypeError, "got builtin_function_or_method"),
    ],
)
def test_inputs_that_cannot_be_searched_are_refused_by_name(field, error, message):
    with pytest.raises(error, match=r"^kino\.tune: field 'f' ") as raised:
        from_form(kino.form(f=field))
    assert message in str(raised.value)


def test_a_space_refuses_what_is_not_a_parameter():
    with pytest.raises(TypeError, match=r"'space' must be a dict of kino.tune.Float"):
        kino.tune(lambda t: 0.0, space={"lr": [1e-3, 1e-1]}, n_trials=1)
    with pytest.raises(ValueError, match="'low' must be > 0 when log=True, got 0"):
        Float(0, 1, log=True)
    with pytest.raises(ValueError, match=r"'high' must be greater than low \(5\), got 5"):
        Int(5, 5)


ranges = st.tuples(
    st.floats(1e-6, 1e3, allow_nan=False), st.floats(1.5, 1e4, allow_nan=False), st.booleans()
)


@settings(max_examples=40, deadline=None)
@given(
    lr=ranges,
    ints=st.tuples(st.integers(-50, 50), st.integers(1, 100), st.integers(1, 7)),
    options=st.lists(st.text(min_size=1, max_size=5), min_size=1, max_size=5, unique=True),
    seed=st.integers(0, 2**16),
)
def test_every_drawn_value_is_one_the_form_accepts(lr, ints, options, seed):
    low, factor, log = lr
    lo, span, step = ints
    form = kino.form(
        a=kino.input.range("A", low, low * factor, log=log),
        b=kino.input.range("B", lo, lo + span * step, step=step),
        c=kino.input.select("C", options),
    )
    space = from_form(form)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
    for _ in range(5):
        params = suggest(study.ask(), space)
        form.update(params)  # the form's own checks: bounds, steps, options
        assert form.value["b"] == params["b"] and form.value["c"] == params["c"]
        assert math.isclose(form.value["a"], params["a"], rel_tol=1e-5)
        assert (params["b"] - lo) % step == 0


def test_log_floats_are_drawn_log_uniformly():
    # Log-uniform from 1e-5 to 1e-1: each decade gets about a quarter of the draws; a
    # uniform draw would put 90% of them in the last decade.
    space = {"lr": Float(1e-5, 1e-1, log=True)}
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    draws = [suggest(study.ask(), space)["lr"] for _ in range(2000)]
    per_decade = [sum(10**d <= x < 10 ** (d + 1) for x in draws) for d in range(-5, -1)]
    assert all(350 < n < 650 for n in per_decade), per_decade


def test_grid_values_cover_each_parameter_ends_included():
    space = {
        "lr": Float(1e-4, 1e-1, log=True),
        "width": Int(8, 512, step=8),
        "act": Categorical(("relu", "gelu")),
    }
    values = grid(space, points=4)
    assert values["lr"] == pytest.approx((1e-4, 1e-3, 1e-2, 1e-1))
    assert values["lr"][0] == 1e-4 and values["lr"][-1] == 1e-1
    assert values["width"][0] == 8 and values["width"][-1] == 512 and len(values["width"]) == 8
    assert all(w % 8 == 0 for w in values["width"])
    assert values["act"] == ("relu", "gelu")
