"""File, image and audio inputs behind ``kino.input``.

``file`` is ipywidgets' upload button, with the content exposed lazily as a
file object. ``image`` and ``audio`` are kino widgets: the browser decodes the
picture or sound, resizes/resamples it, and sends raw pixels or samples to
Python as one binary buffer.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

import ipywidgets
import traitlets
from ipywidgets.widgets.trait_types import bytes_serialization

from kino.contracts import check_choice, check_int, fail
from kino.ui.base import KinoWidget
from kino.ui.input.fields import Input, Validator

if TYPE_CHECKING:  # numpy loads when a picture or a recording is first read
    import numpy as np

#: Largest file ``kino.input.file`` accepts (bytes). Larger uploads show an error
#: instead of a value: the whole upload travels in one websocket message.
MAX_UPLOAD_BYTES = 8 * 1024 * 1024
#: Largest picture ``kino.input.image`` sends to Python (pixels); a bigger one
#: is scaled down in the browser, keeping its aspect ratio.
MAX_IMAGE_PIXELS = 2 * 1024 * 1024
#: Longest recording ``kino.input.audio`` sends to Python (samples, mono).
MAX_AUDIO_SAMPLES = 2 * 1024 * 1024
IMAGE_FITS = ("contain", "match", "pad", "crop")
IMAGE_FORMATS = {"rgb": 3, "rgba": 4, "luminance": 1}


# file -------------------------------------------------------------------------
class _MemoryReader(io.RawIOBase):
    """Reads a memoryview in slices, so reading never copies the whole upload."""

    def __init__(self, view: memoryview) -> None:
        self._view = view.cast("B")
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        n = min(len(buffer), len(self._view) - self._pos)
        buffer[:n] = self._view[self._pos : self._pos + n]
        self._pos += n
        return n

    def seek(self, offset: int, whence: int = 0) -> int:
        base = (0, self._pos, len(self._view))[whence]
        self._pos = max(0, min(len(self._view), base + offset))
        return self._pos

    def tell(self) -> int:
        return self._pos


@dataclass(frozen=True)
class UploadedFile:
    """One uploaded file. Its content stays in the widget's buffer until read.

    >>> f = UploadedFile("a.csv", "text/csv", 3, memoryview(b"x,y"))
    >>> f.open().read()
    b'x,y'
    """

    name: str
    type: str
    size: int
    content: memoryview

    def open(self) -> io.BufferedReader:
        """A binary file object reading the content in chunks."""
        return io.BufferedReader(_MemoryReader(self.content))

    def read(self) -> bytes:
        """The whole content as bytes (one copy)."""
        return bytes(self.content)

    def text(self, encoding: str = "utf-8") -> str:
        """The content decoded as text."""
        return str(self.content, encoding)


def _check_accept(accept: object, func: str) -> str:
    """The upload's ``accept`` attribute: extensions and MIME types, comma-separated.

    >>> _check_accept([".csv", "image/*"], "kino.input.file")
    '.csv,image/*'
    >>> _check_accept("csv", "kino.input.file")
    Traceback (most recent call last):
    ...
    ValueError: kino.input.file: 'accept' must be extensions like '.csv' or MIME types like 'image/*', got str: 'csv'
    """  # noqa: E501
    if accept is None:
        return ""
    allowed = "extensions like '.csv' or MIME types like 'image/*'"
    items = [accept] if isinstance(accept, str) else accept
    if not isinstance(items, Iterable):
        fail(func, "accept", allowed, accept)
    items = list(items)
    for a in items:
        if not isinstance(a, str):
            fail(func, "accept", allowed, a)
        if not (a.startswith(".") or "/" in a):
            fail(func, "accept", allowed, a, ValueError)
    return ",".join(items)


class FileInput(Input):
    """A file upload button (``kino.input.file``). ``accept`` lists extensions
    (``".csv"``) or MIME types (``"image/*"``). The value is an :class:`UploadedFile`
    (``name``, ``size``, ``open()``, ``read()``, ``text()``), a list of them with
    ``multiple=True``, or None; the content is read in chunks from the upload, never
    copied whole. ``max_size`` (bytes) is at most ``MAX_UPLOAD_BYTES``.

    >>> import kino
    >>> kino.input.file("Data", accept=[".csv", ".parquet"]).value is None
    True
    """

    _func = "kino.input.file"

    def __init__(
        self,
        label: str,
        *,
        accept: str | Iterable[str] | None = None,
        multiple: bool = False,
        max_size: int = MAX_UPLOAD_BYTES,
        validate: Validator | None = None,
    ) -> None:
        max_size = check_int(
            max_size, func=self._func, argument="max_size", min=1, max=MAX_UPLOAD_BYTES
        )
        self.accept = _check_accept(accept, self._func)
        self.multiple = bool(multiple)
        self.max_size = max_size
        control = ipywidgets.FileUpload(accept=self.accept, multiple=self.multiple)
        control.add_class("kino-upload")
        super().__init__(label, control, validate=validate, kind="file")
        self._status = ipywidgets.Label("")
        self._status.add_class("kino-field-note")
        *head, error = self.children
        self.children = (*head, self._status, error)
        control.observe(self._show_files, names="value")

    def _show_files(self, _change: Any = None) -> None:
        self._status.value = ", ".join(f"{f.name} · {_size(f.size)}" for f in self._files())

    _pinned = ("accept", "multiple")

    def _files(self) -> list[UploadedFile]:
        files = []
        for f in self._control.value:
            try:
                content = memoryview(f["content"])
                name = f["name"]
            except (KeyError, TypeError) as exc:
                raise ValueError(f"{self._func}: the page sent an unreadable file") from exc
            # The size is the content's: the page's own "size" field is not trusted.
            size = content.nbytes
            files.append(UploadedFile(str(name), str(f.get("type", "")), size, content))
        if len(files) > 1 and not self.multiple:
            files = files[-1:]
        return files

    def _read(self) -> Any:
        files = self._files()
        if self.multiple:
            return files
        return files[-1] if files else None

    def _write(self, value: Any) -> None:
        self._control.value = ()

    def _check(self, value: Any) -> Any:
        if value not in (None, []):
            raise ValueError(f"{self._func}: only the user can choose a file; set None to clear")
        return value

    def _constraint_error(self, value: Any) -> str | None:
        for f in self._files():
            if f.size > self.max_size:
                return f"{f.name} is too large ({f.size} bytes; the limit is {self.max_size})"
        return None


def _size(n: int) -> str:
    """A byte count for people: ``_size(12_900)`` is ``'12.6 KB'``."""
    if n < 1024:
        return f"{n} bytes"
    if n < 1024 * 1024:
        return f"{n / 1024:.1f} KB"
    return f"{n / (1024 * 1024):.1f} MB"


# image ------------------------------------------------------------------------
class ImageControl(KinoWidget, bundle="imageinput"):
    """Drop zone / file picker that decodes a picture in the browser."""

    data = traitlets.Bytes(b"").tag(sync=True, **bytes_serialization)
    width = traitlets.Int(0).tag(sync=True)
    height = traitlets.Int(0).tag(sync=True)
    channels = traitlets.Int(3).tag(sync=True)
    size = traitlets.List(traitlets.Int(), default_value=[]).tag(sync=True)
    fit = traitlets.Unicode("contain").tag(sync=True)
    max_pixels = traitlets.Int(MAX_IMAGE_PIXELS).tag(sync=True)
    name = traitlets.Unicode("").tag(sync=True)
    disabled = traitlets.Bool(False).tag(sync=True)


class _BrowserMedia(Input):
    """An input whose value the browser makes (a picture, a recording); Python can
    only clear it, by setting None."""

    _user_action: str  # what only the user can do, for the message

    def _write(self, value: Any) -> None:
        self._control.set_trait("name", "")
        self._control.data = b""

    def _check(self, value: Any) -> Any:
        if value is not None:
            raise ValueError(
                f"{self._func}: only the user can {self._user_action}; set None to clear"
            )
        return value


class ImageInput(_BrowserMedia):
    """A picture input: file picker or drag and drop (``kino.input.image``). The value
    is a numpy array of shape (height, width, channels), uint8, or None. With
    ``size=(h, w)`` the browser resizes it: ``fit="contain"`` keeps the aspect ratio
    within the size, ``"match"`` stretches to it, ``"pad"`` letterboxes to it,
    ``"crop"`` centre-crops. ``format`` is ``"rgb"`` (3 channels), ``"rgba"`` or
    ``"luminance"`` (1).

    >>> import kino
    >>> kino.input.image("Digit", size=(28, 28), fit="pad", format="luminance").value is None
    True
    """

    _func = "kino.input.image"
    _user_action = "choose a picture"
    _pinned = ("size", "fit", "channels", "max_pixels")

    def __init__(
        self,
        label: str,
        *,
        size: tuple[int, int] | None = None,
        fit: str = "contain",
        format: str = "rgb",
        validate: Validator | None = None,
    ) -> None:
        func = self._func
        if size is not None:
            allowed = (
                f"(height, width) ints >= 1, at most MAX_IMAGE_PIXELS ({MAX_IMAGE_PIXELS}) "
                "pixels, or None"
            )
            if (
                not isinstance(size, (tuple, list))
                or len(size) != 2
                or not all(isinstance(s, int) and not isinstance(s, bool) for s in size)
            ):
                fail(func, "size", allowed, size)
            if min(size) < 1 or size[0] * size[1] > MAX_IMAGE_PIXELS:
                fail(func, "size", allowed, size, ValueError)
        check_choice(fit, IMAGE_FITS, func=func, argument="fit")
        check_choice(format, IMAGE_FORMATS, func=func, argument="format")
        self.size = tuple(size) if size else None
        self.fit, self.format, self.channels = fit, format, IMAGE_FORMATS[format]
        control = ImageControl(
            size=list(size) if size else [], fit=fit, channels=IMAGE_FORMATS[format]
        )
        super().__init__(label, control, trait="data", validate=validate, kind="image")

    def _read(self) -> np.ndarray | None:
        c = self._control
        if not c.data:
            return None
        if problem := self._shape_problem(c.height, c.width, c.channels):
            raise ValueError(f"{self._func}: received a {c.height}x{c.width}x{c.channels} "
                             f"picture; {problem}")  # fmt: skip
        expected = c.height * c.width * c.channels
        if len(c.data) != expected:
            raise ValueError(
                f"{self._func}: received {len(c.data)} bytes for a {c.height}x{c.width}x"
                f"{c.channels} picture"
            )
        import numpy as np

        return np.frombuffer(c.data, dtype=np.uint8).reshape(c.height, c.width, c.channels)

    def _shape_problem(self, height: int, width: int, channels: int) -> str | None:
        """Why a picture of this shape is not one this input asked for, or None."""
        if channels != self.channels:
            return f"format {self.format!r} has {self.channels} channel(s)"
        if height < 1 or width < 1:
            return "it must be at least 1x1"
        if self.size is None:
            if height * width > MAX_IMAGE_PIXELS:
                return f"it must have at most MAX_IMAGE_PIXELS ({MAX_IMAGE_PIXELS}) pixels"
            return None
        h, w = self.size
        if self.fit == "contain":
            if height > h or width > w:
                return f"fit='contain' keeps it within {h}x{w}"
        elif (height, width) != (h, w):
            return f"fit={self.fit!r} makes it {h}x{w}"
        return None

    @property
    def filename(self) -> str:
        """Name of the chosen file ('' when none)."""
        return self._control.name


# audio ------------------------------------------------------------------------
class Audio(NamedTuple):
    """Samples (float32 in [-1, 1], mono) and their sampling rate in Hz."""

    data: np.ndarray
    sampling_rate: int


class AudioControl(KinoWidget, bundle="audioinput"):
    """Record from the microphone or upload a file; decoded and resampled in the browser."""

    data = traitlets.Bytes(b"").tag(sync=True, **bytes_serialization)
    sampling_rate = traitlets.Int(16000).tag(sync=True)
    max_samples = traitlets.Int(MAX_AUDIO_SAMPLES).tag(sync=True)
    name = traitlets.Unicode("").tag(sync=True)
    disabled = traitlets.Bool(False).tag(sync=True)


class AudioInput(_BrowserMedia):
    """Record from the microphone or upload a sound file (``kino.input.audio``). The
    value is :class:`Audio` ``(data, sampling_rate)``: mono float32 samples in
    [-1, 1], resampled in the browser to ``sampling_rate`` Hz, or None.

    >>> import kino
    >>> kino.input.audio("Speech", sampling_rate=16000).value is None
    True
    """

    _func = "kino.input.audio"
    _user_action = "record audio"
    _pinned = ("sampling_rate", "max_samples")

    def __init__(
        self, label: str, *, sampling_rate: int = 16000, validate: Validator | None = None
    ) -> None:
        sampling_rate = check_int(
            sampling_rate, func=self._func, argument="sampling_rate", min=3000, max=384000
        )
        control = AudioControl(sampling_rate=sampling_rate)
        super().__init__(label, control, trait="data", validate=validate, kind="audio")

    def _read(self) -> Audio | None:
        c = self._control
        if not c.data:
            return None
        if len(c.data) % 4:
            raise ValueError(f"{self._func}: received {len(c.data)} bytes, not float32 samples")
        if len(c.data) > 4 * MAX_AUDIO_SAMPLES:
            raise ValueError(
                f"{self._func}: received {len(c.data) // 4} samples; "
                f"MAX_AUDIO_SAMPLES is {MAX_AUDIO_SAMPLES}"
            )
        import numpy as np

        return Audio(np.frombuffer(c.data, dtype="<f4"), c.sampling_rate)
