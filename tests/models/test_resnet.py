"""ResNet in flax.nnx against transformers' Flax ResNet on the same random checkpoint."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("safetensors")
from flax import nnx
from safetensors.numpy import save_file

from kino.models import resnet
from kino.models.errors import WeightError
from kino.models.weights import load_weights


def tiny_config(layer_type: str, head: bool = True, **extra) -> dict:
    config = {
        "model_type": "resnet",
        "architectures": ["ResNetForImageClassification" if head else "ResNetModel"],
        "num_channels": 3,
        "embedding_size": 8,
        "hidden_sizes": [8, 16, 32] if layer_type == "basic" else [16, 32],
        "depths": [1, 2, 1] if layer_type == "basic" else [2, 1],
        "layer_type": layer_type,
        "hidden_act": "relu",
        "downsample_in_first_stage": False,
        "id2label": {"0": "cat", "1": "dog", "2": "bird"},
        "label2id": {"cat": 0, "dog": 1, "bird": 2},
    }
    return config | extra


def pytorch_layout(module: nnx.Module, config: dict, seed: int = 0) -> dict[str, np.ndarray]:
    """Random tensors in PyTorch's names and layouts for every variable ``module`` has."""
    rng = np.random.default_rng(seed)
    tensors = {}
    for name, target in resnet.weight_targets(config, module).items():
        shape = np.shape(nnx.state(module).to_pure_dict() and _leaf(module, target.path))
        if len(shape) == 4:  # nnx [kh, kw, in, out] -> torch [out, in, kh, kw]
            shape = (shape[3], shape[2], shape[0], shape[1])
        elif len(shape) == 2:
            shape = shape[::-1]
        if name.endswith("running_var") or name.endswith("normalization.weight"):
            value = rng.uniform(0.5, 1.5, shape)
        else:
            value = rng.normal(0, 0.3, shape)
        tensors[name] = value.astype(np.float32)
        if name.endswith("running_mean"):
            tensors[name.replace("running_mean", "num_batches_tracked")] = np.array(7, np.int64)
    return tensors


def _leaf(module, path):
    node = module
    for part in path:
        node = node[part] if isinstance(part, int) else getattr(node, part)
    return node[...]


def save_hub_layout(folder: Path, config: dict, tensors: dict[str, np.ndarray]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps(config))
    save_file(tensors, str(folder / "model.safetensors"), metadata={"format": "pt"})
    return folder


def reference_copy(folder: Path, config: dict, tensors: dict[str, np.ndarray]) -> Path:
    """The same checkpoint for transformers' Flax ResNet, whose basic layer names its two
    convolutions ``layer_0``/``layer_1`` where PyTorch has ``layer.0``/``layer.1`` (its
    converter does not rename them): only that index is renamed, every value is the same."""
    if config["layer_type"] != "basic":
        return folder
    renamed = {re.sub(r"\.layer\.(\d+)\.", r".layer.layer_\1.", k): v for k, v in tensors.items()}
    return save_hub_layout(folder.with_name(folder.name + "-reference"), config, renamed)


def load_into_kino(folder: Path) -> nnx.Module:
    import kino.models

    pretrained = kino.models.load(folder)
    assert pretrained.labels == {0: "cat", 1: "dog", 2: "bird"}
    return pretrained.module


@pytest.fixture(scope="module")
def transformers_flax():
    return pytest.importorskip("transformers")


@pytest.mark.parametrize("layer_type", ["basic", "bottleneck"])
def test_logits_match_transformers_flax_resnet(tmp_path, transformers_flax, layer_type):
    config = tiny_config(layer_type)
    tensors = pytorch_layout(resnet.build(config, dtype="float32", rngs=nnx.Rngs(0)), config)
    folder = save_hub_layout(tmp_path / "resnet", config, tensors)
    ours = load_into_kino(folder)
    reference = transformers_flax.FlaxResNetForImageClassification.from_pretrained(
        reference_copy(folder, config, tensors)
    )

    pixels = np.random.default_rng(1).normal(size=(2, 3, 40, 40)).astype(np.float32)
    expected = np.asarray(reference(pixels).logits)
    got = np.asarray(ours(pixels.transpose(0, 2, 3, 1)))  # kino is NHWC inside
    assert got.shape == (2, 3)
    np.testing.assert_allclose(got, expected, atol=1e-4, rtol=1e-4)
    assert np.abs(expected).max() > 1e-2  # the random weights reach the logits


def test_base_model_features_match_the_reference_pooled_output(tmp_path, transformers_flax):
    config = tiny_config("bottleneck", head=False)
    tensors = pytorch_layout(resnet.build(config, dtype="float32", rngs=nnx.Rngs(0)), config)
    folder = save_hub_layout(tmp_path / "resnet", config, tensors)
    ours = load_into_kino(folder)
    reference = transformers_flax.FlaxResNetModel.from_pretrained(
        reference_copy(folder, config, tensors)
    )

    pixels = np.random.default_rng(2).normal(size=(1, 3, 32, 32)).astype(np.float32)
    expected = np.asarray(reference(pixels).pooler_output).reshape(1, -1)
    np.testing.assert_allclose(np.asarray(ours(pixels.transpose(0, 2, 3, 1))), expected, atol=1e-4)


def test_a_checkpoint_of_another_shape_is_refused_naming_the_tensor(tmp_path):
    config = tiny_config("basic")
    module = resnet.build(config, dtype="float32", rngs=nnx.Rngs(0))
    tensors = pytorch_layout(module, config)
    tensors["classifier.1.weight"] = np.zeros((5, 32), np.float32)
    del tensors["resnet.embedder.embedder.convolution.weight"]
    with pytest.raises(WeightError) as error:
        load_weights(
            module, tensors, resnet.weight_targets(config, module), dtype="float32",
            ignore=resnet.IGNORED,
        )  # fmt: skip
    message = str(error.value)
    assert "'classifier.1.weight' has shape (5, 32)" in message and "(32, 3)" in message
    assert "missing from the checkpoint: resnet.embedder.embedder.convolution.weight" in message


def test_an_unknown_activation_or_head_is_refused_by_name():
    with pytest.raises(ValueError, match=r"'hidden_act' must be one of gelu_new, .* 'mish'"):
        resnet.build(tiny_config("basic", hidden_act="mish"), dtype="float32", rngs=nnx.Rngs(0))
    with pytest.raises(ValueError, match="'architectures' must be one of ResNetModel"):
        resnet.build(
            tiny_config("basic", architectures=["ResNetBackbone"]),
            dtype="float32",
            rngs=nnx.Rngs(0),
        )
