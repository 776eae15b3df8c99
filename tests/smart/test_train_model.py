"""The "Train a model" smart cell: attributes → kino.train code that trains, checked by
running it on small data; bad attributes name their field and keep the last good code."""

from __future__ import annotations

import ast
import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kino.smart._train_model import (
    ACTIVATIONS,
    LOSSES,
    METRICS,
    NEW_LAYER,
    OPTIMIZERS,
    TrainModel,
)
from kino.ui.smart import AttrError
from tests.smart.test_code import ruff_format


def _classes(n: int = 240, features: int = 8, classes: int = 3, seed: int = 0):
    """Three well separated blobs: a model that trains at all gets most of them right."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, classes, n)
    centres = rng.normal(scale=4.0, size=(classes, features))
    x = (centres[y] + rng.normal(size=(n, features))).astype("float32")
    return x, y.astype("int32")


def _train(code: str, **data) -> dict:
    """Run the cell's code as a notebook would, then wait for its background run."""
    namespace = {"__name__": "__smart__", **data}
    exec(compile(code, "<train_model>", "exec"), namespace)
    namespace["result"] = namespace["run"].wait()
    return namespace


def test_the_default_cell_trains_a_classifier_with_a_validation_split(comm_log):
    x, y = _classes()
    cell = TrainModel(epochs=3, learning_rate=0.01)
    assert cell.error == ""
    ns = _train(cell.code, x_train=x, y_train=y)
    result = ns["result"]
    assert result.status == "completed", result.reason
    assert result.history.height == 3
    assert {"loss", "accuracy", "validation_loss", "validation_accuracy"} <= set(
        result.history.columns
    )
    assert len(ns["x_fit"]) == 216 and len(ns["x_val"]) == 24  # 10% held out
    model = result.state.model()
    model.eval()
    assert model(x[:5]).shape == (5, 10)
    assert result.history["accuracy"][-1] > 0.6


def test_a_conv_net_with_norm_dropout_softmax_and_early_stopping_runs(comm_log):
    rng = np.random.default_rng(1)
    images = rng.normal(size=(64, 6, 6, 1)).astype("float32")
    labels = np.eye(4, dtype="float32")[rng.integers(0, 4, 64)]
    layers = [
        {"kind": "conv", "features": 4, "kernel_size": 3, "activation": "relu"},
        {"kind": "norm", "norm": "batch"},
        {"kind": "conv", "features": 6, "kernel_size": 2, "activation": "gelu"},
        {"kind": "flatten"},
        {"kind": "dropout", "rate": 0.25},
        {"kind": "dense", "units": 4, "activation": "softmax"},
    ]
    cell = TrainModel(
        x="images",
        y="labels",
        model="cnn",
        layers=layers,
        loss="categorical_cross_entropy",
        optimizer="rmsprop",
        validation="data",
        validation_x="images_val",
        validation_y="labels_val",
        early_stopping=True,
        monitor="validation_loss",
        patience=1,
        epochs=2,
        batch_size=16,
    )
    assert cell.error == ""
    assert "from_logits=False" in cell.code  # the model ends in softmax
    assert "images.shape[1] * images.shape[2] * 6" in cell.code  # sizes read from the data
    ns = _train(
        cell.code, images=images, labels=labels, images_val=images[:8], labels_val=labels[:8]
    )
    result = ns["result"]
    assert result.status == "completed", result.reason
    assert 1 <= result.history.height <= 2
    assert "validation_accuracy" in result.history.columns
    ns["cnn"].eval()
    out = np.asarray(ns["cnn"](images[:3]))
    assert out.shape == (3, 4)
    np.testing.assert_allclose(out.sum(axis=1), 1.0, rtol=1e-5)  # probabilities


def test_a_regression_with_flatten_first_and_no_validation_runs(comm_log):
    rng = np.random.default_rng(2)
    grids = rng.normal(size=(96, 3, 4)).astype("float32")
    targets = grids.reshape(96, -1).sum(axis=1, keepdims=True)
    cell = TrainModel(
        x="grids",
        y="targets",
        layers=[
            {"kind": "flatten"},
            {"kind": "norm", "norm": "layer"},
            {"kind": "dense", "units": 16, "activation": "tanh"},
            {"kind": "dense", "units": 1, "activation": "none"},
        ],
        loss="mean_squared_error",
        optimizer="sgd",
        learning_rate=0.01,
        metrics=[{"metric": "mean_absolute_error"}],
        validation="none",
        epochs=2,
    )
    assert cell.error == ""
    assert "grids[0].size" in cell.code and ".validate(" not in cell.code
    ns = _train(cell.code, grids=grids, targets=targets)
    result = ns["result"]
    assert result.status == "completed", result.reason
    assert result.history.columns == ["epoch", "loss", "mean_absolute_error"]
    assert result.history.height == 2
    ns["model"].eval()
    assert ns["model"](grids[:7]).shape == (7, 1)


def test_the_lists_are_kino_trains_names():
    from flax import nnx

    from kino import train

    assert set(LOSSES) == set(train.LOSSES)
    assert set(OPTIMIZERS) <= set(train.OPTIMIZERS)
    assert set(METRICS) == set(train.METRICS) - {"confusion_matrix"}
    assert all(callable(getattr(nnx, a)) for a in ACTIVATIONS if a != "none")


def test_the_form_has_a_field_for_every_attribute(comm_log):
    cell = TrainModel()
    assert {f["name"] for f in cell.fields} == set(cell.defaults())
    layers = next(f for f in cell.fields if f["name"] == "layers")
    assert {f["name"] for f in layers["fields"]} == set(NEW_LAYER)


def test_the_form_lists_the_kernels_arrays(comm_log, monkeypatch):
    from kino.smart import _namespace

    kernel = {
        "x_train": np.zeros((5, 3), "float32"),
        "labels": np.zeros(5, "int32"),
        "frame": "not an array",
        "_hidden": np.zeros(2),
    }
    monkeypatch.setattr(_namespace, "user_namespace", lambda: kernel)
    cell = TrainModel(y="y_train")
    x, y = (next(f for f in cell.fields if f["name"] == n) for n in ("x", "y"))
    assert x["type"] == "select"
    assert x["options"] == [
        ["x_train", "x_train  (5, 3) float32"],
        ["labels", "labels  (5,) int32"],
    ]
    # A name that is not defined yet stays selectable, and says so.
    assert y["options"][0] == ["y_train", "y_train  (not defined yet)"]
    kernel.clear()  # no arrays at all: a text field to type the name
    assert next(f for f in cell.form(cell.attrs) if f["name"] == "x")["type"] == "text"


def test_the_preview_counts_parameters_and_checks_the_layers_fit_the_data(comm_log, monkeypatch):
    from kino.smart import _namespace

    kernel = {"images": np.zeros((50, 8, 8, 1), "float32")}
    monkeypatch.setattr(_namespace, "user_namespace", lambda: kernel)
    layers = [
        {"kind": "conv", "features": 4, "kernel_size": 3},
        {"kind": "norm", "norm": "batch"},
        {"kind": "flatten"},
        {"kind": "dense", "units": 10, "activation": "none"},
    ]
    cell = TrainModel(x="images", layers=layers)
    # conv 3*3*1*4 + 4, batch norm 2*4, dense 8*8*4*10 + 10
    assert cell.preview(cell.attrs) == "2,618 parameters · one example (8, 8, 1) → (10,)"
    assert cell.error == ""
    kernel["images"] = np.zeros((50, 64), "float32")  # flat rows: no images to convolve
    cell.refresh()  # as after the cell that redefined images ran
    assert cell.error_field == "layers"
    assert "(examples, height, width, channels), got (50, 64)" in cell.error
    cell.attrs = {**cell.attrs, "layers": [{"kind": "dense", "units": 3, "activation": "none"}]}
    assert cell.error == ""
    assert cell.preview(cell.attrs) == "195 parameters · one example (64,) → (3,)"
    kernel.clear()  # no data yet: no preview, and no error
    assert cell.preview(cell.attrs) is None


BAD = [
    ({"layers": [{"kind": "dense", "units": 0}]}, "layers.0.units"),
    ({"layers": [{"kind": "dropout", "rate": 1.5}, {"kind": "dense"}]}, "layers.0.rate"),
    ({"layers": [{"kind": "dense", "activation": "swishy"}]}, "layers.0.activation"),
    ({"layers": [{"kind": "dense"}, {"kind": "conv"}, {"kind": "flatten"}, {"kind": "dense"}]},
     "layers.1.kind"),
    ({"layers": [{"kind": "conv"}, {"kind": "dense"}]}, "layers.1.kind"),
    ({"layers": [{"kind": "dense"}, {"kind": "dropout"}]}, "layers.1.kind"),
    ({"layers": [{"kind": "pool"}]}, "layers.0.kind"),
    ({"layers": []}, "layers"),
    ({"x": "1x"}, "x"),
    ({"y": "class"}, "y"),
    ({"x": 'x"); import os; #'}, "x"),
    ({"model": "x_train"}, "model"),
    ({"model": "loop"}, "model"),
    ({"x": "x_fit"}, "x"),
    ({"learning_rate": 0}, "learning_rate"),
    ({"learning_rate": "fast"}, "learning_rate"),
    ({"epochs": 2.5}, "epochs"),
    ({"batch_size": True}, "batch_size"),
    ({"validation_split": 0.9}, "validation_split"),
    ({"validation": "data", "validation_x": "my data"}, "validation_x"),
    ({"metrics": [{"metric": "accuracy"}, {"metric": "accuracy"}]}, "metrics.1.metric"),
    ({"early_stopping": True, "validation": "none"}, "monitor"),
    ({"early_stopping": True, "patience": 0}, "patience"),
    ({"loss": "cross_entropy"}, "loss"),
    ({"optimizer": "adamm"}, "optimizer"),
    ({"loss": ["a", "list"]}, "loss"),
    ({"layers": [{"kind": {"not": "hashable"}}]}, "layers.0.kind"),
]  # fmt: skip


@pytest.mark.parametrize(("attrs", "field"), BAD)
def test_a_bad_attribute_names_its_field_and_keeps_the_last_code(attrs, field, comm_log):
    good = TrainModel()
    with pytest.raises(AttrError) as raised:
        good.generate({**good.attrs, **attrs})
    assert raised.value.field == field
    before = good.code
    good.attrs = {**good.attrs, **attrs}
    assert (good.error_field, good.code) == (field, before)
    assert good.error == raised.value.message


# -- properties: any valid form gives code that parses, is formatted, and round-trips ----

NAMES = st.from_regex(r"[a-z][a-z0-9_]{0,14}", fullmatch=True).filter(
    lambda n: (
        n not in {"flatten", "rngs", "loop", "run", "dashboard", "train", "kino", "nnx"}
        and not n.startswith(("x_fit", "y_fit", "x_val", "y_val", "n_val"))
        and n not in {"as", "if", "in", "is", "or", "and", "def", "del", "for", "not", "try"}
    )
)
ACTIVATION = st.sampled_from(ACTIVATIONS)
DENSE = st.fixed_dictionaries(
    {"kind": st.just("dense"), "units": st.integers(1, 512), "activation": ACTIVATION}
)
CONV = st.fixed_dictionaries(
    {
        "kind": st.just("conv"),
        "features": st.integers(1, 64),
        "kernel_size": st.integers(1, 5),
        "activation": ACTIVATION,
    }
)
ANYWHERE = st.one_of(
    st.fixed_dictionaries({"kind": st.just("dropout"), "rate": st.floats(0, 0.95)}),
    st.fixed_dictionaries({"kind": st.just("norm"), "norm": st.sampled_from(["batch", "layer"])}),
)


@st.composite
def layer_lists(draw):
    """Convolutions (maybe), then a flatten if there were any, then dense layers."""
    convs = draw(st.lists(st.one_of(CONV, ANYWHERE), max_size=3))
    middle = [{"kind": "flatten"}] if any(c["kind"] == "conv" for c in convs) else []
    dense = draw(st.lists(st.one_of(DENSE, ANYWHERE), max_size=3))
    return [*convs, *middle, *dense, draw(DENSE)]


@st.composite
def valid_attrs(draw):
    x, y, model, vx, vy = draw(st.lists(NAMES, min_size=5, max_size=5, unique=True))
    metrics = draw(st.lists(st.sampled_from(list(METRICS)), max_size=3, unique=True))
    validation = draw(st.sampled_from(["none", "split", "data"]))
    watched = ["loss", *metrics]
    if validation != "none":
        watched += [f"validation_{m}" for m in watched]
    return {
        "x": x,
        "y": y,
        "model": model,
        "layers": draw(layer_lists()),
        "loss": draw(st.sampled_from(list(LOSSES))),
        "optimizer": draw(st.sampled_from(list(OPTIMIZERS))),
        "learning_rate": draw(st.floats(1e-6, 1.0)),
        "metrics": [{"metric": m} for m in metrics],
        "epochs": draw(st.integers(1, 500)),
        "batch_size": draw(st.integers(1, 4096)),
        "validation": validation,
        "validation_split": draw(st.floats(0.01, 0.5)),
        "validation_x": vx,
        "validation_y": vy,
        "early_stopping": draw(st.booleans()),
        "monitor": draw(st.sampled_from(watched)),
        "patience": draw(st.integers(1, 20)),
    }


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(valid_attrs())
def test_valid_attributes_give_formatted_code_that_round_trips(attrs):
    cell = TrainModel.__new__(TrainModel)  # generate() only: no widget per example
    code = cell.generate(attrs)
    ast.parse(code)
    assert ruff_format(code) == code + "\n", code  # a file ends in a newline, a cell does not
    reopened = json.loads(json.dumps(attrs))  # what the notebook's metadata keeps
    assert cell.generate(reopened) == code


@settings(max_examples=5, deadline=None)
@given(valid_attrs())
def test_a_reopened_widget_writes_the_same_code(attrs):
    first = TrainModel(**attrs)
    second = TrainModel(**json.loads(json.dumps(first.attrs)))
    assert first.error == second.error == ""
    assert second.code == first.code
    first.close()
    second.close()


def test_kino_smart_train_model_is_the_cell_after_its_module_is_imported():
    import kino
    import kino.smart._train_model  # imported, as the kernel would have

    assert kino.smart.train_model is TrainModel
