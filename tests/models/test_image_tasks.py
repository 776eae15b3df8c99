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


# image_classification -----------------------------------------------------------------
def write_resnet(folder, labels=("cat", "dog", "bird", "fish")):
    """A tiny random ResNet classifier with its preprocessor config, in the hub's layout."""
    import json

    from flax import nnx
    from safetensors.numpy import save_file

    from kino.models import resnet
    from kino.models.weights import conv_kernel

    config = {
        "model_type": "resnet",
        "architectures": ["ResNetForImageClassification"],
        "embedding_size": 8,
        "hidden_sizes": [8, 16],
        "depths": [1, 1],
        "layer_type": "basic",
        "id2label": {str(i): label for i, label in enumerate(labels)},
    }
    module = resnet.build(config, dtype="float32", rngs=nnx.Rngs(0))
    rng = np.random.default_rng(0)
    tensors = {}
    for name, target in resnet.weight_targets(config, module).items():
        node = module
        for part in target.path:
            node = node[part] if isinstance(part, int) else getattr(node, part)
        shape = node[...].shape
        if target.path[-1] in ("var", "scale"):
            value = rng.uniform(0.5, 1.5, shape).astype(np.float32)
        else:
            value = rng.normal(0, 0.12, shape).astype(np.float32)
        if target.transform is conv_kernel:
            value = np.ascontiguousarray(value.transpose(3, 2, 0, 1))
        elif target.transform is not None:
            value = np.ascontiguousarray(value.T)
        tensors[name] = value
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps(config))
    (folder / "preprocessor_config.json").write_text(json.dumps(PROCESSORS["BitImageProcessor"]))
    save_file(tensors, str(folder / "model.safetensors"), metadata={"format": "pt"})
    return folder


@pytest.fixture(scope="module")
def classifier(tmp_path_factory):
    import kino.models
    from kino.models.tasks_vision import image_classification

    pretrained = kino.models.load(write_resnet(tmp_path_factory.mktemp("resnet")))
    return pretrained, image_classification(pretrained, top_k=3, batch_size=4)


def expected_top(pretrained, image, k):
    """The reference answer: featurize, the module, softmax, sort, all on the host."""
    pixels = ImageFeaturizer(PROCESSORS["BitImageProcessor"])(image)
    logits = np.asarray(pretrained.module(pixels[None]))[0].astype(np.float64)
    probs = np.exp(logits - logits.max())
    probs /= probs.sum()
    order = np.argsort(-probs)[:k]
    return [pretrained.labels[int(i)] for i in order], probs[order]


def test_image_classification_answers_the_top_k_labels_and_scores(classifier):
    pretrained, task = classifier
    images = [photo(seed=s) for s in range(5)]
    answers = task.run(images)
    assert len(answers) == 5
    for image, answer in zip(images, answers, strict=True):
        labels, scores = expected_top(pretrained, image, 3)
        assert [a["label"] for a in answer] == labels
        np.testing.assert_allclose([a["score"] for a in answer], scores, atol=1e-5)
    assert len({tuple(a["label"] for a in answer) for answer in answers}) > 1


def test_inline_and_started_servers_give_the_same_answers(classifier):
    _, task = classifier
    images = [photo(seed=s, height=40 + s, width=60) for s in range(6)]
    inline = task.run(images)
    server = task.start()
    try:
        served = server.predict_many(images)
        one = server.predict(images[2])
    finally:
        server.stop()
    assert [[a["label"] for a in x] for x in served] == [[a["label"] for a in x] for x in inline]
    for got, want in zip(served, inline, strict=True):
        np.testing.assert_allclose([a["score"] for a in got], [a["score"] for a in want], atol=1e-6)
    assert [a["label"] for a in one] == [a["label"] for a in inline[2]]


def test_image_classification_refuses_bad_arguments(classifier):
    from kino.models import gpt2
    from kino.models.tasks_vision import image_classification
    from kino.serving import InvalidInput

    pretrained, task = classifier
    with pytest.raises(ValueError, match="'top_k' must be an int from 1 to 4, got 5"):
        image_classification(pretrained, top_k=5)
    with pytest.raises(TypeError, match=r"'model' must be a model from kino\.models\.load"):
        image_classification("microsoft/resnet-50")
    with pytest.raises(TypeError, match="'model' must be an image classifier"):
        image_classification(gpt2.example())
    with pytest.raises(InvalidInput, match="preprocess refused the request"):
        task.run([b"not an image"])


# the widget ------------------------------------------------------------------------------
def texts(widget) -> list[str]:
    """Every Label text inside a box (what the page shows as text)."""
    import ipywidgets

    out = []
    for child in getattr(widget, "children", ()):
        if isinstance(child, ipywidgets.Label):
            out.append(child.value)
        out += texts(child)
    return out


def png(image: np.ndarray) -> bytes:
    encoded = io.BytesIO()
    Image.fromarray(image).save(encoded, format="PNG")
    return encoded.getvalue()


def test_an_uploaded_picture_shows_its_labels_with_score_bars(comm_log, classifier):
    import ipywidgets

    from kino.models.view_media import ImageClassifier

    _, task = classifier
    box = ImageClassifier(task)
    image = photo(seed=3, height=300, width=450)
    payload = png(image)
    box.upload._control.set_state(  # as the page's FileUpload sends it
        {"value": [{"name": "cat.png", "type": "image/png", "size": len(payload),
                    "content": memoryview(payload), "last_modified": 0}]}
    )  # fmt: skip
    expected = task.run([image])[0]
    assert box.rows == expected
    shown = texts(box.answer)
    assert shown[0] == "Labels"
    assert shown[1:] == [t for row in expected for t in (row["label"], f"{row['score']:.3f}")]
    bars = [w for w in _walk(box.answer) if isinstance(w, ipywidgets.FloatProgress)]
    assert [b.value for b in bars] == pytest.approx([row["score"] for row in expected])
    preview = next(w for w in _walk(box.preview) if isinstance(w, ipywidgets.Image))
    assert preview.width == "224" and preview.format == "png"


def test_a_file_that_is_not_a_picture_says_so(comm_log, classifier):
    from kino.models.view_media import ImageClassifier

    box = ImageClassifier(classifier[1])
    assert box.classify(b"%PDF-1.4 not a picture") == []
    assert texts(box.answer) == ["'image' bytes are not a picture Pillow can read"]


def test_labels_reach_the_page_as_text(comm_log):
    from kino.models import resnet
    from kino.models.tasks_vision import image_classification
    from kino.models.view_media import ImageClassifier

    evil = ("<img src=x onerror=alert(1)>", "dog", "bird")
    box = ImageClassifier(image_classification(resnet.example(evil), top_k=3), image=photo())
    assert evil[0] in texts(box.answer)  # a Label: the page shows it as text, never HTML


def _walk(widget):
    yield widget
    for child in getattr(widget, "children", ()):
        yield from _walk(child)
