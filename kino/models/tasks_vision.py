"""``image_classification``: a vision model's top-k labels as a ``kino.serving.Serving``.

Bumblebee's ``Vision.image_classification``. Each request is one picture (a PIL image, an
``[H, W, C]`` uint8 array, encoded bytes or a path); the featurizer from the model's
``preprocessor_config.json`` turns it into pixels, the compiled program runs the model,
its softmax and ``lax.top_k`` on the device, and the answer is a list of
``{"label", "score"}`` from the most likely down. In a notebook the task displays as an
image upload and its labels with score bars (``kino.models.view_media``).

>>> import numpy as np
>>> from kino.models import resnet
>>> classify = image_classification(resnet.example(), top_k=2)
>>> answer = classify.run([np.zeros((40, 40, 3), np.uint8)])[0]
>>> [sorted(a) for a in answer], len(answer)
([['label', 'score'], ['label', 'score']], 2)
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from kino.contracts import check_int, fail
from kino.models.images import ImageFeaturizer
from kino.models.load import Pretrained
from kino.serving import Serving

_FUNC = "kino.models.image_classification"


def featurizer_of(pretrained: Pretrained, *, func: str = _FUNC) -> ImageFeaturizer:
    """The model's featurizer as an :class:`ImageFeaturizer` (read from its config).

    >>> from kino.models import resnet
    >>> featurizer_of(resnet.example()).output_size
    (32, 32)
    """
    found = pretrained.featurizer
    if isinstance(found, ImageFeaturizer):
        return found
    config = getattr(found, "config", None)
    if not isinstance(config, dict):
        fail(func, "model", "a model with an image featurizer (preprocessor_config.json)",
             pretrained)  # fmt: skip
    return ImageFeaturizer(config)


class _TopK(nnx.Module):
    """The classifier, then softmax and the ``k`` best (scores, class indices)."""

    def __init__(self, model: nnx.Module, k: int) -> None:
        self.model = model
        self.k = k

    def __call__(self, pixels: jax.Array) -> tuple[jax.Array, jax.Array]:
        probs = jax.nn.softmax(self.model(pixels).astype(jnp.float32), axis=-1)
        return jax.lax.top_k(probs, self.k)


class ImageClassification(Serving):
    """A ``Serving`` over pictures answering the ``top_k`` labels and scores.

    >>> from kino.models import resnet
    >>> task = ImageClassification(resnet.example(), top_k=1)
    >>> task.top_k, task.signature.describe()
    (1, 'a row of shape (32, 32, 3) float32')
    """

    def __init__(self, pretrained: Pretrained, *, top_k: int = 5, batch_size: int = 8) -> None:
        if not isinstance(pretrained, Pretrained):
            fail(_FUNC, "model", "a model from kino.models.load", pretrained)
        labels = pretrained.labels
        if not labels or not hasattr(pretrained.module, "classifier"):
            fail(_FUNC, "model", "an image classifier (e.g. ResNetForImageClassification)",
                 pretrained)  # fmt: skip
        self.top_k = check_int(top_k, func=_FUNC, argument="top_k", min=1, max=len(labels))
        check_int(batch_size, func=_FUNC, argument="batch_size", min=1)
        self.pretrained = pretrained
        self.featurizer = featurizer_of(pretrained)
        self.labels = dict(labels)
        height, width = self.featurizer.output_size
        super().__init__(
            _TopK(pretrained.module, self.top_k),
            batch_size=batch_size,
            preprocess=self.featurizer,
            postprocess=self._answer,
            example=np.zeros((height, width, 3), np.float32),
        )

    def _answer(self, row: tuple[np.ndarray, np.ndarray]) -> list[dict[str, Any]]:
        scores, classes = row
        return [
            {"label": self.labels.get(int(c), str(int(c))), "score": float(s)}
            for s, c in zip(scores, classes, strict=True)
        ]

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        from kino.models.view_media import ImageClassifier

        return ImageClassifier(self)._repr_mimebundle_(**kwargs)


def image_classification(
    pretrained: Pretrained, *, top_k: int = 5, batch_size: int = 8
) -> ImageClassification:
    """The ``top_k`` labels of each picture, with their probabilities (a ``Serving``).

    Run inline with ``.run(images)`` or batched with ``.start()``; both give the same
    answers.

    >>> from kino.models import resnet
    >>> image_classification(resnet.example(), top_k=9)
    Traceback (most recent call last):
    ...
    ValueError: kino.models.image_classification: 'top_k' must be an int from 1 to 3, got 9
    """
    return ImageClassification(pretrained, top_k=top_k, batch_size=batch_size)
