"""The page is not trusted: every synced trait it can write is checked in the kernel.

A page writes state with an "update" message; ``widget.set_state(state)`` is what
ipywidgets does with one, and a button click is the custom message
``{"event": "click"}``. Bounds, options and ``disabled`` are the kernel's (a page's
write to them is undone); a value outside what Python declared is refused in the
form's errors and never submitted.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import math

import ipywidgets
import pytest
import traitlets
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import kino
from kino.ui.input.media import MAX_IMAGE_PIXELS


def page_writes(widget: ipywidgets.Widget, state: dict) -> None:
    """What ipywidgets does with an "update" message; a message it refuses (a
    TraitError, an IndexError in ipywidgets' own observers) is dropped and logged."""
    with contextlib.suppress(Exception):
        widget.set_state(state)


def click(button: ipywidgets.Button) -> None:
    button._handle_custom_msg({"event": "click"}, [])


def train_form():
    form = kino.form(
        epochs=kino.input.range("Epochs", 1, 100, default=10),
        learning_rate=kino.input.range("Learning rate", 1e-5, 1e-1, default=1e-3, log=True),
        submit="Train",
    )
    runs = []
    form.on_submit(runs.append)
    return form, runs


# range and number bounds ------------------------------------------------------
def test_a_page_cannot_move_a_range_inputs_bounds(comm_log):
    # The Voila exploit: one update message, then a click on "Train".
    form, runs = train_form()
    slider = form.fields["epochs"]._control
    page_writes(slider, {"max": 2e9, "min": 1e9, "value": 0.5})
    assert (slider.min, slider.max) == (1, 100), "the kernel's bounds are put back"
    assert form.value["epochs"] == 10, "the forged value (0) is refused, not clamped"
    restored = comm_log.updates("max")[-1].state
    assert restored["max"] == 100, "the page is told the kernel's bounds"
    assert comm_log.updates("value")[-1].state["value"] == 10, "and the kept value"
    click(form.button)
    assert runs == [] and form.errors() == {"epochs": "Refused 0: must be within 1 and 100"}
    page_writes(slider, {"value": 12})
    click(form.button)
    assert runs == [{"epochs": 12, "learning_rate": 0.001}]


@pytest.mark.parametrize(("field", "forged"), [("epochs", 1000), ("epochs", -3), ("lr", 5.0)])
def test_a_forged_range_value_is_refused_and_the_previous_value_kept(comm_log, field, forged):
    form = kino.form(
        epochs=kino.input.range("Epochs", 1, 50, default=10),
        lr=kino.input.range("Learning rate", 1e-5, 1e-1, default=1e-3, log=True),
    )
    runs = []
    form.on_submit(runs.append)
    before = form.value[field]
    page_writes(form.fields[field]._control, {"value": forged})
    assert form.value[field] == before, "ipywidgets would have clamped it to a bound"
    assert form.errors()[field].startswith(f"Refused {forged!r}: must be within")
    assert form.fields[field].shown_error == form.errors()[field]
    assert comm_log.updates("value")[-1].state["value"] == before, "the page is told"
    assert form.submit() is False and runs == []
    form.reset()  # a kernel write clears the refusal
    assert form.errors() == {} and form.submit() is True


def test_a_page_cannot_move_a_log_sliders_bounds():
    form, runs = train_form()
    slider = form.fields["learning_rate"]._control
    lo, hi, base = slider.min, slider.max, slider.base
    page_writes(slider, {"max": 30, "base": 100, "value": 1e20})
    assert (slider.min, slider.max, slider.base) == (lo, hi, base)
    assert form.value["learning_rate"] == 1e-3, "1e20 is refused, not clamped to 0.1"
    assert form.submit() is False and "learning_rate" in form.errors()
    page_writes(slider, {"value": 1e-2})
    assert form.submit() and runs[0]["learning_rate"] == 1e-2


def test_a_range_value_out_of_bounds_is_refused_in_the_forms_errors():
    form, runs = train_form()
    epochs = form.fields["epochs"]
    # Whatever the control lets through (ipywidgets clamps today; this writes past
    # its validation), the kernel checks its own bounds.
    epochs._control._trait_values["value"] = 10**9
    assert form.errors()["epochs"] == "Must be within 1 and 100"
    assert form.submit() is False and runs == []


def test_a_page_cannot_change_a_number_inputs_step_or_bounds():
    form = kino.form(n=kino.input.number("N", default=2, min=1, max=3, step=1))
    runs = []
    form.on_submit(runs.append)
    control = form.fields["n"]._control
    page_writes(control, {"step": 1000, "value": 10**9})
    assert control.step == 1
    assert form.errors() == {"n": "Must be at most 3"}
    assert form.submit() is False and runs == []


def test_a_page_cannot_move_a_date_pickers_bounds():
    lo, hi = dt.date(2024, 1, 1), dt.date(2024, 12, 31)
    field = kino.input.date("Day", dt.date(2024, 6, 1), min=lo, max=hi)
    page_writes(field._control, {"min": "1900-01-01", "max": "2999-01-01"})
    assert (field._control.min, field._control.max) == (lo, hi)


# disabling ------------------------------------------------------------------------
def test_a_disabled_form_refuses_submits_whatever_the_page_says():
    form, runs = train_form()
    form.disable()
    page_writes(form, {"_dom_classes": []})
    page_writes(form.button, {"disabled": False})
    for field in form.fields.values():
        page_writes(field._control, {"disabled": False})
    click(form.button)
    assert form.submit() is False and runs == []
    assert form.disabled
    assert form.button.disabled and all(f._control.disabled for f in form.fields.values())
    form.enable()
    click(form.button)
    assert len(runs) == 1


def test_a_page_cannot_change_a_disabled_field():
    form, _ = train_form()
    form.disable()
    page_writes(form.fields["epochs"]._control, {"disabled": False, "value": 99})
    assert form.value["epochs"] == 10
    form.update({"epochs": 20})  # the kernel may still change it
    assert form.value["epochs"] == 20
    form.enable()
    page_writes(form.fields["epochs"]._control, {"value": 30})
    assert form.value["epochs"] == 30


def test_a_disabled_button_ignores_page_clicks():
    button = kino.button("Stop")
    clicks = []
    button.on_click(lambda: clicks.append(1))
    button.disable()
    page_writes(button.button, {"disabled": False})
    click(button.button)
    assert clicks == [] and button.clicks == 0


# image --------------------------------------------------------------------------
def picture(control, height, width, channels):
    page_writes(
        control,
        {
            "height": height,
            "width": width,
            "channels": channels,
            "data": memoryview(bytes(height * width * channels)),
        },
    )


@pytest.mark.parametrize(
    ("height", "width", "channels", "problem"),
    [
        (3000, 3000, 1, r"fit='pad' makes it 8x8"),
        (8, 8, 3, r"received 192 bytes for a 8x8x1 picture"),  # channels pinned to 1
        (4, 8, 1, r"fit='pad' makes it 8x8"),
    ],
)
def test_an_image_input_refuses_a_picture_it_did_not_ask_for(height, width, channels, problem):
    form = kino.form(digit=kino.input.image("Digit", size=(8, 8), fit="pad", format="luminance"))
    runs = []
    form.on_submit(runs.append)
    control = form.fields["digit"]._control
    picture(control, height, width, channels)
    assert control.channels == 1 and control.size == [8, 8], "the declared format is pinned"
    with pytest.raises(ValueError, match=problem):
        form.value  # noqa: B018
    assert "digit" in form.errors()
    assert form.submit() is False and runs == []
    picture(control, 8, 8, 1)
    assert form.value["digit"].shape == (8, 8, 1)


def test_an_image_input_without_a_size_refuses_more_than_max_pixels():
    field = kino.input.image("Photo")
    field._control.set_state({"height": MAX_IMAGE_PIXELS, "width": 2, "channels": 3})
    field._control.set_trait("data", b"\0")
    with pytest.raises(ValueError, match="MAX_IMAGE_PIXELS"):
        field.value  # noqa: B018


def test_a_contain_image_may_be_smaller_than_its_size():
    field = kino.input.image("Photo", size=(8, 8), fit="contain")
    picture(field._control, 4, 8, 3)
    assert field.value.shape == (4, 8, 3)
    picture(field._control, 9, 8, 3)
    assert "within 8x8" in field.error()


# choices --------------------------------------------------------------------------
def test_a_page_that_rewrites_a_selects_labels_cannot_break_form_value():
    form = kino.form(opt=kino.input.select("Optimizer", ["adam", "sgd"]))
    control = form.fields["opt"]._control
    page_writes(control, {"_options_labels": ["a", "b", "c", "d"], "index": 3})
    # ipywidgets fails half way (index 3 is set, its own observer raises): the
    # kernel refuses the index against its own options and puts its labels back.
    with pytest.raises(ValueError, match=r"kino\.input\.select: choose one of \['adam', 'sgd'\]"):
        form.value  # noqa: B018
    assert control._options_labels == ("adam", "sgd")
    assert form.errors() == {"opt": "kino.input.select: choose one of ['adam', 'sgd']"}
    assert form.submit() is False
    page_writes(control, {"index": 1})
    assert form.value == {"opt": "sgd"}


@pytest.mark.parametrize("selected", [[0, 0, 0], [5], [-1], [1, 1]])
def test_a_multiselect_refuses_duplicates_and_unknown_indices(selected):
    form = kino.form(m=kino.input.multiselect("Metrics", ["acc", "f1", "auc"]))
    runs = []
    form.on_submit(runs.append)
    control = form.fields["m"]._control
    page_writes(control, {"selected": selected, "labels": ["x"]})
    assert control.labels == ["acc", "f1", "auc"]
    with pytest.raises(ValueError, match="chosen once"):
        form.value  # noqa: B018
    assert form.submit() is False and runs == []
    page_writes(control, {"selected": [2, 0]})
    assert form.value == {"m": ["acc", "auc"]}


# any page-written state -------------------------------------------------------------
def property_form():
    return kino.form(
        epochs=kino.input.range("Epochs", 1, 100, default=10),
        rate=kino.input.range("Rate", 1e-5, 1e-1, default=1e-3, log=True),
        dropout=kino.input.range("Dropout", 0.0, 0.5, default=0.1),
        n=kino.input.number("N", default=2, min=1, max=3),
        x=kino.input.number("X", default=0.5, min=0.0, max=1.0),
        opt=kino.input.select("Optimizer", ["adam", "sgd"]),
        metrics=kino.input.multiselect("Metrics", ["acc", "f1", "auc"], max_selected=2),
        digit=kino.input.image("Digit", size=(8, 8), fit="pad", format="luminance"),
        day=kino.input.date("Day", min=dt.date(2024, 1, 1), max=dt.date(2024, 12, 31)),
        color=kino.input.color("Line"),
        shuffle=kino.input.checkbox("Shuffle"),
    )


def holds_constraints(value: dict) -> None:
    assert isinstance(value["epochs"], int) and 1 <= value["epochs"] <= 100
    assert 1e-5 <= value["rate"] <= 1e-1
    assert 0.0 <= value["dropout"] <= 0.5
    assert value["opt"] in ("adam", "sgd")
    metrics = value["metrics"]
    assert len(set(metrics)) == len(metrics) and set(metrics) <= {"acc", "f1", "auc"}
    digit = value["digit"]
    assert digit is None or digit.shape == (8, 8, 1)
    assert isinstance(value["color"], str) and len(value["color"]) == 7
    assert isinstance(value["shuffle"], bool)


def submitted_constraints(value: dict) -> None:
    holds_constraints(value)
    assert 1 <= value["n"] <= 3 and math.isfinite(value["x"]) and 0 <= value["x"] <= 1
    assert len(value["metrics"]) <= 2
    assert value["day"] is None or dt.date(2024, 1, 1) <= value["day"] <= dt.date(2024, 12, 31)


NUMBERS = st.one_of(
    st.integers(-(2**40), 2**40),
    st.floats(allow_nan=True, allow_infinity=True),
    st.none(),
    st.text(max_size=4),
)
ANY = st.one_of(
    NUMBERS, st.booleans(), st.lists(st.integers(-5, 5), max_size=5), st.lists(st.text(max_size=3))
)
TRAITS = {
    "epochs": ["value", "min", "max", "step", "disabled"],
    "rate": ["value", "min", "max", "step", "base"],
    "dropout": ["value", "min", "max", "step"],
    "n": ["value", "step"],
    "x": ["value", "step"],
    "opt": ["index", "_options_labels"],
    "metrics": ["selected", "labels"],
    "digit": ["width", "height", "channels", "size", "fit", "max_pixels"],
    "day": ["value", "min", "max"],
    "color": ["value"],
    "shuffle": ["value"],
}
WRITES = st.lists(
    st.sampled_from(sorted(TRAITS)).flatmap(
        lambda field: st.tuples(
            st.just(field),
            st.dictionaries(st.sampled_from(TRAITS[field]), ANY, min_size=1, max_size=3),
            st.one_of(st.none(), st.integers(0, 200)),
        )
    ),
    max_size=6,
)


RANGES = {"epochs": (1, 100, 10), "rate": (1e-5, 1e-1, 1e-3), "dropout": (0.0, 0.5, 0.1)}
RANGE_WRITES = st.lists(
    st.tuples(
        st.sampled_from(sorted(RANGES)),
        st.one_of(st.integers(-(2**40), 2**40), st.floats(allow_nan=True, allow_infinity=True)),
        st.dictionaries(st.sampled_from(["min", "max", "step"]), NUMBERS, max_size=2),
    ),
    min_size=1,
    max_size=6,
)


def _as_traits(control: ipywidgets.Widget, state: dict) -> dict | None:
    """What the slider's traits make of a page's state (CInt, CFloat), or None when
    one of them refuses it: ipywidgets then drops the whole message."""
    traits = control.traits()

    def convert(trait: traitlets.TraitType, v: object) -> object:
        return v if v is None and trait.allow_none else trait.validate(control, v)

    try:
        return {name: convert(traits[name], v) for name, v in state.items()}
    except traitlets.TraitError:
        return None


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(writes=RANGE_WRITES)
def test_a_range_keeps_the_users_value_and_refuses_any_value_outside_its_bounds(writes):
    """Each range holds its default or the last in-bounds value the page wrote, never a
    bound it clamped to; a refused value is in the form's errors until the next accepted one."""
    form = property_form()
    expected = {name: default for name, (_, _, default) in RANGES.items()}
    refused: dict[str, bool] = dict.fromkeys(RANGES, False)
    for field, raw, bounds in writes:
        control = form.fields[field]._control
        converted = _as_traits(control, {**bounds, "value": raw})
        page_writes(control, {**bounds, "value": raw})
        if converted is None:
            continue  # a trait refused the message; nothing changed
        number = converted["value"]
        lo, hi, _ = RANGES[field]
        slack = 1e-9 * hi if field == "rate" else 0
        if math.isfinite(number) and lo - slack <= number <= hi + slack:
            expected[field], refused[field] = number, False
        else:
            refused[field] = True
    errors = form.errors()
    for field, want in expected.items():
        control, pins = form.fields[field]._control, form.fields[field]._pins.values
        assert (control.min, control.max) == (pins["min"], pins["max"])
        assert control.value == want, f"{field}: kept {want!r}, got {control.value!r}"
        assert (field in errors) == refused[field], errors
        if refused[field]:
            assert errors[field].startswith("Refused ")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(writes=WRITES)
def test_no_page_written_state_makes_a_value_outside_the_declared_constraints(writes):
    form = property_form()
    runs = []
    form.on_submit(runs.append)
    for field, state, data_size in writes:
        control = form.fields[field]._control
        if field == "digit" and data_size is not None:
            state = {**state, "data": memoryview(bytes(data_size))}
        page_writes(control, state)
    try:
        value = form.value
    except ValueError:
        pass  # the documented validation error: shown beside the field
    else:
        holds_constraints(value)
    for name, field in form.fields.items():
        try:
            field.value  # noqa: B018
        except ValueError:
            assert form.errors().get(name), "an unreadable value is a field error"
    click(form.button)
    assert form.submit() in (True, False)
    for submitted in runs:
        submitted_constraints(submitted)
