"""Pictures: ``kino.image`` (Kino.Image) from arrays, PIL images, bytes or files."""

from __future__ import annotations

import logging
import struct
import zlib
from typing import TYPE_CHECKING, Any

import ipywidgets

from kino.contracts import check_int

if TYPE_CHECKING:  # numpy loads when a picture is first made
    import numpy as np

log = logging.getLogger("kino")

#: Largest picture ``kino.image`` accepts, in pixels (height x width).
MAX_IMAGE_PIXELS = 4096 * 4096


_MAGIC = {
    b"\x89PNG\r\n\x1a\n": "png",
    b"\xff\xd8\xff": "jpeg",
    b"GIF87a": "gif",
    b"GIF89a": "gif",
}


def encode_png(pixels: np.ndarray) -> bytes:
    """PNG bytes of an HWC (or HW) uint8 array with 1, 3 or 4 channels.

    >>> import numpy as np
    >>> encode_png(np.zeros((1, 1, 3), np.uint8))[:4]
    b'\\x89PNG'
    """
    import numpy as np

    if pixels.ndim == 2:
        pixels = pixels[:, :, None]
    h, w, c = pixels.shape
    color_type = {1: 0, 2: 4, 3: 2, 4: 6}[c]
    rows = np.concatenate([np.zeros((h, 1), np.uint8), pixels.reshape(h, w * c)], axis=1)

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return (
            struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", w, h, 8, color_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(np.ascontiguousarray(rows).tobytes(), 6))
        + chunk(b"IEND", b"")
    )


def to_uint8_image(array: Any, func: str = "kino.image") -> np.ndarray:
    """An HWC/HW array (numpy, jax, ...) as HWC uint8: floats must lie in [0, 1].

    >>> to_uint8_image([[0.0, 1.0]]).tolist()
    [[[0], [255]]]
    """
    import numpy as np

    try:
        pixels = np.asarray(array)
    except Exception as exc:
        raise TypeError(f"{func}: 'image' must be an array or PNG/JPEG bytes ({exc})") from None
    if pixels.ndim == 2:
        pixels = pixels[:, :, None]
    if pixels.ndim != 3 or pixels.shape[2] not in (1, 2, 3, 4):
        raise ValueError(
            f"{func}: 'image' must have shape (height, width) or (height, width, channels) "
            f"with 1, 3 or 4 channels, got {pixels.shape}"
        )
    if pixels.shape[0] * pixels.shape[1] == 0:
        raise ValueError(f"{func}: 'image' is empty: shape {pixels.shape}")
    if pixels.shape[0] * pixels.shape[1] > MAX_IMAGE_PIXELS:
        raise ValueError(
            f"{func}: 'image' has {pixels.shape[0] * pixels.shape[1]} pixels; "
            f"MAX_IMAGE_PIXELS is {MAX_IMAGE_PIXELS}"
        )
    if pixels.dtype == np.uint8:
        return pixels
    if pixels.dtype == np.bool_:
        return pixels.astype(np.uint8) * 255
    if np.issubdtype(pixels.dtype, np.integer):
        if pixels.min() < 0 or pixels.max() > 255:
            raise ValueError(f"{func}: integer 'image' values must lie in 0..255")
        return pixels.astype(np.uint8)
    if np.issubdtype(pixels.dtype, np.floating):
        pixels = pixels.astype(np.float32)
        if not np.isfinite(pixels).all():
            raise ValueError(f"{func}: float 'image' values must be finite (no NaN or inf)")
        if pixels.min() < 0.0 or pixels.max() > 1.0:
            raise ValueError(
                f"{func}: float 'image' values must lie in [0, 1], got "
                f"min {float(pixels.min()):.3g}, max {float(pixels.max()):.3g}"
            )
        return np.round(pixels * 255.0).astype(np.uint8)
    raise TypeError(f"{func}: 'image' dtype must be uint8, int or float, got {pixels.dtype}")


def _image_bytes(obj: Any) -> tuple[bytes, str]:
    if isinstance(obj, (bytes, bytearray, memoryview)):
        data = bytes(obj)
        for magic, fmt in _MAGIC.items():
            if data.startswith(magic):
                return data, fmt
        raise ValueError("kino.image: 'image' bytes must be a PNG, JPEG or GIF file")
    return encode_png(to_uint8_image(obj)), "png"


class Image(ipywidgets.Image):
    """Show a picture (``kino.image``): a jax or numpy HWC (or HW) array, uint8 or
    float in [0, 1], or PNG/JPEG/GIF bytes. ``width`` scales it on the page (pixels
    stay sharp); ``.update(new)`` replaces it.

    >>> import numpy as np, kino
    >>> img = kino.image(np.zeros((28, 28)), width=112)
    >>> img.format
    'png'
    """

    def __init__(self, image: Any, *, width: int | None = None) -> None:
        data, fmt = _image_bytes(image)
        width = check_int(width, func="kino.image", argument="width", min=1, allow_none=True)
        super().__init__(value=data, format=fmt, width=str(width) if width else "")
        self.add_class("kino")
        self.add_class("kino-image")

    def update(self, image: Any) -> None:
        """Show another picture."""
        data, fmt = _image_bytes(image)
        with self.hold_sync():
            self.format = fmt
            self.value = data
