"""Text generation with a key/value cache: greedy or sampled (temperature, top-k, top-p), seeded.

:func:`generate` returns each prompt's new tokens; :func:`stream` yields them one step at a
time, as they are made. Prompts are left-padded to a length bucket (16, 32, 64, ...) and
batches to a power of two, and the number of new tokens to a bucket too, so calls of
other lengths within the same buckets reuse one compiled program (``Generator.compilations``
counts them). A row stops at ``eos_token_id`` (which it keeps) or after ``max_new_tokens``.
Each row samples from its own key (``seed`` and the step), so its tokens do not depend on
the other rows of its batch.

``model`` is a causal language model with ``decode``, ``init_cache`` and
``max_positions`` (``kino.models.gpt2.GPT2LMHeadModel``).

>>> from flax import nnx
>>> from kino.models import gpt2
>>> lm = gpt2.build({"architectures": ["GPT2LMHeadModel"], "vocab_size": 20, "n_embd": 8,
...                  "n_layer": 1, "n_head": 2, "n_positions": 64}, dtype="float32",
...                 rngs=nnx.Rngs(0))
>>> [len(t) for t in generate(lm, [[1, 2, 3], [4]], max_new_tokens=5)]
[5, 5]
>>> generate(lm, [[1]], max_new_tokens=3, temperature=0.8, seed=7) == generate(
...     lm, [[1]], max_new_tokens=3, temperature=0.8, seed=7)
True
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from kino.contracts import check_int, check_number, fail

#: The smallest prompt-length and new-token buckets; larger ones double.
MIN_LENGTH_BUCKET = 16
#: The most prompts one call generates for (larger batches: split them).
MAX_BATCH = 256


def bucket(n: int, smallest: int = MIN_LENGTH_BUCKET) -> int:
    """The bucket ``n`` falls in: ``smallest``, then powers of two above it.

    >>> bucket(3), bucket(16), bucket(17), bucket(3, smallest=1)
    (16, 16, 32, 4)
    """
    size = smallest
    while size < n:
        size *= 2
    return size


@dataclass(frozen=True)
class Options:
    """How to pick tokens: checked once, hashable (its static part keys compiled programs).

    ``temperature=0`` is greedy (the most likely token); otherwise tokens are sampled
    from the logits divided by ``temperature``, restricted to the ``top_k`` most likely
    (``0``: all) and to the smallest set whose probability reaches ``top_p`` (``1``: all).

    >>> Options.check(max_new_tokens=4, temperature=0.7, top_k=50).greedy
    False
    >>> Options.check(max_new_tokens=0)
    Traceback (most recent call last):
    ...
    ValueError: kino.models.generate: 'max_new_tokens' must be an int from 1 to 4096, got 0
    """

    max_new_tokens: int = 20
    temperature: float = 0.0
    top_k: int = 0
    top_p: float = 1.0
    seed: int = 0
    eos_token_id: int | None = None
    pad_token_id: int = 0

    @classmethod
    def check(cls, *, func: str = "kino.models.generate", **options: Any) -> Options:
        """``Options`` from keyword arguments, each checked with kino's message shape.

        >>> Options.check(top_p=1.5)
        Traceback (most recent call last):
        ...
        ValueError: kino.models.generate: 'top_p' must be a finite number from 0 to 1, got 1.5
        """
        unknown = set(options) - set(cls.__dataclass_fields__)
        if unknown:
            name = sorted(unknown)[0]
            fail(func, name, f"one of {', '.join(cls.__dataclass_fields__)}", name)
        o = {name: options.get(name, f.default) for name, f in cls.__dataclass_fields__.items()}
        return cls(
            max_new_tokens=check_int(
                o["max_new_tokens"], func=func, argument="max_new_tokens", min=1, max=4096
            ),
            temperature=float(
                check_number(o["temperature"], func=func, argument="temperature", min=0, max=100)
            ),
            top_k=check_int(o["top_k"], func=func, argument="top_k", min=0),
            top_p=float(check_number(o["top_p"], func=func, argument="top_p", min=0, max=1)),
            seed=check_int(o["seed"], func=func, argument="seed", min=0, max=2**32 - 1),
            eos_token_id=check_int(
                o["eos_token_id"], func=func, argument="eos_token_id", min=0, allow_none=True
            ),
            pad_token_id=check_int(o["pad_token_id"], func=func, argument="pad_token_id", min=0),
        )

    @property
    def greedy(self) -> bool:
        """Whether tokens are picked by argmax (``temperature == 0``).

        >>> Options().greedy
        True
        """
        return self.temperature == 0

    def static(self) -> tuple[bool, int, bool]:
        """What the compiled program depends on: greedy, ``top_k``, whether ``top_p`` cuts.

        >>> Options(temperature=1.0, top_p=0.9).static()
        (False, 0, True)
        """
        return (self.greedy, 0 if self.greedy else self.top_k, self.top_p < 1 and not self.greedy)


def pick(
    logits: jax.Array,
    keys: jax.Array,
    temperature: jax.Array,
    top_p: jax.Array,
    *,
    greedy: bool,
    top_k: int,
    nucleus: bool,
) -> jax.Array:
    """One token per row of ``logits`` ``[B, vocab]``, each row with its own key.

    >>> logits = jnp.array([[0.0, 5.0, 1.0]])
    >>> keys = jax.random.split(jax.random.key(0), 1)
    >>> int(pick(logits, keys, 1.0, 1.0, greedy=True, top_k=0, nucleus=False)[0])
    1
    >>> int(pick(logits, keys, 1.0, 1.0, greedy=False, top_k=1, nucleus=False)[0])
    1
    """
    logits = logits.astype(jnp.float32)
    if greedy:
        return jnp.argmax(logits, axis=-1).astype(jnp.int32)
    logits = logits / temperature
    low = jnp.finfo(jnp.float32).min
    if top_k:
        kth = jax.lax.top_k(logits, min(top_k, logits.shape[-1]))[0][:, -1:]
        logits = jnp.where(logits < kth, low, logits)
    if nucleus:
        ordered = jnp.sort(logits, axis=-1)[:, ::-1]
        probs = jax.nn.softmax(ordered, axis=-1)
        before = jnp.cumsum(probs, axis=-1) - probs  # probability of the tokens ranked above
        keep = (before < top_p) | (jnp.arange(ordered.shape[-1]) == 0)  # the best always stays
        cutoff = jnp.where(keep, ordered, jnp.inf).min(axis=-1, keepdims=True)
        logits = jnp.where(logits < cutoff, low, logits)
    return jax.vmap(jax.random.categorical)(keys, logits).astype(jnp.int32)


def _row_keys(seeds: jax.Array, step: jax.Array) -> jax.Array:
    return jax.vmap(lambda s: jax.random.fold_in(jax.random.key(s), step))(seeds)


def _prefill(model: Any, ids: jax.Array, lengths: jax.Array, slots: int) -> tuple[Any, ...]:
    """The left-padded prompts through the model: last logits, cache, valid slots."""
    batch, width = ids.shape
    start = width - lengths  # first real slot of each row
    valid = jnp.arange(slots)[None, :] >= start[:, None]
    positions = jnp.clip(jnp.arange(width)[None, :] - start[:, None], 0, None)
    cache = model.init_cache(batch, slots)
    logits, cache = model.decode(ids, cache, index=0, attention_mask=valid, position_ids=positions)
    return logits[:, -1], cache, valid


def _step(
    model: Any,
    logits: jax.Array,
    cache: Any,
    valid: jax.Array,
    done: jax.Array,
    i: jax.Array,
    width: int,
    lengths: jax.Array,
    seeds: jax.Array,
    scalars: tuple[jax.Array, ...],
    static: tuple[bool, int, bool],
) -> tuple[jax.Array, jax.Array, Any, jax.Array]:
    """Pick the next token of each row, then run it: (token, logits, cache, done)."""
    temperature, top_p, eos, pad = scalars
    greedy, top_k, nucleus = static
    token = pick(
        logits, _row_keys(seeds, i), temperature, top_p,
        greedy=greedy, top_k=top_k, nucleus=nucleus,
    )  # fmt: skip
    token = jnp.where(done, pad, token)
    done = done | (token == eos)
    logits, cache = model.decode(
        token[:, None], cache, index=width + i, attention_mask=valid,
        position_ids=(lengths + i)[:, None],
    )  # fmt: skip
    return token, logits[:, -1], cache, done


def generate_tokens(
    model: Any,
    ids: jax.Array,
    lengths: jax.Array,
    seeds: jax.Array,
    limit: jax.Array,
    scalars: tuple[jax.Array, ...],
    *,
    static: tuple[bool, int, bool],
    new_bucket: int,
) -> jax.Array:
    """The whole generation as one traceable function (what the compiled programs run).

    ``ids`` ``[B, P]`` are left-padded prompts of ``lengths``; returns ``[B, new_bucket]``
    tokens, ``pad`` after a row's end and after ``limit`` steps. ``scalars`` are
    (temperature, top_p, eos or -1, pad).

    >>> from flax import nnx
    >>> from kino.models import gpt2
    >>> lm = gpt2.build({"architectures": ["GPT2LMHeadModel"], "vocab_size": 9, "n_embd": 8,
    ...                  "n_layer": 1, "n_head": 2}, dtype="float32", rngs=nnx.Rngs(0))
    >>> out = generate_tokens(lm, jnp.array([[0, 3, 4]]), jnp.array([2]), jnp.array([0]),
    ...                       2, (0.0, 1.0, -1, 0), static=(True, 0, False), new_bucket=4)
    >>> out.shape, out[0, 2:].tolist()
    ((1, 4), [0, 0])
    """
    batch, width = ids.shape
    logits, cache, valid = _prefill(model, ids, lengths, width + new_bucket)
    out = jnp.full((batch, new_bucket), scalars[3], jnp.int32)
    done = jnp.zeros(batch, bool)

    def running(carry: tuple[Any, ...]) -> jax.Array:
        i, done = carry[0], carry[3]
        return (i < limit) & ~jnp.all(done)

    def body(carry: tuple[Any, ...]) -> tuple[Any, ...]:
        i, logits, cache, done, out = carry
        token, logits, cache, done = _step(
            model, logits, cache, valid, done, i, width, lengths, seeds, scalars, static
        )
        return i + 1, logits, cache, done, out.at[:, i].set(token)

    carry = (jnp.int32(0), logits, cache, done, out)
    return jax.lax.while_loop(running, body, carry)[4]


class Generator:
    """A model's compiled generation programs, kept across calls (one per bucket).

    >>> from flax import nnx
    >>> from kino.models import gpt2
    >>> lm = gpt2.build({"architectures": ["GPT2LMHeadModel"], "vocab_size": 20, "n_embd": 8,
    ...                  "n_layer": 1, "n_head": 2}, dtype="float32", rngs=nnx.Rngs(0))
    >>> g = Generator(lm)
    >>> _ = g([[1, 2]], Options(max_new_tokens=3)), g([[1, 2, 3, 4]], Options(max_new_tokens=5))
    >>> g.compilations
    1
    """

    def __init__(self, model: nnx.Module) -> None:
        for method in ("decode", "init_cache"):
            if not callable(getattr(model, method, None)):
                fail(
                    "kino.models.generate", "model",
                    "a causal language model with decode and init_cache (GPT2LMHeadModel)", model,
                )  # fmt: skip
        self.max_positions = int(getattr(model, "max_positions", 1 << 30))
        self._graphdef, self._state = nnx.split(model)
        self._lock = threading.Lock()
        self.compilations = 0
        self._fused = jax.jit(self._fused_body, static_argnames=("static", "new_bucket"))
        self._prefill = jax.jit(self._prefill_body, static_argnames=("slots",))
        self._step = jax.jit(self._step_body, static_argnames=("width", "static"))

    def _traced(self) -> Any:
        self.compilations += 1  # runs only while jax traces, i.e. once per compiled program
        return None

    def _fused_body(self, state, ids, lengths, seeds, limit, scalars, *, static, new_bucket):
        self._traced()
        model = nnx.merge(self._graphdef, state)
        return generate_tokens(
            model, ids, lengths, seeds, limit, scalars, static=static, new_bucket=new_bucket
        )

    def _prefill_body(self, state, ids, lengths, *, slots):
        self._traced()
        return _prefill(nnx.merge(self._graphdef, state), ids, lengths, slots)

    def _step_body(self, state, logits, cache, valid, done, i, lengths, seeds, scalars, *,
                   width, static):  # fmt: skip
        self._traced()
        model = nnx.merge(self._graphdef, state)
        return _step(model, logits, cache, valid, done, i, width, lengths, seeds, scalars, static)

    def _batch(
        self, prompts: Sequence[Sequence[int]], options: Options, func: str
    ) -> tuple[np.ndarray, ...]:
        """Checked prompts as left-padded ids, lengths and seeds, padded to a batch bucket."""
        if isinstance(prompts, (str, bytes)) or not isinstance(prompts, Sequence) or not prompts:
            fail(func, "prompts", "a non-empty list of token id lists", prompts)
        rows = []
        for prompt in prompts:
            row = np.asarray(prompt)
            if row.ndim != 1 or row.size == 0 or not np.issubdtype(row.dtype, np.integer):
                fail(func, "prompts", "lists of at least one int token id each", prompt)
            if row.min() < 0:
                fail(func, "prompts", "token ids >= 0", prompt, ValueError)
            rows.append(row)
        if len(rows) > MAX_BATCH:
            fail(func, "prompts", f"at most {MAX_BATCH} prompts", len(rows), ValueError)
        longest = max(len(r) for r in rows)
        if longest + options.max_new_tokens > self.max_positions:
            fail(
                func, "max_new_tokens",
                f"at most {self.max_positions - longest} for a prompt of {longest} tokens "
                f"(the model sees {self.max_positions} positions)",
                options.max_new_tokens, ValueError,
            )  # fmt: skip
        width, size = bucket(longest), bucket(len(rows), smallest=1)
        ids = np.full((size, width), options.pad_token_id, np.int32)
        lengths = np.ones(size, np.int32)
        for i, row in enumerate(rows + [rows[0]] * (size - len(rows))):
            ids[i, width - len(row) :] = row
            lengths[i] = len(row)
        seeds = np.full(size, options.seed, np.uint32)
        return ids, lengths, seeds

    @staticmethod
    def _scalars(options: Options) -> tuple[Any, ...]:
        eos = -1 if options.eos_token_id is None else options.eos_token_id
        temperature = options.temperature or 1.0
        return (
            np.float32(temperature), np.float32(options.top_p), np.int32(eos),
            np.int32(options.pad_token_id),
        )  # fmt: skip

    def __call__(self, prompts: Sequence[Sequence[int]], options: Options) -> list[list[int]]:
        """Each prompt's new tokens (up to and including ``eos_token_id``)."""
        ids, lengths, seeds = self._batch(prompts, options, "kino.models.generate")
        with self._lock:
            out = self._fused(
                self._state, ids, lengths, seeds, np.int32(options.max_new_tokens),
                self._scalars(options), static=options.static(),
                new_bucket=bucket(options.max_new_tokens),
            )  # fmt: skip
        return [_trim(row, options) for row in np.asarray(out)[: len(prompts)]]

    def stream(
        self, prompts: Sequence[Sequence[int]], options: Options
    ) -> Iterator[list[int | None]]:
        """Yield each step's token of every prompt (``None`` once a prompt has ended).

        The prompts are checked here, before the first step is asked for.
        """
        ids, lengths, seeds = self._batch(prompts, options, "kino.models.stream")
        return self._steps(ids, lengths, seeds, len(prompts), options)

    def _steps(
        self, ids: np.ndarray, lengths: np.ndarray, seeds: np.ndarray, n: int, options: Options
    ) -> Iterator[list[int | None]]:
        width = ids.shape[1]
        scalars, static = self._scalars(options), options.static()
        with self._lock:
            logits, cache, valid = self._prefill(
                self._state, ids, lengths, slots=width + bucket(options.max_new_tokens)
            )
        done = np.zeros(len(ids), bool)
        for i in range(options.max_new_tokens):
            with self._lock:
                token, logits, cache, now_done = self._step(
                    self._state, logits, cache, valid, done, np.int32(i), lengths, seeds,
                    scalars, width=width, static=static,
                )  # fmt: skip
            token = np.asarray(token)
            yield [None if done[r] else int(token[r]) for r in range(n)]
            done = np.asarray(now_done)
            if done[:n].all():
                return


def _trim(row: np.ndarray, options: Options) -> list[int]:
    tokens = row[: options.max_new_tokens].tolist()
    if options.eos_token_id is not None and options.eos_token_id in tokens:
        tokens = tokens[: tokens.index(options.eos_token_id) + 1]
    return tokens


_GENERATORS: weakref.WeakKeyDictionary[Any, Generator] = weakref.WeakKeyDictionary()
_GENERATORS_LOCK = threading.Lock()


def generator(model: nnx.Module) -> Generator:
    """The :class:`Generator` of ``model``, made on first use and kept while the model lives.

    It holds the weights ``model`` had then: after changing them (training), make a new
    ``Generator(model)``.

    >>> from flax import nnx
    >>> from kino.models import gpt2
    >>> lm = gpt2.build({"architectures": ["GPT2LMHeadModel"], "vocab_size": 9, "n_embd": 8,
    ...                  "n_layer": 1, "n_head": 2}, dtype="float32", rngs=nnx.Rngs(0))
    >>> generator(lm) is generator(lm)
    True
    """
    with _GENERATORS_LOCK:
        found = _GENERATORS.get(model)
        if found is None:
            found = _GENERATORS[model] = Generator(model)
        return found


def generate(
    model: nnx.Module, prompts: Sequence[Sequence[int]], **options: Any
) -> list[list[int]]:
    """The new tokens of each prompt (token id lists): greedy, or sampled with a ``seed``.

    Options: ``max_new_tokens`` (20), ``temperature`` (0: greedy), ``top_k`` (0: off),
    ``top_p`` (1: off), ``seed``, ``eos_token_id``, ``pad_token_id``.

    >>> from flax import nnx
    >>> from kino.models import gpt2
    >>> lm = gpt2.build({"architectures": ["GPT2LMHeadModel"], "vocab_size": 9, "n_embd": 8,
    ...                  "n_layer": 1, "n_head": 2}, dtype="float32", rngs=nnx.Rngs(0))
    >>> generate(lm, [[1, 2]], max_new_tokens=2, top_k=-1)
    Traceback (most recent call last):
    ...
    ValueError: kino.models.generate: 'top_k' must be an int >= 0, got -1
    """
    return generator(model)(prompts, Options.check(func="kino.models.generate", **options))


def stream(
    model: nnx.Module, prompts: Sequence[Sequence[int]], **options: Any
) -> Iterator[list[int | None]]:
    """Yield, step by step, each prompt's next token as it is made (``None`` after its end).

    The same tokens as :func:`generate` with the same options, one step at a time.

    >>> from flax import nnx
    >>> from kino.models import gpt2
    >>> lm = gpt2.build({"architectures": ["GPT2LMHeadModel"], "vocab_size": 9, "n_embd": 8,
    ...                  "n_layer": 1, "n_head": 2}, dtype="float32", rngs=nnx.Rngs(0))
    >>> steps = list(stream(lm, [[1, 2]], max_new_tokens=3))
    >>> [step[0] for step in steps] == generate(lm, [[1, 2]], max_new_tokens=3)[0]
    True
    """
    options = Options.check(func="kino.models.stream", **options)
    return generator(model).stream(prompts, options)
