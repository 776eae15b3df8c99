"""Inputs, forms and controls (Kino.Input, Kino.Control): ``kino.input.*``, ``kino.form``,
``kino.button`` and ``kino.interval``.

``kino.input`` is this package. Every input has ``.value`` (typed), ``.on_change(fn)``
(``fn(value)`` after each change), ``.update(value)``, ``.reset()``,
``.disable()``/``.enable()``, and shows its validation message beside the field. Put
them in a :class:`Form` (``kino.form``) or show them on their own. Inputs, forms, buttons and
intervals are event sources: ``kino.listen(source, fn)`` hands ``fn`` an ``Event``.

The lowercase names are the classes themselves (``kino.input.number`` is
:class:`NumberInput`): one signature, one docstring, one example each.

>>> import kino
>>> lr = kino.input.number("Learning rate", default=1e-3, min=1e-6, max=1.0)
>>> lr.value
0.001
>>> epochs = kino.input.range("Epochs", 1, 100, default=10)
>>> epochs.value
10
>>> kino.input.number is NumberInput
True
"""

from kino.ui.base import listen
from kino.ui.input.controls import MIN_INTERVAL_MS, Button, Interval
from kino.ui.input.fields import (
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
from kino.ui.input.form import Form
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

# The public lowercase names: plain aliases of the classes (never a second signature).
text = TextInput
textarea = TextareaInput
password = PasswordInput
number = NumberInput
url = UrlInput
select = SelectInput
multiselect = MultiselectInput
checkbox = CheckboxInput
range = RangeInput  # shadows the builtin in this module only (it has no code)
date = DateInput
time = TimeInput
datetime = DatetimeInput
color = ColorInput
file = FileInput
image = ImageInput
audio = AudioInput
form = Form  # also the name of the module kino.ui.input.form: the package attribute is Form
button = Button
interval = Interval
from_dataclass = Form.from_dataclass

__all__ = [
    "IMAGE_FITS",
    "MAX_AUDIO_SAMPLES",
    "MAX_IMAGE_PIXELS",
    "MAX_UPLOAD_BYTES",
    "MIN_INTERVAL_MS",
    "Audio",
    "AudioInput",
    "Button",
    "CheckboxInput",
    "ColorInput",
    "DateInput",
    "DatetimeInput",
    "FileInput",
    "Form",
    "ImageInput",
    "Input",
    "Interval",
    "MultiselectInput",
    "NumberInput",
    "PasswordInput",
    "RangeInput",
    "SelectInput",
    "TextInput",
    "TextareaInput",
    "TimeInput",
    "UploadedFile",
    "UrlInput",
    "Validator",
    "audio",
    "button",
    "checkbox",
    "color",
    "date",
    "datetime",
    "file",
    "form",
    "from_dataclass",
    "image",
    "interval",
    "listen",
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
