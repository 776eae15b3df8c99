"""The input classes behind ``kino.input``, built on ipywidgets controls.

Every input is a small box: its label, the ipywidgets control, and an error
line that shows the field's validation message. ``.value`` is the typed value,
each change emits a "change" event (``.on_change(fn)`` calls ``fn(value)``),
``.update(value)`` sets it, ``.reset()`` goes back to the default. Labels and
messages are shown as text (``ipywidgets.Label``), never as HTML.

``kino.input.text`` and the other lowercase names are these classes (aliases
made in the package's ``__init__``): each class is the one definition of its
input, with its signature, its docstring and its example.
"""

from __future__ import annotations

import datetime as dt
import math
import numbers
import re
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import urlparse

import ipywidgets
import traitlets

from kino.contracts import check_bool, check_callable, check_int, check_number, check_str, fail
from kino.ui.base import ClosesParts, EventSource, KinoWidget, kit_style, styled
from kino.ui.input import sliders
from kino.ui.input.pinned import Pins

Validator = Callable[[Any], "str | None"]
_MISSING: Any = object()


def _check_debounce(debounce: object, func: str) -> int | None:
    """``"blur"`` -> None (update when the field loses focus), int ms -> ms.

    >>> _check_debounce("soon", "kino.input.text")
    Traceback (most recent call last):
    ...
    ValueError: kino.input.text: 'debounce' must be 'blur' or an int of milliseconds >= 0, got str: 'soon'
    """  # noqa: E501
    if debounce == "blur":
        return None
    allowed = "'blur' or an int of milliseconds >= 0"
    if isinstance(debounce, str):
        fail(func, "debounce", allowed, debounce, ValueError)
    if isinstance(debounce, bool) or not isinstance(debounce, numbers.Integral):
        fail(func, "debounce", allowed, debounce)
    if debounce < 0:
        fail(func, "debounce", allowed, debounce, ValueError)
    return int(debounce)


class Input(ClosesParts, ipywidgets.VBox, EventSource):
    """Base of every kino input: a label, a control and an error line.

    An input is an event source: each change emits ``Event("change", value, input)``
    (after the debounce, when there is one).
    """

    _func = "kino.input"
    primary_event = "change"
    #: Traits of the control that only the kernel sets (bounds, options): a page's
    #: write to them is undone. ``disabled`` is always pinned.
    _pinned: tuple[str, ...] = ()

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
        self._disabled = False
        self._frozen: Any = None
        self._kernel_writing = False
        self._pins = Pins(control, (*self._pinned, "disabled"))
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
        self._set(self._check(value))

    def _set(self, value: Any) -> None:
        """Write a checked value from the kernel (allowed while disabled)."""
        self._kernel_writing = True
        try:
            self._write(value)
        finally:
            self._kernel_writing = False
        if self._disabled:
            self._frozen = getattr(self._control, self._trait)

    def update(self, value: Any) -> None:
        """Set the value (as if the user had entered it)."""
        self.value = value

    def reset(self) -> None:
        """Go back to the default value and clear the error."""
        self.value = self._default
        self.show_error(None)

    # events -----------------------------------------------------------
    def on_change(self, fn: Callable[[Any], Any]) -> Callable[[Any], Any]:
        """Call ``fn(value)`` after each change; returns ``fn`` (usable as a decorator).
        The same as ``subscribe`` to "change" events, handed the value only."""
        return self._on("change", fn, func=f"{self._func}.on_change")

    def _on_control(self, change: Any) -> None:
        if self._disabled and not self._kernel_writing:
            # The page wrote to a disabled field: put the kernel's value back.
            if _differs(change["new"], self._frozen):
                setattr(self._control, self._trait, self._frozen)
            return
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
        try:
            value = self.value
        except ValueError:
            return  # an invalid page write: shown beside the field, not emitted
        self.emit("change", value)

    # validation -------------------------------------------------------
    def _constraint_error(self, value: Any) -> str | None:
        return None

    def error(self) -> str | None:
        """The message explaining why the current value is invalid, or None."""
        self._pins.restore()  # bounds and options are the kernel's, whatever the page wrote
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
        """Grey the field out; the user cannot change it (the kernel undoes a page's
        writes to it until :meth:`enable`)."""
        self._frozen = getattr(self._control, self._trait)
        self._disabled = True
        self._pins.set("disabled", True)

    def enable(self) -> None:
        """Let the user change the field again."""
        self._disabled = False
        self._pins.set("disabled", False)

    @property
    def disabled(self) -> bool:
        """The kernel's flag, whatever the page says about the control."""
        return self._disabled

    def __repr__(self) -> str:
        try:
            shown = repr(self.value)
        except ValueError:
            shown = "<invalid>"
        return f"<kino.input {type(self).__name__} {self.label!r} value={shown}>"


def _differs(a: Any, b: Any) -> bool:
    try:
        return bool(a != b)
    except (TypeError, ValueError):
        return a is not b


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
        max_length = check_int(
            max_length, func=self._func, argument="max_length", min=1, allow_none=True
        )
        self._required = bool(required)
        self._max_length = max_length
        super().__init__(label, control, validate=validate, debounce_ms=ms, kind=kind)

    def _check(self, value: Any) -> Any:
        return check_str(value, func=self._func, argument="value")

    def _constraint_error(self, value: str) -> str | None:
        if self._required and not value.strip():
            return "Required"
        if self._max_length is not None and len(value) > self._max_length:
            return f"At most {self._max_length} characters"
        return None


class TextInput(_TextLike):
    """A one-line text field (``kino.input.text``). ``debounce="blur"`` reports the
    value when the field loses focus; a number of milliseconds reports it that long
    after typing stops.

    >>> import kino
    >>> kino.input.text("Learning rate", default="0.001").value
    '0.001'
    """

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
            value=check_str(default, func=self._func, argument="default"),
            placeholder=str(placeholder),
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
    """A multi-line text field (``kino.input.textarea``); ``monospace=True`` for code
    or data.

    >>> import kino
    >>> kino.input.textarea("Notes", default="a\\nb").value
    'a\\nb'
    """

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
            value=check_str(default, func=self._func, argument="default"),
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
    """A text field whose characters are hidden (``kino.input.password``).

    >>> import kino
    >>> kino.input.password("API key").value
    ''
    """

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
        control = ipywidgets.Password(value=check_str(default, func=self._func, argument="default"))
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
    """A URL field (``kino.input.url``), validated: absolute, with one of ``schemes``.

    >>> import kino
    >>> kino.input.url("Data", default="https://example.com/a.csv").value
    'https://example.com/a.csv'
    """

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
        allowed = "a non-empty list of str (URL schemes)"
        if isinstance(schemes, str) or not isinstance(schemes, Iterable):
            fail(self._func, "schemes", allowed, schemes)
        schemes = list(schemes)
        if not all(isinstance(s, str) for s in schemes):
            fail(self._func, "schemes", allowed, schemes)
        self.schemes = tuple(s.lower() for s in schemes)
        if not self.schemes:
            fail(self._func, "schemes", allowed, schemes, ValueError)
        default = check_str(default, func=self._func, argument="default")
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
        self._set(self._check(value))


# numbers ----------------------------------------------------------------------
def _number(x: object, name: str, func: str, *, allow_none: bool = True) -> Any:
    """A finite int or float (numpy scalars become Python ones), or None.

    >>> _number("3", "min", "kino.input.range", allow_none=False)
    Traceback (most recent call last):
    ...
    TypeError: kino.input.range: 'min' must be a finite number, got str: '3'
    """
    x = check_number(x, func=func, argument=name, allow_none=allow_none)
    if x is None:
        return None
    return int(x) if isinstance(x, numbers.Integral) else float(x)


def _positive_step(step: Any, func: str) -> None:
    if step is not None and step <= 0:
        fail(func, "step", "a number > 0 or None", step, ValueError)


def _fmt(x: float) -> str:
    return f"{x:g}"


class NumberInput(Input):
    """A number field (``kino.input.number``). The value is an int when ``default``
    (and ``step``) are ints, else a float; ``integer=`` forces either. A value outside
    ``min``..``max`` is checked, not clamped: it shows a message beside the field and
    blocks the form's submit.

    >>> import kino
    >>> kino.input.number("Learning rate", default=1e-3, min=1e-6, max=1.0).value
    0.001
    >>> kino.input.number("Batch size", default=128).value
    128

    ``log=True`` says the number spans orders of magnitude (a learning rate): the field
    is unchanged, and ``kino.tune`` searches it log-uniformly. ``min`` must then be > 0.

    >>> kino.input.number("Learning rate", default=1e-3, min=1e-5, max=1e-1, log=True).log_scale
    True
    """

    _func = "kino.input.number"
    _pinned = ("step",)

    def __init__(
        self,
        label: str,
        default: float | None = None,
        *,
        min: float | None = None,
        max: float | None = None,
        step: float | None = None,
        integer: bool | None = None,
        log: bool = False,
        validate: Validator | None = None,
        debounce: int | str = "blur",
    ) -> None:
        func = self._func
        default, min, max, step = (
            _number(x, name, func)
            for name, x in (("default", default), ("min", min), ("max", max), ("step", step))
        )
        if min is not None and max is not None and min > max:
            raise ValueError(f"{func}: 'min' ({min!r}) must not be greater than 'max' ({max!r})")
        if not isinstance(log, bool):
            raise TypeError(
                f"{func}: 'log' must be True or False, got {type(log).__name__}: {log!r}"
            )
        if log and (min is None or min <= 0):
            raise ValueError(f"{func}: 'min' must be > 0 when log=True, got {min!r}")
        _positive_step(step, func)
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
        self.min, self.max, self.step, self.log_scale = min, max, step, log
        super().__init__(label, control, validate=validate, debounce_ms=ms, kind="number")

    def _check(self, value: Any) -> Any:
        value = _number(value, "value", self._func, allow_none=False)
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
    """A slider from ``min`` to ``max`` (``kino.input.range``). Ints throughout give
    an int value. ``log=True`` spaces the positions logarithmically (learning rates),
    with ``step`` then counted in decades (default: 200 positions over the range).
    ``debounce="blur"`` reports only when the handle is released.

    >>> import kino
    >>> kino.input.range("Epochs", 1, 100, default=10).value
    10
    >>> kino.input.range("Learning rate", 1e-5, 1e-1, default=1e-3, log=True).value
    0.001
    """

    _func = "kino.input.range"
    _pinned = ("min", "max", "step", "base")

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
        min = _number(min, "min", func, allow_none=False)
        max = _number(max, "max", func, allow_none=False)
        step = _number(step, "step", func)
        default = _number(default, "default", func)
        if not min < max:
            raise ValueError(f"{func}: 'min' ({min!r}) must be less than 'max' ({max!r})")
        _positive_step(step, func)
        if default is None:
            default = min
        if not min <= default <= max:
            raise ValueError(
                f"{func}: 'default' ({default!r}) must be within min={min!r} and max={max!r}"
            )
        ms = _check_debounce(debounce, func)
        self.min, self.max, self.log_scale = min, max, bool(log)
        common = {"continuous_update": ms is not None, "readout": True}
        self._refused: str | None = None
        guard = {"bounds": (min, max), "report": self._refuse}
        if log:
            if min <= 0:
                raise ValueError(f"{func}: 'min' must be > 0 when log=True, got {min!r}")
            lo, hi = math.log10(min), math.log10(max)
            # step is in decades for a log slider: 0.01 -> 100 positions per decade.
            exp_step = step if step is not None else (hi - lo) / 200
            control: ipywidgets.Widget = sliders.FloatLogSlider(
                value=float(default), base=10, min=lo, max=hi, step=exp_step, **guard,
                readout_format=".3g", **common,
            )  # fmt: skip
            self.integer = False
        elif all(isinstance(x, int) for x in (min, max, step, default) if x is not None):
            control = sliders.IntSlider(
                value=default, min=min, max=max, step=step or 1, **common, **guard
            )
            self.integer = True
        else:
            span = max - min
            control = sliders.FloatSlider(
                value=float(default), min=float(min), max=float(max), **guard,
                step=float(step) if step is not None else span / 100,
                readout_format=".4g", **common,
            )  # fmt: skip
            self.integer = False
        self.step = control.step
        super().__init__(label, control, validate=validate, debounce_ms=ms, kind="range")
        self._control.add_class("kino-slider")

    def _refuse(self, value: Any) -> None:
        """The slider's verdict on a value: the one it refused (a page wrote it outside
        the bounds; the previous value stays), or None once it accepts one."""
        if value is None:
            self._refused = None
            return
        self._refused = f"Refused {value!r}: must be within {_fmt(self.min)} and {_fmt(self.max)}"
        self.show_error(self._refused)

    def _set(self, value: Any) -> None:
        self._refused = None  # the kernel's value replaces a refused one
        super()._set(value)

    def _check(self, value: Any) -> Any:
        value = _number(value, "value", self._func, allow_none=False)
        if not self.min <= value <= self.max:
            raise ValueError(
                f"{self._func}: value {value!r} must be within {self.min!r} and {self.max!r}"
            )
        return int(value) if self.integer else float(value)

    def _constraint_error(self, value: Any) -> str | None:
        return self._refused or self._bounds_error()

    def _bounds_error(self) -> str | None:
        raw = self._read()  # the log slider's value before rounding for display
        slack = 1e-9 * max(abs(self.min), abs(self.max)) if self.log_scale else 0
        if not (math.isfinite(raw) and self.min - slack <= raw <= self.max + slack):
            return f"Must be within {_fmt(self.min)} and {_fmt(self.max)}"
        return None

    @property
    def value(self) -> Any:
        v = self._read()
        problem = self._bounds_error()
        if problem is not None:  # only a page can put it there: refuse, never return it
            raise ValueError(problem)
        if self.log_scale:
            # The log slider's position is exact in the exponent; show 3 significant digits.
            return float(f"{v:.6g}")
        return v

    @value.setter
    def value(self, value: Any) -> None:
        self._set(self._check(value))


# choices ----------------------------------------------------------------------
_OPTIONS = "a list of values, a list of (label, value) pairs or a {label: value} dict"


def normalize_options(options: object, func: str) -> tuple[list[str], list[Any]]:
    """``options`` as a list of values, (label, value) pairs or a {label: value} dict."""
    if isinstance(options, Mapping):
        pairs = list(options.items())
    elif isinstance(options, (str, bytes)) or not isinstance(options, Iterable):
        fail(func, "options", _OPTIONS, options)
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
            fail(func, "options", _OPTIONS + " (labels are str)", label)
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
    """A dropdown (``kino.input.select``). ``options`` is a list of values (shown with
    ``str``), a list of ``(label, value)`` pairs or a ``{label: value}`` dict; values
    may be any Python objects.

    >>> import kino
    >>> kino.input.select("Optimizer", ["adam", "sgd", "rmsprop"]).value
    'adam'
    >>> kino.input.select("Width", {"small": 64, "large": 512}, default=512).value
    512
    """

    _func = "kino.input.select"
    _pinned = ("_options_labels",)

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
        # The labels are the kernel's: put back any the page wrote (ipywidgets' own
        # observer can fail on them before the pins run).
        self._pins.restore()
        index = self._control.index
        if not isinstance(index, int) or not 0 <= index < len(self.options):
            raise ValueError(f"{self._func}: choose one of {self.labels!r:.200}")
        return self.options[index]

    def _write(self, value: Any) -> None:
        self._control.index = value

    def _check(self, value: Any) -> int:
        index = index_of(self.options, value)
        if index < 0:
            raise ValueError(f"{self._func}: {value!r:.60} is not one of {self.labels!r:.200}")
        return index


class CheckboxInput(Input):
    """A checkbox (``kino.input.checkbox``); the value is a bool.

    >>> import kino
    >>> kino.input.checkbox("Shuffle", default=True).value
    True
    """

    _func = "kino.input.checkbox"

    def __init__(
        self, label: str, default: bool = False, *, validate: Validator | None = None
    ) -> None:
        default = check_bool(default, func=self._func, argument="default")
        control = ipywidgets.Checkbox(value=default, description=label, indent=False)
        super().__init__(label, control, validate=validate, show_label=False, kind="checkbox")

    def _check(self, value: Any) -> bool:
        return check_bool(value, func=self._func, argument="value")


# dates and colours ------------------------------------------------------------
class _Bounded(Input):
    """A date, time or datetime picker with optional bounds; the value may be None."""

    _type: type = object
    _type_name = ""
    _picker: type = ipywidgets.DatePicker
    _kind = ""
    _pinned = ("min", "max")

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

    def _check(self, value: Any, name: str = "value") -> Any:
        if value is not None and (
            not isinstance(value, self._type)
            or (self._type is dt.date and isinstance(value, dt.datetime))
            or (self._type is dt.datetime and value.tzinfo is not None)
        ):
            fail(self._func, name, f"a {self._type_name} or None", value)
        return value

    def _setup_bounds(self, default: Any, min: Any, max: Any) -> None:
        for name, x in (("default", default), ("min", min), ("max", max)):
            self._check(x, name)
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
    """A date picker (``kino.input.date``); the value is a ``datetime.date`` or None.

    >>> import datetime, kino
    >>> kino.input.date("Start", default=datetime.date(2024, 1, 31)).value
    datetime.date(2024, 1, 31)
    """

    _func = "kino.input.date"
    _type = dt.date
    _type_name = "datetime.date"
    _picker = ipywidgets.DatePicker
    _kind = "date"


class TimeInput(_Bounded):
    """A time picker (``kino.input.time``); the value is a ``datetime.time`` or None.

    >>> import datetime, kino
    >>> kino.input.time("At", default=datetime.time(9, 30)).value
    datetime.time(9, 30)
    """

    _func = "kino.input.time"
    _type = dt.time
    _type_name = "datetime.time"
    _picker = ipywidgets.TimePicker
    _kind = "time"


class DatetimeInput(_Bounded):
    """A date-and-time picker (``kino.input.datetime``); the value is a naive
    ``datetime.datetime`` or None.

    >>> import datetime, kino
    >>> kino.input.datetime("When", default=datetime.datetime(2024, 1, 31, 9, 30)).value
    datetime.datetime(2024, 1, 31, 9, 30)
    """

    _func = "kino.input.datetime"
    _type = dt.datetime
    _type_name = "naive datetime.datetime (no tzinfo)"
    _picker = ipywidgets.NaiveDatetimePicker
    _kind = "datetime"


_HEX = re.compile(r"^#[0-9a-fA-F]{6}$")


class ColorInput(Input):
    """A colour picker (``kino.input.color``); the value is ``"#rrggbb"``.

    >>> import kino
    >>> kino.input.color("Line", default="#FF0000").value
    '#ff0000'
    """

    _func = "kino.input.color"

    def __init__(
        self, label: str, default: str = "#1f6feb", *, validate: Validator | None = None
    ) -> None:
        control = ipywidgets.ColorPicker(value=self._check(default, "default"), concise=False)
        super().__init__(label, control, validate=validate, kind="color")

    def _check(self, value: Any, name: str = "value") -> str:
        allowed = "a colour like '#1f6feb'"
        check_str(value, func=self._func, argument=name, allowed=allowed)
        if not _HEX.match(value):
            fail(self._func, name, allowed, value, ValueError)
        return value.lower()

    @property
    def value(self) -> str:
        value = self._read()
        if not isinstance(value, str) or not _HEX.match(value):
            raise ValueError(f"{self._func}: the colour must be like '#1f6feb', got {value!r:.40}")
        return value.lower()

    @value.setter
    def value(self, value: str) -> None:
        self._set(self._check(value))


# anywidget-backed choice ------------------------------------------------------
class MultiselectControl(KinoWidget, bundle="multiselect"):
    """Chips for each option; click to toggle. ``selected`` holds option indices."""

    labels = traitlets.List(traitlets.Unicode()).tag(sync=True)
    selected = traitlets.List(traitlets.Int()).tag(sync=True)
    disabled = traitlets.Bool(False).tag(sync=True)


class MultiselectInput(Input):
    """Several choices at once, shown as chips (``kino.input.multiselect``); the value
    is the list of chosen values (in the order of ``options``).

    >>> import kino
    >>> kino.input.multiselect("Metrics", ["accuracy", "f1", "auc"], default=["f1"]).value
    ['f1']
    """

    _func = "kino.input.multiselect"
    _pinned = ("labels",)

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
        min_selected = check_int(min_selected, func=self._func, argument="min_selected", min=0)
        max_selected = check_int(
            max_selected, func=self._func, argument="max_selected", min=0, allow_none=True
        )
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
            fail(self._func, name, "a list of options", values)
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
        selected = list(self._control.selected)
        n = len(self.options)
        if len(set(selected)) != len(selected) or not all(0 <= i < n for i in selected):
            raise ValueError(
                f"{self._func}: each choice must be one of {self.labels!r:.200}, chosen once"
            )
        return [self.options[i] for i in sorted(selected)]

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
