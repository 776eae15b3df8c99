"""A padded batch's real tokens packed into one flat array, so padding costs nothing.

A batch of sentences padded to its longest spends most of an encoder's work (the
linear layers and the feed-forward block, which treat every token alone) on padding.
:class:`Packed` records where the unmasked tokens of a ``[rows, length]`` batch lie in a
flat array of ``size`` tokens (``size`` at least their number, static for ``jax.jit``):
the per-token layers run on ``[size, width]``, and attention, the one step that mixes
tokens, spreads its inputs back to ``[rows, length]``, attends, and packs the result.

>>> import numpy as np
>>> layout = Packed(np.array([[1, 1, 0], [1, 0, 0]]), size=4)
>>> x = np.arange(6.0).reshape(2, 3, 1)
>>> layout.pack(x)[:, 0].tolist(), layout.spread(layout.pack(x))[..., 0].tolist()
([0.0, 1.0, 3.0, 0.0], [[0.0, 1.0, 0.0], [3.0, 0.0, 0.0]])
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp


class Packed:
    """Where the unmasked tokens of a ``[rows, length]`` mask lie in ``size`` packed slots.

    Built inside a traced function (``size`` is static). Packing keeps the tokens'
    order (row by row); slots past the last token are padding that nothing reads.

    >>> import numpy as np
    >>> layout = Packed(np.array([[1, 1], [1, 0]]), size=3)
    >>> layout.mean(np.array([[2.0], [4.0], [5.0]])).tolist()
    [[3.0], [5.0]]
    """

    def __init__(self, mask: Any, *, size: int) -> None:
        self.mask = jnp.asarray(mask, bool)
        self.rows, self.length = self.mask.shape
        self.size = size
        flat = self.mask.reshape(-1)
        self.lengths = jnp.sum(self.mask, axis=1)
        (self.tokens,) = jnp.nonzero(flat, size=size, fill_value=flat.shape[0])
        self.valid = self.tokens < flat.shape[0]
        # padding slots fall in segment `rows`, which segment_sum drops
        self.segments = jnp.where(self.valid, self.tokens // self.length, self.rows)
        slot = (jnp.cumsum(flat) - 1).reshape(self.mask.shape)
        self.back = jnp.where(self.mask, slot, size)

    def pack(self, x: jax.Array) -> jax.Array:
        """``[rows, length, ...]`` → ``[size, ...]``, the unmasked tokens in order."""
        flat = jnp.reshape(jnp.asarray(x), (self.rows * self.length, *jnp.shape(x)[2:]))
        return flat.at[self.tokens].get(mode="fill", fill_value=0)

    def spread(self, x: jax.Array) -> jax.Array:
        """``[size, ...]`` → ``[rows, length, ...]``, zeros where the mask is off."""
        return jnp.asarray(x).at[self.back].get(mode="fill", fill_value=0)

    def first(self, x: jax.Array) -> jax.Array:
        """Each row's first token's state, ``[rows, ...]`` (BERT's ``[CLS]``)."""
        return jnp.asarray(x).at[self.back[:, 0]].get(mode="fill", fill_value=0)

    def mean(self, x: jax.Array) -> jax.Array:
        """Each row's mean over its tokens, ``[rows, width]`` (float32)."""
        x = jnp.asarray(x, jnp.float32)
        summed = jax.ops.segment_sum(x, self.segments, num_segments=self.rows)
        return summed / jnp.maximum(self.lengths, 1)[:, None].astype(jnp.float32)


def token_buckets(rows: int, length: int, steps: int = 8) -> tuple[int, ...]:
    """Packed sizes compiled for a ``rows`` x ``length`` batch: ``steps`` equal steps up to full.

    >>> token_buckets(32, 28)
    (112, 224, 336, 448, 560, 672, 784, 896)
    >>> token_buckets(1, 3)
    (1, 2, 3)
    """
    full = rows * length
    step = -(-full // steps)
    return tuple(sorted({min(step * k, full) for k in range(1, steps + 1)}))
