"""Which process this is under ``jax.distributed``, and the few facts processes must share.

Every process runs the same compiled program, so anything that decides what runs next
(the data path, a handler's halt) has to be the same everywhere: process 0 decides and
broadcasts. In a single process these are plain pass-throughs that never communicate.
"""

from __future__ import annotations

import jax
import numpy as np

_ACTIONS = (None, "halt_epoch", "halt_loop", "failed")


def process_index() -> int:
    """This process's number (0 when not distributed).

    >>> process_index()
    0
    """
    return jax.process_index()


def process_count() -> int:
    """How many processes train together (1 when not distributed).

    >>> process_count()
    1
    """
    return jax.process_count()


def _from_zero(value: int) -> int:
    from jax.experimental import multihost_utils

    return int(multihost_utils.broadcast_one_to_all(np.asarray(value, np.int32)))


def agreed(flag: bool) -> bool:
    """``flag`` as process 0 sees it, in every process (itself in a single process).

    >>> agreed(True)
    True
    """
    if process_count() == 1:
        return bool(flag)
    return bool(_from_zero(int(bool(flag))))


def shared_action(action: str | None) -> str | None:
    """Process 0's ``"halt_epoch"``, ``"halt_loop"``, ``"failed"`` or None, in every process.

    >>> shared_action("halt_loop")
    'halt_loop'
    """
    if process_count() == 1:
        return action
    return _ACTIONS[_from_zero(_ACTIONS.index(action))]


__all__ = ["agreed", "process_count", "process_index", "shared_action"]
