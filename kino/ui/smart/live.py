"""Smart cells refresh after every cell that runs (their lists of frames and columns).

One IPython ``post_run_cell`` callback, registered the first time a smart cell is made
inside IPython, calls ``refresh()`` on the open smart cells. They are held weakly and a
closed one is dropped, so the callback never keeps a widget alive.
"""

from __future__ import annotations

import logging
import weakref
from typing import Any

log = logging.getLogger("kino")

_cells: weakref.WeakSet[Any] = weakref.WeakSet()


def track(cell: Any) -> None:
    """Refresh ``cell`` after each cell runs (while it is open), if inside IPython.

    >>> class Cell:
    ...     comm = None
    >>> track(Cell())  # outside IPython: nothing to register, nothing fails
    """
    _cells.add(cell)
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython is a dependency of ipywidgets
        return
    shell = get_ipython()
    # Asked of the shell's own list, not remembered: a shell whose callbacks were
    # cleared (or a new shell instance) gets the callback again, never twice.
    if shell is not None and refresh_all not in shell.events.callbacks["post_run_cell"]:
        shell.events.register("post_run_cell", refresh_all)


def refresh_all(*_result: Any) -> None:
    """Refresh every open smart cell; drop the closed ones (``post_run_cell``'s callback).

    >>> refresh_all()
    """
    for cell in list(_cells):
        if getattr(cell, "comm", None) is None:  # closed: forget it
            _cells.discard(cell)
            continue
        try:
            cell.refresh(keep_preview=True)
        except Exception:  # a smart cell never breaks the user's cell run
            log.exception("kino: refreshing smart cell %r failed", cell)


def tracked() -> list[Any]:
    """The smart cells refreshed after each run (for tests and debugging).

    >>> isinstance(tracked(), list)
    True
    """
    return list(_cells)
