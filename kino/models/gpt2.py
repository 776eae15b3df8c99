"""GPT-2 (Hugging Face ``model_type`` ``"gpt2"``) in flax.nnx: ``GPT2Model`` and
``GPT2LMHeadModel`` (its output layer tied to the token embeddings), with a key/value cache.

``module(ids)`` runs a whole sequence (causal attention). ``module.decode(ids, cache,
index=..., attention_mask=...)`` runs the next tokens against a cache of earlier keys and
values (``init_cache``) and returns the updated cache, so generating ``n`` tokens costs
``n`` one-token steps instead of ``n`` full forwards (``kino.models.generate``). The
checkpoint's ``Conv1D`` weights are ``[in, out]`` already, as ``nnx.Linear`` wants them.

>>> import numpy as np
>>> from flax import nnx
>>> config = {"model_type": "gpt2", "architectures": ["GPT2LMHeadModel"], "vocab_size": 50,
...           "n_embd": 16, "n_layer": 2, "n_head": 2, "n_positions": 32}
>>> model = build(config, dtype="float32", rngs=nnx.Rngs(0))
>>> model(np.array([[1, 2, 3]])).shape
(1, 3, 50)
>>> sorted(weight_targets(config, model))[:2]
['transformer.h.0.attn.c_attn.bias', 'transformer.h.0.attn.c_attn.weight']
"""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp
from flax import nnx

from kino.models.activations import activation
from kino.models.registry import build_head
from kino.models.weights import Target, mirrored

MODEL_TYPES: tuple[str, ...] = ("gpt2",)

#: Checkpoint tensors no variable holds: the causal-mask buffers of old checkpoints and the
#: output layer, which is the token embedding (tied) in every GPT-2 checkpoint.
IGNORED: tuple[str, ...] = ("*.attn.bias", "*.attn.masked_bias", "*lm_head.weight")

#: A cache: per layer, keys and values ``[batch, length, heads, head_dim]``.
Cache = tuple[tuple[jax.Array, jax.Array], ...]


def _settings(config: dict[str, Any]) -> dict[str, Any]:
    """The config's sizes under one spelling (``n_embd`` or ``hidden_size``, ...)."""
    width = int(config.get("n_embd", config.get("hidden_size", 768)))
    inner = config.get("n_inner") or 4 * width
    return {
        "vocab": int(config.get("vocab_size", 50257)),
        "positions": int(config.get("n_positions", config.get("max_position_embeddings", 1024))),
        "width": width,
        "layers": int(config.get("n_layer", config.get("num_hidden_layers", 12))),
        "heads": int(config.get("n_head", config.get("num_attention_heads", 12))),
        "inner": int(inner),
        "eps": float(config.get("layer_norm_epsilon", 1e-5)),
        "act": config.get("activation_function", "gelu_new"),
    }


class Attention(nnx.Module):
    """Causal multi-head self-attention; writes this step's keys and values into the cache.

    >>> attn = Attention(8, 2, dtype="float32", rngs=nnx.Rngs(0))
    >>> allowed = jnp.tril(jnp.ones((3, 3), bool))[None, None]
    >>> y, (k, v) = attn(jnp.zeros((1, 3, 8)), allowed, None, 0)
    >>> y.shape, k.shape
    ((1, 3, 8), (1, 3, 2, 4))
    """

    def __init__(self, width: int, heads: int, *, dtype: Any, rngs: nnx.Rngs) -> None:
        if width % heads:
            raise ValueError(
                f"kino.models.gpt2: 'n_embd' ({width}) must be a multiple of 'n_head' ({heads})"
            )
        self.heads = heads
        self.c_attn = nnx.Linear(width, 3 * width, dtype=dtype, param_dtype=dtype, rngs=rngs)
        self.c_proj = nnx.Linear(width, width, dtype=dtype, param_dtype=dtype, rngs=rngs)

    def __call__(
        self,
        x: jax.Array,
        allowed: jax.Array,
        cache: tuple[jax.Array, jax.Array] | None,
        index: jax.Array | int,
    ) -> tuple[jax.Array, tuple[jax.Array, jax.Array]]:
        batch, length, width = x.shape
        head_dim = width // self.heads
        q, k, v = jnp.split(self.c_attn(x), 3, axis=-1)
        q, k, v = (t.reshape(batch, length, self.heads, head_dim) for t in (q, k, v))
        if cache is not None:
            start = (0, index, 0, 0)
            k = jax.lax.dynamic_update_slice(cache[0], k.astype(cache[0].dtype), start)
            v = jax.lax.dynamic_update_slice(cache[1], v.astype(cache[1].dtype), start)
        scores = jnp.einsum("bqhd,bkhd->bhqk", q, k).astype(jnp.float32) / math.sqrt(head_dim)
        scores = jnp.where(allowed, scores, jnp.finfo(jnp.float32).min)
        weights = jax.nn.softmax(scores, axis=-1).astype(v.dtype)
        out = jnp.einsum("bhqk,bkhd->bqhd", weights, v).reshape(batch, length, width)
        return self.c_proj(out), (k, v)


class MLP(nnx.Module):
    """The block's feed-forward part: ``c_fc``, the activation, ``c_proj``.

    >>> MLP(8, 32, "gelu_new", dtype="float32", rngs=nnx.Rngs(0))(jnp.zeros((1, 2, 8))).shape
    (1, 2, 8)
    """

    def __init__(self, width: int, inner: int, act: str, *, dtype: Any, rngs: nnx.Rngs) -> None:
        self.act = activation(act, func="kino.models.gpt2", argument="activation_function")
        self.c_fc = nnx.Linear(width, inner, dtype=dtype, param_dtype=dtype, rngs=rngs)
        self.c_proj = nnx.Linear(inner, width, dtype=dtype, param_dtype=dtype, rngs=rngs)

    def __call__(self, x: jax.Array) -> jax.Array:
        return self.c_proj(self.act(self.c_fc(x)))


class Block(nnx.Module):
    """One pre-norm transformer block: attention and MLP, each with its residual.

    >>> block = Block(_settings({"n_embd": 8, "n_head": 2}), dtype="float32", rngs=nnx.Rngs(0))
    >>> allowed = jnp.ones((1, 1, 2, 2), bool)
    >>> block(jnp.zeros((1, 2, 8)), allowed, None, 0)[0].shape
    (1, 2, 8)
    """

    def __init__(self, s: dict[str, Any], *, dtype: Any, rngs: nnx.Rngs) -> None:
        norm = {"epsilon": s["eps"], "dtype": dtype, "param_dtype": dtype, "rngs": rngs}
        self.ln_1 = nnx.LayerNorm(s["width"], **norm)
        self.attn = Attention(s["width"], s["heads"], dtype=dtype, rngs=rngs)
        self.ln_2 = nnx.LayerNorm(s["width"], **norm)
        self.mlp = MLP(s["width"], s["inner"], s["act"], dtype=dtype, rngs=rngs)

    def __call__(
        self,
        x: jax.Array,
        allowed: jax.Array,
        cache: tuple[jax.Array, jax.Array] | None,
        index: jax.Array | int,
    ) -> tuple[jax.Array, tuple[jax.Array, jax.Array]]:
        attended, kv = self.attn(self.ln_1(x), allowed, cache, index)
        x = x + attended
        return x + self.mlp(self.ln_2(x)), kv


class GPT2Model(nnx.Module):
    """The GPT-2 body: token ids ``[B, S]`` to hidden states ``[B, S, n_embd]``.

    >>> import numpy as np
    >>> body = GPT2Model({"vocab_size": 10, "n_embd": 8, "n_layer": 1, "n_head": 2,
    ...                   "n_positions": 16}, dtype="float32", rngs=nnx.Rngs(0))
    >>> body(np.array([[1, 2]])).shape
    (1, 2, 8)
    """

    def __init__(self, config: dict[str, Any], *, dtype: Any, rngs: nnx.Rngs) -> None:
        s = _settings(config)
        self.max_positions = s["positions"]
        self.width, self.heads = s["width"], s["heads"]
        self.wte = nnx.Embed(s["vocab"], s["width"], dtype=dtype, param_dtype=dtype, rngs=rngs)
        self.wpe = nnx.Embed(s["positions"], s["width"], dtype=dtype, param_dtype=dtype, rngs=rngs)
        self.h = nnx.List([Block(s, dtype=dtype, rngs=rngs) for _ in range(s["layers"])])
        self.ln_f = nnx.LayerNorm(
            s["width"], epsilon=s["eps"], dtype=dtype, param_dtype=dtype, rngs=rngs
        )

    def init_cache(self, batch: int, length: int) -> Cache:
        """An empty cache: ``batch`` sequences of up to ``length`` tokens, in the module's dtype.

        >>> body = GPT2Model({"vocab_size": 10, "n_embd": 8, "n_layer": 2, "n_head": 2},
        ...                  dtype="bfloat16", rngs=nnx.Rngs(0))
        >>> cache = body.init_cache(3, 16)
        >>> len(cache), cache[0][0].shape, cache[0][0].dtype
        (2, (3, 16, 2, 4), dtype(bfloat16))
        """
        dtype = self.wte.embedding.get_value().dtype
        shape = (batch, length, self.heads, self.width // self.heads)
        return tuple((jnp.zeros(shape, dtype), jnp.zeros(shape, dtype)) for _ in self.h)

    def __call__(
        self,
        input_ids: jax.Array,
        attention_mask: jax.Array | None = None,
        position_ids: jax.Array | None = None,
    ) -> jax.Array:
        ids = jnp.asarray(input_ids)
        keys = jnp.ones(ids.shape, bool) if attention_mask is None else attention_mask
        return self._run(ids, position_ids, keys, None, 0)[0]

    def decode(
        self,
        input_ids: jax.Array,
        cache: Cache,
        *,
        index: jax.Array | int,
        attention_mask: jax.Array | None = None,
        position_ids: jax.Array | None = None,
    ) -> tuple[jax.Array, Cache]:
        """Run ``input_ids`` ``[B, S]`` as the tokens at cache slots ``index ... index+S-1``.

        ``attention_mask`` ``[B, cache length]`` says which slots hold real tokens (padding
        is 0); a token attends to the real slots up to its own. ``position_ids`` default to
        the slot numbers. Returns the hidden states and the cache with these tokens in it.

        >>> import numpy as np
        >>> body = GPT2Model({"vocab_size": 10, "n_embd": 8, "n_layer": 1, "n_head": 2},
        ...                  dtype="float32", rngs=nnx.Rngs(0))
        >>> full = body(np.array([[1, 2, 3]]))
        >>> _, cache = body.decode(np.array([[1, 2]]), body.init_cache(1, 8), index=0)
        >>> last, _ = body.decode(np.array([[3]]), cache, index=2)
        >>> bool(jnp.allclose(last[:, 0], full[:, 2], atol=1e-5))
        True
        """
        ids = jnp.asarray(input_ids)
        slots = cache[0][0].shape[1]
        keys = jnp.ones((ids.shape[0], slots), bool) if attention_mask is None else attention_mask
        return self._run(ids, position_ids, keys, cache, index)

    def _run(
        self,
        ids: jax.Array,
        position_ids: jax.Array | None,
        keys: jax.Array,
        cache: Cache | None,
        index: jax.Array | int,
    ) -> tuple[jax.Array, Cache]:
        batch, length = ids.shape
        steps = index + jnp.arange(length)
        if position_ids is None:
            position_ids = jnp.broadcast_to(steps, (batch, length))
        slots = keys.shape[1]
        causal = jnp.arange(slots)[None, :] <= steps[:, None]  # [S, T]
        allowed = causal[None, None] & jnp.asarray(keys, bool)[:, None, None, :]
        x = self.wte(ids) + self.wpe(position_ids)
        new_cache = []
        for i, block in enumerate(self.h):
            x, kv = block(x, allowed, None if cache is None else cache[i], index)
            new_cache.append(kv)
        return self.ln_f(x), tuple(new_cache)


class GPT2LMHeadModel(nnx.Module):
    """GPT-2 with its language-model head, tied to the token embeddings: logits ``[B, S, vocab]``.

    >>> import numpy as np
    >>> lm = GPT2LMHeadModel({"vocab_size": 10, "n_embd": 8, "n_layer": 1, "n_head": 2},
    ...                      dtype="float32", rngs=nnx.Rngs(0))
    >>> logits, cache = lm.decode(np.array([[4]]), lm.init_cache(1, 4), index=0)
    >>> logits.shape, cache[0][0].shape
    ((1, 1, 10), (1, 4, 2, 4))
    """

    def __init__(self, config: dict[str, Any], *, dtype: Any, rngs: nnx.Rngs) -> None:
        self.transformer = GPT2Model(config, dtype=dtype, rngs=rngs)

    @property
    def max_positions(self) -> int:
        """The longest sequence the position embeddings cover (``n_positions``)."""
        return self.transformer.max_positions

    def init_cache(self, batch: int, length: int) -> Cache:
        """An empty cache (see :meth:`GPT2Model.init_cache`)."""
        return self.transformer.init_cache(batch, length)

    def __call__(
        self,
        input_ids: jax.Array,
        attention_mask: jax.Array | None = None,
        position_ids: jax.Array | None = None,
    ) -> jax.Array:
        hidden = self.transformer(input_ids, attention_mask, position_ids)
        return self.transformer.wte.attend(hidden)

    def decode(
        self,
        input_ids: jax.Array,
        cache: Cache,
        *,
        index: jax.Array | int,
        attention_mask: jax.Array | None = None,
        position_ids: jax.Array | None = None,
    ) -> tuple[jax.Array, Cache]:
        """The next tokens' logits against the cache (see :meth:`GPT2Model.decode`)."""
        hidden, cache = self.transformer.decode(
            input_ids, cache, index=index, attention_mask=attention_mask, position_ids=position_ids
        )
        return self.transformer.wte.attend(hidden), cache


_HEADS = {"GPT2Model": GPT2Model, "GPT2LMHeadModel": GPT2LMHeadModel}


def build(config: dict[str, Any], *, dtype: Any, rngs: nnx.Rngs) -> nnx.Module:
    """The module ``config["architectures"][0]`` names (``GPT2Model`` when none is named).

    >>> config = {"architectures": ["GPT2Model"], "vocab_size": 10, "n_embd": 8,
    ...           "n_layer": 1, "n_head": 2}
    >>> type(build(config, dtype="float32", rngs=nnx.Rngs(0))).__name__
    'GPT2Model'
    >>> build({"architectures": ["GPT2DoubleHeadsModel"]}, dtype="float32", rngs=nnx.Rngs(0))
    Traceback (most recent call last):
    ...
    ValueError: kino.models.gpt2: 'architectures' must be one of GPT2Model, GPT2LMHeadModel, got str: 'GPT2DoubleHeadsModel'
    """  # noqa: E501
    return build_head(config, _HEADS, dtype=dtype, rngs=rngs, func="kino.models.gpt2")


def weight_targets(config: dict[str, Any], module: nnx.Module) -> dict[str, Target]:
    """Each checkpoint name of ``module``'s parameters and where it goes (no layout change).

    The nnx attributes carry the PyTorch names, so a parameter's path is its name with
    the leaf renamed (``kernel``/``scale``/``embedding`` → ``weight``).

    >>> config = {"architectures": ["GPT2Model"], "vocab_size": 10, "n_embd": 8,
    ...           "n_layer": 1, "n_head": 2}
    >>> targets = weight_targets(config, build(config, dtype="float32", rngs=nnx.Rngs(0)))
    >>> targets["h.0.mlp.c_fc.weight"].path, targets["wte.weight"].transform
    (('h', 0, 'mlp', 'c_fc', 'kernel'), None)
    """
    return mirrored(module, torch_layout=False)


def byte_tokenizer() -> Any:
    """A byte-level BPE ``tokenizers.Tokenizer`` with no merges: one token per byte, then
    ``<|endoftext|>`` (id 256), GPT-2's pre-tokenizer and decoder. For examples and tests.

    >>> t = byte_tokenizer()
    >>> t.encode("hi!").ids, t.decode([104, 105]), t.get_vocab_size()
    ([104, 105, 33], 'hi', 257)
    """
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers

    alphabet = pre_tokenizers.ByteLevel.alphabet()
    byte_chars = sorted(alphabet, key=lambda c: _BYTE_ORDER[c])
    tokenizer = Tokenizer(models.BPE({c: i for i, c in enumerate(byte_chars)}, []))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    tokenizer.add_special_tokens([AddedToken("<|endoftext|>", special=True)])
    return tokenizer


def _byte_order() -> dict[str, int]:
    """GPT-2's printable stand-in of each byte, mapped to the byte's value."""
    keep = [*range(33, 127), *range(161, 173), *range(174, 256)]
    chars, extra = {}, 0
    for b in range(256):
        if b in keep:
            chars[chr(b)] = b
        else:
            chars[chr(256 + extra)] = b
            extra += 1
    return chars


_BYTE_ORDER = _byte_order()


def example(*, seed: int = 0) -> Any:
    """A tiny random GPT-2 language model on a byte tokenizer, as ``kino.models.load``
    returns one: for examples, tests and trying generation without a download. Its
    (random) text leans to printable ASCII.

    >>> model = example()
    >>> type(model.module).__name__, model.tokenizer.get_vocab_size(), model.config["n_positions"]
    ('GPT2LMHeadModel', 257, 128)
    """
    from kino.models.load import Pretrained

    config = {
        "model_type": "gpt2",
        "architectures": ["GPT2LMHeadModel"],
        "vocab_size": 257,
        "n_positions": 128,
        "n_embd": 32,
        "n_layer": 2,
        "n_head": 2,
        "bos_token_id": 256,
        "eos_token_id": 256,
    }
    module = build(config, dtype="float32", rngs=nnx.Rngs(seed))
    # Its random text reads as letters: one feature, fixed high after the last norm,
    # lifts the logits of printable ASCII bytes (the head is the tied embedding).
    printable = jnp.where((jnp.arange(257) >= 32) & (jnp.arange(257) < 127), 1.0, -1.0)
    body = module.transformer
    body.wte.embedding.set_value(body.wte.embedding.get_value().at[:, 0].set(printable))
    body.ln_f.scale.set_value(body.ln_f.scale.get_value().at[0].set(0.0))
    body.ln_f.bias.set_value(body.ln_f.bias.get_value().at[0].set(4.0))
    return Pretrained(module, config, "tiny-gpt2", byte_tokenizer(), None, {})
