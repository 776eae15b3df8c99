"""The overlapped host feed: the next dispatches' batches are made while this one computes.

:func:`prefetch` runs a chunk iterator (the host feed of :class:`~kino.train.data.HostSource`:
drawing from the data, stacking, starting the transfer to the device) on a thread of its
own, at most ``depth`` chunks ahead of the loop, so the loop finds the next dispatch's
batches ready. The data's own exception reaches the loop unchanged, and closing the
iterator (the run ends early) stops the thread before the data is iterated again.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import TypeVar

T = TypeVar("T")

DEPTH = 2
"""Chunks made ahead of the loop (double buffering: one waiting while one is made)."""

_END = object()


def prefetch(items: Iterator[T], depth: int = DEPTH) -> Iterator[T]:
    """Yield ``items`` in order, produced on a background thread at most ``depth`` ahead.

    An exception raised by ``items`` is raised here, as the same object. Closing the
    returned generator (or leaving a ``for`` loop over it) stops and joins the thread.

    Example:
        >>> list(prefetch(iter(range(5))))
        [0, 1, 2, 3, 4]
        >>> def broken():
        ...     yield 1
        ...     raise OSError("disk gone")
        >>> got = prefetch(broken())
        >>> next(got)
        1
        >>> next(got)
        Traceback (most recent call last):
        ...
        OSError: disk gone
    """
    ready: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(entry) -> bool:
        while not stop.is_set():
            try:
                ready.put(entry, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put((True, item)):
                    return
            put((True, _END))
        except BaseException as exc:  # handed to the loop, raised there unchanged
            put((False, exc))

    thread = threading.Thread(target=produce, name="kino-feed", daemon=True)
    thread.start()
    try:
        while True:
            ok, item = ready.get()
            if not ok:
                raise item
            if item is _END:
                return
            yield item
    finally:
        stop.set()
        thread.join()  # the data is never iterated by two threads at once
