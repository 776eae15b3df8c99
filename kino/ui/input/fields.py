"""The input classes behind ``kino.input``, built on ipywidgets controls.

Every input is a small box: its label, the ipywidgets control, and an error
line that shows the field's validation message. ``.value`` is the typed value,
``.on_change(fn)`` calls ``fn(value)`` after each change, ``.update(value)``
sets it, ``.reset()`` goes back to the default. Labels and messages are shown
as text (``ipywidgets.Label``), never as HTML.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import urlparse

import ipywidgets
import traitlets

from kino.contracts import check_callable, check_str
from kino.ui.base import KinoWidget, kit_style, styled

Validator = Callable[[Any], "str | None"]
_MISSING: Any = object()


def _check_debounce(debounce: object, func: str) -> int | None:
    """``"blur"`` -> None (update when the field loses focus), int ms -> ms."""
    if debounce == "blur":
        return None
    if isinstance(debounce, bool) or not isinstance(debounce, int) or debounce < 0:
        raise ValueError(
            f"{func}: 'debounce' must be 'blur' or a number of milliseconds >= 0, got {debounce!r}"
        )
    return debounce


class Input(ipywidgets.VBox):
    """Base of every kino input: a label, a control and an error line."""

    _func = "kino.input"

    def __init__(
        self,
        label: str,
        control: ipywidgets.Widget,
        *,
        trait: str = "value",
        validate: Validator | None = None,
        debounce_ms: int | None = None,
        show_label: bool = True,
        kind: str = "",
    ) -> None:
        self.label = check_str(label, func=self._func, argument="label")
        if validate is not None:
            check_callable(validate, func=self._func, argument="validate")
        self._control = control
        self._trait = trait
        self._validate_fn = validate
        self._debounce_ms = debounce_ms
        self._timer: threading.Timer | None = None
        self._handlers: list[Callable[[Any], Any]] = []
        self._error_label = ipywidgets.Label("", layout=ipywidgets.Layout(display="none"))
        self._error_label.add_class("kino-field-error")
        children: list[ipywidgets.Widget] = [kit_style()]
        if show_label:
            title = ipywidgets.Label(label)
            title.add_class("kino-field-label")
            children.append(title)
        children += [control, self._error_label]
        super().__init__(children)
        styled(self, "kino-field", f"kino-field-{kind}" if kind else "kino-field-any")
        self._default = self.value
        control.observe(self._on_control, names=trait)

    # value ------------------------------------------------------------
    def _read(self) -> Any:
        return getattr(self._control, self._trait)

    def _write(self, value: Any) -> None:
        setattr(self._control, self._trait, value)

    def _check(self, value: Any) -> Any:
        """Converts/validates a value set from Python; raises ValueError/TypeError."""
        return value

    @property
    def value(self) -> Any:
        """The current value, typed (str, int, float, date, ...)."""
        return self._read()

    @value.setter
    def value(self, value: Any) -> None:
        self._write(self._check(value))

    def update(self, value: Any) -> None:
        """Set the value (as if the user had entered it)."""
        self.value = value

    def reset(self) -> None:
        """Go back to the default value and clear the error."""
        self.value = self._default
        self.show_error(None)

    # events -----------------------------------------------------------
    def on_change(self, fn: Callable[[Any], Any]) -> Callable[[Any], Any]:
        """Call ``fn(value)`` after each change; returns ``fn`` (usable as a decorator)."""
        self._handlers.append(check_callable(fn, func=f"{self._func}.on_change"))
        return fn

    def _on_control(self, _change: Any) -> None:
        self.show_error(self.error())
        if self._debounce_ms:
            if self._timer is not None:
                self._timer.cancel()
            self._timer = threading.Timer(self._debounce_ms / 1000, self._fire)
            self._timer.daemon = True
            self._timer.start()
        else:
            self._fire()

    def _fire(self) -> None:
        value = self.value
        for fn in list(self._handlers):
            fn(value)

    # validation -------------------------------------------------------
    def _constraint_error(self, value: Any) -> str | None:
        return None

    def error(self) -> str | None:
        """The message explaining why the current value is invalid, or None."""
        try:
            value = self.value
        except ValueError as exc:
            return str(exc)
        message = self._constraint_error(value)
        if message is None and self._validate_fn is not None:
            message = self._validate_fn(value)
            if message is not None and not isinstance(message, str):
                raise TypeError(
                    f"{self._func}: 'validate' must return a str message or None, "
                    f"got {type(message).__name__}"
                )
        return message

    def show_error(self, message: str | None) -> None:
        """Show ``message`` beside the field (None hides it)."""
        self._error_label.value = message or ""
        self._error_label.layout.display = "" if message else "none"
        if message:
            self.add_class("kino-invalid")
        else:
            self.remove_class("kino-invalid")

    @property
    def shown_error(self) -> str | None:
        """The message currently shown beside the field."""
        return self._error_label.value or None

    def disable(self) -> None:
        """Grey the field out; the user cannot change it."""
        self._control.disabled = True

    def enable(self) -> None:
        """Let the user change the field again."""
        self._control.disabled = False

    @property
    def disabled(self) -> bool:
        return bool(self._control.disabled)

    def __repr__(self) -> str:
        return f"<kino.input {type(self).__name__} {self.label!r} value={self.value!r}>"


# text-like ------------------------------------------------------------------
class _TextLike(Input):
    def __init__(
        self,
        label: str,
        control: ipywidgets.Widget,
        *,
        required: bool,
        max_length: int | None,
        validate: Validator | None,
        debounce: object,
        kind: str,
    ) -> None:
        ms = _check_debounce(debounce, self._func)
        control.continuous_update = ms is not None
        if max_length is not None and (
            isinstance(max_length, bool) or not isinstance(max_length, int) or max_length < 1
        ):
            raise ValueError(f"{self._func}: 'max_length' must be an int >= 1, got {max_length!r}")
        self._required = bool(required)
        self._max_length = max_length
        super().__init__(label, control, validate=validate, debounce_ms=ms, kind=kind)

    def _check(self, value: Any) -> Any:
        if not isinstance(value, str):
            raise TypeError(f"{self._func}: value must be a str, got {type(value).__name__}")
        return value

    def _constraint_error(self, value: str) -> str | None:
        if self._required and not value.strip():
            return "Required"
        if self._max_length is not None and len(value) > self._max_length:
            return f"At most {self._max_length} characters"
        return None


def _check_default_str(default: object, func: str) -> str:
    if not isinstance(default, str):
        raise TypeError(f"{func}: 'default' must be a str, got {type(default).__name__}")
    return default


class TextInput(_TextLike):
    """A one-line text field (``kino.input.text``)."""

    _func = "kino.input.text"

    def __init__(
        self,
        label: str,
        default: str = "",
        *,
        placeholder: str = "",
        required: bool = False,
        max_length: int | None = None,
        validate: Validator | None = None,
        debounce: int | str = "blur",
    ) -> None:
        control = ipywidgets.Text(
            value=_check_default_str(default, self._func), placeholder=str(placeholder)
        )
        super().__init__(
            label,
            control,
            required=required,
            max_length=max_length,
            validate=validate,
            debounce=debounce,
            kind="text",
        )


class TextareaInput(_TextLike):
    """A multi-line text field (``kino.input.textarea``)."""

    _func = "kino.input.textarea"

    def __init__(
        self,
        label: str,
        default: str = "",
        *,
        monospace: bool = False,
        placeholder: str = "",
        required: bool = False,
        max_length: int | None = None,
        validate: Validator | None = None,
        debounce: int | str = "blur",
    ) -> None:
        control = ipywidgets.Textarea(
            value=_check_default_str(default, self._func),
            placeholder=str(placeholder),
            rows=max(3, min(20, default.count("\n") + 1)),
        )
        if monospace:
            control.add_class("kino-monospace")
        super().__init__(
            label,
            control,
            required=required,
            max_length=max_length,
            validate=validate,
            debounce=debounce,
            kind="textarea",
        )


class PasswordInput(_TextLike):
    """A password field whose text is hidden (``kino.input.password``)."""

    _func = "kino.input.password"

    def __init__(
        self,
        label: str,
        default: str = "",
        *,
        required: bool = False,
        validate: Validator | None = None,
        debounce: int | str = "blur",
    ) -> None:
        control = ipywidgets.Password(value=_check_default_str(default, self._func))
        super().__init__(
            label,
            control,
            required=required,
            max_length=None,
            validate=validate,
            debounce=debounce,
            kind="password",
        )

    def __repr__(self) -> str:
        return f"<kino.input PasswordInput {self.label!r}>"


class UrlInput(_TextLike):
    """A URL field; the value must be an absolute URL with an allowed scheme."""

    _func = "kino.input.url"

    def __init__(
        self,
        label: str,
        default: str = "",
        *,
        schemes: Iterable[str] = ("http", "https"),
        required: bool = False,
        validate: Validator | None = None,
        debounce: int | str = "blur",
    ) -> None:
        if isinstance(schemes, str) or not all(isinstance(s, str) for s in schemes):
            raise TypeError(f"{self._func}: 'schemes' must be a list of str, got {schemes!r}")
        self.schemes = tuple(s.lower() for s in schemes)
        if not self.schemes:
            raise ValueError(f"{self._func}: 'schemes' must not be empty")
        default = _check_default_str(default, self._func)
        if default and (problem := self._url_problem(default)):
            raise ValueError(f"{self._func}: 'default' {default!r} is not a valid URL: {problem}")
        control = ipywidgets.Text(value=default, placeholder="https://")
        super().__init__(
            label,
            control,
            required=required,
            max_length=None,
            validate=validate,
            debounce=debounce,
            kind="url",
        )

    def _url_problem(self, value: str) -> str | None:
        try:
            parsed = urlparse(value.strip())
        except ValueError as exc:
            return str(exc)
        if parsed.scheme.lower() not in self.schemes:
            return "must start with " + " or ".join(f"{s}://" for s in self.schemes)
        if not parsed.netloc or re.search(r"\s", value.strip()):
            return "must be a URL such as https://example.com/data.csv"
        return None

    def _constraint_error(self, value: str) -> str | None:
        base = super()._constraint_error(value)
        if base or not value.strip():
            return base
        problem = self._url_problem(value)
        return f"Not a valid URL: {problem}" if problem else None

    @property
    def value(self) -> str:
        """The URL, stripped of surrounding spaces ('' when empty)."""
        return self._read().strip()

    @value.setter
    def value(self, value: str) -> None:
        self._write(self._check(value))


# numbers ----------------------------------------------------------------------
def _is_number(x: object) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def _check_number(x: object, name: str, func: str, *, allow_none: bool = True) -> None:
    if x is None and allow_none:
        return
    if not _is_number(x):
        raise TypeError(f"{func}: {name!r} must be an int or float, got {type(x).__name__}: {x!r}")
    if not math.isfinite(x):
        raise ValueError(f"{func}: {name!r} must be finite, got {x!r}")


def _fmt(x: float) -> str:
    return f"{x:g}"


class NumberInput(Input):
    """A number field (``kino.input.number``); ``min``/``max`` are checked, not clamped."""

    _func = "kino.input.number"

    def __init__(
        self,
        label: str,
        default: float | None = None,
        *,
        min: float | None = None,
        max: float | None = None,
        step: float | None = None,
        integer: bool | None = None,
        validate: Validator | None = None,
        debounce: int | str = "blur",
    ) -> None:
        func = self._func
        for name, x in (("default", default), ("min", min), ("max", max), ("step", step)):
            _check_number(x, name, func)
        if min is not None and max is not None and min > max:
            raise ValueError(f"{func}: 'min' ({min!r}) must not be greater than 'max' ({max!r})")
        if step is not None and step <= 0:
            raise ValueError(f"{func}: 'step' must be > 0, got {step!r}")
        if default is None:
            default = min if min is not None else 0
        if (min is not None and default < min) or (max is not None and default > max):
            raise ValueError(
                f"{func}: 'default' ({default!r}) must be within min={min!r} and max={max!r}"
            )
        if integer is None:
            integer = all(isinstance(x, int) for x in (default, step) if x is not None)
        if integer:
            for name, x in (("default", default), ("min", min), ("max", max), ("step", step)):
                if x is not None and not float(x).is_integer():
                    raise ValueError(f"{func}: {name!r} must be a whole number when integer=True")
            control: ipywidgets.Widget = ipywidgets.IntText(
                value=int(default), step=int(step) if step is not None else 1
            )
        else:
            control = ipywidgets.FloatText(value=float(default), step=step)
        ms = _check_debounce(debounce, func)
        control.continuous_update = ms is not None
        self.integer = bool(integer)
        self.min, self.max, self.step = min, max, step
        super().__init__(label, control, validate=validate, debounce_ms=ms, kind="number")

    def _check(self, value: Any) -> Any:
        _check_number(value, "value", self._func, allow_none=False)
        if self.integer:
            if not float(value).is_integer():
                raise ValueError(f"{self._func}: value must be a whole number, got {value!r}")
            return int(value)
        return float(value)

    def _constraint_error(self, value: float) -> str | None:
        if not math.isfinite(value):
            return "Must be a finite number"
        if self.min is not None and value < self.min:
            return f"Must be at least {_fmt(self.min)}"
        if self.max is not None and value > self.max:
            return f"Must be at most {_fmt(self.max)}"
        return None


class RangeInput(Input):
    """A slider (``kino.input.range``); ``log=True`` spaces it logarithmically."""

    _func = "kino.input.range"

    def __init__(
        self,
        label: str,
        min: float,
        max: float,
        step: float | None = None,
        default: float | None = None,
        *,
        log: bool = False,
        validate: Validator | None = None,
        debounce: int | str = 0,
    ) -> None:
        func = self._func
        _check_number(min, "min", func, allow_none=False)
        _check_number(max, "max", func, allow_none=False)
        _check_number(step, "step", func)
        _check_number(default, "default", func)
        if not min < max:
            raise ValueError(f"{func}: 'min' ({min!r}) must be less than 'max' ({max!r})")
        if step is not None and step <= 0:
            raise ValueError(f"{func}: 'step' must be > 0, got {step!r}")
        if default is None:
            default = min
        if not min <= default <= max:
            raise ValueError(
                f"{func}: 'default' ({default!r}) must be within min={min!r} and max={max!r}"
            )
        ms = _check_debounce(debounce, func)
        self.min, self.max, self.log_scale = min, max, bool(log)
        common = {"continuous_update": ms is not None, "readout": True}
        if log:
            if min <= 0:
                raise ValueError(f"{func}: 'min' must be > 0 when log=True, got {min!r}")
            lo, hi = math.log10(min), math.log10(max)
            # step is in decades for a log slider: 0.01 -> 100 positions per decade.
            exp_step = step if step is not None else (hi - lo) / 200
            control: ipywidgets.Widget = ipywidgets.FloatLogSlider(
                value=float(default), base=10, min=lo, max=hi, step=exp_step,
                readout_format=".3g", **common,
            )  # fmt: skip
            self.integer = False
        elif all(isinstance(x, int) for x in (min, max, step, default) if x is not None):
            control = ipywidgets.IntSlider(
                value=default, min=min, max=max, step=step or 1, **common
            )
            self.integer = True
        else:
            span = max - min
            control = ipywidgets.FloatSlider(
                value=float(default), min=float(min), max=float(max),
                step=float(step) if step is not None else span / 100,
                readout_format=".4g", **common,
            )  # fmt: skip
            self.integer = False
        self.step = control.step
        super().__init__(label, control, validate=validate, debounce_ms=ms, kind="range")
        self._control.add_class("kino-slider")

    def _check(self, value: Any) -> Any:
        _check_number(value, "value", self._func, allow_none=False)
        if not self.min <= value <= self.max:
            raise ValueError(
                f"{self._func}: value {value!r} must be within {self.min!r} and {self.max!r}"
            )
        return int(value) if self.integer else float(value)

    @property
    def value(self) -> Any:
        v = self._read()
        if self.log_scale:
            # The log slider's position is exact in the exponent; show 3 significant digits.
            return float(f"{v:.6g}")
        return v

    @value.setter
    def value(self, value: Any) -> None:
        self._write(self._check(value))


# choices ----------------------------------------------------------------------
def normalize_options(options: object, func: str) -> tuple[list[str], list[Any]]:
    """``options`` as a list of values, (label, value) pairs or a {label: value} dict."""
    if isinstance(options, Mapping):
        pairs = list(options.items())
    elif isinstance(options, (str, bytes)) or not isinstance(options, Iterable):
        raise TypeError(
            f"{func}: 'options' must be a list of values, a list of (label, value) pairs or "
            f"a {{label: value}} dict, got {type(options).__name__}"
        )
    else:
        pairs = []
        for item in options:
            if isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str):
                pairs.append(item)
            else:
                pairs.append((str(item), item))
    if not pairs:
        raise ValueError(f"{func}: 'options' must not be empty")
    labels = []
    for label, _ in pairs:
        if not isinstance(label, str):
            raise TypeError(f"{func}: 'options' labels must be str, got {type(label).__name__}")
        labels.append(label)
    seen: set[str] = set()
    for label in labels:
        if label in seen:
            raise ValueError(f"{func}: 'options' has the label {label!r} twice; labels must differ")
        seen.add(label)
    return labels, [v for _, v in pairs]


def index_of(values: list[Any], value: Any) -> int:
    for i, v in enumerate(values):
        if v is value:
            return i
    for i, v in enumerate(values):
        try:
            if bool(v == value):
                return i
        except (TypeError, ValueError):
            continue
    return -1


class SelectInput(Input):
    """A dropdown (``kino.input.select``); values may be any Python objects."""

    _func = "kino.input.select"

    def __init__(
        self,
        label: str,
        options: Iterable[Any] | Mapping[str, Any],
        default: Any = _MISSING,
        *,
        validate: Validator | None = None,
    ) -> None:
        self.labels, self.options = normalize_options(options, self._func)
        index = 0
        if default is not _MISSING:
            index = index_of(self.options, default)
            if index < 0:
                raise ValueError(
                    f"{self._func}: 'default' {default!r:.60} is not one of the options "
                    f"{self.labels!r:.200}"
                )
        control = ipywidgets.Dropdown(options=[(lbl, i) for i, lbl in enumerate(self.labels)])
        control.index = index
        super().__init__(label, control, trait="index", validate=validate, kind="select")

    def _read(self) -> Any:
        return self.options[self._control.index]

    def _write(self, value: Any) -> None:
        self._control.index = value

    def _check(self, value: Any) -> int:
        index = index_of(self.options, value)
        if index < 0:
            raise ValueError(f"{self._func}: {value!r:.60} is not one of {self.labels!r:.200}")
        return index


class CheckboxInput(Input):
    """A checkbox (``kino.input.checkbox``); the value is a bool."""

    _func = "kino.input.checkbox"

    def __init__(
        self, label: str, default: bool = False, *, validate: Validator | None = None
    ) -> None:
        if not isinstance(default, bool):
            raise TypeError(f"{self._func}: 'default' must be a bool, got {default!r}")
        control = ipywidgets.Checkbox(value=default, description=label, indent=False)
        super().__init__(label, control, validate=validate, show_label=False, kind="checkbox")

    def _check(self, value: Any) -> bool:
        if not isinstance(value, bool):
            raise TypeError(f"{self._func}: value must be a bool, got {value!r}")
        return value


# dates and colours ------------------------------------------------------------
class _Bounded(Input):
    """A date, time or datetime picker with optional bounds; the value may be None."""

    _type: type = object
    _type_name = ""
    _picker: type = ipywidgets.DatePicker
    _kind = ""

    def __init__(
        self,
        label: str,
        default: Any = None,
        *,
        min: Any = None,
        max: Any = None,
        required: bool = False,
        validate: Validator | None = None,
    ) -> None:
        self._setup_bounds(default, min, max)
        self._required = bool(required)
        control = self._picker(value=default, min=min, max=max)
        super().__init__(label, control, validate=validate, kind=self._kind)

    def _check(self, value: Any) -> Any:
        if value is not None and (
            not isinstance(value, self._type)
            or (self._type is dt.date and isinstance(value, dt.datetime))
        ):
            raise TypeError(
                f"{self._func}: value must be a {self._type_name} or None, "
                f"got {type(value).__name__}"
            )
        return value

    def _setup_bounds(self, default: Any, min: Any, max: Any) -> None:
        for name, x in (("default", default), ("min", min), ("max", max)):
            try:
                self._check(x)
            except TypeError:
                raise TypeError(
                    f"{self._func}: {name!r} must be a {self._type_name} or None, "
                    f"got {type(x).__name__}"
                ) from None
        if min is not None and max is not None and min > max:
            raise ValueError(f"{self._func}: 'min' ({min}) must not be after 'max' ({max})")
        if default is not None and (
            (min is not None and default < min) or (max is not None and default > max)
        ):
            raise ValueError(
                f"{self._func}: 'default' ({default}) must be within min={min} and max={max}"
            )
        self.min, self.max = min, max

    def _constraint_error(self, value: Any) -> str | None:
        if value is None:
            return "Required" if self._required else None
        if self.min is not None and value < self.min:
            return f"Must not be before {self.min}"
        if self.max is not None and value > self.max:
            return f"Must not be after {self.max}"
        return None


class DateInput(_Bounded):
    """A date picker (``kino.input.date``); the value is a ``datetime.date`` or None."""

    _func = "kino.input.date"
    _type = dt.date
    _type_name = "datetime.date"
    _picker = ipywidgets.DatePicker
    _kind = "date"


class TimeInput(_Bounded):
    """A time picker (``kino.input.time``); the value is a ``datetime.time`` or None."""

    _func = "kino.input.time"
    _type = dt.time
    _type_name = "datetime.time"
    _picker = ipywidgets.TimePicker
    _kind = "time"


class DatetimeInput(_Bounded):
    """A date-and-time picker (``kino.input.datetime``): a naive ``datetime`` or None."""

    _func = "kino.input.datetime"
    _type = dt.datetime
    _type_name = "datetime.datetime without tzinfo"
    _picker = ipywidgets.NaiveDatetimePicker
    _kind = "datetime"

    def _check(self, value: Any) -> Any:
        value = super()._check(value)
        if value is not None and value.tzinfo is not None:
            raise TypeError(f"{self._func}: value must be a naive datetime (no tzinfo)")
        return value


_HEX = re.compile(r"^#[0-9a-fA-F]{6}$")


class ColorInput(Input):
    """A colour picker (``kino.input.color``); the value is ``"#rrggbb"``."""

    _func = "kino.input.color"

    def __init__(
        self, label: str, default: str = "#1f6feb", *, validate: Validator | None = None
    ) -> None:
        control = ipywidgets.ColorPicker(value=self._check(default, "default"), concise=False)
        super().__init__(label, control, validate=validate, kind="color")

    def _check(self, value: Any, name: str = "value") -> str:
        if not isinstance(value, str) or not _HEX.match(value):
            raise ValueError(
                f"{self._func}: {name!r} must be a colour like '#1f6feb', got {value!r}"
            )
        return value.lower()

    @property
    def value(self) -> str:
        return self._read().lower()

    @value.setter
    def value(self, value: str) -> None:
        self._write(self._check(value))


# anywidget-backed choice ------------------------------------------------------
class MultiselectControl(KinoWidget, bundle="multiselect"):
    """Chips for each option; click to toggle. ``selected`` holds option indices."""

    labels = traitlets.List(traitlets.Unicode()).tag(sync=True)
    selected = traitlets.List(traitlets.Int()).tag(sync=True)
    disabled = traitlets.Bool(False).tag(sync=True)


class MultiselectInput(Input):
    """Several choices at once (``kino.input.multiselect``); the value is a list."""

    _func = "kino.input.multiselect"

    def __init__(
        self,
        label: str,
        options: Iterable[Any] | Mapping[str, Any],
        default: Iterable[Any] = (),
        *,
        min_selected: int = 0,
        max_selected: int | None = None,
        validate: Validator | None = None,
    ) -> None:
        self.labels, self.options = normalize_options(options, self._func)
        for name, x in (("min_selected", min_selected), ("max_selected", max_selected)):
            if x is not None and (isinstance(x, bool) or not isinstance(x, int) or x < 0):
                raise ValueError(f"{self._func}: {name!r} must be an int >= 0, got {x!r}")
        if max_selected is not None and min_selected > max_selected:
            raise ValueError(
                f"{self._func}: 'min_selected' ({min_selected}) must not exceed "
                f"'max_selected' ({max_selected})"
            )
        self.min_selected, self.max_selected = min_selected, max_selected
        control = MultiselectControl(labels=self.labels, selected=self._indices(default, "default"))
        super().__init__(label, control, trait="selected", validate=validate, kind="multiselect")

    def _indices(self, values: object, name: str) -> list[int]:
        if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
            raise TypeError(f"{self._func}: {name!r} must be a list of options, got {values!r:.60}")
        out: list[int] = []
        for v in values:
            i = index_of(self.options, v)
            if i < 0:
                raise ValueError(
                    f"{self._func}: {name!r} has {v!r:.60}, which is not one of "
                    f"{self.labels!r:.200}"
                )
            if i not in out:
                out.append(i)
        return sorted(out)

    def _read(self) -> list[Any]:
        return [self.options[i] for i in self._control.selected if 0 <= i < len(self.options)]

    def _write(self, value: list[int]) -> None:
        self._control.selected = value

    def _check(self, value: Any) -> list[int]:
        return self._indices(value, "value")

    def _constraint_error(self, value: list[Any]) -> str | None:
        if len(value) < self.min_selected:
            return f"Choose at least {self.min_selected}"
        if self.max_selected is not None and len(value) > self.max_selected:
            return f"Choose at most {self.max_selected}"
        return None
