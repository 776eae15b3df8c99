"""Text tasks as ``kino.serving.Serving`` specs: embeddings, classification, masked words.

Bumblebee's ``Text.text_embedding``, ``Text.text_classification`` and ``Text.fill_mask``:
each takes a loaded model (:func:`kino.models.load`) and returns a :class:`TextTask`, a
``Serving`` whose requests are strings, run inline (``.run(texts)``) or started as a
batched server (``.start()``). Batch sizes (1, 2, 4, ... ``batch_size``) and sequence
lengths (``sequence_lengths``) are both bucketed, and embeddings and classification run
on the batch's real tokens only (:mod:`kino.models.packing`); each shape is compiled
once, the longest up front and the others in the background on first need
(:mod:`kino.models.text_program`). A text longer than the longest bucket is cut to it.
In a notebook a task displays as a text box and its answer (``kino.models.view_text``).

>>> import tempfile
>>> from kino.models import load
>>> from kino.models.testing import write_tiny
>>> model = load(write_tiny("bert", tempfile.mkdtemp(), labels=["NEGATIVE", "POSITIVE"]))
>>> classify = text_classification(model, batch_size=2, sequence_lengths=16)
>>> [p["label"] for p in classify.run(["i love this movie"])[0]]
['NEGATIVE', 'POSITIVE']
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from kino.contracts import check_int, fail
from kino.models.load import Pretrained
from kino.models.packing import Packed
from kino.models.text import check_lengths, encode, truncating
from kino.models.text_program import TextProgram
from kino.serving import Serving
from kino.serving.errors import InvalidInput

#: Sequence lengths compiled when none are given (cut to the model's positions).
DEFAULT_LENGTHS = (32, 128)

#: Base encoders inside the head models, by attribute name.
_ENCODERS = ("bert", "distilbert")


class TextTask(Serving):
    """A ``Serving`` over strings for one text task of one model (displays as its widget).

    >>> import tempfile
    >>> from kino.models import load
    >>> from kino.models.testing import write_tiny
    >>> task = text_embedding(load(write_tiny("bert", tempfile.mkdtemp())), batch_size=1,
    ...                       sequence_lengths=16)
    >>> task.task, task.sequence_lengths, task.batch_size
    ('text_embedding', (16,), 1)
    """

    def __init__(
        self,
        task: str,
        pretrained: Pretrained,
        answer: Callable[[Any, jax.Array, jax.Array], jax.Array],
        *,
        batch_size: int,
        sequence_lengths: Any,
        postprocess: Callable[[Any], Any],
        check: Callable[[np.ndarray], None] | None = None,
        packed: bool = False,
    ) -> None:
        func = f"kino.models.{task}"
        if not isinstance(pretrained, Pretrained):
            fail(func, "model", "a model from kino.models.load", pretrained)
        if pretrained.tokenizer is None:
            fail(func, "model", "a model with a tokenizer (tokenizer.json)", pretrained)
        limit = int(pretrained.config.get("max_position_embeddings", 512))
        lengths = check_lengths(
            tuple(n for n in DEFAULT_LENGTHS if n < limit) or (limit,)
            if sequence_lengths is None
            else sequence_lengths,
            limit=limit,
            func=func,
        )
        check_int(batch_size, func=func, argument="batch_size", min=1)
        self.task = task
        self.packed = packed
        self.pretrained = pretrained
        self.sequence_lengths = lengths
        tokenizer = truncating(pretrained.tokenizer, lengths[-1])

        def preprocess(text: str) -> np.ndarray:
            row = encode(tokenizer, text, length=lengths[-1], func=func)
            if check is not None:
                check(row)
            return row

        self.tokenizer = tokenizer
        super().__init__(
            _Answer(pretrained.module, answer),
            batch_size=batch_size,
            preprocess=preprocess,
            postprocess=postprocess,
            example=np.zeros((2, lengths[-1]), np.int32),
        )

    def program(self, device: jax.Device) -> TextProgram:
        """The compiled shapes on ``device``: each batch size at the longest length now,
        shorter lengths (and packed token counts) in the background on first need.

        >>> import jax, tempfile
        >>> from kino.models import load
        >>> from kino.models.testing import write_tiny
        >>> task = text_embedding(load(write_tiny("bert", tempfile.mkdtemp())), batch_size=2,
        ...                       sequence_lengths=(8, 16))
        >>> sorted(task.program(jax.devices()[0]).compiled)
        [(1, 16, 16), (2, 16, 32)]
        """
        with self._lock:
            if device not in self._programs:
                graphdef, params = nnx.split(self.fn)

                def apply(params: Any, ids: jax.Array, mask: jax.Array, tokens: int | None) -> Any:
                    task = nnx.merge(graphdef, params)
                    return task.answer(task.model, ids, mask if tokens is None else
                                       Packed(mask, size=tokens))  # fmt: skip

                self._programs[device] = TextProgram(
                    apply,
                    params,
                    self.buckets,
                    self.sequence_lengths,
                    device,
                    packed=self.packed,
                )
            return self._programs[device]

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        from kino.models.view_text import view

        return view(self)._repr_mimebundle_(**kwargs)


class _Answer(nnx.Module):
    """The model and its task's answer on a batch of rows (ids over mask), unpacked."""

    def __init__(self, model: nnx.Module, answer: Callable) -> None:
        self.model = model
        self.answer = answer

    def __call__(self, batch: jax.Array) -> jax.Array:
        return self.answer(self.model, batch[:, 0], batch[:, 1])


def _encoder(module: nnx.Module) -> nnx.Module:
    for name in _ENCODERS:
        if hasattr(module, name):
            return getattr(module, name)
    return module


def _hidden(module: nnx.Module, ids: jax.Array, mask: jax.Array) -> jax.Array:
    out = _encoder(module)(ids, mask)
    return out[0] if isinstance(out, tuple) else out


def mean_pooled(hidden: jax.Array, mask: Any, *, normalize: bool = True) -> jax.Array:
    """The mean of each row's unmasked states, L2-normalised (sentence-transformers' pooling).

    ``mask`` is ``[batch, length]``, or the :class:`~kino.models.packing.Packed` layout
    of packed ``hidden`` states.

    >>> import numpy as np
    >>> mean_pooled(np.array([[[3.0, 0.0], [0.0, 4.0], [9.0, 9.0]]]), np.array([[1, 1, 0]]))
    Array([[0.6, 0.8]], dtype=float32)
    """
    if isinstance(mask, Packed):
        mean = mask.mean(hidden)
    else:
        weights = jnp.asarray(mask, jnp.float32)[..., None]
        summed = jnp.sum(jnp.asarray(hidden, jnp.float32) * weights, axis=1)
        mean = summed / jnp.maximum(jnp.sum(weights, axis=1), 1e-9)
    if not normalize:
        return mean
    return mean / jnp.maximum(jnp.linalg.norm(mean, axis=-1, keepdims=True), 1e-12)


def text_embedding(
    model: Pretrained,
    *,
    batch_size: int = 16,
    sequence_lengths: Any = None,
    normalize: bool = True,
) -> TextTask:
    """Sentence embeddings: the mean of the encoder's states over the tokens, L2-normalised.

    Each answer is a float32 vector; with ``normalize`` their dot product is the cosine
    similarity.

    >>> import tempfile
    >>> from kino.models import load
    >>> from kino.models.testing import write_tiny
    >>> embed = text_embedding(load(write_tiny("bert", tempfile.mkdtemp())), batch_size=2,
    ...                        sequence_lengths=16)
    >>> a, b = embed.run(["the cat sat", "the dog sat"])
    >>> a.shape, round(float(a @ a), 4)
    ((16,), 1.0)
    """

    def answer(module: nnx.Module, ids: jax.Array, mask: jax.Array) -> jax.Array:
        return mean_pooled(_hidden(module, ids, mask), mask, normalize=normalize)

    return TextTask(
        "text_embedding",
        model,
        answer,
        batch_size=batch_size,
        sequence_lengths=sequence_lengths,
        postprocess=np.asarray,
        packed=True,
    )


def _labelled(labels: dict[int, str], top_k: int | None) -> Callable[[Any], list[dict]]:
    def postprocess(scores: Any) -> list[dict[str, Any]]:
        scores = np.asarray(scores, np.float64)
        order = np.argsort(-scores, kind="stable")[:top_k]
        return [
            {"label": labels.get(int(i), f"LABEL_{int(i)}"), "score": float(scores[i])}
            for i in order
        ]

    return postprocess


def text_classification(
    model: Pretrained,
    *,
    top_k: int | None = None,
    batch_size: int = 16,
    sequence_lengths: Any = None,
) -> TextTask:
    """Labels and their probabilities, best first (the seed's "POSITIVE 0.998" answer).

    ``model`` is a sequence classifier (``…ForSequenceClassification``); its labels come
    from ``config.json``'s ``id2label``. ``top_k`` keeps only the best ``k``.

    >>> import tempfile
    >>> from kino.models import load
    >>> from kino.models.testing import write_tiny
    >>> model = load(write_tiny("distilbert", tempfile.mkdtemp(), labels=["NEG", "POS"]))
    >>> answer = text_classification(model, top_k=1, sequence_lengths=16).run(["great film"])
    >>> [(p["label"], round(p["score"], 3)) for p in answer[0]]
    [('POS', 0.703)]
    """
    func = "kino.models.text_classification"
    _need_head(model, "ForSequenceClassification", func)
    if top_k is not None:
        top_k = check_int(top_k, func=func, argument="top_k", min=1)

    def answer(module: nnx.Module, ids: jax.Array, mask: jax.Array) -> jax.Array:
        return jax.nn.softmax(jnp.asarray(module(ids, mask), jnp.float32), axis=-1)

    return TextTask(
        "text_classification",
        model,
        answer,
        batch_size=batch_size,
        sequence_lengths=sequence_lengths,
        postprocess=_labelled(model.labels, top_k),
        packed=True,
    )


def mask_token(model: Pretrained, *, func: str = "kino.models.fill_mask") -> tuple[str, int]:
    """The tokenizer's mask token and its id (``[MASK]`` for BERT, ``<mask>`` for RoBERTa).

    >>> import tempfile
    >>> from kino.models import load
    >>> from kino.models.testing import write_tiny
    >>> mask_token(load(write_tiny("bert", tempfile.mkdtemp(), head="masked")))
    ('[MASK]', 4)
    """
    for token in ("[MASK]", "<mask>"):
        index = model.tokenizer.token_to_id(token)
        if index is not None:
            return token, index
    return fail(func, "model", "a model whose tokenizer has a mask token", model, ValueError)


def fill_mask(
    model: Pretrained,
    *,
    top_k: int = 5,
    batch_size: int = 16,
    sequence_lengths: Any = None,
) -> TextTask:
    """The ``top_k`` likeliest words for the one mask token of each text, with probabilities.

    A text must hold the mask token exactly once (``[MASK]`` for BERT and DistilBERT);
    any other text is refused at the call with ``InvalidInput``.

    >>> import tempfile
    >>> from kino.models import load
    >>> from kino.models.testing import write_tiny
    >>> fill = fill_mask(load(write_tiny("bert", tempfile.mkdtemp(), head="masked")), top_k=2,
    ...                  sequence_lengths=16)
    >>> [sorted(p) for p in fill.run(["the cat sat on the [MASK] ."])[0]]
    [['score', 'token'], ['score', 'token']]
    >>> fill.run(["no mask here"])
    Traceback (most recent call last):
    ...
    kino.serving.errors.InvalidInput: Serving.run: preprocess refused the request: ...
    """
    func = "kino.models.fill_mask"
    _need_head(model, "ForMaskedLM", func)
    token, mask_id = mask_token(model, func=func)
    vocab = model.tokenizer.get_vocab_size()
    top_k = check_int(top_k, func=func, argument="top_k", min=1, max=vocab)

    def check(row: np.ndarray) -> None:
        found = int(np.sum(row[0] == mask_id))
        if found != 1:
            raise InvalidInput(f"{func}: a text must hold {token} once, this one has {found}")

    def answer(module: nnx.Module, ids: jax.Array, mask: jax.Array) -> Any:
        logits = jnp.asarray(module(ids, mask), jnp.float32)
        where = jnp.argmax(ids == mask_id, axis=1)
        at_mask = jnp.take_along_axis(logits, where[:, None, None], axis=1)[:, 0]
        scores, tokens = jax.lax.top_k(jax.nn.softmax(at_mask, axis=-1), top_k)
        return scores, tokens

    tokenizer = model.tokenizer

    def postprocess(row: Any) -> list[dict[str, Any]]:
        scores, tokens = row
        return [
            {"token": tokenizer.id_to_token(int(t)), "score": float(s)}
            for s, t in zip(scores, tokens, strict=True)
        ]

    return TextTask(
        "fill_mask",
        model,
        answer,
        batch_size=batch_size,
        sequence_lengths=sequence_lengths,
        postprocess=postprocess,
        check=check,
    )


def _need_head(model: Any, head: str, func: str) -> None:
    name = model.architecture if isinstance(model, Pretrained) else ""
    if not name.endswith(head):
        fail(
            func,
            "model",
            f"a model with a {head} head (config.json's architectures)",
            name or model,
            ValueError,
        )
