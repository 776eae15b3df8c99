"""Where arrays live: one device, or a data-parallel ``jax.sharding.Mesh``.

With more than one device, every batch is split along its example axis over
the mesh axis ``"data"`` and parameters/optimizer state are replicated; XLA
inserts the gradient all-reduce. Batches are padded (with weight-0 rows) to a
multiple of the device count, so any batch size works.
"""

from __future__ import annotations

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

AXIS = "data"
"""Name of the mesh axis that batches are split over."""


class Placement:
    """Puts state, data and batches on the devices of a mesh (or the default device)."""

    def __init__(self, devices=None):
        devices = list(jax.devices() if devices is None else devices)
        if not devices:
            raise ValueError("devices must name at least one device")
        self.devices = devices
        self.mesh = Mesh(np.array(devices), (AXIS,)) if len(devices) > 1 else None

    @property
    def shards(self) -> int:
        return len(self.devices)

    def round(self, batch: int) -> int:
        """Batch size rounded up to a multiple of the device count."""
        return -(-batch // self.shards) * self.shards

    def _sharding(self, spec):
        return NamedSharding(self.mesh, spec) if self.mesh is not None else self.devices[0]

    def replicate(self, tree):
        """Copy a pytree onto every device (fresh buffers, safe to donate)."""
        s = self._sharding(PartitionSpec())
        return jax.tree.map(lambda a: jax.device_put(a, s, may_alias=False), tree)

    def shard_batch(self, a):
        """An array ``[k, B, ...]`` split along B (axis 1)."""
        return jax.device_put(a, self._sharding(PartitionSpec(None, AXIS)))

    def constrain(self, a):
        """Inside jit: keep a gathered batch ``[B, ...]`` split along B."""
        if self.mesh is None:
            return a
        return jax.lax.with_sharding_constraint(a, NamedSharding(self.mesh, PartitionSpec(AXIS)))
