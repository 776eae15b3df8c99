"""What a server owes each call: a ticket of answer slots, filled exactly once each.

A call is one ticket with one slot per request (``predict``: one, ``predict_many``:
one per request). Its rows wait in the server's queue as :class:`Part` s, runs of
consecutive rows stacked on a leading axis, which a worker may split between batches.
The server changes a ticket only under its settle lock; once every slot holds an
answer (a value, or a :class:`Failed` error) the ticket is ``DONE`` and its caller
is told once, after the lock: a lock released (a waiting thread), a future set
(``submit``), or, for ``apredict``, one ``call_soon_threadsafe`` per batch per
event loop (:func:`deliver`).

>>> ticket = WaitTicket(2, timeout=None)
>>> ticket.fill(0, ["a", "b"]), ticket.state == DONE
(True, True)
>>> ticket.answers(return_exceptions=False)
['a', 'b']
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import threading
import time
from collections.abc import Iterable
from typing import Any

import numpy as np

#: A ticket's states: queued, claimed by a worker (no longer cancellable), answered.
PENDING, RUNNING, DONE = 0, 1, 2

_EMPTY: Any = object()


class Failed:
    """An error in an answer slot (so a function that returns an exception stays a value).

    >>> Failed(ValueError("bad")).error.args
    ('bad',)
    """

    __slots__ = ("error",)

    def __init__(self, error: BaseException) -> None:
        self.error = error


class Part:
    """Consecutive rows of one ticket in the queue: ``block`` holds each leaf, rows first.

    >>> p = Part(Ticket(5, None), 0, [np.arange(5)])
    >>> q = p.head(2); (q.offset, q.count, q.block[0].tolist()), (p.offset, p.count)
    ((0, 2, [0, 1]), (2, 3))
    """

    __slots__ = ("block", "count", "offset", "ticket")

    def __init__(self, ticket: Ticket, offset: int, block: list[np.ndarray]) -> None:
        self.ticket = ticket
        self.offset = offset
        self.block = block
        self.count = len(block[0])

    def head(self, n: int) -> Part:
        """Split off this part's first ``n`` rows as a part of their own (views, no copy)."""
        first = Part(self.ticket, self.offset, [leaf[:n] for leaf in self.block])
        self.block = [leaf[n:] for leaf in self.block]
        self.offset += n
        self.count -= n
        return first


class Ticket(Part):
    """The answer slots of one call, its deadline and its state (changed under one lock).

    A one-row call passes its ``row`` (the leaves, rows first) and is its own part in the
    queue; a call of many rows queues separate :class:`Part` s.

    >>> t = Ticket(3, timeout=0.5, now=10.0)
    >>> t.deadline, t.left, t.state == PENDING
    (10.5, 3, True)
    >>> one = Ticket(1, None, row=[np.zeros((1, 2))]); one.ticket is one, one.count
    (True, 1)
    """

    __slots__ = ("arrived", "deadline", "failures", "left", "slots", "state", "timeout")

    def __init__(
        self,
        n: int,
        timeout: float | None,
        now: float | None = None,
        row: list[np.ndarray] | None = None,
    ) -> None:
        self.ticket = self
        self.offset = 0
        self.block = row  # type: ignore[assignment]
        self.count = 1
        self.arrived = time.monotonic() if now is None else now
        self.timeout = timeout
        self.deadline = None if timeout is None else self.arrived + timeout
        self.slots: list[Any] = [_EMPTY] * n
        self.left = n
        self.failures = 0  # slots holding a Failed: answers() skips its scan at 0
        self.state = PENDING if n else DONE

    def claim(self) -> bool:
        """Whether a pending ticket may still be answered (False: its caller cancelled it)."""
        return True

    def fill(self, offset: int, answers: list[Any], failures: int = 0) -> bool:
        """Put ``answers`` (``failures`` of them :class:`Failed`) in the slots from ``offset``;
        True when that filled the last slot.

        >>> t = Ticket(2, None); t.fill(1, ["b"]), t.fill(0, ["a"]), t.slots
        (False, True, ['a', 'b'])
        """
        self.slots[offset : offset + len(answers)] = answers
        self.failures += failures
        self.left -= len(answers)
        if self.left == 0:
            self.state = DONE
            return True
        return False

    def fail(self, offset: int, count: int, error: BaseException) -> bool:
        """Answer ``count`` slots from ``offset`` with ``error``; True when the ticket is done.

        >>> t = Ticket(2, None); t.fail(0, 2, KeyError("k")), type(t.slots[1].error)
        (True, <class 'KeyError'>)
        """
        return self.fill(offset, [Failed(error)] * count, count)

    def fail_rest(self, error: BaseException) -> int:
        """Answer every empty slot with ``error`` and end the ticket; how many it answered.

        >>> t = Ticket(3, None); _ = t.fill(0, ["a"]); t.fail_rest(TimeoutError()), t.left
        (2, 0)
        """
        failed = Failed(error)
        n = 0
        for i, slot in enumerate(self.slots):
            if slot is _EMPTY:
                self.slots[i] = failed
                n += 1
        self.failures += n
        self.left, self.state = 0, DONE
        return n

    def expired(self, now: float) -> BaseException:
        """The error of a request whose deadline has passed (it names the deadline).

        >>> str(Ticket(1, 0.25, now=0.0).expired(1.0))
        'kino.serving: no answer within the deadline of 0.25 s (timeout=0.25); waited 1.000 s'
        """
        from kino.serving.errors import DeadlineExceeded

        return DeadlineExceeded(
            f"kino.serving: no answer within the deadline of {self.timeout:g} s "
            f"(timeout={self.timeout!r}); waited {now - self.arrived:.3f} s"
        )

    def answers(self, return_exceptions: bool) -> list[Any]:
        """The answers of a done ticket, in order; the first error raised unless asked not to.

        >>> t = Ticket(2, None); _ = t.fill(0, [1, Failed(KeyError("k"))], failures=1)
        >>> t.answers(return_exceptions=True)
        [1, KeyError('k')]
        """
        out = self.slots
        if self.failures:  # else no slot to look at: a long call's answers are not scanned
            out = [a.error if type(a) is Failed else a for a in out]
            if not return_exceptions:
                raise next(a for a in out if isinstance(a, BaseException))
        return out

    def deliver(self) -> None:
        """Tell the caller that the ticket is done (called once, outside the settle lock)."""


class WaitTicket(Ticket):
    """The ticket of a thread that waits (``predict``, ``predict_many``): a lock it blocks on.

    The waiting threads of one batch are woken one after another, not all at once (64
    threads woken together each wake, find the interpreter lock taken and sleep again):
    :func:`link` chains the batch's tickets, :func:`deliver` wakes the first, and each
    woken caller wakes its ``next`` (:meth:`pass_on`) exactly once, also when it stops
    waiting for another reason (its deadline, an interrupt).

    >>> t = WaitTicket(1, None); _ = t.fill(0, [7]); t.deliver(); t.wait(None)
    True
    """

    __slots__ = ("_done", "next")

    def __init__(self, n: int, timeout: float | None, row: list[np.ndarray] | None = None) -> None:
        super().__init__(n, timeout, None, row)
        self.next: WaitTicket | None = None
        self._done = threading.Lock()
        self._done.acquire()

    def wait(self, timeout: float | None) -> bool:
        """Block until delivered or ``timeout`` seconds passed; whether it was delivered."""
        return self._done.acquire(timeout=-1 if timeout is None else max(0.0, timeout))

    def deliver(self) -> None:
        self._done.release()

    def pass_on(self) -> None:
        """Wake the next caller of this ticket's chain (once, by the waiter of this one).

        >>> a, b, c = (WaitTicket(1, None) for _ in range(3)); link([a, b, c])  # a -> c
        >>> a.pass_on(); c.wait(0), b.wait(0)
        (True, False)
        """
        following = self.next
        if following is not None:
            self.next = None
            following._done.release()


class FutureTicket(Ticket):
    """The ticket of ``submit``: one slot, answered through a ``concurrent.futures.Future``.

    >>> t = FutureTicket(None); t.claim() and t.fill(0, [3]); t.deliver(); t.future.result()
    True
    3
    """

    __slots__ = ("future",)

    def __init__(self, timeout: float | None, row: list[np.ndarray] | None = None) -> None:
        super().__init__(1, timeout, None, row)
        self.future: concurrent.futures.Future = concurrent.futures.Future()

    def claim(self) -> bool:
        return self.future.set_running_or_notify_cancel()

    def deliver(self) -> None:
        answer = self.slots[0]
        if type(answer) is Failed:
            self.future.set_exception(answer.error)
        else:
            self.future.set_result(answer)


class LoopTicket(Ticket):
    """The ticket of ``apredict``: one slot, answered on its event loop's future.

    >>> async def one():
    ...     t = LoopTicket(asyncio.get_running_loop(), None); _ = t.fill(0, [5])
    ...     deliver([t]); return await t.future
    >>> asyncio.run(one())
    5
    """

    __slots__ = ("future", "loop")

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        timeout: float | None,
        row: list[np.ndarray] | None = None,
    ) -> None:
        super().__init__(1, timeout, None, row)
        self.loop = loop
        self.future: asyncio.Future = loop.create_future()

    def deliver(self) -> None:
        """Set the future; on its loop's thread only (other threads go through ``deliver``)."""
        _resolve([self])


#: How many chains the waiting threads of one batch are woken along: more than one, so
#: that a caller the OS is slow to run holds up only its own chain.
CHAINS = 2


def link(tickets: list[Ticket]) -> None:
    """Chain the waiting-thread tickets among ``tickets`` (under the settle lock, before
    :func:`deliver`), dealt round-robin into ``CHAINS`` chains: each one's waiter wakes
    the next of its chain.

    >>> a, b, c = (WaitTicket(1, None) for _ in range(3)); link([a, FutureTicket(None), b, c])
    >>> a.next is c, b.next, c.next
    (True, None, None)
    """
    last: list[Any] = [None] * CHAINS
    n = 0
    for ticket in tickets:
        if type(ticket) is WaitTicket:
            previous = last[n % CHAINS]
            if previous is not None:
                previous.next = ticket
            last[n % CHAINS] = ticket
            n += 1


def deliver(tickets: Iterable[Ticket]) -> None:
    """Tell each done ticket's caller: event-loop tickets in one call per loop, waiting
    threads by waking the first of each chain (:func:`link`).

    >>> t = WaitTicket(1, None); _ = t.fill(0, [1]); link([t]); deliver([t]); t.wait(0)
    True
    """
    loops: dict[asyncio.AbstractEventLoop, list[LoopTicket]] = {}
    heads = CHAINS
    for ticket in tickets:
        kind = type(ticket)
        if kind is WaitTicket:
            if heads:  # the rest are woken along the chains
                ticket.deliver()
                heads -= 1
        elif kind is LoopTicket:
            loops.setdefault(ticket.loop, []).append(ticket)
        else:
            ticket.deliver()
    for loop, waiting in loops.items():
        with contextlib.suppress(RuntimeError):  # a closed loop: nobody awaits these answers
            loop.call_soon_threadsafe(_resolve, waiting)


def _resolve(tickets: list[LoopTicket]) -> None:
    """On the tickets' loop: set each future that its task has not cancelled meanwhile."""
    for ticket in tickets:
        future = ticket.future
        if future.done():
            continue
        answer = ticket.slots[0]
        if type(answer) is Failed:
            future.set_exception(answer.error)
        else:
            future.set_result(answer)
