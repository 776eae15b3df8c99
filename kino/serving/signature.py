"""The shape and dtype of one request's row, and the check every request passes.

A row is a pytree of arrays (one example, without the batch axis). Requests are
checked against it before they are queued, so a wrong shape or dtype is refused
at the call with a message naming what was expected, never inside a batch.
A list is one array (as JSON gives it); tuples, dicts and other pytrees are trees.

>>> import numpy as np
>>> sig = Signature.of(np.zeros(3, np.float32))
>>> sig.describe()
'a row of shape (3,) float32'
>>> sig.check([1, 2, 3], func="Server.predict")[0].dtype
dtype('float32')
>>> sig.check(np.zeros(4), func="Server.predict")
Traceback (most recent call last):
...
kino.serving.errors.InvalidInput: Server.predict: 'x' must be a row of shape (3,) float32, \
got ndarray: shape (4,) float64
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import jax
import numpy as np

from kino.serving.errors import InvalidInput


@dataclass(frozen=True)
class Signature:
    """The tree structure, shapes and dtypes of one row (batch axis excluded).

    >>> import numpy as np
    >>> Signature.of({"a": np.zeros((2, 2)), "b": np.int32(1)}).describe()
    "a row of {['a']: (2, 2) float64, ['b']: () int32}"
    """

    treedef: Any
    shapes: tuple[tuple[int, ...], ...]
    dtypes: tuple[np.dtype, ...]

    @classmethod
    def of(cls, example: Any) -> Signature:
        """The signature of one example row (arrays, or anything ``np.asarray`` reads).

        >>> Signature.of([0.0, 1.0]).shapes
        ((2,),)
        """
        leaves, treedef = jax.tree.flatten(example, is_leaf=_is_list)
        arrays = [np.asarray(leaf) for leaf in leaves]
        if not arrays:
            raise InvalidInput("kino.serving: 'example' must hold at least one array, got none")
        return cls(treedef, tuple(a.shape for a in arrays), tuple(a.dtype for a in arrays))

    def describe(self) -> str:
        """The expected row in words, as error messages show it.

        >>> Signature.of(np.zeros((8, 8), np.uint8)).describe()
        'a row of shape (8, 8) uint8'
        """
        parts = [f"{s} {d}" for s, d in zip(self.shapes, self.dtypes, strict=True)]
        if self.treedef.num_leaves == 1 and self.treedef.num_nodes == 1:
            return f"a row of shape {parts[0]}"
        paths, _ = jax.tree_util.tree_flatten_with_path(
            jax.tree.unflatten(self.treedef, range(len(parts)))
        )
        fields = ", ".join(f"{jax.tree_util.keystr(path)}: {parts[i]}" for path, i in paths)
        return f"a row of {{{fields}}}"

    def check(self, row: Any, *, func: str) -> list[np.ndarray]:
        """The row's leaves as arrays of the expected dtypes, or ``InvalidInput`` naming the shape.

        A dtype is accepted when it converts within its kind (ints to floats, float64 to
        float32); a float where an int is expected is refused.

        >>> Signature.of(np.zeros(2, np.int32)).check([0.5, 1.5], func="Serving.run")
        Traceback (most recent call last):
        ...
        kino.serving.errors.InvalidInput: Serving.run: 'x' must be a row of shape (2,) int32, \
got list: shape (2,) float64
        """
        if (
            type(row) is np.ndarray
            and len(self.shapes) == 1
            and row.shape == self.shapes[0]
            and row.dtype == self.dtypes[0]
            and self.treedef.num_nodes == 1
        ):
            return [row]  # the common case, without walking a tree
        leaves, treedef = jax.tree.flatten(row, is_leaf=_is_list)
        if treedef != self.treedef:
            raise InvalidInput(
                f"{func}: 'x' must be {self.describe()}, got {type(row).__name__} "
                f"with structure {treedef}"
            )
        out = []
        for leaf, shape, dtype in zip(leaves, self.shapes, self.dtypes, strict=True):
            try:
                array = np.asarray(leaf)
            except (TypeError, ValueError) as error:
                raise InvalidInput(
                    f"{func}: 'x' must be {self.describe()}, got {type(leaf).__name__} that is "
                    f"not an array ({error})"
                ) from None
            if array.shape != shape or not np.can_cast(array.dtype, dtype, "same_kind"):
                raise InvalidInput(
                    f"{func}: 'x' must be {self.describe()}, got {type(leaf).__name__}: "
                    f"shape {array.shape} {array.dtype}"
                )
            out.append(array.astype(dtype, copy=False))
        return out

    def block(self, rows: Any) -> list[np.ndarray] | None:
        """Rows already stacked (an array of rows of a one-array signature) as leaves, or None.

        One check for all the rows, and no copy when the dtype already matches; anything
        else (a list of rows, a tree) is checked row by row with :meth:`check`.

        >>> sig = Signature.of(np.zeros(3, np.float32))
        >>> [a.shape for a in sig.block(np.ones((5, 3)))], sig.block([np.ones(3)])
        ([(5, 3)], None)
        """
        if (
            type(rows) is not np.ndarray
            or len(self.shapes) != 1
            or self.treedef.num_nodes != 1
            or rows.shape[1:] != self.shapes[0]
            or rows.ndim != len(self.shapes[0]) + 1
            or not np.can_cast(rows.dtype, self.dtypes[0], "same_kind")
        ):
            return None
        return [rows.astype(self.dtypes[0], copy=False)]

    def batch_spec(self, size: int, sharding: Any) -> Any:
        """Abstract arrays of ``size`` rows on ``sharding``: what a program is compiled for.

        >>> spec = Signature.of(np.zeros(3, np.float32)).batch_spec(4, None)
        >>> spec.shape, str(spec.dtype)
        ((4, 3), 'float32')
        """
        leaves = [
            jax.ShapeDtypeStruct((size, *shape), dtype, sharding=sharding)
            for shape, dtype in zip(self.shapes, self.dtypes, strict=True)
        ]
        return jax.tree.unflatten(self.treedef, leaves)


def _is_list(value: Any) -> bool:
    """Lists are read as arrays, not as pytree nodes (JSON rows are lists)."""
    return isinstance(value, list)
