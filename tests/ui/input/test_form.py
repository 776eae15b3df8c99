"""kino.form: typed values, validation blocking submit, dataclass forms, disabling."""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import threading
from typing import Literal

import ipywidgets
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import kino


def seed_form():
    return kino.form(
        learning_rate=kino.input.text("Learning rate", default="0.001"),
        epochs=kino.input.range("Epochs", 1, 100, default=10),
        submit="Train model",
    )


def click(form):
    """The submit button clicked in the browser."""
    form.button._handle_button_msg(None, {"event": "click"}, [])


def test_seed_form_translates_line_for_line():
    form = seed_form()
    assert form.value == {"learning_rate": "0.001", "epochs": 10}
    assert form.button.description == "Train model"
    got = []
    form.on_submit(got.append)
    form.fields["epochs"]._control.set_state({"value": 25})
    form.fields["learning_rate"]._control.set_state({"value": "0.01"})
    click(form)
    assert got == [{"learning_rate": "0.01", "epochs": 25}]
    assert form.submits == 1


def test_number_form_types_values():
    form = kino.form(
        learning_rate=kino.input.number("Learning rate", default=1e-3, min=1e-6, max=1.0),
        epochs=kino.input.range("Epochs", 1, 100, default=10),
        optimizer=kino.input.select("Optimizer", ["adam", "sgd", "rmsprop"]),
        submit="Train model",
    )
    values = form.value
    assert values == {"learning_rate": 0.001, "epochs": 10, "optimizer": "adam"}
    assert type(values["learning_rate"]) is float and type(values["epochs"]) is int


def test_invalid_field_blocks_submit_and_shows_message():
    form = kino.form(
        learning_rate=kino.input.number("Learning rate", default=1e-3, min=1e-6, max=1.0),
        submit="Train",
    )
    got = []
    form.on_submit(got.append)
    form.fields["learning_rate"]._control.set_state({"value": 3.0})
    click(form)
    assert got == []
    assert form.fields["learning_rate"].shown_error == "Must be at most 1"
    assert form._form_error.value == "Not submitted: 1 field to correct"
    assert form.errors() == {"learning_rate": "Must be at most 1"}
    form.fields["learning_rate"]._control.set_state({"value": 0.1})
    click(form)
    assert got == [{"learning_rate": 0.1}]
    assert form.fields["learning_rate"].shown_error is None


def test_form_level_validate_message_and_field_messages():
    def check(v):
        if v["low"] >= v["high"]:
            return "Low must be below high"
        if v["low"] == 0:
            return {"low": "Zero is not allowed"}
        return None

    form = kino.form(
        low=kino.input.number("Low", default=5),
        high=kino.input.number("High", default=3),
        validate=check,
    )
    got = []
    form.on_submit(got.append)
    assert form.submit() is False
    assert form._form_error.value == "Low must be below high"
    assert form._form_error.layout.display == ""
    form.update({"low": 0})
    assert form.submit() is False
    assert form.fields["low"].shown_error == "Zero is not allowed"
    form.update({"low": 1})
    assert form.submit() is True
    assert got == [{"low": 1, "high": 3}]
    assert form._form_error.layout.display == "none"


def test_validate_wrong_return_type():
    form = kino.form(x=kino.input.text("X"), validate=lambda v: 42)
    with pytest.raises(TypeError, match="'validate'"):
        form.submit()


def test_report_changes_and_no_submit():
    form = kino.form(x=kino.input.range("X", 0, 10), report_changes=True)
    changes = []
    form.on_change(changes.append)
    form.fields["x"]._control.set_state({"value": 4})
    assert changes == [{"x": 4}]
    auto = kino.form(x=kino.input.checkbox("X"), submit=None)
    seen = []
    kino.listen(auto, seen.append)
    assert auto.button is None
    auto.fields["x"]._control.set_state({"value": True})
    assert [(e.type, e.value, e.source) for e in seen] == [("change", {"x": True}, auto)]


def test_report_changes_skips_invalid_values():
    form = kino.form(n=kino.input.number("N", default=1, max=5), report_changes=True)
    changes = []
    form.on_change(changes.append)
    form.fields["n"]._control.set_state({"value": 9})
    assert changes == []


def test_reset_on_submit():
    form = kino.form(
        a=kino.input.text("A", default="x"),
        b=kino.input.text("B", default="y"),
        reset_on_submit=["a"],
    )
    form.update({"a": "changed", "b": "kept"})
    assert form.submit()
    assert form.value == {"a": "x", "b": "kept"}
    every = kino.form(a=kino.input.text("A", default="x"), reset_on_submit=True)
    every.update({"a": "z"})
    every.submit()
    assert every.value == {"a": "x"}


def test_disable_and_enable():
    form = seed_form()
    got = []
    form.on_submit(got.append)
    form.disable()
    assert form.disabled and form.button.disabled
    assert all(f.disabled for f in form.fields.values())
    assert form.submit() is False
    form.enable()
    assert not form.disabled and not form.button.disabled
    assert form.submit() is True and len(got) == 1


def test_submit_while_background_thread_is_busy():
    form = seed_form()
    got = []
    form.on_submit(got.append)
    stop = threading.Event()

    def busy():
        while not stop.is_set():
            np.linalg.svd(np.ones((64, 64)))

    worker = threading.Thread(target=busy, daemon=True)
    worker.start()
    try:
        click(form)
        click(form)
    finally:
        stop.set()
        worker.join()
    assert len(got) == 2


def test_layout_has_kit_classes():
    form = seed_form()
    assert {"kino", "kino-form"} <= set(form._dom_classes)
    grid = form.children[1]
    assert isinstance(grid, ipywidgets.GridBox)
    assert list(grid.children) == list(form.fields.values())


class Optimizer(enum.Enum):
    adam = "adam"
    sgd = "sgd"


@dataclasses.dataclass
class Hyper:
    learning_rate: float = 1e-3
    epochs: int = 10
    optimizer: Literal["adam", "sgd", "rmsprop"] = "sgd"
    shuffle: bool = True
    name: str = "run"
    metrics: list[Literal["accuracy", "f1"]] = dataclasses.field(default_factory=lambda: ["f1"])
    kind: Optimizer = Optimizer.adam
    start: dt.date = dt.date(2024, 1, 1)


def test_from_dataclass_fields_and_instances():
    form = kino.form.from_dataclass(Hyper, submit="Train")
    kinds = {name: type(f).__name__ for name, f in form.fields.items()}
    assert kinds == {
        "learning_rate": "NumberInput",
        "epochs": "NumberInput",
        "optimizer": "SelectInput",
        "shuffle": "CheckboxInput",
        "name": "TextInput",
        "metrics": "MultiselectInput",
        "kind": "SelectInput",
        "start": "DateInput",
    }
    assert form.fields["learning_rate"].label == "Learning rate"
    assert form.fields["optimizer"].labels == ["adam", "sgd", "rmsprop"]
    assert form.value == Hyper()
    got = []
    form.on_submit(got.append)
    form.fields["optimizer"]._control.set_state({"index": 2})
    form.fields["epochs"]._control.set_state({"value": 30})
    click(form)
    assert got == [Hyper(optimizer="rmsprop", epochs=30)]
    assert isinstance(got[0], Hyper)
    form.update(Hyper(name="again"))
    assert form.value.name == "again"


def test_from_dataclass_overrides_and_validate():
    form = kino.form.from_dataclass(
        Hyper,
        epochs=kino.input.range("Epochs", 1, 100, default=10),
        validate=lambda h: "Too long" if h.epochs > 50 else None,
    )
    assert type(form.fields["epochs"]).__name__ == "RangeInput"
    form.update({"epochs": 80})
    assert form.submit() is False
    assert form.errors() == {"_form": "Too long"}


def test_from_dataclass_required_fields():
    @dataclasses.dataclass
    class Job:
        name: str
        size: int
        mode: Literal["fast", "slow"]

    assert kino.form.from_dataclass(Job).value == Job(name="", size=0, mode="fast")


def test_from_dataclass_bad_arguments():
    with pytest.raises(TypeError, match="'cls'"):
        kino.form.from_dataclass(dict)

    @dataclasses.dataclass
    class Odd:
        data: bytes = b""

    with pytest.raises(TypeError, match="'data'"):
        kino.form.from_dataclass(Odd)
    with pytest.raises(ValueError, match="not fields"):
        kino.form.from_dataclass(Hyper, nope=kino.input.text("x"))


@pytest.mark.parametrize(
    ("call", "exc", "argument"),
    [
        (lambda: kino.form(), ValueError, "at least one field"),
        (lambda: kino.form(x=3), TypeError, "'x'"),
        (lambda: kino.form(x=kino.input.text("X"), submit=3), TypeError, "'submit'"),
        (
            lambda: kino.form(x=kino.input.text("X"), reset_on_submit=["y"]),
            ValueError,
            "'reset_on_submit'",
        ),
        (
            lambda: kino.form(x=kino.input.text("X"), reset_on_submit="x"),
            TypeError,
            "'reset_on_submit'",
        ),
        (lambda: kino.form(x=kino.input.text("X"), validate="no"), TypeError, "'validate'"),
        (lambda: kino.form(x=kino.input.text("X")).update({"y": 1}), ValueError, "no fields"),
        (lambda: kino.form(x=kino.input.text("X")).on_submit(None), TypeError, "'fn'"),
    ],
)
def test_bad_form_arguments(call, exc, argument):
    with pytest.raises(exc, match=argument):
        call()


def test_same_input_twice_is_refused():
    same = kino.input.text("X")
    with pytest.raises(ValueError, match="appears twice"):
        kino.form(a=same, b=same)


@settings(max_examples=30, deadline=None)
@given(field=st.one_of(st.integers(), st.text(max_size=4), st.none(), st.floats(allow_nan=False)))
def test_non_input_fields_are_refused(field):
    with pytest.raises(TypeError, match=r"field 'x' must be a kino\.input"):
        kino.form(x=field)


def test_from_dataclass_fields_may_share_a_name_with_a_form_argument():
    @dataclasses.dataclass
    class Odd:
        submit: str = "now"
        validate: bool = True

    form = kino.form.from_dataclass(Odd, submit="Go")
    assert form.value == Odd()
    assert form.button.description == "Go"
    assert isinstance(form, kino.input.Form)


def test_form_events_carry_the_values():
    form = seed_form()
    events = []
    form.subscribe(events.append)
    click(form)
    assert [(e.type, e.value, e.source) for e in events] == [
        ("submit", {"learning_rate": "0.001", "epochs": 10}, form)
    ]
