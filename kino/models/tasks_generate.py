"""``text_generation``: a causal language model's continuation of a prompt, as a ``Serving``.

Bumblebee's ``Text.generation``. Each request is a prompt (a str, or ``{"prompt": str,
"seed": int}``), tokenized and left-padded to the longest prompt bucket; the compiled
program picks the smallest bucket that holds its batch's longest prompt (one
``lax.switch``, so every bucket is in the one program a batch size compiles), then runs
the whole generation with the key/value cache (``kino.models.generate``). The answer is
``{"text": ..., "token_ids": [...]}``. ``task.stream(prompt)`` yields the text piece by
piece as the tokens are made; in a notebook the task displays as a prompt box whose
answer streams in (``kino.models.view_media``).

>>> from kino.models import gpt2
>>> task = text_generation(gpt2.example(), max_new_tokens=4, batch_size=1, prompt_lengths=16)
>>> answer = task.run(["Hello"])[0]
>>> len(answer["token_ids"]), "".join(task.stream("Hello")) == answer["text"]
(4, True)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from kino.contracts import check_int, check_str, fail
from kino.models.generate import Options, generate_tokens, generator
from kino.models.load import Pretrained
from kino.serving import Serving

_FUNC = "kino.models.text_generation"

#: Prompt lengths compiled when none are given (cut to what the model's positions allow).
DEFAULT_PROMPT_LENGTHS = (16, 64)


class _Generate(nnx.Module):
    """The language model and the generation loop, one branch per prompt-length bucket."""

    def __init__(self, model: nnx.Module, lengths: tuple[int, ...], options: Options) -> None:
        self.model = model
        self.lengths = lengths
        self.options = options

    def __call__(self, batch: dict[str, jax.Array]) -> jax.Array:
        o = self.options
        eos = -1 if o.eos_token_id is None else o.eos_token_id
        scalars = (jnp.float32(o.temperature or 1.0), jnp.float32(o.top_p), eos, o.pad_token_id)
        ids, lengths, seeds = batch["ids"], batch["length"], batch["seed"]

        def run(width: int) -> Any:
            return lambda ids: generate_tokens(
                self.model, ids[:, -width:], lengths, seeds, o.max_new_tokens, scalars,
                static=o.static(), new_bucket=o.max_new_tokens,
            )  # fmt: skip

        index = jnp.searchsorted(jnp.asarray(self.lengths), jnp.max(lengths))
        branches = [run(width) for width in self.lengths]
        return jax.lax.switch(jnp.minimum(index, len(branches) - 1), branches, ids)


class TextGeneration(Serving):
    """A ``Serving`` over prompts answering ``{"text", "token_ids"}``; ``stream`` yields text.

    >>> from kino.models import gpt2
    >>> task = TextGeneration(gpt2.example(), max_new_tokens=3, prompt_lengths=(8, 32))
    >>> task.prompt_lengths, task.options.max_new_tokens, task.signature.describe()
    ((8, 32), 3, "a row of {['ids']: (32,) int32, ['length']: () int32, ['seed']: () uint32}")
    """

    def __init__(
        self,
        pretrained: Pretrained,
        *,
        max_new_tokens: int = 20,
        temperature: float = 0.0,
        top_k: int = 0,
        top_p: float = 1.0,
        seed: int = 0,
        batch_size: int = 8,
        prompt_lengths: Any = None,
    ) -> None:
        if not isinstance(pretrained, Pretrained):
            fail(_FUNC, "model", "a model from kino.models.load", pretrained)
        if pretrained.tokenizer is None or not hasattr(pretrained.module, "decode"):
            fail(_FUNC, "model", "a causal language model with a tokenizer (GPT2LMHeadModel)",
                 pretrained)  # fmt: skip
        config = pretrained.config
        eos = config.get("eos_token_id")
        pad = config.get("pad_token_id", eos)
        self.options = Options.check(
            func=_FUNC, max_new_tokens=max_new_tokens, temperature=temperature, top_k=top_k,
            top_p=top_p, seed=seed, eos_token_id=eos, pad_token_id=pad or 0,
        )  # fmt: skip
        room = int(getattr(pretrained.module, "max_positions", 1024)) - max_new_tokens
        if room < 1:
            fail(_FUNC, "max_new_tokens", f"below the model's {room + max_new_tokens} positions",
                 max_new_tokens, ValueError)  # fmt: skip
        from kino.models.text import check_lengths

        wanted = prompt_lengths
        if wanted is None:
            wanted = tuple(n for n in DEFAULT_PROMPT_LENGTHS if n <= room) or (room,)
        self.prompt_lengths = check_lengths(wanted, limit=room, func=_FUNC)
        check_int(batch_size, func=_FUNC, argument="batch_size", min=1)
        self.pretrained = pretrained
        self.tokenizer = pretrained.tokenizer
        width = self.prompt_lengths[-1]
        super().__init__(
            _Generate(pretrained.module, self.prompt_lengths, self.options),
            batch_size=batch_size,
            preprocess=self._row,
            postprocess=self._answer,
            example={
                "ids": np.zeros(width, np.int32),
                "length": np.int32(1),
                "seed": np.uint32(0),
            },
        )

    def _prompt(self, request: Any) -> tuple[list[int], int]:
        """A request's token ids (the last ``prompt_lengths[-1]``) and its seed."""
        seed = self.options.seed
        if isinstance(request, dict):
            unknown = set(request) - {"prompt", "seed"}
            if unknown or "prompt" not in request:
                fail(_FUNC, "request", "a str or {'prompt': str, 'seed': int}", request)
            seed = check_int(request.get("seed", seed), func=_FUNC, argument="seed", min=0,
                             max=2**32 - 1)  # fmt: skip
            request = request["prompt"]
        text = check_str(request, func=_FUNC, argument="prompt")
        ids = self.tokenizer.encode(text).ids[-self.prompt_lengths[-1] :]
        if not ids:
            start = self.pretrained.config.get("bos_token_id", self.options.eos_token_id)
            if start is None:
                fail(_FUNC, "prompt", "a text of at least one token", text, ValueError)
            ids = [int(start)]
        return ids, seed

    def _row(self, request: Any) -> dict[str, np.ndarray]:
        ids, seed = self._prompt(request)
        row = np.full(self.prompt_lengths[-1], self.options.pad_token_id, np.int32)
        row[len(row) - len(ids) :] = ids
        return {"ids": row, "length": np.int32(len(ids)), "seed": np.uint32(seed)}

    def _answer(self, tokens: np.ndarray) -> dict[str, Any]:
        ids = tokens[: self.options.max_new_tokens].tolist()
        eos = self.options.eos_token_id
        if eos is not None and eos in ids:
            ids = ids[: ids.index(eos) + 1]
        return {"text": self.tokenizer.decode(ids), "token_ids": ids}

    def stream(self, prompt: Any) -> Iterator[str]:
        """Yield the continuation of ``prompt`` piece by piece, as its tokens are made.

        The same text ``run`` answers (same options, same seed); a piece is held back
        while it ends inside a multi-byte character.

        >>> from kino.models import gpt2
        >>> task = text_generation(gpt2.example(), max_new_tokens=3, batch_size=1)
        >>> pieces = list(task.stream({"prompt": "Hi", "seed": 1}))
        >>> "".join(pieces) == task.run([{"prompt": "Hi", "seed": 1}])[0]["text"]
        True
        """
        return (piece for piece, _ in self.steps(prompt))

    def steps(self, prompt: Any) -> Iterator[tuple[str, int]]:
        """Like :meth:`stream`, each piece with the number of tokens made so far.

        >>> from kino.models import gpt2
        >>> task = text_generation(gpt2.example(), max_new_tokens=2, batch_size=1)
        >>> [count for _, count in task.steps("Hi")][-1]
        2
        """
        ids, seed = self._prompt(prompt)
        options = dataclasses.replace(self.options, seed=seed)
        return self._pieces(generator(self.pretrained.module).stream([ids], options))

    def _pieces(self, steps: Iterator[list[int | None]]) -> Iterator[tuple[str, int]]:
        made: list[int] = []
        sent = ""
        for step in steps:
            if step[0] is None:
                break
            made.append(step[0])
            text = self.tokenizer.decode(made)
            if not text.endswith("\ufffd") and len(text) > len(sent):
                yield text[len(sent) :], len(made)
                sent = text
        rest = self.tokenizer.decode(made)[len(sent) :]
        if rest:  # an unfinished character at the end stays as the decoder shows it
            yield rest, len(made)

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        from kino.models.view_media import TextGenerator

        return TextGenerator(self)._repr_mimebundle_(**kwargs)


def text_generation(
    pretrained: Pretrained,
    *,
    max_new_tokens: int = 20,
    temperature: float = 0.0,
    top_k: int = 0,
    top_p: float = 1.0,
    seed: int = 0,
    batch_size: int = 8,
    prompt_lengths: Any = None,
) -> TextGeneration:
    """A prompt's continuation, greedy or sampled (a ``Serving``; ``.stream`` for pieces).

    ``temperature=0`` is greedy; otherwise tokens are sampled (``top_k``, ``top_p``),
    reproducibly from ``seed`` (a request may carry its own). ``prompt_lengths`` are
    the compiled prompt buckets; a longer prompt keeps its last tokens.

    >>> from kino.models import gpt2
    >>> text_generation(gpt2.example(), top_p=2)
    Traceback (most recent call last):
    ...
    ValueError: kino.models.text_generation: 'top_p' must be a finite number from 0 to 1, got 2
    """
    return TextGeneration(
        pretrained, max_new_tokens=max_new_tokens, temperature=temperature, top_k=top_k,
        top_p=top_p, seed=seed, batch_size=batch_size, prompt_lengths=prompt_lengths,
    )  # fmt: skip
