"""BERT as flax.nnx (``BertModel``, ``…ForSequenceClassification``, ``…ForMaskedLM``).

Covers MiniLM and the sentence-embedding models built on BERT. Attribute names follow
the PyTorch checkpoint's (``encoder.layer[3].attention.self.query``), so the weight
names map mechanically (:func:`kino.models.weights.mirrored`). Inference only: no
dropout.

>>> import numpy as np
>>> from flax import nnx
>>> config = {"architectures": ["BertModel"], "vocab_size": 32, "hidden_size": 8,
...           "num_hidden_layers": 1, "num_attention_heads": 2, "intermediate_size": 16}
>>> model = build(config, dtype="float32", rngs=nnx.Rngs(0))
>>> hidden, pooled = model(np.array([[2, 5, 3]]))
>>> hidden.shape, pooled.shape
((1, 3, 8), (1, 8))
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from flax import nnx

from kino.models.activations import activation
from kino.models.errors import UnknownArchitecture
from kino.models.packing import Packed
from kino.models.weights import Target, mirrored

MODEL_TYPES = ("bert",)

#: Checkpoint tensors a head does not use: tied decoder copies, pre-training heads, a
#: pooler that the masked-LM model drops.
IGNORED = ("cls.predictions.decoder.*", "cls.seq_relationship.*", "*pooler.dense.*")

HEADS = ("BertModel", "BertForSequenceClassification", "BertForMaskedLM")


def attention(q: jax.Array, k: jax.Array, v: jax.Array, mask: Any, heads: int) -> jax.Array:
    """Multi-head attention over ``[batch, length, width]`` with a ``[batch, length]`` key mask.

    With a :class:`~kino.models.packing.Packed` layout as ``mask``, ``q``, ``k`` and ``v``
    are packed ``[tokens, width]``: they are spread to the batch, attended, and packed.

    >>> import numpy as np
    >>> x = np.ones((1, 3, 4), np.float32)
    >>> attention(x, x, x, np.array([[1, 1, 0]]), 2).shape
    (1, 3, 4)
    """
    if isinstance(mask, Packed):
        spread = mask.spread
        return mask.pack(attention(spread(q), spread(k), spread(v), mask.mask, heads))
    batch, length, width = q.shape
    split = lambda t: t.reshape(batch, t.shape[1], heads, width // heads)  # noqa: E731
    keep = jnp.asarray(mask, bool)[:, None, None, :]
    out = jax.nn.dot_product_attention(split(q), split(k), split(v), mask=keep)
    return out.reshape(batch, length, width)


def _linear(n_in: int, n_out: int, dtype: str, rngs: nnx.Rngs) -> nnx.Linear:
    return nnx.Linear(n_in, n_out, dtype=dtype, param_dtype=dtype, rngs=rngs)


def _norm(width: int, eps: float, dtype: str, rngs: nnx.Rngs) -> nnx.LayerNorm:
    return nnx.LayerNorm(width, epsilon=eps, dtype=dtype, param_dtype=dtype, rngs=rngs)


class _Dense(nnx.Module):
    """A linear layer and the LayerNorm after it (``…output.dense`` + ``…output.LayerNorm``)."""

    def __init__(self, n_in: int, n_out: int, eps: float, dtype: str, rngs: nnx.Rngs) -> None:
        self.dense = _linear(n_in, n_out, dtype, rngs)
        self.LayerNorm = _norm(n_out, eps, dtype, rngs)

    def __call__(self, x: jax.Array, residual: jax.Array) -> jax.Array:
        return self.LayerNorm(self.dense(x) + residual)


class _SelfAttention(nnx.Module):
    def __init__(self, width: int, dtype: str, rngs: nnx.Rngs) -> None:
        self.query = _linear(width, width, dtype, rngs)
        self.key = _linear(width, width, dtype, rngs)
        self.value = _linear(width, width, dtype, rngs)


class _Attention(nnx.Module):
    def __init__(self, width: int, heads: int, eps: float, dtype: str, rngs: nnx.Rngs) -> None:
        self.heads = heads
        self.self = _SelfAttention(width, dtype, rngs)
        self.output = _Dense(width, width, eps, dtype, rngs)

    def __call__(self, x: jax.Array, mask: jax.Array) -> jax.Array:
        s = self.self
        return self.output(attention(s.query(x), s.key(x), s.value(x), mask, self.heads), x)


class _Intermediate(nnx.Module):
    def __init__(self, width: int, inner: int, act: str, dtype: str, rngs: nnx.Rngs) -> None:
        self.dense = _linear(width, inner, dtype, rngs)
        self.act = activation(act, func="kino.models.bert", argument="hidden_act")

    def __call__(self, x: jax.Array) -> jax.Array:
        return self.act(self.dense(x))


class _Layer(nnx.Module):
    def __init__(self, c: dict[str, Any], dtype: str, rngs: nnx.Rngs) -> None:
        width, eps = c["hidden_size"], c["layer_norm_eps"]
        self.attention = _Attention(width, c["num_attention_heads"], eps, dtype, rngs)
        self.intermediate = _Intermediate(
            width, c["intermediate_size"], c["hidden_act"], dtype, rngs
        )
        self.output = _Dense(c["intermediate_size"], width, eps, dtype, rngs)

    def __call__(self, x: jax.Array, mask: jax.Array) -> jax.Array:
        x = self.attention(x, mask)
        return self.output(self.intermediate(x), x)


class _Encoder(nnx.Module):
    def __init__(self, c: dict[str, Any], dtype: str, rngs: nnx.Rngs) -> None:
        self.layer = nnx.List([_Layer(c, dtype, rngs) for _ in range(c["num_hidden_layers"])])

    def __call__(self, x: jax.Array, mask: jax.Array) -> jax.Array:
        for layer in self.layer:
            x = layer(x, mask)
        return x


class _Embeddings(nnx.Module):
    def __init__(self, c: dict[str, Any], dtype: str, rngs: nnx.Rngs) -> None:
        width = c["hidden_size"]
        embed = lambda n: nnx.Embed(n, width, dtype=dtype, param_dtype=dtype, rngs=rngs)  # noqa: E731
        self.word_embeddings = embed(c["vocab_size"])
        self.position_embeddings = embed(c["max_position_embeddings"])
        self.token_type_embeddings = embed(c["type_vocab_size"])
        self.LayerNorm = _norm(width, c["layer_norm_eps"], dtype, rngs)

    def __call__(self, ids: jax.Array, token_types: jax.Array) -> jax.Array:
        positions = jnp.arange(ids.shape[-1])[None, :]
        x = (
            self.word_embeddings(ids)
            + self.position_embeddings(positions)
            + self.token_type_embeddings(token_types)
        )
        return self.LayerNorm(x)


class _Pooler(nnx.Module):
    def __init__(self, width: int, dtype: str, rngs: nnx.Rngs) -> None:
        self.dense = _linear(width, width, dtype, rngs)

    def __call__(self, first: jax.Array) -> jax.Array:
        return jnp.tanh(self.dense(first))


def defaults(config: dict[str, Any]) -> dict[str, Any]:
    """``config`` with BERT's defaults filled in (as ``transformers.BertConfig`` has them).

    >>> defaults({})["hidden_act"], defaults({"hidden_size": 8})["hidden_size"]
    ('gelu', 8)
    """
    base = {
        "vocab_size": 30522,
        "hidden_size": 768,
        "num_hidden_layers": 12,
        "num_attention_heads": 12,
        "intermediate_size": 3072,
        "hidden_act": "gelu",
        "max_position_embeddings": 512,
        "type_vocab_size": 2,
        "layer_norm_eps": 1e-12,
        "position_embedding_type": "absolute",
    }
    merged = {**base, **config}
    if merged["position_embedding_type"] != "absolute":
        raise UnknownArchitecture(
            "kino.models.bert: position_embedding_type "
            f"{merged['position_embedding_type']!r} is not supported; known: absolute"
        )
    return merged


def padded_mask(ids: jax.Array, attention_mask: Any) -> Any:
    """``attention_mask`` as an array (all ones when ``None``), or the ``Packed`` layout given.

    >>> padded_mask(jnp.zeros((1, 2), jnp.int32), None).tolist()
    [[1, 1]]
    """
    if attention_mask is None:
        return jnp.ones_like(ids)
    return attention_mask if isinstance(attention_mask, Packed) else jnp.asarray(attention_mask)


class BertModel(nnx.Module):
    """The BERT encoder: ``(hidden states [batch, length, width], pooled [batch, width])``.

    With a :class:`~kino.models.packing.Packed` layout as the mask, the hidden states
    are packed ``[tokens, width]`` (the pooled output stays ``[batch, width]``).

    >>> import numpy as np
    >>> from flax import nnx
    >>> model = BertModel({"vocab_size": 16, "hidden_size": 4, "num_hidden_layers": 1,
    ...                    "num_attention_heads": 1, "intermediate_size": 8}, rngs=nnx.Rngs(0))
    >>> model(np.array([[1, 2]]), np.array([[1, 1]]))[0].shape
    (1, 2, 4)
    """

    def __init__(
        self, config: dict[str, Any], *, dtype: str = "float32", rngs: nnx.Rngs, pooler: bool = True
    ) -> None:
        c = defaults(config)
        self.embeddings = _Embeddings(c, dtype, rngs)
        self.encoder = _Encoder(c, dtype, rngs)
        self.pooler = _Pooler(c["hidden_size"], dtype, rngs) if pooler else None

    def __call__(
        self,
        input_ids: jax.Array,
        attention_mask: jax.Array | None = None,
        token_type_ids: jax.Array | None = None,
    ) -> tuple[jax.Array, jax.Array | None]:
        ids = jnp.asarray(input_ids)
        mask = padded_mask(ids, attention_mask)
        types = jnp.zeros_like(ids) if token_type_ids is None else jnp.asarray(token_type_ids)
        x = self.embeddings(ids, types)
        if isinstance(mask, Packed):
            hidden = self.encoder(mask.pack(x), mask)
            first = mask.first(hidden)
        else:
            hidden = self.encoder(x, mask)
            first = hidden[:, 0]
        return hidden, None if self.pooler is None else self.pooler(first)


class BertForSequenceClassification(nnx.Module):
    """BERT with a linear classifier on the pooled output: logits ``[batch, labels]``.

    >>> import numpy as np
    >>> from flax import nnx
    >>> model = BertForSequenceClassification({"vocab_size": 16, "hidden_size": 4,
    ...     "num_hidden_layers": 1, "num_attention_heads": 1, "intermediate_size": 8,
    ...     "id2label": {"0": "NO", "1": "YES"}}, rngs=nnx.Rngs(0))
    >>> model(np.array([[1, 2]])).shape
    (1, 2)
    """

    def __init__(self, config: dict[str, Any], *, dtype: str = "float32", rngs: nnx.Rngs) -> None:
        width = defaults(config)["hidden_size"]
        self.bert = BertModel(config, dtype=dtype, rngs=rngs)
        self.classifier = _linear(width, num_labels(config), dtype, rngs)

    def __call__(self, input_ids, attention_mask=None, token_type_ids=None) -> jax.Array:
        return self.classifier(self.bert(input_ids, attention_mask, token_type_ids)[1])


class _Transform(nnx.Module):
    def __init__(self, c: dict[str, Any], dtype: str, rngs: nnx.Rngs) -> None:
        self.dense = _linear(c["hidden_size"], c["hidden_size"], dtype, rngs)
        self.act = activation(c["hidden_act"], func="kino.models.bert", argument="hidden_act")
        self.LayerNorm = _norm(c["hidden_size"], c["layer_norm_eps"], dtype, rngs)

    def __call__(self, x: jax.Array) -> jax.Array:
        return self.LayerNorm(self.act(self.dense(x)))


class _Predictions(nnx.Module):
    def __init__(self, c: dict[str, Any], dtype: str, rngs: nnx.Rngs) -> None:
        self.transform = _Transform(c, dtype, rngs)
        self.bias = nnx.Param(jnp.zeros(c["vocab_size"], dtype))


class _MaskedLMHead(nnx.Module):
    def __init__(self, c: dict[str, Any], dtype: str, rngs: nnx.Rngs) -> None:
        self.predictions = _Predictions(c, dtype, rngs)


class BertForMaskedLM(nnx.Module):
    """BERT with its masked-word head (decoder tied to the word embeddings): ``[b, len, vocab]``.

    >>> import numpy as np
    >>> from flax import nnx
    >>> model = BertForMaskedLM({"vocab_size": 16, "hidden_size": 4, "num_hidden_layers": 1,
    ...     "num_attention_heads": 1, "intermediate_size": 8}, rngs=nnx.Rngs(0))
    >>> model(np.array([[1, 2, 3]])).shape
    (1, 3, 16)
    """

    def __init__(self, config: dict[str, Any], *, dtype: str = "float32", rngs: nnx.Rngs) -> None:
        self.bert = BertModel(config, dtype=dtype, rngs=rngs, pooler=False)
        self.cls = _MaskedLMHead(defaults(config), dtype, rngs)

    def __call__(self, input_ids, attention_mask=None, token_type_ids=None) -> jax.Array:
        hidden = self.bert(input_ids, attention_mask, token_type_ids)[0]
        predictions = self.cls.predictions
        x = predictions.transform(hidden)
        return self.bert.embeddings.word_embeddings.attend(x) + predictions.bias[...]


def num_labels(config: dict[str, Any]) -> int:
    """How many classes a classification config has (``id2label``, else ``num_labels``, else 2).

    >>> num_labels({"id2label": {"0": "a", "1": "b", "2": "c"}}), num_labels({})
    (3, 2)
    """
    return len(config.get("id2label") or {}) or int(config.get("num_labels", 2))


def head_of(config: dict[str, Any], heads: tuple[str, ...], *, func: str) -> str:
    """The class ``config["architectures"][0]`` names, if it is one of ``heads`` (else the base).

    >>> head_of({"architectures": ["BertForMaskedLM"]}, HEADS, func="f")
    'BertForMaskedLM'
    >>> head_of({}, HEADS, func="f")
    'BertModel'
    >>> head_of({"architectures": ["BertForQuestionAnswering"]}, HEADS, func="f")
    Traceback (most recent call last):
    ...
    kino.models.errors.UnknownArchitecture: f: architecture 'BertForQuestionAnswering' has ...
    """
    name = (config.get("architectures") or [heads[0]])[0]
    if name not in heads:
        raise UnknownArchitecture(
            f"{func}: architecture {name!r} has no port in kino; known: {', '.join(heads)}"
        )
    return name


def build(config: dict[str, Any], *, dtype: str = "float32", rngs: nnx.Rngs) -> nnx.Module:
    """The module ``config["architectures"][0]`` names (``BertModel`` when none is named).

    >>> from flax import nnx
    >>> type(build({"architectures": ["BertForMaskedLM"], "hidden_size": 4, "intermediate_size": 8,
    ...             "num_hidden_layers": 1, "num_attention_heads": 1, "vocab_size": 8},
    ...            dtype="float32", rngs=nnx.Rngs(0))).__name__
    'BertForMaskedLM'
    """
    head = head_of(config, HEADS, func="kino.models.bert")
    return globals()[head](config, dtype=dtype, rngs=rngs)


def weight_targets(config: dict[str, Any], module: nnx.Module) -> dict[str, Target]:
    """The checkpoint name of every parameter of ``module`` (built by :func:`build`).

    >>> from flax import nnx
    >>> config = {"hidden_size": 4, "intermediate_size": 8, "num_hidden_layers": 1,
    ...           "num_attention_heads": 1, "vocab_size": 8}
    >>> targets = weight_targets(config, build(config, dtype="float32", rngs=nnx.Rngs(0)))
    >>> targets["encoder.layer.0.attention.self.query.weight"].path
    ('encoder', 'layer', 0, 'attention', 'self', 'query', 'kernel')
    """
    return mirrored(module)
