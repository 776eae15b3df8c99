"""ResNet (Hugging Face ``model_type`` ``"resnet"``) in flax.nnx: ``ResNetModel`` and
``ResNetForImageClassification``, basic and bottleneck layers.

Images are NHWC inside (``[batch, height, width, channels]``, what
:class:`kino.models.images.ImageFeaturizer` produces); the checkpoint's PyTorch
convolutions ``[out, in, kh, kw]`` are laid out as ``[kh, kw, in, out]`` when loaded.
Batch norm runs in inference mode on the checkpoint's running statistics.

>>> from flax import nnx
>>> import numpy as np
>>> config = {"model_type": "resnet", "architectures": ["ResNetForImageClassification"],
...           "embedding_size": 8, "hidden_sizes": [8, 16], "depths": [1, 1],
...           "layer_type": "basic", "id2label": {"0": "cat", "1": "dog"}}
>>> model = build(config, dtype="float32", rngs=nnx.Rngs(0))
>>> model(np.zeros((1, 32, 32, 3), np.float32)).shape
(1, 2)
>>> sorted(weight_targets(config, model))[:2]
['classifier.1.bias', 'classifier.1.weight']
"""

from __future__ import annotations

from typing import Any

import jax
from flax import nnx

from kino.models.activations import activation
from kino.models.registry import build_head
from kino.models.weights import Target, mirrored

MODEL_TYPES: tuple[str, ...] = ("resnet",)

#: Checkpoint tensors no module variable holds (PyTorch's batch-norm step counters).
IGNORED: tuple[str, ...] = ("*.num_batches_tracked",)


def _activation(name: str) -> Any:
    return activation(name, func="kino.models.resnet", argument="hidden_act")


class ConvLayer(nnx.Module):
    """A convolution without bias, batch norm (running statistics), then an activation.

    PyTorch's symmetric padding (``kernel // 2`` on each side), not XLA's ``"SAME"``.

    >>> layer = ConvLayer(3, 4, kernel=3, stride=2, act="relu", dtype="float32",
    ...                   rngs=nnx.Rngs(0))
    >>> layer(jax.numpy.zeros((1, 8, 8, 3))).shape
    (1, 4, 4, 4)
    """

    def __init__(
        self,
        cin: int,
        cout: int,
        *,
        kernel: int = 3,
        stride: int = 1,
        act: str | None = "relu",
        dtype: Any,
        rngs: nnx.Rngs,
    ) -> None:
        pad = kernel // 2
        self.convolution = nnx.Conv(
            cin,
            cout,
            (kernel, kernel),
            strides=stride,
            padding=((pad, pad), (pad, pad)),
            use_bias=False,
            dtype=dtype,
            param_dtype=dtype,
            rngs=rngs,
        )
        self.normalization = nnx.BatchNorm(
            cout,
            use_running_average=True,
            epsilon=1e-5,
            dtype=dtype,
            param_dtype=dtype,
            rngs=rngs,
        )
        self.act = None if act is None else _activation(act)

    def __call__(self, x: jax.Array) -> jax.Array:
        x = self.normalization(self.convolution(x))
        return x if self.act is None else self.act(x)


class ShortCut(nnx.Module):
    """The residual's projection: a 1x1 convolution (strided) and batch norm.

    >>> shortcut = ShortCut(4, 8, stride=2, dtype="float32", rngs=nnx.Rngs(0))
    >>> shortcut(jax.numpy.zeros((1, 4, 4, 4))).shape
    (1, 2, 2, 8)
    """

    def __init__(self, cin: int, cout: int, *, stride: int, dtype: Any, rngs: nnx.Rngs) -> None:
        self.convolution = nnx.Conv(
            cin, cout, (1, 1), strides=stride, padding="VALID", use_bias=False,
            dtype=dtype, param_dtype=dtype, rngs=rngs,
        )  # fmt: skip
        self.normalization = nnx.BatchNorm(
            cout, use_running_average=True, epsilon=1e-5, dtype=dtype, param_dtype=dtype,
            rngs=rngs,
        )  # fmt: skip

    def __call__(self, x: jax.Array) -> jax.Array:
        return self.normalization(self.convolution(x))


class ResidualLayer(nnx.Module):
    """A basic (two 3x3) or bottleneck (1x1, 3x3, 1x1) layer with its shortcut.

    >>> layer = ResidualLayer(4, 8, stride=2, kind="bottleneck", act="relu", dtype="float32",
    ...                       rngs=nnx.Rngs(0))
    >>> layer(jax.numpy.zeros((1, 8, 8, 4))).shape
    (1, 4, 4, 8)
    """

    def __init__(
        self,
        cin: int,
        cout: int,
        *,
        stride: int = 1,
        kind: str = "basic",
        act: str = "relu",
        reduction: int = 4,
        downsample_in_bottleneck: bool = False,
        dtype: Any,
        rngs: nnx.Rngs,
    ) -> None:
        common = {"dtype": dtype, "rngs": rngs}
        self.shortcut = (
            ShortCut(cin, cout, stride=stride, **common) if cin != cout or stride != 1 else None
        )
        if kind == "bottleneck":
            mid = cout // reduction
            first, second = (stride, 1) if downsample_in_bottleneck else (1, stride)
            layers = [
                ConvLayer(cin, mid, kernel=1, stride=first, act=act, **common),
                ConvLayer(mid, mid, stride=second, act=act, **common),
                ConvLayer(mid, cout, kernel=1, act=None, **common),
            ]
        else:
            layers = [
                ConvLayer(cin, cout, stride=stride, act=act, **common),
                ConvLayer(cout, cout, act=None, **common),
            ]
        self.layer = nnx.List(layers)
        self.act = _activation(act)

    def __call__(self, x: jax.Array) -> jax.Array:
        residual = x if self.shortcut is None else self.shortcut(x)
        for conv in self.layer:
            x = conv(x)
        return self.act(x + residual)


class Stage(nnx.Module):
    """``depth`` residual layers; the first changes the width and the stride.

    >>> stage = Stage(4, 8, stride=2, depth=2, config={}, dtype="float32", rngs=nnx.Rngs(0))
    >>> stage(jax.numpy.zeros((1, 8, 8, 4))).shape
    (1, 4, 4, 8)
    """

    def __init__(
        self,
        cin: int,
        cout: int,
        *,
        stride: int,
        depth: int,
        config: dict[str, Any],
        dtype: Any,
        rngs: nnx.Rngs,
    ) -> None:
        kind = config.get("layer_type", "bottleneck")
        act = config.get("hidden_act", "relu")
        extra = {"downsample_in_bottleneck": bool(config.get("downsample_in_bottleneck", False))}
        self.layers = nnx.List(
            [
                ResidualLayer(
                    cin if i == 0 else cout,
                    cout,
                    stride=stride if i == 0 else 1,
                    kind=kind,
                    act=act,
                    dtype=dtype,
                    rngs=rngs,
                    **(extra if i == 0 else {}),
                )
                for i in range(depth)
            ]
        )

    def __call__(self, x: jax.Array) -> jax.Array:
        for layer in self.layers:
            x = layer(x)
        return x


class Embeddings(nnx.Module):
    """The stem: a 7x7 stride-2 convolution, then a 3x3 stride-2 max pool.

    >>> stem = Embeddings({"embedding_size": 8}, dtype="float32", rngs=nnx.Rngs(0))
    >>> stem(jax.numpy.zeros((1, 32, 32, 3))).shape
    (1, 8, 8, 8)
    """

    def __init__(self, config: dict[str, Any], *, dtype: Any, rngs: nnx.Rngs) -> None:
        self.embedder = ConvLayer(
            config.get("num_channels", 3),
            config.get("embedding_size", 64),
            kernel=7,
            stride=2,
            act=config.get("hidden_act", "relu"),
            dtype=dtype,
            rngs=rngs,
        )

    def __call__(self, pixels: jax.Array) -> jax.Array:
        x = self.embedder(pixels)
        return nnx.max_pool(x, (3, 3), strides=(2, 2), padding=((1, 1), (1, 1)))


class Encoder(nnx.Module):
    """The stages; the first downsamples only with ``downsample_in_first_stage``.

    >>> config = {"embedding_size": 4, "hidden_sizes": [4, 8], "depths": [1, 1]}
    >>> Encoder(config, dtype="float32", rngs=nnx.Rngs(0))(jax.numpy.zeros((1, 8, 8, 4))).shape
    (1, 4, 4, 8)
    """

    def __init__(self, config: dict[str, Any], *, dtype: Any, rngs: nnx.Rngs) -> None:
        sizes = list(config.get("hidden_sizes", [256, 512, 1024, 2048]))
        depths = list(config.get("depths", [3, 4, 6, 3]))
        widths = [config.get("embedding_size", 64), *sizes]
        first_stride = 2 if config.get("downsample_in_first_stage", False) else 1
        self.stages = nnx.List(
            [
                Stage(
                    widths[i],
                    widths[i + 1],
                    stride=first_stride if i == 0 else 2,
                    depth=depth,
                    config=config,
                    dtype=dtype,
                    rngs=rngs,
                )
                for i, depth in enumerate(depths)
            ]
        )

    def __call__(self, x: jax.Array) -> jax.Array:
        for stage in self.stages:
            x = stage(x)
        return x


class ResNetModel(nnx.Module):
    """The ResNet body: pixels ``[B, H, W, C]`` to pooled features ``[B, hidden_sizes[-1]]``.

    ``features(pixels)`` gives the last feature map ``[B, h, w, C]`` before pooling.

    >>> config = {"embedding_size": 4, "hidden_sizes": [4, 8], "depths": [1, 1],
    ...           "layer_type": "basic"}
    >>> model = ResNetModel(config, dtype="float32", rngs=nnx.Rngs(0))
    >>> model(jax.numpy.zeros((2, 32, 32, 3))).shape
    (2, 8)
    """

    def __init__(self, config: dict[str, Any], *, dtype: Any, rngs: nnx.Rngs) -> None:
        self.embedder = Embeddings(config, dtype=dtype, rngs=rngs)
        self.encoder = Encoder(config, dtype=dtype, rngs=rngs)

    def features(self, pixels: jax.Array) -> jax.Array:
        """The last feature map, ``[B, h, w, hidden_sizes[-1]]``."""
        return self.encoder(self.embedder(pixels))

    def __call__(self, pixels: jax.Array) -> jax.Array:
        return self.features(pixels).mean(axis=(1, 2))


class ResNetForImageClassification(nnx.Module):
    """ResNet with its classifier: pixels ``[B, H, W, C]`` to logits ``[B, num_labels]``.

    >>> config = {"embedding_size": 4, "hidden_sizes": [4, 8], "depths": [1, 1],
    ...           "layer_type": "basic", "num_labels": 3}
    >>> model = ResNetForImageClassification(config, dtype="float32", rngs=nnx.Rngs(0))
    >>> model(jax.numpy.zeros((2, 32, 32, 3))).shape
    (2, 3)
    """

    def __init__(self, config: dict[str, Any], *, dtype: Any, rngs: nnx.Rngs) -> None:
        self.resnet = ResNetModel(config, dtype=dtype, rngs=rngs)
        width = list(config.get("hidden_sizes", [2048]))[-1]
        self.classifier = nnx.Linear(
            width, num_labels(config), dtype=dtype, param_dtype=dtype, rngs=rngs
        )

    def __call__(self, pixels: jax.Array) -> jax.Array:
        return self.classifier(self.resnet(pixels))


def num_labels(config: dict[str, Any]) -> int:
    """How many classes a config's classifier has (``id2label``, else ``num_labels``, else 2).

    >>> num_labels({"id2label": {"0": "a", "1": "b", "2": "c"}}), num_labels({})
    (3, 2)
    """
    if config.get("id2label"):
        return len(config["id2label"])
    return int(config.get("num_labels", 2))


_HEADS = {
    "ResNetModel": ResNetModel,
    "ResNetForImageClassification": ResNetForImageClassification,
}


def build(config: dict[str, Any], *, dtype: Any, rngs: nnx.Rngs) -> nnx.Module:
    """The module ``config["architectures"][0]`` names (``ResNetModel`` when none is named).

    >>> config = {"architectures": ["ResNetModel"], "embedding_size": 4,
    ...           "hidden_sizes": [8], "depths": [1]}
    >>> type(build(config, dtype="float32", rngs=nnx.Rngs(0))).__name__
    'ResNetModel'
    >>> build({"architectures": ["ResNetBackbone"]}, dtype="float32", rngs=nnx.Rngs(0))
    Traceback (most recent call last):
    ...
    ValueError: kino.models.resnet: 'architectures' must be one of ResNetModel, ResNetForImageClassification, got str: 'ResNetBackbone'
    """  # noqa: E501
    return build_head(config, _HEADS, dtype=dtype, rngs=rngs, func="kino.models.resnet")


def weight_targets(config: dict[str, Any], module: nnx.Module) -> dict[str, Target]:
    """Each PyTorch checkpoint name of ``module``'s variables and where it goes.

    The nnx attributes are named after the PyTorch ones, so a variable's path is its
    checkpoint name, with the leaf renamed (``kernel`` → ``weight``, ``mean`` →
    ``running_mean``) and the classifier's ``nn.Sequential`` index (``classifier.1``).

    >>> config = {"architectures": ["ResNetModel"], "embedding_size": 4,
    ...           "hidden_sizes": [8], "depths": [1]}
    >>> targets = weight_targets(config, build(config, dtype="float32", rngs=nnx.Rngs(0)))
    >>> targets["embedder.embedder.normalization.running_var"].path
    ('embedder', 'embedder', 'normalization', 'var')
    """
    return mirrored(module, renamed={"classifier": "classifier.1"})


def example(labels: tuple[str, ...] = ("cat", "dog", "bird"), *, seed: int = 0) -> Any:
    """A tiny random ResNet classifier with its featurizer, as ``kino.models.load`` returns
    one: for examples, tests and trying a task without downloading a checkpoint.

    >>> model = example()
    >>> type(model.module).__name__, model.labels[2], model.featurizer.output_size
    ('ResNetForImageClassification', 'bird', (32, 32))
    """
    from kino.models.images import ImageFeaturizer
    from kino.models.load import Pretrained

    config = {
        "model_type": "resnet",
        "architectures": ["ResNetForImageClassification"],
        "embedding_size": 8,
        "hidden_sizes": [8, 16],
        "depths": [1, 1],
        "layer_type": "basic",
        "id2label": {str(i): label for i, label in enumerate(labels)},
    }
    featurizer = ImageFeaturizer({"size": {"shortest_edge": 32}, "crop_pct": 0.875})
    module = build(config, dtype="float32", rngs=nnx.Rngs(seed))
    return Pretrained(module, config, "tiny-resnet", None, featurizer, dict(enumerate(labels)))
