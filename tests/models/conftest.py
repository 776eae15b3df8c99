"""Fixtures of the kino.models tests: tiny random models on disk and the reference library.

Every model is written in the hub's file layout into ``tmp_path`` and loaded back; nothing
here touches the network. The reference implementation is ``transformers`` 4.x's Flax
models, reading the same ``model.safetensors`` (``from_pt=True``).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

from kino.models.testing import vocabulary, write_tiny

#: Float32 agreement with the reference (issue #14).
TOLERANCE = 1e-4


@pytest.fixture
def tiny(tmp_path):
    """``tiny(model_type, head=None, labels=None)``: a tiny random model folder in tmp_path."""
    count = iter(range(1000))

    def make(model_type: str, head: str | None = None, labels=None, seed: int = 0) -> Path:
        folder = tmp_path / f"{model_type}-{head or 'base'}-{next(count)}"
        return write_tiny(model_type, folder, head=head, labels=labels, seed=seed)

    return make


def reference(cls_name: str, folder: Path):
    """``transformers.<cls_name>`` (a Flax model) loaded from ``folder``'s safetensors."""
    transformers = pytest.importorskip("transformers")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return getattr(transformers, cls_name).from_pretrained(str(folder), from_pt=True)


def token_batch() -> tuple[np.ndarray, np.ndarray]:
    """Two sentences of the tiny vocabulary, one padded: (input ids, attention mask)."""
    vocab = vocabulary()
    rows = [
        ["[CLS]", "the", "cat", "sat", "on", "the", "mat", "[SEP]"],
        ["[CLS]", "this", "movie", "was", "great", "!", "[SEP]", "[PAD]", "[PAD]"],
    ]
    width = max(map(len, rows))
    ids = np.array([[vocab[t] for t in r] + [0] * (width - len(r)) for r in rows], np.int32)
    return ids, (ids != vocab["[PAD]"]).astype(np.int32)


def close(ours, theirs, mask=None) -> float:
    """The largest absolute difference (over the unmasked positions when ``mask`` is given)."""
    diff = np.abs(np.asarray(ours, np.float64) - np.asarray(theirs, np.float64))
    if mask is not None:
        diff = diff[np.asarray(mask) > 0]
    return float(diff.max())
