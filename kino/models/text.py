"""Text to token rows, and the sequence-length buckets they are compiled in.

A request (a string) becomes one row: an int32 ``[2, length]`` array, the token ids
over the attention mask, padded to the longest bucket. The host reads each batch's
longest row and runs it in the smallest bucket that holds it
(:mod:`kino.models.text_program`), so short sentences never pay for the longest length.

>>> import tempfile
>>> from kino.models.load import load
>>> from kino.models.testing import write_tiny
>>> tokenizer = load(write_tiny("bert", tempfile.mkdtemp())).tokenizer
>>> encode(truncating(tokenizer, 8), "the cat sat", length=8).tolist()
[[2, 5, 17, 19, 3, 0, 0, 0], [1, 1, 1, 1, 1, 0, 0, 0]]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from kino.contracts import check_int, check_str, fail

#: The smallest sequence-length bucket; each next one doubles up to the longest.
SMALLEST_BUCKET = 16


def truncating(tokenizer: Any, length: int) -> Any:
    """A copy of ``tokenizer`` that cuts encodings at ``length`` tokens (the caller's is kept).

    >>> import tempfile
    >>> from kino.models.testing import write_tokenizer
    >>> from tokenizers import Tokenizer
    >>> t = Tokenizer.from_file(str(write_tokenizer(tempfile.mkdtemp())))
    >>> truncating(t, 3).encode("the cat sat on the mat").tokens, t.truncation
    (['[CLS]', 'the', '[SEP]'], None)
    """
    from tokenizers import Tokenizer

    copy = Tokenizer.from_str(tokenizer.to_str())
    copy.enable_truncation(length)
    copy.no_padding()
    return copy


def encode(tokenizer: Any, text: str, *, length: int, func: str = "kino.models") -> np.ndarray:
    """One text as an int32 ``[2, length]`` row: token ids, then the attention mask.

    >>> import tempfile
    >>> from kino.models.testing import write_tokenizer
    >>> from tokenizers import Tokenizer
    >>> t = Tokenizer.from_file(str(write_tokenizer(tempfile.mkdtemp())))
    >>> encode(t, 3, length=4)
    Traceback (most recent call last):
    ...
    TypeError: kino.models: 'text' must be a str, got 3
    """
    check_str(text, func=func, argument="text")
    encoding = tokenizer.encode(text)
    ids = encoding.ids[:length]
    row = np.zeros((2, length), np.int32)
    row[0, : len(ids)] = ids
    row[1, : len(ids)] = encoding.attention_mask[:length]
    return row


def length_buckets(longest: int, smallest: int = SMALLEST_BUCKET) -> tuple[int, ...]:
    """Sequence lengths compiled: ``smallest``, doubling, up to ``longest``.

    >>> length_buckets(128), length_buckets(100), length_buckets(8)
    ((16, 32, 64, 128), (16, 32, 64, 100), (8,))
    """
    longest = check_int(longest, func="kino.models", argument="sequence_length", min=1)
    sizes = []
    size = smallest
    while size < longest:
        sizes.append(size)
        size *= 2
    return (*sizes, longest)


def check_lengths(lengths: Any, *, limit: int, func: str) -> tuple[int, ...]:
    """``sequence_lengths`` as sorted ints from 1 to ``limit`` (the model's positions).

    >>> check_lengths((64, 16), limit=512, func="f")
    (16, 64)
    >>> check_lengths([600], limit=512, func="f")
    Traceback (most recent call last):
    ...
    ValueError: f: 'sequence_lengths' must be ints from 1 to 512 (the model's ...), got list: [600]
    """
    allowed = f"ints from 1 to {limit} (the model's positions)"
    if isinstance(lengths, int) and not isinstance(lengths, bool):
        lengths = (lengths,)
    if not isinstance(lengths, Sequence) or isinstance(lengths, str) or not lengths:
        fail(func, "sequence_lengths", allowed, lengths)
    if not all(isinstance(n, int) and not isinstance(n, bool) for n in lengths):
        fail(func, "sequence_lengths", allowed, lengths)
    if not all(1 <= n <= limit for n in lengths):
        fail(func, "sequence_lengths", allowed, lengths, ValueError)
    return tuple(sorted(set(lengths)))
