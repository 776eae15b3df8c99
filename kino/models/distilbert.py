"""DistilBERT as flax.nnx (``DistilBertModel``, ``…ForSequenceClassification``, ``…ForMaskedLM``).

The seed's sentiment model (``distilbert-base-uncased-finetuned-sst-2-english``) is a
``DistilBertForSequenceClassification``. Attribute names follow the PyTorch
checkpoint's (``transformer.layer[0].attention.q_lin``), so weights map mechanically.

>>> import numpy as np
>>> from flax import nnx
>>> config = {"vocab_size": 32, "dim": 8, "n_layers": 1, "n_heads": 2, "hidden_dim": 16}
>>> build(config, dtype="float32", rngs=nnx.Rngs(0))(np.array([[2, 5, 3]])).shape
(1, 3, 8)
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from flax import nnx

from kino.models.activations import activation
from kino.models.bert import attention, head_of, num_labels, padded_mask
from kino.models.packing import Packed
from kino.models.weights import Target, mirrored

MODEL_TYPES = ("distilbert",)

#: The masked-LM decoder's weight is the word embeddings (tied); a saved copy is unused.
IGNORED = ("vocab_projector.weight",)

HEADS = ("DistilBertModel", "DistilBertForSequenceClassification", "DistilBertForMaskedLM")

EPS = 1e-12


def defaults(config: dict[str, Any]) -> dict[str, Any]:
    """``config`` with DistilBERT's defaults filled in (as ``DistilBertConfig`` has them).

    >>> defaults({})["dim"], defaults({"n_layers": 2})["n_layers"]
    (768, 2)
    """
    base = {
        "vocab_size": 30522,
        "dim": 768,
        "n_layers": 6,
        "n_heads": 12,
        "hidden_dim": 3072,
        "activation": "gelu",
        "max_position_embeddings": 512,
    }
    return {**base, **config}


def _linear(n_in: int, n_out: int, dtype: str, rngs: nnx.Rngs) -> nnx.Linear:
    return nnx.Linear(n_in, n_out, dtype=dtype, param_dtype=dtype, rngs=rngs)


def _norm(width: int, dtype: str, rngs: nnx.Rngs) -> nnx.LayerNorm:
    return nnx.LayerNorm(width, epsilon=EPS, dtype=dtype, param_dtype=dtype, rngs=rngs)


class _Attention(nnx.Module):
    def __init__(self, width: int, heads: int, dtype: str, rngs: nnx.Rngs) -> None:
        self.heads = heads
        self.q_lin = _linear(width, width, dtype, rngs)
        self.k_lin = _linear(width, width, dtype, rngs)
        self.v_lin = _linear(width, width, dtype, rngs)
        self.out_lin = _linear(width, width, dtype, rngs)

    def __call__(self, x: jax.Array, mask: jax.Array) -> jax.Array:
        return self.out_lin(
            attention(self.q_lin(x), self.k_lin(x), self.v_lin(x), mask, self.heads)
        )


class _FeedForward(nnx.Module):
    def __init__(self, c: dict[str, Any], dtype: str, rngs: nnx.Rngs) -> None:
        self.lin1 = _linear(c["dim"], c["hidden_dim"], dtype, rngs)
        self.lin2 = _linear(c["hidden_dim"], c["dim"], dtype, rngs)
        self.act = activation(c["activation"], func="kino.models.distilbert", argument="activation")

    def __call__(self, x: jax.Array) -> jax.Array:
        return self.lin2(self.act(self.lin1(x)))


class _Block(nnx.Module):
    def __init__(self, c: dict[str, Any], dtype: str, rngs: nnx.Rngs) -> None:
        self.attention = _Attention(c["dim"], c["n_heads"], dtype, rngs)
        self.sa_layer_norm = _norm(c["dim"], dtype, rngs)
        self.ffn = _FeedForward(c, dtype, rngs)
        self.output_layer_norm = _norm(c["dim"], dtype, rngs)

    def __call__(self, x: jax.Array, mask: jax.Array) -> jax.Array:
        x = self.sa_layer_norm(self.attention(x, mask) + x)
        return self.output_layer_norm(self.ffn(x) + x)


class _Transformer(nnx.Module):
    def __init__(self, c: dict[str, Any], dtype: str, rngs: nnx.Rngs) -> None:
        self.layer = nnx.List([_Block(c, dtype, rngs) for _ in range(c["n_layers"])])

    def __call__(self, x: jax.Array, mask: jax.Array) -> jax.Array:
        for block in self.layer:
            x = block(x, mask)
        return x


class _Embeddings(nnx.Module):
    def __init__(self, c: dict[str, Any], dtype: str, rngs: nnx.Rngs) -> None:
        embed = lambda n: nnx.Embed(n, c["dim"], dtype=dtype, param_dtype=dtype, rngs=rngs)  # noqa: E731
        self.word_embeddings = embed(c["vocab_size"])
        self.position_embeddings = embed(c["max_position_embeddings"])
        self.LayerNorm = _norm(c["dim"], dtype, rngs)

    def __call__(self, ids: jax.Array) -> jax.Array:
        positions = jnp.arange(ids.shape[-1])[None, :]
        return self.LayerNorm(self.word_embeddings(ids) + self.position_embeddings(positions))


class DistilBertModel(nnx.Module):
    """The DistilBERT encoder: hidden states ``[batch, length, dim]`` (packed: ``[tokens, dim]``).

    >>> import numpy as np
    >>> from flax import nnx
    >>> model = DistilBertModel({"vocab_size": 16, "dim": 4, "n_layers": 1, "n_heads": 1,
    ...                          "hidden_dim": 8}, rngs=nnx.Rngs(0))
    >>> model(np.array([[1, 2]]), np.array([[1, 0]])).shape
    (1, 2, 4)
    """

    def __init__(self, config: dict[str, Any], *, dtype: str = "float32", rngs: nnx.Rngs) -> None:
        c = defaults(config)
        self.embeddings = _Embeddings(c, dtype, rngs)
        self.transformer = _Transformer(c, dtype, rngs)

    def __call__(self, input_ids: jax.Array, attention_mask: jax.Array | None = None) -> jax.Array:
        ids = jnp.asarray(input_ids)
        mask = padded_mask(ids, attention_mask)
        x = self.embeddings(ids)
        return self.transformer(mask.pack(x) if isinstance(mask, Packed) else x, mask)


class DistilBertForSequenceClassification(nnx.Module):
    """DistilBERT with its classifier on the first token's state: logits ``[batch, labels]``.

    >>> import numpy as np
    >>> from flax import nnx
    >>> model = DistilBertForSequenceClassification({"vocab_size": 16, "dim": 4, "n_layers": 1,
    ...     "n_heads": 1, "hidden_dim": 8, "id2label": {"0": "NEG", "1": "POS"}}, rngs=nnx.Rngs(0))
    >>> model(np.array([[1, 2]])).shape
    (1, 2)
    """

    def __init__(self, config: dict[str, Any], *, dtype: str = "float32", rngs: nnx.Rngs) -> None:
        dim = defaults(config)["dim"]
        self.distilbert = DistilBertModel(config, dtype=dtype, rngs=rngs)
        self.pre_classifier = _linear(dim, dim, dtype, rngs)
        self.classifier = _linear(dim, num_labels(config), dtype, rngs)

    def __call__(self, input_ids: jax.Array, attention_mask: jax.Array | None = None) -> jax.Array:
        hidden = self.distilbert(input_ids, attention_mask)
        first = attention_mask.first(hidden) if isinstance(attention_mask, Packed) else hidden[:, 0]
        return self.classifier(jax.nn.relu(self.pre_classifier(first)))


class _Projector(nnx.Module):
    def __init__(self, vocab: int, dtype: str) -> None:
        self.bias = nnx.Param(jnp.zeros(vocab, dtype))


class DistilBertForMaskedLM(nnx.Module):
    """DistilBERT with its masked-word head (projector tied to the embeddings): ``[b, len, vocab]``.

    >>> import numpy as np
    >>> from flax import nnx
    >>> model = DistilBertForMaskedLM({"vocab_size": 16, "dim": 4, "n_layers": 1, "n_heads": 1,
    ...                                "hidden_dim": 8}, rngs=nnx.Rngs(0))
    >>> model(np.array([[1, 2, 3]])).shape
    (1, 3, 16)
    """

    def __init__(self, config: dict[str, Any], *, dtype: str = "float32", rngs: nnx.Rngs) -> None:
        c = defaults(config)
        self.distilbert = DistilBertModel(config, dtype=dtype, rngs=rngs)
        self.vocab_transform = _linear(c["dim"], c["dim"], dtype, rngs)
        self.act = activation(c["activation"], func="kino.models.distilbert", argument="activation")
        self.vocab_layer_norm = _norm(c["dim"], dtype, rngs)
        self.vocab_projector = _Projector(c["vocab_size"], dtype)

    def __call__(self, input_ids: jax.Array, attention_mask: jax.Array | None = None) -> jax.Array:
        hidden = self.distilbert(input_ids, attention_mask)
        x = self.vocab_layer_norm(self.act(self.vocab_transform(hidden)))
        embeddings = self.distilbert.embeddings.word_embeddings
        return embeddings.attend(x) + self.vocab_projector.bias[...]


def build(config: dict[str, Any], *, dtype: str = "float32", rngs: nnx.Rngs) -> nnx.Module:
    """The module ``config["architectures"][0]`` names (``DistilBertModel`` when none is named).

    >>> from flax import nnx
    >>> type(build({"architectures": ["DistilBertForMaskedLM"], "dim": 4, "n_layers": 1,
    ...             "n_heads": 1, "hidden_dim": 8, "vocab_size": 8},
    ...            dtype="float32", rngs=nnx.Rngs(0))).__name__
    'DistilBertForMaskedLM'
    """
    head = head_of(config, HEADS, func="kino.models.distilbert")
    return globals()[head](config, dtype=dtype, rngs=rngs)


def weight_targets(config: dict[str, Any], module: nnx.Module) -> dict[str, Target]:
    """The checkpoint name of every parameter of ``module`` (built by :func:`build`).

    >>> from flax import nnx
    >>> config = {"dim": 4, "n_layers": 1, "n_heads": 1, "hidden_dim": 8, "vocab_size": 8}
    >>> targets = weight_targets(config, build(config, dtype="float32", rngs=nnx.Rngs(0)))
    >>> targets["transformer.layer.0.attention.q_lin.weight"].path
    ('transformer', 'layer', 0, 'attention', 'q_lin', 'kernel')
    """
    return mirrored(module)
