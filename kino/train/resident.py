"""Data that lives on the device for the whole run: placed once, batches drawn by index.

:class:`DeviceSource` puts ``x`` and ``y`` on the device once (split along their rows
over the mesh when there are several devices). Each epoch's order is a permutation
made on the device from the data's seed and the epoch number, so it is the same on
every run, every process and after a resume; each dispatch then sends only the
numbers of its batches, and the compiled program slices the permutation and gathers
the rows itself. Nothing of the data crosses from the host after the first placement.

Whether data goes there is decided by :func:`fits`: its bytes (per device) against a
fraction of the device's free memory (on a CPU, the host's available memory).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator

import jax
import jax.numpy as jnp
import numpy as np

from kino.train.data import Batches, Chunk

DEVICE_MEMORY_FRACTION = 0.5
"""Default share of a device's free memory that training data may take to stay on it."""


def free_bytes(device: jax.Device) -> int:
    """Free memory of ``device`` in bytes (a CPU device: the host's available memory).

    Example:
        >>> import jax
        >>> free_bytes(jax.devices()[0]) > 0
        True
    """
    stats = device.memory_stats() or {}
    if "bytes_limit" in stats:
        return int(stats["bytes_limit"]) - int(stats.get("bytes_in_use", 0))
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


def footprint(b: Batches, placement) -> tuple[int, int]:
    """``(bytes each device would hold, free bytes of the fullest device)`` for ``b``.

    CPU devices share the host's memory, so there the whole data set counts once.

    Example:
        >>> import numpy as np
        >>> from kino.train.data import batches
        >>> from kino.train.sharding import Placement
        >>> footprint(batches(np.zeros((100, 3), "float32"), np.zeros(100, "int32")),
        ...           Placement())[0]
        1600
    """
    # under jax.distributed a process can only ask about the devices it drives
    devices = placement.local_devices
    if all(d.platform == "cpu" for d in devices):
        return b.nbytes, free_bytes(devices[0])
    return -(-b.nbytes // placement.shards), min(free_bytes(d) for d in devices)


def fits(b: Batches, placement, fraction: float = DEVICE_MEMORY_FRACTION) -> bool:
    """True when ``b``'s arrays take at most ``fraction`` of the devices' free memory.

    Example:
        >>> import numpy as np
        >>> from kino.train.data import batches
        >>> from kino.train.sharding import Placement
        >>> fits(batches(np.zeros((100, 3)), np.zeros(100)), Placement())
        True
    """
    need, free = footprint(b, placement)
    return need <= fraction * free


@functools.partial(jax.jit, static_argnames=("n", "shuffle"))
def _order(seed, epoch, *, n: int, shuffle: bool):
    if not shuffle:
        return jnp.arange(n, dtype=jnp.int32)
    key = jax.random.fold_in(jax.random.key(seed), epoch)
    return jax.random.permutation(key, n).astype(jnp.int32)


class DeviceSource:
    """Batches whose arrays live on the device; each dispatch sends its batch numbers only.

    ``x``/``y`` are the placed arrays (padded rows past ``n`` when split over devices);
    ``batch`` is the batch size and ``width`` the rows per batch the program sees (batch
    rounded up to a multiple of the device count: a short batch repeats its rows there,
    with weight 0).

    Example:
        >>> import numpy as np
        >>> from kino.train.data import batches
        >>> from kino.train.sharding import Placement
        >>> src = DeviceSource(batches(np.zeros((10, 2)), np.arange(10), batch_size=4, seed=1),
        ...                    Placement())
        >>> sorted(np.asarray(src.order(1)).tolist()) == list(range(10))
        True
        >>> [c.ids.tolist() for c in src.chunks(1, None, 2)]
        [[0, 1], [2]]
    """

    indexed = True
    on_device = True

    def __init__(self, b: Batches, placement):
        self.b = b
        self.placement = placement
        self.x = placement.put_rows(b.x)
        self.y = placement.put_rows(b.y)
        # the copy runs asynchronously; left running, it would slow the first epoch (its
        # pages written while the first dispatches read them): placing is the run's setup
        jax.block_until_ready((self.x, self.y))
        self.n, self.batch = b.size, b.batch_size
        self.width = placement.round(b.batch_size)

    def __len__(self) -> int:
        return len(self.b)

    def steps(self) -> int:
        """Batches per epoch."""
        return len(self.b)

    def example(self):
        rows = np.resize(np.arange(min(self.batch, self.n)), self.width)
        return (
            np.asarray(jax.device_get(self.b.x[rows])),
            np.asarray(jax.device_get(self.b.y[rows])),
        )

    def inputs(self, chunk: Chunk) -> tuple[tuple, dict]:
        """What a resident program takes for ``chunk``: ``(x, y, order, ids)`` and its statics.

        The train and eval dispatches both draw their batches from these.
        """
        return (self.x, self.y, chunk.order, chunk.ids), {"batch": self.batch, "width": self.width}

    def order(self, epoch: int) -> jax.Array:
        """The example order of a (1-based) epoch, made on the device from (seed, epoch)."""
        seed = np.uint32(self.b.seed % 2**32)
        order = _order(seed, np.int32(epoch), n=self.n, shuffle=self.b.shuffle)
        return self.placement.replicate(order) if self.placement.mesh is not None else order

    def chunks(self, epoch: int, limit: int | None, k: int) -> Iterator[Chunk]:
        order = self.order(epoch)
        n = len(self) if limit is None else min(limit, len(self))
        k = -(-n // -(-n // k))  # balanced: 40 batches with k=32 run as 20 + 20, one compilation
        for start in range(0, n, k):
            stop = min(start + k, n)
            yield Chunk(stop - start, None, order=order, ids=np.arange(start, stop, dtype=np.int32))
