"""The search space: what each hyperparameter may be, read from a ``kino.form``.

A slider with ``log=True`` becomes a log-uniform float; a slider or a bounded number
of ints an integer; of floats a uniform float; a select and a checkbox a categorical.
Inputs with nothing to search between (text, dates, a number without both bounds)
are refused with the field's name. A space can also be written directly.

>>> import kino
>>> form = kino.form(
...     learning_rate=kino.input.range("Learning rate", 1e-4, 1e-1, default=1e-3, log=True),
...     width=kino.input.range("Width", 16, 128, step=16, default=64),
...     optimizer=kino.input.select("Optimizer", ["adam", "sgd"]),
... )
>>> for name, param in from_form(form).items():
...     print(name, param)
learning_rate Float(low=0.0001, high=0.1, log=True)
width Int(low=16, high=128, step=16)
optimizer Categorical(choices=('adam', 'sgd'))
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from kino.contracts import check_bool, check_int, check_number, fail
from kino.ui.input import CheckboxInput, Form, NumberInput, RangeInput, SelectInput

#: Values a float (or a long int range) contributes to a grid search.
GRID_POINTS = 5


@dataclass(frozen=True)
class Float:
    """A float between ``low`` and ``high`` (both included), log-uniform when ``log``.

    >>> Float(1e-4, 1e-1, log=True).grid(3)
    (0.0001, 0.0031622776601683794, 0.1)
    """

    low: float
    high: float
    log: bool = False

    def __post_init__(self) -> None:
        check_number(self.low, func="kino.tune.Float", argument="low")
        check_number(self.high, func="kino.tune.Float", argument="high")
        check_bool(self.log, func="kino.tune.Float", argument="log")
        if not self.low < self.high:
            allowed = f"greater than low ({self.low!r})"
            fail("kino.tune.Float", "high", allowed, self.high, ValueError)
        if self.log and self.low <= 0:
            fail("kino.tune.Float", "low", "> 0 when log=True", self.low, ValueError)

    def suggest(self, trial: Any, name: str) -> float:
        """Draw this parameter from an Optuna trial (``trial.suggest_float``)."""
        return trial.suggest_float(name, self.low, self.high, log=self.log)

    def grid(self, points: int = GRID_POINTS) -> tuple[float, ...]:
        """``points`` evenly spaced values (in the exponent when ``log``), ends included."""
        if self.log:
            lo, hi = math.log10(self.low), math.log10(self.high)
            values = [10 ** (lo + (hi - lo) * i / (points - 1)) for i in range(points)]
            values[0], values[-1] = self.low, self.high  # exact ends, not 10**log10(x)
            return tuple(values)
        return tuple(self.low + (self.high - self.low) * i / (points - 1) for i in range(points))


@dataclass(frozen=True)
class Int:
    """An int from ``low`` to ``high`` (both included) in steps of ``step``.

    >>> Int(16, 128, step=16).grid()
    (16, 32, 48, 64, 80, 96, 112, 128)
    """

    low: int
    high: int
    step: int = 1

    def __post_init__(self) -> None:
        check_int(self.low, func="kino.tune.Int", argument="low")
        check_int(self.high, func="kino.tune.Int", argument="high")
        check_int(self.step, func="kino.tune.Int", argument="step", min=1)
        if not self.low < self.high:
            fail("kino.tune.Int", "high", f"greater than low ({self.low!r})", self.high, ValueError)

    def suggest(self, trial: Any, name: str) -> int:
        """Draw this parameter from an Optuna trial (``trial.suggest_int``)."""
        return trial.suggest_int(name, self.low, self.high, step=self.step)

    def grid(self, points: int = GRID_POINTS * 2) -> tuple[int, ...]:
        """Every value when there are at most ``points``, else ``points`` spread evenly."""
        values = range(self.low, self.high + 1, self.step)
        if len(values) <= points:
            return tuple(values)
        return tuple(values[round(i * (len(values) - 1) / (points - 1))] for i in range(points))


@dataclass(frozen=True)
class Categorical:
    """One of ``choices`` (None, bool, int, float or str, as Optuna stores them).

    >>> Categorical(("adam", "sgd")).grid()
    ('adam', 'sgd')
    """

    choices: tuple[Any, ...]

    def __post_init__(self) -> None:
        allowed = "a non-empty tuple of None, bool, int, float or str"
        if not isinstance(self.choices, tuple) or not self.choices:
            fail("kino.tune.Categorical", "choices", allowed, self.choices)
        for choice in self.choices:
            if choice is not None and not isinstance(choice, bool | int | float | str):
                fail("kino.tune.Categorical", "choices", allowed, choice)

    def suggest(self, trial: Any, name: str) -> Any:
        """Draw this parameter from an Optuna trial (``trial.suggest_categorical``)."""
        return trial.suggest_categorical(name, self.choices)

    def grid(self, points: int = 0) -> tuple[Any, ...]:
        """Every choice."""
        return self.choices


Param = Float | Int | Categorical
Space = Mapping[str, Param]


def from_form(form: Form) -> dict[str, Param]:
    """The search space of ``form``: one parameter per field, bounds from the inputs.

    >>> import kino
    >>> from_form(kino.form(name=kino.input.text("Run name")))
    Traceback (most recent call last):
    ...
    TypeError: kino.tune: field 'name' must be a range, a number with min and max, \
a select or a checkbox, got TextInput: 'Run name'
    """
    if not isinstance(form, Form):
        fail("kino.tune", "form", "a kino.form", form)
    return {name: param_of(name, field) for name, field in form.fields.items()}


_SEARCHABLE = "a range, a number with min and max, a select or a checkbox"


def param_of(name: str, field: Any) -> Param:
    """The parameter one input stands for (``name`` is its field name, for errors).

    >>> import kino
    >>> param_of("dropout", kino.input.number("Dropout", default=0.1, min=0.0, max=0.5))
    Float(low=0.0, high=0.5, log=False)
    >>> param_of("lr", kino.input.number("LR", default=1e-3, min=1e-5, max=1e-1, log=True))
    Float(low=1e-05, high=0.1, log=True)
    >>> param_of("seed", kino.input.number("Seed", default=0))
    Traceback (most recent call last):
    ...
    ValueError: kino.tune: field 'seed' must be a number with both min and max to be searched, \
got NumberInput: 'Seed'
    """
    if isinstance(field, RangeInput):
        if field.log_scale:
            return Float(float(field.min), float(field.max), log=True)
        if field.integer:
            return Int(int(field.min), int(field.max), step=int(field.step or 1))
        return Float(float(field.min), float(field.max))
    if isinstance(field, NumberInput):
        if field.min is None or field.max is None or field.min == field.max:
            allowed = "a number with both min and max to be searched"
            raise ValueError(f"kino.tune: field {name!r} must be {allowed}, got {_shown(field)}")
        if field.log_scale:
            return Float(float(field.min), float(field.max), log=True)
        if field.integer:
            return Int(int(field.min), int(field.max), step=int(field.step or 1))
        return Float(float(field.min), float(field.max))
    if isinstance(field, SelectInput):
        return _categorical(name, field, tuple(field.options))
    if isinstance(field, CheckboxInput):
        return Categorical((False, True))
    raise TypeError(f"kino.tune: field {name!r} must be {_SEARCHABLE}, got {_shown(field)}")


def _categorical(name: str, field: Any, options: tuple[Any, ...]) -> Categorical:
    for option in options:
        if option is not None and not isinstance(option, bool | int | float | str):
            raise TypeError(
                f"kino.tune: field {name!r} is a select whose options must be None, bool, int, "
                f"float or str to be searched, got {type(option).__name__}: {option!r:.60}"
            )
    return Categorical(options)


def _shown(field: Any) -> str:
    return f"{type(field).__name__}: {getattr(field, 'label', '')!r}"


def check_space(space: object, func: str = "kino.tune") -> dict[str, Param]:
    """``space`` as a dict of parameters: a ``{name: Float | Int | Categorical}`` mapping.

    >>> check_space({"lr": Float(1e-4, 1e-1, log=True)})
    {'lr': Float(low=0.0001, high=0.1, log=True)}
    >>> check_space({"lr": (1e-4, 1e-1)})
    Traceback (most recent call last):
    ...
    TypeError: kino.tune: 'space' must be a dict of kino.tune.Float, Int or Categorical, \
got tuple: (0.0001, 0.1)
    """
    if isinstance(space, Form):
        return from_form(space)
    allowed = "a dict of kino.tune.Float, Int or Categorical"
    if not isinstance(space, Mapping) or not space:
        fail(func, "space", allowed, space)
    for name, param in space.items():
        if not isinstance(name, str) or not isinstance(param, Float | Int | Categorical):
            fail(func, "space", allowed, param)
    return dict(space)


def suggest(trial: Any, space: Space) -> dict[str, Any]:
    """One value per parameter, drawn from an Optuna trial.

    >>> import optuna
    >>> trial = optuna.trial.FixedTrial({"lr": 0.01, "width": 32})
    >>> suggest(trial, {"lr": Float(1e-4, 1e-1, log=True), "width": Int(16, 64, step=16)})
    {'lr': 0.01, 'width': 32}
    """
    return {name: param.suggest(trial, name) for name, param in space.items()}


def grid(space: Space, points: int = GRID_POINTS) -> dict[str, Sequence[Any]]:
    """The values a grid search visits, per parameter (Optuna's ``GridSampler`` space).

    >>> grid({"lr": Float(0.0, 1.0), "act": Categorical(("relu", "gelu"))}, points=3)
    {'lr': (0.0, 0.5, 1.0), 'act': ('relu', 'gelu')}
    """
    points = check_int(points, func="kino.tune", argument="grid_points", min=2)
    return {
        name: param.grid(points) if not isinstance(param, Int) else param.grid(2 * points)
        for name, param in space.items()
    }
