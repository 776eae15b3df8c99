"""One device's compiled copy of a serving: parameters placed there, one program per bucket.

Every bucket (1, 2, 4, ..., batch_size rows) is compiled ahead of time with
``jax.jit(...).lower(...).compile()``, so a batch never compiles: a compiled
program only accepts the shapes it was built for. A batch of ``n`` rows runs in
the smallest bucket that holds it, padded with copies of its first row (never
zeros, which could make a NaN), and only its first ``n`` output rows are read.

>>> import jax, numpy as np
>>> from kino.serving.signature import Signature
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
        self.params = jax.device_put(params, device)
        jitted = jax.jit(apply)
        self.compiled = {
            size: jitted.lower(self.params, signature.batch_spec(size, self._sharding)).compile()
            for size in self.sizes
        }

    def __call__(self, rows: Sequence[list[np.ndarray]]) -> list[Any]:
        """Run checked rows (each a list of leaves) as one batch; one output row per row."""
        n = len(rows)
        size = self.sizes[bisect.bisect_left(self.sizes, n)]
        padded = list(rows) + [rows[0]] * (size - n)
        leaves = [np.stack(column) for column in zip(*padded, strict=True)]
        batch = jax.device_put(jax.tree.unflatten(self.signature.treedef, leaves), self._sharding)
        out = jax.device_get(self.compiled[size](self.params, batch))
        if isinstance(out, np.ndarray):
            return list(out[:n])
        return [jax.tree.map(lambda a, i=i: a[i], out) for i in range(n)]
