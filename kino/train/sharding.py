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
    def local_devices(self) -> list:
        """The devices of the mesh that this process drives (all of them in one process).

        >>> Placement().local_devices == jax.local_devices()
        True
        """
        here = jax.process_index()
        return [d for d in self.devices if d.process_index == here]

    @property
    def shards(self) -> int:
        return len(self.devices)

    def round(self, batch: int) -> int:
        """Batch size rounded up to a multiple of the device count."""
        return -(-batch // self.shards) * self.shards

    def _sharding(self, spec):
        return NamedSharding(self.mesh, spec) if self.mesh is not None else self.devices[0]

    def replicated(self):
        """The sharding of a replicated array (``out_shardings`` of a compiled maker).

        >>> Placement().replicated().device_set == {jax.devices()[0]}
        True
        """
        if self.mesh is None:
            return jax.sharding.SingleDeviceSharding(self.devices[0])
        return NamedSharding(self.mesh, PartitionSpec())

    def replicate(self, tree):
        """Copy a pytree onto every device (fresh buffers, safe to donate)."""
        s = self._sharding(PartitionSpec())
        return jax.tree.map(lambda a: jax.device_put(a, s, may_alias=False), tree)

    def shard_batch(self, a):
        """An array ``[k, B, ...]`` split along B (axis 1)."""
        return jax.device_put(a, self._sharding(PartitionSpec(None, AXIS)))

    def put_rows(self, a):
        """A whole data array on the devices once: split along its rows over the mesh.

        The rows are padded (zeros, never drawn) to a multiple of the device count; each
        device receives its own block straight from ``a``, so the host never copies it.
        """
        if self.mesh is None:
            return jax.device_put(a, self.devices[0])
        n = a.shape[0]
        per = -(-n // self.shards)
        sharding = self._sharding(PartitionSpec(AXIS))
        if isinstance(a, jax.Array):
            pad = [(0, per * self.shards - n)] + [(0, 0)] * (a.ndim - 1)
            return jax.device_put(jax.numpy.pad(a, pad), sharding)

        def block(index):
            start = index[0].start or 0
            part = np.asarray(a[start : min(start + per, n)])
            if len(part) == per:
                return part
            return np.concatenate([part, np.zeros((per - len(part), *a.shape[1:]), a.dtype)])

        return jax.make_array_from_callback((per * self.shards, *a.shape[1:]), sharding, block)

    def gather_rows(self, a, rows):
        """Inside jit: rows ``[B]`` of an array placed by :meth:`put_rows`, split along B.

        With several devices each one takes the requested rows it holds (zeros elsewhere)
        and a reduce-scatter hands every device its slice of the batch: only the batch
        crosses between devices, never the data.
        """
        if self.mesh is None:
            return jax.numpy.take(a, rows, axis=0)
        if a.dtype == bool:
            return self.gather_rows(a.astype(np.uint8), rows).astype(bool)
        per = a.shape[0] // self.shards

        def local(block, rows):
            mine = rows - jax.lax.axis_index(AXIS) * per
            held = (mine >= 0) & (mine < per)
            got = jax.numpy.take(block, jax.numpy.clip(mine, 0, per - 1), axis=0)
            got = jax.numpy.where(held.reshape((-1,) + (1,) * (got.ndim - 1)), got, 0)
            return jax.lax.psum_scatter(got, AXIS, scatter_dimension=0, tiled=True)

        return jax.shard_map(
            local,
            mesh=self.mesh,
            in_specs=(PartitionSpec(AXIS), PartitionSpec()),
            out_specs=PartitionSpec(AXIS),
        )(a, rows)

    def constrain(self, a):
        """Inside jit: keep a gathered batch ``[B, ...]`` split along B."""
        if self.mesh is None:
            return a
        return jax.lax.with_sharding_constraint(a, NamedSharding(self.mesh, PartitionSpec(AXIS)))
