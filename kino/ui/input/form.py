"""``kino.form``: inputs grouped under one submit button (Kino.Control.form).

>>> import kino
>>> form = kino.form(
...     learning_rate=kino.input.text("Learning rate", default="0.001"),
...     epochs=kino.input.range("Epochs", 1, 100, default=10),
...     submit="Train model",
... )
>>> form.value
{'learning_rate': '0.001', 'epochs': 10}
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import threading
import typing
from collections.abc import Callable, Mapping
from typing import Any, Literal

import ipywidgets

from kino.contracts import check_callable, check_str, fail
from kino.ui.base import ClosesParts, EventSource, kit_style, styled
from kino.ui.input.fields import (
    CheckboxInput,
    DateInput,
    DatetimeInput,
    Input,
    MultiselectInput,
    NumberInput,
    SelectInput,
    TextInput,
    TimeInput,
)
from kino.ui.input.pinned import Pins

FormValidator = Callable[[Any], "str | Mapping[str, str] | None"]


class Form(ClosesParts, ipywidgets.VBox, EventSource):
    """A form of named inputs with a submit button (``kino.form``). ``validate(values)``
    may return a message (shown under the form), ``{field: message}`` (shown beside
    those fields) or None; an invalid form does not submit.

    ``.value`` is a dict of typed values (or a dataclass instance for
    :meth:`from_dataclass` forms). Each valid submit emits a "submit" event with the
    values (``.on_submit(fn)`` calls ``fn(value)``); with ``report_changes=True`` (or
    no submit button, ``submit=None``) each valid change emits a "change" event
    (``.on_change(fn)``). ``kino.listen`` follows the submits, or the changes of a
    form without a submit button.

    >>> import kino
    >>> form = kino.form(
    ...     learning_rate=kino.input.number("Learning rate", default=1e-3, min=1e-6, max=1.0),
    ...     epochs=kino.input.range("Epochs", 1, 100, default=10),
    ...     optimizer=kino.input.select("Optimizer", ["adam", "sgd", "rmsprop"]),
    ...     submit="Train model",
    ... )
    >>> form.value
    {'learning_rate': 0.001, 'epochs': 10, 'optimizer': 'adam'}
    >>> runs = []
    >>> _ = form.on_submit(runs.append)
    >>> form.submit()
    True
    >>> runs
    [{'learning_rate': 0.001, 'epochs': 10, 'optimizer': 'adam'}]
    """

    def __init__(
        self,
        *,
        submit: str | None = "Submit",
        report_changes: bool = False,
        reset_on_submit: bool | list[str] = False,
        validate: FormValidator | None = None,
        **fields: Input,
    ) -> None:
        self._setup(
            fields,
            submit=submit,
            report_changes=report_changes,
            reset_on_submit=reset_on_submit,
            validate=validate,
        )

    def _setup(
        self,
        fields: Mapping[str, Input],
        *,
        submit: str | None,
        report_changes: bool,
        reset_on_submit: bool | list[str],
        validate: FormValidator | None,
        build: Callable[[dict[str, Any]], Any] | None = None,
    ) -> None:
        """What ``__init__`` does, with the fields as a mapping (any names) and the
        function that makes ``.value`` from the fields' values."""
        if not fields:
            raise ValueError(
                "kino.form: give at least one field, e.g. kino.form(x=kino.input.text('X'))"
            )
        for name, field in fields.items():
            if not isinstance(field, Input):
                raise TypeError(
                    f"kino.form: field {name!r} must be a kino.input (e.g. kino.input.text(...)), "
                    f"got {type(field).__name__}"
                )
        if len({id(f) for f in fields.values()}) != len(fields):
            raise ValueError("kino.form: each field must be its own input; one input appears twice")
        check_str(
            submit,
            func="kino.form",
            argument="submit",
            allowed="a str button label or None",
            allow_none=True,
        )
        if isinstance(reset_on_submit, bool):
            reset = list(fields) if reset_on_submit else []
        elif isinstance(reset_on_submit, (list, tuple)) and all(
            isinstance(n, str) for n in reset_on_submit
        ):
            unknown = [n for n in reset_on_submit if n not in fields]
            if unknown:
                raise ValueError(
                    f"kino.form: 'reset_on_submit' names {unknown}, which are not fields "
                    f"({list(fields)})"
                )
            reset = list(reset_on_submit)
        else:
            fail("kino.form", "reset_on_submit", "a bool or a list of field names", reset_on_submit)
        if validate is not None:
            check_callable(validate, func="kino.form", argument="validate")
        self.fields: dict[str, Input] = dict(fields)
        self.submit_label = submit
        self.report_changes = bool(report_changes) or submit is None
        self._reset = reset
        self._validate = validate
        self._build = build
        self._lock = threading.RLock()
        self._disabled = False
        self.submits = 0

        grid = ipywidgets.GridBox(list(self.fields.values()))
        grid.add_class("kino-form-fields")
        self._form_error = ipywidgets.Label("", layout=ipywidgets.Layout(display="none"))
        self._form_error.add_class("kino-form-error")
        footer_items: list[ipywidgets.Widget] = []
        self.button: ipywidgets.Button | None = None
        if submit is not None:
            self.button = ipywidgets.Button(description=submit, button_style="primary")
            self.button.add_class("kino-submit")
            self.button.on_click(lambda _b: self.submit())
            self._button_pins = Pins(self.button, ["disabled"])
            footer_items.append(self.button)
        footer_items.append(self._form_error)
        footer = ipywidgets.HBox(footer_items)
        footer.add_class("kino-form-footer")
        super().__init__([kit_style(), grid, footer])
        styled(self, "kino-form")
        for field in self.fields.values():
            field.on_change(self._field_changed)

    @classmethod
    def from_dataclass(
        form_class: type[Form],
        cls: type,
        *,
        submit: str | None = "Submit",
        report_changes: bool = False,
        reset_on_submit: bool | list[str] = False,
        validate: FormValidator | None = None,
        **overrides: Input,
    ) -> Form:
        """A form whose fields come from a dataclass's annotations and defaults
        (``Literal[...]`` and Enums become dropdowns); ``.value`` and the submit
        handlers get instances of ``cls``. Pass ``name=kino.input...`` to choose a
        field's input yourself.

        >>> import dataclasses, typing, kino
        >>> @dataclasses.dataclass
        ... class Hyper:
        ...     learning_rate: float = 1e-3
        ...     epochs: int = 10
        ...     optimizer: typing.Literal["adam", "sgd"] = "adam"
        >>> kino.form.from_dataclass(Hyper).value
        Hyper(learning_rate=0.001, epochs=10, optimizer='adam')
        """
        if not (isinstance(cls, type) and dataclasses.is_dataclass(cls)):
            fail("kino.form.from_dataclass", "cls", "a dataclass type", cls)
        hints = typing.get_type_hints(cls)
        fields: dict[str, Input] = {}
        names = [f.name for f in dataclasses.fields(cls) if f.init]
        unknown = [k for k in overrides if k not in names]
        if unknown:
            raise ValueError(
                f"kino.form.from_dataclass: {unknown} are not fields of {cls.__name__} ({names})"
            )
        for f in dataclasses.fields(cls):
            if not f.init:
                continue
            if f.name in overrides:
                fields[f.name] = overrides[f.name]
                continue
            default = f.default
            if default is dataclasses.MISSING and f.default_factory is not dataclasses.MISSING:
                default = f.default_factory()
            fields[f.name] = _field_for(f.name, hints[f.name], default, cls.__name__)
        form = form_class.__new__(form_class)
        form._setup(
            fields,
            submit=submit,
            report_changes=report_changes,
            reset_on_submit=reset_on_submit,
            validate=validate,
            build=lambda values: cls(**values),
        )
        return form

    # values -----------------------------------------------------------
    def _raw(self) -> dict[str, Any]:
        return {name: field.value for name, field in self.fields.items()}

    @property
    def value(self) -> Any:
        """The fields' typed values: a dict, or a dataclass for ``from_dataclass`` forms."""
        raw = self._raw()
        return self._build(raw) if self._build is not None else raw

    @value.setter
    def value(self, values: Mapping[str, Any]) -> None:
        self.update(values)

    def update(self, values: Mapping[str, Any] | Any) -> None:
        """Set some or all fields: ``form.update({"epochs": 20})`` (or a dataclass instance)."""
        if dataclasses.is_dataclass(values) and not isinstance(values, type):
            values = {f.name: getattr(values, f.name) for f in dataclasses.fields(values)}
        if not isinstance(values, Mapping):
            fail("kino.form.update", "values", "a dict (or a dataclass instance)", values)
        unknown = [k for k in values if k not in self.fields]
        if unknown:
            raise ValueError(
                f"kino.form.update: no fields named {unknown}; fields: {list(self.fields)}"
            )
        for name, v in values.items():
            self.fields[name].value = v

    def reset(self) -> None:
        """Every field back to its default; messages cleared."""
        for field in self.fields.values():
            field.reset()
        self._show_form_error(None)

    # validation -------------------------------------------------------
    def errors(self) -> dict[str, str]:
        """Messages of the invalid fields (``"_form"`` for the form-level one), shown
        beside them. Empty when the form can be submitted."""
        found: dict[str, str] = {}
        for name, field in self.fields.items():
            message = field.error()
            field.show_error(message)
            if message:
                found[name] = message
        form_message: str | None = None
        if not found and self._validate is not None:
            try:
                value = self.value
            except (TypeError, ValueError) as exc:
                result: Any = str(exc)
            else:
                result = self._validate(value)
            if isinstance(result, Mapping):
                for name, message in result.items():
                    if name not in self.fields:
                        raise ValueError(
                            f"kino.form: 'validate' returned a message for {name!r}, "
                            f"which is not a field ({list(self.fields)})"
                        )
                    self.fields[name].show_error(str(message))
                    found[name] = str(message)
            elif isinstance(result, str):
                form_message = result
            elif result is not None:
                raise TypeError(
                    "kino.form: 'validate' must return None, a str message or a "
                    f"{{field: message}} dict, got {type(result).__name__}"
                )
        if form_message:
            found["_form"] = form_message
        self._show_form_error(form_message)
        return found

    def _show_form_error(self, message: str | None) -> None:
        self._form_error.value = message or ""
        self._form_error.layout.display = "" if message else "none"

    # events -----------------------------------------------------------
    @property
    def primary_event(self) -> str:  # type: ignore[override]
        """What ``kino.listen`` follows: "submit", or "change" without a submit button."""
        return "submit" if self.button is not None else "change"

    def on_submit(self, fn: Callable[[Any], Any]) -> Callable[[Any], Any]:
        """Call ``fn(value)`` on each valid submit; returns ``fn`` (usable as a decorator).
        The same as ``subscribe`` to "submit" events, handed the values only."""
        return self._on("submit", fn, func="kino.form.on_submit")

    def on_change(self, fn: Callable[[Any], Any]) -> Callable[[Any], Any]:
        """Call ``fn(value)`` after any field changes (when ``report_changes=True`` or
        the form has no submit button); returns ``fn``. The same as ``subscribe`` to
        "change" events, handed the values only."""
        return self._on("change", fn, func="kino.form.on_change")

    def _field_changed(self, _value: Any) -> None:
        if self.report_changes and self._has_subscribers("change"):
            if self.errors():
                return
            self.emit("change", self.value)

    def submit(self) -> bool:
        """Validate and, when valid, call the submit handlers (what the button does).
        Returns whether the submit happened.

        >>> import kino
        >>> f = kino.form(n=kino.input.number("N", default=2, max=3))
        >>> f.update({"n": 5})
        >>> f.submit()
        False
        >>> f.errors()
        {'n': 'Must be at most 3'}
        """
        with self._lock:
            if self.disabled:
                return False
            found = self.errors()
            if found:
                if "_form" not in found:
                    n = len(found)
                    self._show_form_error(
                        f"Not submitted: {n} field{'s' if n > 1 else ''} to correct"
                    )
                return False
            value = self.value
            self.submits += 1
            self.emit("submit", value)
            for name in self._reset:
                self.fields[name].reset()
            return True

    # enabling -----------------------------------------------------------
    @property
    def disabled(self) -> bool:
        """True while the form is disabled (fields and button): the kernel's own flag,
        whatever the page writes to the form's classes or the controls."""
        return self._disabled

    def disable(self) -> None:
        """Disable every field and the button, e.g. while a run trains; submits are
        refused until :meth:`enable`."""
        with self._lock:
            self._disabled = True
        for field in self.fields.values():
            field.disable()
        if self.button is not None:
            self._button_pins.set("disabled", True)
        self.add_class("kino-disabled")

    def enable(self) -> None:
        """Enable the fields and the button again."""
        for field in self.fields.values():
            field.enable()
        if self.button is not None:
            self._button_pins.set("disabled", False)
        self.remove_class("kino-disabled")
        with self._lock:
            self._disabled = False

    def __repr__(self) -> str:
        return f"<kino.form {list(self.fields)} submit={self.submit_label!r}>"


def _label_of(name: str) -> str:
    text = name.replace("_", " ").strip()
    return text[:1].upper() + text[1:]


def _field_for(name: str, annotation: Any, default: Any, cls_name: str) -> Input:
    label = _label_of(name)
    has_default = default is not dataclasses.MISSING
    origin = typing.get_origin(annotation)
    func = "kino.form.from_dataclass"
    if origin is Literal:
        choices = list(typing.get_args(annotation))
        return SelectInput(label, choices, default) if has_default else SelectInput(label, choices)
    if origin in (list, set, frozenset, tuple) and typing.get_args(annotation):
        inner = typing.get_args(annotation)[0]
        if typing.get_origin(inner) is Literal:
            return MultiselectInput(
                label, list(typing.get_args(inner)), default if has_default else ()
            )
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        members = {m.name: m for m in annotation}
        return SelectInput(label, members, default) if has_default else SelectInput(label, members)
    if annotation is bool:
        return CheckboxInput(label, default if has_default else False)
    if annotation is int:
        return NumberInput(label, default if has_default else 0, integer=True)
    if annotation is float:
        return NumberInput(label, float(default) if has_default else 0.0, integer=False)
    if annotation is str:
        return TextInput(label, default if has_default else "")
    if annotation is dt.datetime:
        return DatetimeInput(label, default if has_default else None, required=not has_default)
    if annotation is dt.date:
        return DateInput(label, default if has_default else None, required=not has_default)
    if annotation is dt.time:
        return TimeInput(label, default if has_default else None, required=not has_default)
    raise TypeError(
        f"{func}: field {name!r} of {cls_name} has type {annotation!r}, which has no input; "
        "use bool, int, float, str, date, time, datetime, an Enum, Literal[...] or "
        f"list[Literal[...]], or pass {name}=kino.input.<kind>(...)"
    )
