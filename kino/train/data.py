"""Feeding data: ``train.batches`` and the chunk plans the loop dispatches.

Arrays that fit the device stay there (:mod:`kino.train.resident`; the choice is
:func:`kino.train.feed.source`'s). Larger data and arbitrary iterables of ``(x, y)``
batches are stacked on the host here (:class:`HostSource`), several batches per
dispatch, and assembled ahead of the loop (:mod:`kino.train.prefetch`). Every batch has the same
shape: a short last batch is padded with repeated rows whose weight is 0, so
one compiled step serves the whole run and padding never changes a mean.

A ``batch_size`` larger than the data is reduced to the number of examples (as
Keras does), so buffers follow the data, never the argument. An iterable without
``__len__`` (a generator, a stream) trains with an unknown number of steps per
epoch (:meth:`HostSource.steps` is ``None``); an exception it raises reaches the
caller unchanged. Every batch of an iterable must have the per-example shapes of
its first batch.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import jax
import numpy as np

from kino.contracts import check_int, fail


def as_array(a, name: str, func: str = "train.batches"):
    """numpy/jax arrays stay as they are; polars frames/series and lists become numpy."""
    if isinstance(a, jax.Array | np.ndarray):
        return a
    if hasattr(a, "to_numpy"):
        return np.asarray(a.to_numpy())
    if isinstance(a, list | tuple):
        return np.asarray(a)
    fail(func, name, "a numpy/jax array, a polars DataFrame/Series or a list", a)


class Batches:
    """Mini-batches of ``(x, y)``, reshuffled every epoch (see :func:`batches`)."""

    def __init__(
        self,
        x,
        y,
        batch_size: int = 32,
        shuffle: bool = True,
        seed: int = 0,
        drop_remainder: bool = False,
    ):
        self.x = as_array(x, "x")
        self.y = as_array(y, "y")
        batch_size = check_int(batch_size, func="train.batches", argument="batch_size", min=1)
        if self.x.ndim == 0 or self.y.ndim == 0:
            raise ValueError("x and y must have a leading example axis")
        if self.x.shape[0] != self.y.shape[0]:
            raise ValueError(
                "x and y have different numbers of examples: "
                f"{self.x.shape[0]} and {self.y.shape[0]}"
            )
        if self.x.shape[0] == 0:
            raise ValueError("data is empty: x and y have 0 examples")
        if drop_remainder and self.x.shape[0] < batch_size:
            raise ValueError(
                f"data is empty after drop_remainder: {self.x.shape[0]} examples < "
                f"batch_size {batch_size}"
            )
        # never more rows per batch than there are examples: buffers follow the data
        self.batch_size = min(batch_size, int(self.x.shape[0]))
        self.shuffle = bool(shuffle)
        self.seed = int(seed)
        self.drop_remainder = bool(drop_remainder)

    @property
    def size(self) -> int:
        """Number of examples."""
        return int(self.x.shape[0])

    def __len__(self) -> int:
        n, b = self.size, self.batch_size
        return n // b if self.drop_remainder else -(-n // b)

    @property
    def nbytes(self) -> int:
        return int(self.x.size * self.x.dtype.itemsize + self.y.size * self.y.dtype.itemsize)

    def order(self, epoch: int) -> np.ndarray:
        """Example order of a (1-based) epoch: permuted with seed (seed, epoch) if shuffling."""
        if not self.shuffle:
            return np.arange(self.size)
        return np.random.default_rng([self.seed, int(epoch)]).permutation(self.size)

    def __iter__(self) -> Iterator[tuple]:
        """Yield the batches of epoch 1 (host arrays, last batch possibly short)."""
        return self.epoch_batches(1)

    def epoch_batches(self, epoch: int) -> Iterator[tuple]:
        """Yield the batches of a (1-based) epoch in that epoch's order."""
        order = self.order(epoch)
        for i in range(len(self)):
            rows = order[i * self.batch_size : (i + 1) * self.batch_size]
            yield _take(self.x, rows), _take(self.y, rows)

    def __repr__(self) -> str:
        return (
            f"Batches({self.size} examples, batch_size={self.batch_size}, "
            f"shuffle={self.shuffle}, seed={self.seed})"
        )


def _take(a, rows):
    return a[np.asarray(rows)] if isinstance(a, np.ndarray) else np.asarray(a)[np.asarray(rows)]


def batches(
    x, y, batch_size: int = 32, shuffle: bool = True, seed: int = 0, drop_remainder: bool = False
) -> Batches:
    """Mini-batches of ``(x, y)`` for :meth:`Trainer.run`, reshuffled each epoch.

    ``x``/``y`` are numpy or jax arrays, polars DataFrames/Series or lists.

    Example:
        >>> import numpy as np
        >>> b = batches(np.zeros((10, 3)), np.zeros(10), batch_size=4, shuffle=False)
        >>> len(b), [xb.shape[0] for xb, _ in b]
        (3, [4, 4, 2])
    """
    return Batches(x, y, batch_size, shuffle, seed, drop_remainder)


def wrap(data, *, batch_size: int, shuffle: bool, seed: int, func: str):
    """Accept Batches, an ``(x, y)`` pair of whole arrays, or an iterable of ``(x, y)`` batches."""
    if isinstance(data, Batches):
        return data
    if isinstance(data, tuple) and len(data) == 2 and all(_is_table(a) for a in data):
        return Batches(data[0], data[1], batch_size, shuffle, seed)
    if isinstance(data, Iterable) and not isinstance(data, str | bytes | dict):
        return data
    fail(
        func,
        "data",
        "train.batches(x, y, ...), an (x, y) pair of arrays or an iterable of (x, y) batches",
        data,
    )


def _is_table(a) -> bool:
    return isinstance(a, jax.Array | np.ndarray) or hasattr(a, "to_numpy")


@dataclass
class Chunk:
    """One dispatch: ``k`` steps.

    Either batch numbers ``ids`` into an epoch ``order`` of device-resident data
    (:mod:`kino.train.resident`), or stacked host batches ``xs``/``ys`` with weights ``w``.
    """

    k: int
    w: jax.Array | None
    xs: jax.Array | None = None
    ys: jax.Array | None = None
    order: jax.Array | None = None
    ids: np.ndarray | None = None


class HostSource:
    """Any iterable of ``(x, y)`` batches (or Batches too big for the device), stacked."""

    indexed = False
    on_device = False

    def __init__(self, data, placement, epochs: int):
        self.data = data
        self.placement = placement
        self.one_shot = iter(data) is data if not isinstance(data, Batches) else False
        if self.one_shot and epochs > 1:
            raise TypeError(
                "data is a one-shot iterator, so it cannot be replayed for several epochs; "
                "pass a list, train.batches(x, y, ...) or an object whose __iter__ starts over"
            )
        self._first = None
        it = iter(data)
        try:
            first = next(it)
        except StopIteration:
            raise ValueError("data is empty: it yields no batches") from None
        self._first = _pair(first)
        self._example = (self._first[0].shape[1:], self._first[1].shape[1:])
        self._rest = it if self.one_shot else None

    def steps(self) -> int | None:
        """Batches per epoch, or ``None`` when the data has no ``__len__`` (a stream)."""
        try:
            return len(self.data)
        except TypeError:
            return None

    def example(self):
        x, y = self._first
        b = x.shape[0]
        rows = np.resize(np.arange(b), self.placement.round(b))
        return x[rows], y[rows]

    def _batches(self, epoch: int):
        if self.one_shot:
            if self._first is not None:
                first, self._first = self._first, None
                yield first
            for item in self._rest:
                yield _pair(item)
        else:
            for item in self.data:
                yield _pair(item)

    def chunks(self, epoch: int, limit: int | None, k: int) -> Iterator[Chunk]:
        if isinstance(self.data, Batches):
            yield from self._gathered(epoch, limit, k)
            return
        group: list = []
        width = current = None
        count = 0
        ex, ey = self._example
        for x, y in self._batches(epoch):
            if limit is not None and count >= limit:
                break
            count += 1
            b = x.shape[0]
            if b == 0:
                raise ValueError("data yielded an empty batch")
            if x.shape[1:] != ex or y.shape[1:] != ey:
                raise ValueError(
                    f"batch {count} of epoch {epoch} has x {x.shape[1:]} and y {y.shape[1:]} "
                    f"per example, but the first batch had x {ex} and y {ey}; every batch "
                    "must have the same per-example shapes"
                )
            shape = (x.shape[1:], y.shape[1:], x.dtype, y.dtype)
            changed = width is None or b > width or shape != current
            if group and changed:
                yield self._stack(group)
                group = []
            if changed:
                width, current = self.placement.round(b), shape
            rows = np.resize(np.arange(b), width)
            w = np.zeros(width, np.float32)
            w[:b] = 1.0
            group.append((x[rows], y[rows], w, shape))
            if len(group) == k:
                yield self._stack(group)
                group = []
        if group:
            yield self._stack(group)
        if count == 0:
            raise ValueError(f"data is empty in epoch {epoch}: it yields no batches")

    def _gathered(self, epoch: int, limit: int | None, k: int) -> Iterator[Chunk]:
        """Arrays: each dispatch's ``k`` batches taken from x and y in one gather apiece."""
        b = self.data
        x, y = np.asarray(b.x), np.asarray(b.y)
        order = b.order(epoch)
        n = len(b) if limit is None else min(limit, len(b))
        lane = np.arange(self.placement.round(b.batch_size))
        p = self.placement
        for start in range(0, n, k):
            steps = range(start, min(start + k, n))
            idx = np.empty((len(steps), len(lane)), np.intp)
            w = np.zeros(idx.shape, np.float32)
            for j, i in enumerate(steps):
                rows = order[i * b.batch_size : (i + 1) * b.batch_size]
                idx[j] = rows[lane % len(rows)]  # a short batch repeats its rows, weight 0
                w[j, : len(rows)] = 1.0
            xs, ys = np.take(x, idx, axis=0), np.take(y, idx, axis=0)
            yield Chunk(len(steps), p.shard_batch(w), xs=p.shard_batch(xs), ys=p.shard_batch(ys))

    def _stack(self, group) -> Chunk:
        xs = np.stack([g[0] for g in group])
        ys = np.stack([g[1] for g in group])
        w = np.stack([g[2] for g in group])
        p = self.placement
        return Chunk(len(group), p.shard_batch(w), xs=p.shard_batch(xs), ys=p.shard_batch(ys))


def _pair(item):
    if not (isinstance(item, tuple | list) and len(item) == 2):
        raise TypeError(f"each batch must be an (x, y) pair, got {type(item).__name__}")
    x, y = (np.asarray(as_array(a, n)) for a, n in zip(item, ("x", "y"), strict=True))
    if x.ndim == 0 or y.ndim == 0 or x.shape[0] != y.shape[0]:
        raise ValueError(
            f"batch x and y must share a leading batch axis, got shapes {x.shape} and {y.shape}"
        )
    return x, y
