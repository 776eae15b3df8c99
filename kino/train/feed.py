"""Which path feeds a run's data: resident on the device, or assembled on the host.

``train.batches(...)`` and ``(x, y)`` arrays go on the device
(:class:`~kino.train.resident.DeviceSource`) when they fit ``device_budget`` of the
devices' free memory; everything else (a larger array, an iterable or stream of
batches) is fed from the host (:class:`~kino.train.data.HostSource`), the next
dispatch assembled while the current one computes. ``data_on_device`` forces a path.
"""

from __future__ import annotations

from kino.contracts import check_bool, check_number, fail
from kino.train.data import Batches, HostSource
from kino.train.processes import agreed
from kino.train.resident import DEVICE_MEMORY_FRACTION, DeviceSource, fits, footprint

ARRAYS = "train.batches(x, y, ...) or an (x, y) pair of arrays"


def check_feed(data_on_device, device_budget, *, func: str) -> tuple[bool | None, float]:
    """Validate ``data_on_device`` (None: decide by size) and ``device_budget`` (a fraction).

    Example:
        >>> check_feed(None, 0.5, func="train.Trainer.run")
        (None, 0.5)
        >>> check_feed("yes", 0.5, func="train.Trainer.run")
        Traceback (most recent call last):
        ...
        TypeError: train.Trainer.run: 'data_on_device' must be True or False, got str: 'yes'
    """
    if data_on_device is not None:
        data_on_device = check_bool(data_on_device, func=func, argument="data_on_device")
    budget = check_number(device_budget, func=func, argument="device_budget")
    if not 0 < budget <= 1:
        allowed = "a fraction of free device memory in (0, 1]"
        fail(func, "device_budget", allowed, budget, ValueError)
    return data_on_device, float(budget)


def source(
    data,
    placement,
    epochs: int,
    *,
    data_on_device: bool | None = None,
    device_budget: float = DEVICE_MEMORY_FRACTION,
    func: str = "train.Trainer.run",
):
    """The feeding strategy for wrapped data (see the module docstring).

    Example:
        >>> import numpy as np
        >>> from kino.train.data import batches
        >>> from kino.train.sharding import Placement
        >>> b = batches(np.zeros((8, 2), "float32"), np.zeros(8, "int32"), batch_size=4)
        >>> source(b, Placement(), 1).on_device
        True
        >>> source(b, Placement(), 1, data_on_device=False).on_device
        False
    """
    if data_on_device is False:
        return HostSource(data, placement, epochs)
    if not isinstance(data, Batches):
        if data_on_device:
            fail(func, "data", f"{ARRAYS} when data_on_device=True", data, TypeError)
        return HostSource(data, placement, epochs)
    if data_on_device:
        need, free = footprint(data, placement)
        if need > free:
            raise ValueError(
                f"{func}: data_on_device=True, but the data takes {need:,} bytes per "
                f"device and the device has {free:,} bytes free; pass "
                "data_on_device=False (or None) to feed it from the host"
            )
        return DeviceSource(data, placement)
    # every process must take the same path (they run one program): process 0 decides
    if agreed(fits(data, placement, device_budget)):
        return DeviceSource(data, placement)
    return HostSource(data, placement, epochs)
