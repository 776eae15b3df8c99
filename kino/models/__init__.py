"""kino.models: pretrained transformers and vision models in flax.nnx (Bumblebee's part).

``kino.models.load(name_or_path)`` reads a Hugging Face model directory or hub name
(``config.json``, ``model.safetensors``, its tokenizer or featurizer) into a flax.nnx
module; the tasks (``text_embedding``, ``text_classification``, ``fill_mask``,
``image_classification``, ``text_generation``) turn it into a ``kino.serving.Serving``.
Needs the ``models`` extra: ``pip install 'jupyter-kino[models]'``.

>>> import tempfile, kino.models
>>> from kino.models.testing import write_tiny
>>> model = kino.models.load(write_tiny("bert", tempfile.mkdtemp()))
>>> type(model.module).__name__
'BertModel'
"""

from __future__ import annotations

from kino._lazy import lazy_exports
from kino.models.errors import UnknownArchitecture, WeightError
from kino.models.load import Pretrained, load  # a name, not the submodule of the same name
from kino.models.weights import Target, load_weights

__all__ = [
    "Pretrained",
    "Target",
    "UnknownArchitecture",
    "WeightError",
    "fill_mask",
    "image_classification",
    "load",
    "load_weights",
    "text_classification",
    "text_embedding",
    "text_generation",
    "view",
]

__getattr__ = lazy_exports(
    __name__,
    {
        "fill_mask": ".tasks_text:fill_mask",
        "image_classification": ".tasks_vision:image_classification",
        "text_classification": ".tasks_text:text_classification",
        "text_embedding": ".tasks_text:text_embedding",
        "text_generation": ".tasks_generate:text_generation",
        "view": ".view_text:view",
    },
)
