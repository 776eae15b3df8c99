"""``kino.input``: the inputs of a form (Kino.Input), each with a label.

Every input has ``.value`` (typed), ``.on_change(fn)`` (``fn(value)`` after each
change), ``.update(value)``, ``.reset()``, ``.disable()``/``.enable()``, and shows
its validation message beside the field. Put them in :func:`kino.form` or show
them on their own.

>>> import kino
>>> lr = kino.input.number("Learning rate", default=1e-3, min=1e-6, max=1.0)
>>> lr.value
0.001
>>> epochs = kino.input.range("Epochs", 1, 100, default=10)
>>> epochs.value
10
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from kino.ui.input.fields import (
    _MISSING,
    CheckboxInput,
    ColorInput,
    DateInput,
    DatetimeInput,
    Input,
    MultiselectInput,
    NumberInput,
    PasswordInput,
    RangeInput,
    SelectInput,
    TextareaInput,
    TextInput,
    TimeInput,
    UrlInput,
    Validator,
)
from kino.ui.input.media import (
    IMAGE_FITS,
    MAX_AUDIO_SAMPLES,
    MAX_IMAGE_PIXELS,
    MAX_UPLOAD_BYTES,
    Audio,
    AudioInput,
    FileInput,
    ImageInput,
    UploadedFile,
)

__all__ = [
    "IMAGE_FITS",
    "MAX_AUDIO_SAMPLES",
    "MAX_IMAGE_PIXELS",
    "MAX_UPLOAD_BYTES",
    "Audio",
    "Input",
    "UploadedFile",
    "audio",
    "checkbox",
    "color",
    "date",
    "datetime",
    "file",
    "image",
    "multiselect",
    "number",
    "password",
    "range",
    "select",
    "text",
    "textarea",
    "time",
    "url",
]


def text(
    label: str,
    default: str = "",
    *,
    placeholder: str = "",
    required: bool = False,
    max_length: int | None = None,
    validate: Validator | None = None,
    debounce: int | str = "blur",
) -> TextInput:
    """A one-line text field. ``debounce="blur"`` reports the value when the field
    loses focus; a number of milliseconds reports it that long after typing stops.

    >>> import kino
    >>> kino.input.text("Learning rate", default="0.001").value
    '0.001'
    """
    return TextInput(
        label,
        default,
        placeholder=placeholder,
        required=required,
        max_length=max_length,
        validate=validate,
        debounce=debounce,
    )


def textarea(
    label: str,
    default: str = "",
    *,
    monospace: bool = False,
    placeholder: str = "",
    required: bool = False,
    max_length: int | None = None,
    validate: Validator | None = None,
    debounce: int | str = "blur",
) -> TextareaInput:
    """A multi-line text field; ``monospace=True`` for code or data.

    >>> import kino
    >>> kino.input.textarea("Notes", default="a\\nb").value
    'a\\nb'
    """
    return TextareaInput(
        label,
        default,
        monospace=monospace,
        placeholder=placeholder,
        required=required,
        max_length=max_length,
        validate=validate,
        debounce=debounce,
    )


def password(
    label: str,
    default: str = "",
    *,
    required: bool = False,
    validate: Validator | None = None,
    debounce: int | str = "blur",
) -> PasswordInput:
    """A text field whose characters are hidden.

    >>> import kino
    >>> kino.input.password("API key").value
    ''
    """
    return PasswordInput(label, default, required=required, validate=validate, debounce=debounce)


def number(
    label: str,
    default: float | None = None,
    *,
    min: float | None = None,
    max: float | None = None,
    step: float | None = None,
    integer: bool | None = None,
    validate: Validator | None = None,
    debounce: int | str = "blur",
) -> NumberInput:
    """A number field. The value is an int when ``default`` (and ``step``) are ints,
    else a float; ``integer=`` forces either. A value outside ``min``..``max`` shows
    a message beside the field and blocks the form's submit.

    >>> import kino
    >>> kino.input.number("Learning rate", default=1e-3, min=1e-6, max=1.0).value
    0.001
    >>> kino.input.number("Batch size", default=128).value
    128
    """
    return NumberInput(
        label,
        default,
        min=min,
        max=max,
        step=step,
        integer=integer,
        validate=validate,
        debounce=debounce,
    )


def url(
    label: str,
    default: str = "",
    *,
    schemes: Iterable[str] = ("http", "https"),
    required: bool = False,
    validate: Validator | None = None,
    debounce: int | str = "blur",
) -> UrlInput:
    """A URL field, validated: absolute, with one of ``schemes``.

    >>> import kino
    >>> kino.input.url("Data", default="https://example.com/a.csv").value
    'https://example.com/a.csv'
    """
    return UrlInput(
        label, default, schemes=schemes, required=required, validate=validate, debounce=debounce
    )


def select(
    label: str,
    options: Iterable[Any] | Mapping[str, Any],
    default: Any = _MISSING,
    *,
    validate: Validator | None = None,
) -> SelectInput:
    """A dropdown. ``options`` is a list of values (shown with ``str``), a list of
    ``(label, value)`` pairs or a ``{label: value}`` dict; values may be any object.

    >>> import kino
    >>> kino.input.select("Optimizer", ["adam", "sgd", "rmsprop"]).value
    'adam'
    >>> kino.input.select("Width", {"small": 64, "large": 512}, default=512).value
    512
    """
    return SelectInput(label, options, default, validate=validate)


def multiselect(
    label: str,
    options: Iterable[Any] | Mapping[str, Any],
    default: Iterable[Any] = (),
    *,
    min_selected: int = 0,
    max_selected: int | None = None,
    validate: Validator | None = None,
) -> MultiselectInput:
    """Several choices, shown as chips; the value is the list of chosen values
    (in the order of ``options``).

    >>> import kino
    >>> kino.input.multiselect("Metrics", ["accuracy", "f1", "auc"], default=["f1"]).value
    ['f1']
    """
    return MultiselectInput(
        label,
        options,
        default,
        min_selected=min_selected,
        max_selected=max_selected,
        validate=validate,
    )


def checkbox(
    label: str, default: bool = False, *, validate: Validator | None = None
) -> CheckboxInput:
    """A checkbox; the value is a bool.

    >>> import kino
    >>> kino.input.checkbox("Shuffle", default=True).value
    True
    """
    return CheckboxInput(label, default, validate=validate)


def range(
    label: str,
    min: float,
    max: float,
    step: float | None = None,
    default: float | None = None,
    *,
    log: bool = False,
    validate: Validator | None = None,
    debounce: int | str = 0,
) -> RangeInput:
    """A slider from ``min`` to ``max``. Ints throughout give an int value.
    ``log=True`` spaces the positions logarithmically (learning rates), with
    ``step`` then counted in decades (default: 200 positions over the range).
    ``debounce="blur"`` reports only when the handle is released.

    >>> import kino
    >>> kino.input.range("Epochs", 1, 100, default=10).value
    10
    >>> kino.input.range("Learning rate", 1e-5, 1e-1, default=1e-3, log=True).value
    0.001
    """
    return RangeInput(label, min, max, step, default, log=log, validate=validate, debounce=debounce)


def date(
    label: str,
    default: dt.date | None = None,
    *,
    min: dt.date | None = None,
    max: dt.date | None = None,
    required: bool = False,
    validate: Validator | None = None,
) -> DateInput:
    """A date picker; the value is a ``datetime.date`` or None.

    >>> import datetime, kino
    >>> kino.input.date("Start", default=datetime.date(2024, 1, 31)).value
    datetime.date(2024, 1, 31)
    """
    return DateInput(label, default, min=min, max=max, required=required, validate=validate)


def time(
    label: str,
    default: dt.time | None = None,
    *,
    min: dt.time | None = None,
    max: dt.time | None = None,
    required: bool = False,
    validate: Validator | None = None,
) -> TimeInput:
    """A time picker; the value is a ``datetime.time`` or None.

    >>> import datetime, kino
    >>> kino.input.time("At", default=datetime.time(9, 30)).value
    datetime.time(9, 30)
    """
    return TimeInput(label, default, min=min, max=max, required=required, validate=validate)


def datetime(
    label: str,
    default: dt.datetime | None = None,
    *,
    min: dt.datetime | None = None,
    max: dt.datetime | None = None,
    required: bool = False,
    validate: Validator | None = None,
) -> DatetimeInput:
    """A date-and-time picker; the value is a naive ``datetime.datetime`` or None.

    >>> import datetime, kino
    >>> kino.input.datetime("When", default=datetime.datetime(2024, 1, 31, 9, 30)).value
    datetime.datetime(2024, 1, 31, 9, 30)
    """
    return DatetimeInput(label, default, min=min, max=max, required=required, validate=validate)


def color(label: str, default: str = "#1f6feb", *, validate: Validator | None = None) -> ColorInput:
    """A colour picker; the value is ``"#rrggbb"``.

    >>> import kino
    >>> kino.input.color("Line", default="#FF0000").value
    '#ff0000'
    """
    return ColorInput(label, default, validate=validate)


def file(
    label: str,
    *,
    accept: str | Iterable[str] | None = None,
    multiple: bool = False,
    max_size: int = MAX_UPLOAD_BYTES,
    validate: Validator | None = None,
) -> FileInput:
    """A file upload button. ``accept`` lists extensions (``".csv"``) or MIME types
    (``"image/*"``). The value is an :class:`UploadedFile` (``name``, ``size``,
    ``open()``, ``read()``, ``text()``), a list of them with ``multiple=True``, or
    None; the content is read in chunks from the upload, never copied whole.

    >>> import kino
    >>> kino.input.file("Data", accept=[".csv", ".parquet"]).value is None
    True
    """
    return FileInput(label, accept=accept, multiple=multiple, max_size=max_size, validate=validate)


def image(
    label: str,
    *,
    size: tuple[int, int] | None = None,
    fit: str = "contain",
    format: str = "rgb",
    validate: Validator | None = None,
) -> ImageInput:
    """A picture input (file picker or drag and drop). The value is a numpy array
    of shape (height, width, channels), uint8, or None. With ``size=(h, w)`` the
    browser resizes it: ``fit="contain"`` keeps the aspect ratio within the size,
    ``"match"`` stretches to it, ``"pad"`` letterboxes to it, ``"crop"`` centre-crops.
    ``format`` is ``"rgb"`` (3 channels), ``"rgba"`` or ``"luminance"`` (1).

    >>> import kino
    >>> kino.input.image("Digit", size=(28, 28), fit="pad", format="luminance").value is None
    True
    """
    return ImageInput(label, size=size, fit=fit, format=format, validate=validate)


def audio(
    label: str, *, sampling_rate: int = 16000, validate: Validator | None = None
) -> AudioInput:
    """Record from the microphone or upload a sound file. The value is
    :class:`Audio` ``(data, sampling_rate)``: mono float32 samples in [-1, 1],
    resampled in the browser to ``sampling_rate`` Hz, or None.

    >>> import kino
    >>> kino.input.audio("Speech", sampling_rate=16000).value is None
    True
    """
    return AudioInput(label, sampling_rate=sampling_rate, validate=validate)
