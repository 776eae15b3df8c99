"""Colour scales of a heatmap: one for the whole slice, or one per column.

A table of features (penguins' bill depth in mm next to body mass in g) under one
colour scale shows every small-valued column as one flat colour. Such a matrix is
coloured per column by default: each column from its own minimum to its maximum.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from kino.ui.inspect.stats import kind_of

__all__ = ["COLUMN_RANGE_RATIO", "SCALES", "TABULAR_MAX_COLUMNS", "column_ranges", "default_scale"]

SCALES = ("all", "columns")
"""Colour scales of the heatmap: one for the whole slice, or one per column."""

TABULAR_MAX_COLUMNS = 64
"""A 2-d array with at least twice as many rows as columns, and at most this many
columns, is a table (rows of samples, columns of features)."""

COLUMN_RANGE_RATIO = 100.0
"""A table whose column ranges differ by this factor or more is coloured per column."""


@jax.jit
def _column_ranges(x: jax.Array) -> jax.Array:
    v = x.astype(jnp.float32)
    finite = jnp.isfinite(v)
    hi = jnp.max(jnp.where(finite, v, -jnp.inf), axis=0)
    lo = jnp.min(jnp.where(finite, v, jnp.inf), axis=0)
    return jnp.where(jnp.any(finite, axis=0), hi - lo, 0.0)


def column_ranges(x: jax.Array) -> list[float]:
    """Max minus min of each column's finite values (0 for a column with none).

    >>> column_ranges(jnp.array([[1.0, 10.0], [3.0, jnp.nan], [2.0, 50.0]]))
    [2.0, 40.0]
    """
    return [float(r) for r in jax.device_get(_column_ranges(x))]


def is_tabular(shape: tuple[int, ...] | list[int]) -> bool:
    """Whether a shape reads as a table of features: 2-d, 2 to 64 columns, twice as many rows.

    >>> is_tabular((333, 4)), is_tabular((8, 8)), is_tabular((64, 48)), is_tabular((784, 256))
    (True, False, False, False)
    """
    return len(shape) == 2 and 2 <= shape[1] <= TABULAR_MAX_COLUMNS and shape[0] >= 2 * shape[1]


def default_scale(x: jax.Array) -> str:
    """``"columns"`` for a real table whose columns' ranges differ by ``COLUMN_RANGE_RATIO``
    or more (constant columns aside), else ``"all"``.

    >>> table = jnp.stack([jnp.linspace(13, 21, 50), jnp.linspace(2700, 6300, 50)], axis=1)
    >>> default_scale(table), default_scale(jnp.ones((50, 2))), default_scale(jnp.ones((8, 8)))
    ('columns', 'all', 'all')
    """
    if not is_tabular(x.shape) or kind_of(x.dtype) not in ("float", "int"):
        return "all"
    spread = [r for r in column_ranges(x) if r > 0]
    if len(spread) < 2:
        return "all"
    return "columns" if max(spread) >= COLUMN_RANGE_RATIO * min(spread) else "all"
