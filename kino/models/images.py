"""An image model's preprocessing from ``preprocessor_config.json``: resize, center-crop,
rescale, normalise (Pillow does the resampling, as the hub's image processors do).

The three layouts hub checkpoints use are read: ``size: {"shortest_edge": s}`` with
``crop_pct`` (ConvNeXt, ResNet: resize the short side to ``s / crop_pct``, crop ``s``),
``size: {"shortest_edge": s}`` with ``do_center_crop``/``crop_size`` (BiT, CLIP), and
``size: {"height": h, "width": w}`` (ViT: resize to exactly that). The result is float32
``[height, width, 3]``, channels last, as ``kino.models.resnet`` takes it.

>>> import numpy as np
>>> featurize = ImageFeaturizer({"size": {"shortest_edge": 8}, "crop_pct": 0.875,
...                              "image_mean": [0.5] * 3, "image_std": [0.5] * 3})
>>> pixels = featurize(np.full((20, 30, 3), 255, np.uint8))
>>> pixels.shape, pixels.dtype, float(pixels.max())
((8, 8, 3), dtype('float32'), 1.0)
"""

from __future__ import annotations

import io
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from kino.contracts import check_bool, check_number, fail

#: ImageNet's channel means and deviations: the default of ConvNeXt's processor.
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

_FUNC = "kino.models.ImageFeaturizer"


def _pil() -> Any:
    from kino.models.errors import import_optional

    return import_optional("PIL.Image", func=_FUNC)


def _size(value: Any, argument: str) -> dict[str, int]:
    """A processor's ``size``/``crop_size`` as a dict (an int means a square)."""
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return {"height": value, "width": value}
    allowed = "an int or a dict with 'shortest_edge' or 'height' and 'width' (ints > 0)"
    if not isinstance(value, Mapping):
        fail(_FUNC, argument, allowed, value)
    keys = {"shortest_edge"} if "shortest_edge" in value else {"height", "width"}
    if not keys <= value.keys() or not all(
        isinstance(value[k], int) and value[k] > 0 for k in keys
    ):
        fail(_FUNC, argument, allowed, value, ValueError)
    return {k: int(value[k]) for k in keys}


def _channels(value: Any, argument: str) -> np.ndarray:
    array = np.asarray(value, np.float32).reshape(-1)
    if array.size == 1:
        array = np.repeat(array, 3)
    if array.size != 3 or not np.all(np.isfinite(array)):
        fail(_FUNC, argument, "three finite numbers (one per channel)", value, ValueError)
    return array


class ImageFeaturizer:
    """Turns a picture into the pixels a vision model takes, per ``preprocessor_config.json``.

    Accepts a ``PIL.Image``, an ``[H, W]``/``[H, W, 1|3|4]`` uint8 array, encoded image
    bytes (PNG, JPEG, ...) or a file path; returns float32 ``[height, width, 3]``.

    >>> import numpy as np
    >>> vit = ImageFeaturizer({"size": {"height": 4, "width": 6}, "do_normalize": False})
    >>> vit.output_size, vit(np.zeros((10, 10), np.uint8)).shape
    ((4, 6), (4, 6, 3))
    >>> ImageFeaturizer({"size": "big"})
    Traceback (most recent call last):
    ...
    TypeError: kino.models.ImageFeaturizer: 'size' must be an int or a dict with 'shortest_edge' or 'height' and 'width' (ints > 0), got str: 'big'
    """  # noqa: E501

    def __init__(self, config: Mapping[str, Any]) -> None:
        if not isinstance(config, Mapping):
            fail(_FUNC, "config", "a dict (preprocessor_config.json)", config)
        self.config = dict(config)
        self.do_resize = check_bool(config.get("do_resize", True), func=_FUNC, argument="do_resize")
        self.size = _size(config.get("size", 224), "size")
        self.resample = int(config.get("resample", 3))
        crop_pct = config.get("crop_pct")
        self.crop_pct = (
            None
            if crop_pct is None
            else float(check_number(crop_pct, func=_FUNC, argument="crop_pct", min=0.01, max=1))
        )
        self.do_center_crop = check_bool(
            config.get("do_center_crop", False), func=_FUNC, argument="do_center_crop"
        )
        self.crop_size = _size(config.get("crop_size", self.size), "crop_size")
        self.do_rescale = check_bool(
            config.get("do_rescale", True), func=_FUNC, argument="do_rescale"
        )
        self.rescale_factor = float(
            check_number(
                config.get("rescale_factor", 1 / 255), func=_FUNC, argument="rescale_factor"
            )
        )
        self.do_normalize = check_bool(
            config.get("do_normalize", True), func=_FUNC, argument="do_normalize"
        )
        self.mean = _channels(config.get("image_mean", IMAGENET_MEAN), "image_mean")
        self.std = _channels(config.get("image_std", IMAGENET_STD), "image_std")
        if np.any(self.std == 0):
            fail(_FUNC, "image_std", "non-zero numbers", config.get("image_std"), ValueError)

    @classmethod
    def from_file(cls, path: str | Path) -> ImageFeaturizer:
        """The featurizer a ``preprocessor_config.json`` file describes.

        >>> import json, tempfile, pathlib
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "preprocessor_config.json"
        >>> _ = path.write_text(json.dumps({"size": 32}))
        >>> ImageFeaturizer.from_file(path).output_size
        (32, 32)
        """
        return cls(json.loads(Path(path).read_text()))

    @property
    def output_size(self) -> tuple[int, int]:
        """``(height, width)`` of every featurized image.

        >>> ImageFeaturizer({"size": {"shortest_edge": 224}, "crop_pct": 0.875}).output_size
        (224, 224)
        """
        if "shortest_edge" in self.size:
            edge = self.size["shortest_edge"]
            if self.do_center_crop and self.crop_pct is None:
                return self.crop_size["height"], self.crop_size["width"]
            return edge, edge
        if self.do_center_crop:
            return self.crop_size["height"], self.crop_size["width"]
        return self.size["height"], self.size["width"]

    def __call__(self, image: Any) -> np.ndarray:
        """The pixels of ``image``: float32 ``[height, width, 3]``.

        >>> import numpy as np
        >>> f = ImageFeaturizer({"size": 2, "do_normalize": False})
        >>> f(np.full((4, 4, 3), 255, np.uint8))[0, 0].tolist()
        [1.0, 1.0, 1.0]
        """
        picture = self._resized(as_picture(image))
        pixels = np.asarray(picture, np.float32)
        if self.do_rescale:
            pixels = pixels * np.float32(self.rescale_factor)
        if self.do_normalize:
            pixels = (pixels - self.mean) / self.std
        return np.ascontiguousarray(pixels, np.float32)

    def _resized(self, picture: Any) -> Any:
        if not self.do_resize:
            return picture
        if "shortest_edge" in self.size:
            edge = self.size["shortest_edge"]
            if self.crop_pct is not None:
                if edge >= 384:  # ConvNeXt warps large inputs to a square, no crop
                    return picture.resize((edge, edge), self.resample)
                picture = _resize_short_side(picture, int(edge / self.crop_pct), self.resample)
                return _center_crop(picture, edge, edge)
            picture = _resize_short_side(picture, edge, self.resample)
        else:
            picture = picture.resize((self.size["width"], self.size["height"]), self.resample)
        if self.do_center_crop:
            picture = _center_crop(picture, self.crop_size["height"], self.crop_size["width"])
        return picture

    def __repr__(self) -> str:
        height, width = self.output_size
        return f"ImageFeaturizer({height}x{width}, normalize={self.do_normalize})"


def as_picture(image: Any) -> Any:
    """``image`` as an RGB ``PIL.Image`` (from PIL, an array, encoded bytes or a path).

    >>> import numpy as np
    >>> as_picture(np.zeros((2, 3), np.uint8)).size
    (3, 2)
    >>> as_picture(3.5)
    Traceback (most recent call last):
    ...
    TypeError: kino.models.ImageFeaturizer: 'image' must be a PIL image, an [H, W] or [H, W, C] uint8 array, image bytes or a file path, got 3.5
    """  # noqa: E501
    pil = _pil()
    allowed = "a PIL image, an [H, W] or [H, W, C] uint8 array, image bytes or a file path"
    if isinstance(image, pil.Image):
        picture = image
    elif isinstance(image, (bytes, bytearray, memoryview)):
        try:
            picture = pil.open(io.BytesIO(bytes(image)))
            picture.load()
        except Exception as error:  # PIL raises several kinds for unreadable data
            raise ValueError(f"{_FUNC}: 'image' bytes are not a picture Pillow can read") from error
    elif isinstance(image, (str, Path)):
        picture = pil.open(image)
    elif hasattr(image, "__array__") or isinstance(image, list):
        array = np.asarray(image)
        if array.ndim == 3 and array.shape[-1] == 1:
            array = array[..., 0]
        if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[-1] not in (3, 4)):
            fail(_FUNC, "image", allowed, image, ValueError)
        if array.dtype != np.uint8:
            fail(_FUNC, "image", allowed + " (floats: convert to uint8 first)", image)
        picture = pil.fromarray(array)
    else:
        fail(_FUNC, "image", allowed, image)
    return picture.convert("RGB")


def _resize_short_side(picture: Any, edge: int, resample: int) -> Any:
    """Short side to ``edge``, the long one scaled and rounded down (the hub's processors)."""
    width, height = picture.size
    if width <= height:
        size = (edge, int(edge * height / width))
    else:
        size = (int(edge * width / height), edge)
    return picture.resize(size, resample)


def _center_crop(picture: Any, height: int, width: int) -> Any:
    """The middle ``height x width`` (padded with black where the picture is smaller)."""
    left = (picture.width - width) // 2
    top = (picture.height - height) // 2
    return picture.crop((left, top, left + width, top + height))
