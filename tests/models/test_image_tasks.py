"""The image featurizer against transformers' image processors, and image classification."""

from __future__ import annotations

import io

import numpy as np
import pytest

pytest.importorskip("PIL")
from PIL import Image

from kino.models.images import ImageFeaturizer

PROCESSORS = {
    # ResNet's hub checkpoints: short side to 224 / 0.875, then a 224 crop.
    "ConvNextImageProcessor": {
        "size": {"shortest_edge": 32},
        "crop_pct": 0.875,
        "resample": 3,
        "image_mean": [0.485, 0.456, 0.406],
        "image_std": [0.229, 0.224, 0.225],
    },
    "ViTImageProcessor": {
        "size": {"height": 24, "width": 40},
        "resample": 2,
        "image_mean": [0.5, 0.5, 0.5],
        "image_std": [0.5, 0.5, 0.5],
    },
    "BitImageProcessor": {
        "size": {"shortest_edge": 36},
        "do_center_crop": True,
        "crop_size": {"height": 32, "width": 32},
        "resample": 3,
        "image_mean": [0.4815, 0.4578, 0.4082],
        "image_std": [0.2686, 0.2613, 0.2758],
    },
}


def photo(height: int = 57, width: int = 83, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    smooth = rng.uniform(0, 255, (height // 8 + 1, width // 8 + 1, 3))
    big = np.kron(smooth, np.ones((8, 8, 1)))[:height, :width]
    return (big + rng.normal(0, 20, big.shape)).clip(0, 255).astype(np.uint8)


@pytest.mark.parametrize("kind", sorted(PROCESSORS))
@pytest.mark.parametrize("shape", [(57, 83), (90, 41)])
def test_featurizer_matches_the_hub_processor(kind, shape):
    transformers = pytest.importorskip("transformers")
    config = PROCESSORS[kind]
    image = photo(*shape)
    reference = getattr(transformers, kind)(**config)
    expected = reference(Image.fromarray(image), return_tensors="np")["pixel_values"][0]
    got = ImageFeaturizer(config)(image)
    assert (
        got.shape == expected.transpose(1, 2, 0).shape == (*ImageFeaturizer(config).output_size, 3)
    )
    np.testing.assert_allclose(got, expected.transpose(1, 2, 0), atol=1e-5)


def test_every_input_kind_gives_the_same_pixels(tmp_path):
    featurize = ImageFeaturizer(PROCESSORS["ConvNextImageProcessor"])
    image = photo()
    encoded = io.BytesIO()
    Image.fromarray(image).save(encoded, format="PNG")
    (tmp_path / "cat.png").write_bytes(encoded.getvalue())
    rgba = np.concatenate([image, np.full((*image.shape[:2], 1), 255, np.uint8)], axis=-1)
    expected = featurize(Image.fromarray(image))
    for variant in (
        image,
        rgba,
        encoded.getvalue(),
        tmp_path / "cat.png",
        str(tmp_path / "cat.png"),
    ):
        np.testing.assert_array_equal(featurize(variant), expected)
    gray = featurize(image[..., 0])
    assert gray.shape == expected.shape
    np.testing.assert_allclose(
        gray[..., 0] * 0.229 + 0.485, gray[..., 1] * 0.224 + 0.456, atol=1e-5
    )


def test_bad_images_and_configs_are_refused_by_name():
    featurize = ImageFeaturizer({"size": 8})
    with pytest.raises(TypeError, match=r"'image' must be a PIL image.*float"):
        featurize(np.zeros((4, 4, 3), np.float32))
    with pytest.raises(ValueError, match="'image' must be a PIL image"):
        featurize(np.zeros((4, 4, 2), np.uint8))
    with pytest.raises(ValueError, match="'image' bytes are not a picture"):
        featurize(b"not a png")
    with pytest.raises(ValueError, match=r"'crop_pct' must be a finite number from 0\.01 to 1"):
        ImageFeaturizer({"crop_pct": 1.5})
    with pytest.raises(ValueError, match="'image_std' must be non-zero"):
        ImageFeaturizer({"image_std": [0.5, 0, 0.5]})
    with pytest.raises(ValueError, match="'size' must be an int or a dict"):
        ImageFeaturizer({"size": {"shortest_edge": 0}})
