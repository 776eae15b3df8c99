"""One device's compiled copy of a serving: parameters placed there, one program per bucket.

Every bucket (1, 2, 4, ..., batch_size rows) is compiled ahead of time with
``jax.jit(...).lower(...).compile()``, so a batch never compiles: a compiled
program only accepts the shapes it was built for. A batch of ``n`` rows runs in
the smallest bucket that holds it, padded with copies of its first row (never
zeros, which could make a NaN), and only its first ``n`` output rows are read.

>>> import jax, numpy as np
>>> from kino.serving.signature import Signature

_LEAF = jax.tree.structure(0)
>>> program = Program(lambda x: x * 2, Signature.of(np.zeros(2, np.float32)), (1, 2, 4),
...                   jax.devices()[0])
>>> [row.tolist() for row in program([[np.ones(2, np.float32)]] * 3)]
[[2.0, 2.0], [2.0, 2.0], [2.0, 2.0]]
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Sequence
from typing import Any

import jax
import numpy as np
from jax.sharding import SingleDeviceSharding

from kino.serving.signature import Signature

#: The structure of an output that is one array.
_LEAF = jax.tree.structure(0)


def buckets(batch_size: int) -> tuple[int, ...]:
    """The batch sizes a serving compiles: powers of two below ``batch_size``, then it.

    >>> buckets(12)
    (1, 2, 4, 8, 12)
    >>> buckets(1)
    (1,)
    """
    sizes = []
    size = 1
    while size < batch_size:
        sizes.append(size)
        size *= 2
    return (*sizes, batch_size)


def as_apply(fn: Any) -> tuple[Callable[[Any, Any], Any], Any]:
    """``fn`` as a pure ``apply(params, batch)`` and its parameters.

    A ``flax.nnx`` module is split once into its graph and state; it runs in
    evaluation mode (dropout off) on a merged copy, so the caller's module is never
    touched. Any other callable (a function, a jitted function) has no parameters.

    >>> apply, params = as_apply(lambda x: x + 1)
    >>> params is None, int(apply(params, 1))
    (True, 2)
    """
    from flax import nnx

    if isinstance(fn, nnx.Module):
        graphdef, state = nnx.split(fn)

        def apply(params: Any, batch: Any) -> Any:
            module = nnx.merge(graphdef, params)
            module.eval()
            return module(batch)

        return apply, state
    return (lambda _params, batch: fn(batch)), None


class Program:
    """The compiled buckets of ``fn`` on one device, holding its own copy of the parameters.

    >>> import jax, numpy as np
    >>> from kino.serving.signature import Signature
    >>> p = Program(lambda x: x.sum(-1), Signature.of(np.zeros(3)), (1, 2), jax.devices()[0])
    >>> p.device == jax.devices()[0], sorted(p.compiled)
    (True, [1, 2])
    """

    def __init__(
        self, fn: Any, signature: Signature, sizes: Sequence[int], device: jax.Device
    ) -> None:
        apply, params = as_apply(fn)
        self.device = device
        self.signature = signature
        self.sizes = tuple(sizes)
        self._sharding = SingleDeviceSharding(device)
        # The parameters as a flat list of arrays: a call flattens it without the Python
        # callbacks of a module's state tree (a few microseconds a batch).
        leaves, tree = jax.tree.flatten(params)
        self.params = jax.device_put(leaves, device)

        def flat_apply(leaves: list[Any], batch: Any) -> Any:
            return apply(jax.tree.unflatten(tree, leaves), batch)

        jitted = jax.jit(flat_apply)
        self.compiled = {
            size: jitted.lower(self.params, signature.batch_spec(size, self._sharding)).compile()
            for size in self.sizes
        }

    def __call__(self, rows: Sequence[list[np.ndarray]]) -> list[Any]:
        """Run checked rows (each a list of leaves) as one batch; one output row per row."""
        block = [np.stack(column) for column in zip(*rows, strict=True)]
        return self.run([block]).rows(0, len(rows))

    def run(self, blocks: Sequence[Sequence[np.ndarray]]) -> Outputs:
        """Run blocks of rows (each a list of leaves with a leading row axis) as one batch.

        The blocks are concatenated into the smallest bucket that holds them (a single
        block that fills its bucket is passed as it is, without a copy), padded with
        copies of the first row; the compiled program takes the host arrays itself.

        >>> import jax, numpy as np
        >>> from kino.serving.signature import Signature
        >>> p = Program(lambda x: x + 1, Signature.of(np.zeros(())), (1, 4), jax.devices()[0])
        >>> [float(a) for a in p.run([[np.zeros(2)], [np.ones(1)]]).rows(0, 3)]
        [1.0, 1.0, 2.0]
        """
        n = sum(len(block[0]) for block in blocks)
        size = self.sizes[bisect.bisect_left(self.sizes, n)]
        if len(blocks) == 1 and n == size:
            leaves = list(blocks[0])
        else:
            pad = size - n
            leaves = [
                np.concatenate([block[j] for block in blocks] + [blocks[0][j][:1]] * pad)
                for j in range(len(self.signature.shapes))
            ]
        one = self.signature.treedef.num_nodes == 1  # a row of one array: no tree to walk
        batch = leaves[0] if one else jax.tree.unflatten(self.signature.treedef, leaves)
        out = self.compiled[size](self.params, batch)
        if isinstance(out, jax.Array):
            return Outputs([np.asarray(out)], _LEAF)
        out_leaves, treedef = jax.tree.flatten(out)
        return Outputs([np.asarray(leaf) for leaf in out_leaves], treedef)


class Outputs:
    """The host copy of one batch's outputs, read row by row (padding rows never read).

    >>> import jax, numpy as np
    >>> out = Outputs([np.arange(6).reshape(3, 2)], jax.tree.structure(0))
    >>> [r.tolist() for r in out.rows(1, 3)]
    [[2, 3], [4, 5]]
    >>> Outputs([np.arange(2), np.ones(2)], jax.tree.structure((0, 0))).rows(1, 2)
    [(np.int64(1), np.float64(1.0))]
    """

    def __init__(self, leaves: list[np.ndarray], treedef: Any) -> None:
        self.leaves = leaves
        self.treedef = treedef

    def rows(self, start: int, stop: int) -> list[Any]:
        """Output rows ``start`` to ``stop`` (a single array's rows are views of it)."""
        if self.treedef.num_nodes == 1:
            return list(self.leaves[0][start:stop])
        unflatten, leaves = self.treedef.unflatten, self.leaves
        return [unflatten([leaf[i] for leaf in leaves]) for i in range(start, stop)]
