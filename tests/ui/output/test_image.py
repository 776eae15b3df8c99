"""kino.image: arrays, PIL-free PNG encoding, bytes, limits."""

from __future__ import annotations

import struct
import zlib

import jax.numpy as jnp
import numpy as np
import pytest

import kino
from kino.ui.output import MAX_IMAGE_PIXELS, Image
from kino.ui.output.image import encode_png


def decode_png(data: bytes) -> np.ndarray:
    """A minimal PNG reader for 8-bit images written with filter 0 (what encode_png writes)."""
    data = bytes(data)
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, header = 8, b"", None
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + length]
        crc = struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])[0]
        assert zlib.crc32(kind + body) & 0xFFFFFFFF == crc
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    w, h, _depth, color_type = header[:4]
    channels = {0: 1, 4: 2, 2: 3, 6: 4}[color_type]
    rows = np.frombuffer(zlib.decompress(idat), np.uint8).reshape(h, 1 + w * channels)
    assert (rows[:, 0] == 0).all()
    return rows[:, 1:].reshape(h, w, channels)


def test_image_from_jax_float_array_pixels():
    arr = jnp.zeros((4, 5, 3)).at[1, 2].set(jnp.array([1.0, 0.5, 0.0]))
    img = kino.image(arr)
    assert img.format == "png"
    pixels = decode_png(img.value)
    assert pixels.shape == (4, 5, 3)
    assert tuple(pixels[1, 2]) == (255, 128, 0)
    assert tuple(pixels[0, 0]) == (0, 0, 0)


def test_image_grayscale_uint8_rgba_and_bytes():
    gray = np.arange(6, dtype=np.uint8).reshape(2, 3)
    assert (decode_png(kino.image(gray).value)[..., 0] == gray).all()
    rgba = np.zeros((2, 2, 4), np.uint8)
    rgba[1, 1] = (1, 2, 3, 4)
    assert tuple(decode_png(encode_png(rgba))[1, 1]) == (1, 2, 3, 4)
    png = encode_png(rgba)
    img = kino.image(png, width=200)
    assert bytes(img.value) == png and img.width == "200"
    jpeg = b"\xff\xd8\xff\xe0" + b"0" * 10
    img.update(jpeg)
    assert img.format == "jpeg"
    assert decode_png(kino.image(np.ones((2, 2), bool)).value).max() == 255


def test_image_size_limit():
    side = int(MAX_IMAGE_PIXELS**0.5) + 1
    with pytest.raises(ValueError, match="MAX_IMAGE_PIXELS"):
        kino.image(np.broadcast_to(np.zeros((1, 1), np.uint8), (side, side)))


@pytest.mark.parametrize(
    ("call", "exc", "argument"),
    [
        (lambda: kino.image(b"not an image"), ValueError, "'image'"),
        (lambda: kino.image(np.zeros((2, 2, 5))), ValueError, "'image'"),
        (lambda: kino.image(np.full((2, 2), 1.5)), ValueError, r"\[0, 1\]"),
        (lambda: kino.image(np.full((2, 2), np.nan)), ValueError, "finite"),
        (lambda: kino.image(np.full((2, 2), 300)), ValueError, "0..255"),
        (lambda: kino.image(np.zeros((0, 3))), ValueError, "empty"),
        (lambda: kino.image(np.zeros((2, 2)), width=0), ValueError, "'width'"),
    ],
)
def test_bad_image_arguments(call, exc, argument):
    with pytest.raises(exc, match=argument):
        call()


def test_image_is_the_class_itself():
    assert kino.image is Image
