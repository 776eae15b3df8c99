"""The in-process server: a bounded queue, one worker per device partition.

Callers on any thread (``predict``, ``predict_many``, ``submit``) or on an event
loop (``await apredict``, which never blocks the loop) put checked rows into one
bounded queue, one lock and one append per call. Each worker owns one device's
:class:`~kino.serving.program.Program` (its own copy of the parameters there), takes
up to ``batch_size`` rows, waiting at most ``batch_timeout`` after the oldest
arrived (woken when the first row arrives and when a batch is full, not per row),
and answers them together.

Every accepted request gets exactly one answer, settled under one lock
(:mod:`kino.serving.tickets`): its result, ``DeadlineExceeded`` (its deadline
passed: in the queue, or while its caller waited), ``ServerStopped``
(``stop(drain=False)``), or the exception its batch raised. A request whose future
or task was cancelled before its batch ran is dropped before compute.

>>> import numpy as np
>>> from kino.serving import Serving
>>> server = Serving(lambda x: x * 2, example=np.zeros(2, np.float32)).start()
>>> server.predict([1.0, 2.0]).tolist()
[2.0, 4.0]
>>> server.stop()
>>> server.predict([1.0, 2.0])
Traceback (most recent call last):
...
kino.serving.errors.ServerStopped: Server.predict: the server is stopped; start a new one ...
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
import time
from collections import deque
from collections.abc import Iterable
from itertools import repeat
from typing import TYPE_CHECKING, Any

import numpy as np

from kino.contracts import check_bool, check_number
from kino.serving.errors import Overloaded, ServerStopped
from kino.serving.stats import Stats
from kino.serving.tickets import (
    DONE,
    PENDING,
    RUNNING,
    Failed,
    FutureTicket,
    LoopTicket,
    Part,
    Ticket,
    WaitTicket,
    deliver,
    link,
)

if TYPE_CHECKING:
    from kino.serving.program import Program
    from kino.serving.spec import Serving


class Server:
    """A running serving: call ``predict`` / ``apredict`` / ``predict_many``, then ``stop``.

    Made by :meth:`Serving.start`. In a notebook it displays as a live monitor
    (requests/s, queue depth, batch sizes, latency percentiles, errors by kind).

    >>> import numpy as np
    >>> from kino.serving import Serving
    >>> server = Serving(lambda x: x + 1, example=np.zeros((), np.int32)).start()
    >>> [int(a) for a in server.predict_many([1, 2, 3])]
    [2, 3, 4]
    >>> server.stop(); server.running
    False
    """

    def __init__(
        self,
        serving: Serving,
        programs: list[Program],
        *,
        max_queue: int,
        timeout: float | None,
    ) -> None:
        self.serving = serving
        self.max_queue = max_queue
        self.timeout = timeout
        self.stats = Stats()
        self.programs = list(programs)
        self.devices = [p.device for p in programs]
        self._queue: deque[Part] = deque()
        self._rows = 0  # rows in the queue (a part holds one or more)
        # The queue's lock: callers take it plainly (``with self._lock``, no Python call),
        # workers wait on the condition over it.
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._settle_lock = threading.Lock()
        self._accepting = True
        signature = serving.signature
        self._fast = None  # (shape, dtype) of a row that needs no checking beyond them
        if serving.preprocess is None and signature.treedef.num_nodes == 1:
            self._fast = (signature.shapes[0], signature.dtypes[0])
        self._monitors: list[Any] = []
        self._workers = [
            threading.Thread(
                target=self._work, args=(i, program), name=f"kino-serving-{i}", daemon=True
            )
            for i, program in enumerate(programs)
        ]
        for worker in self._workers:
            worker.start()

    # -- calling -------------------------------------------------------------
    def submit(self, x: Any, *, timeout: float | None = None) -> concurrent.futures.Future:
        """Queue one request and return its future (cancel it to drop the request).

        Raises at once, never queueing: ``InvalidInput`` for a request that does not fit
        (or that pre-processing refused), ``Overloaded`` when ``max_queue`` requests wait,
        ``ServerStopped`` after ``stop``.

        >>> import numpy as np
        >>> from kino.serving import Serving
        >>> server = Serving(lambda x: -x, example=np.zeros(())).start()
        >>> float(server.submit(2.0).result())
        -2.0
        >>> server.stop()
        """
        func = "Server.submit"
        ticket = FutureTicket(self._timeout(timeout, func), self._row(x, func))
        self._enqueue(ticket, func)
        return ticket.future

    def predict(self, x: Any, *, timeout: float | None = None) -> Any:
        """The answer to one request, waiting for it (from any thread).

        ``timeout`` (seconds; default the server's) is the request's deadline, counted from
        the call: past it, ``DeadlineExceeded`` names the deadline.

        >>> import numpy as np
        >>> from kino.serving import Serving
        >>> server = Serving(lambda x: x * 10, example=np.zeros(())).start(timeout=5.0)
        >>> float(server.predict(0.5))
        5.0
        >>> server.stop()
        """
        func = "Server.predict"
        if timeout is not None:
            timeout = self._timeout(timeout, func)
        ticket = WaitTicket(1, self.timeout if timeout is None else timeout, self._row(x, func))
        self._enqueue(ticket, func)
        self._wait(ticket)
        answer = ticket.slots[0]
        if type(answer) is Failed:
            raise answer.error
        return answer

    async def apredict(self, x: Any, *, timeout: float | None = None) -> Any:
        """``await server.apredict(x)``: the answer, without blocking the event loop.

        Cancelling the awaiting task cancels the request (dropped before compute if its
        batch has not started). In a notebook cell, whose event loop is already running
        (so ``asyncio.run`` is refused there), write ``await server.apredict(x)``; the
        example below runs its coroutine on an event loop of its own, as a kernel does:

        >>> import asyncio, threading, numpy as np
        >>> from kino.serving import Serving
        >>> server = Serving(lambda x: x + 1, example=np.zeros(())).start()
        >>> async def three():
        ...     return await asyncio.gather(*(server.apredict(float(i)) for i in range(3)))
        >>> loop = asyncio.new_event_loop()
        >>> threading.Thread(target=loop.run_forever, daemon=True).start()
        >>> [float(a) for a in asyncio.run_coroutine_threadsafe(three(), loop).result()]
        [1.0, 2.0, 3.0]
        >>> _ = loop.call_soon_threadsafe(loop.stop); server.stop()
        """
        return await self._apredict(x, timeout, "Server.apredict")

    async def _apredict(self, x: Any, timeout: float | None, func: str) -> Any:
        """``apredict`` naming ``func`` in its errors (the HTTP endpoint names its route)."""
        loop = asyncio.get_running_loop()
        ticket = LoopTicket(loop, self._timeout(timeout, func), self._row(x, func))
        self._enqueue(ticket, func)
        timer = None
        if ticket.deadline is not None:
            timer = loop.call_later(
                ticket.deadline - time.monotonic(), self._expire_on_loop, ticket
            )
        try:
            return await ticket.future
        except asyncio.CancelledError:
            if ticket.future.cancelled():  # the awaiting task was cancelled
                self._cancel(ticket)
            raise
        finally:
            if timer is not None:
                timer.cancel()

    def predict_many(
        self, xs: Iterable[Any], *, timeout: float | None = None, return_exceptions: bool = False
    ) -> list[Any]:
        """Answers to many requests, in order; they are batched like concurrent callers.

        Each request is queued, then all are awaited; the first error is raised unless
        ``return_exceptions=True``, which puts each error in its request's place.

        >>> import numpy as np
        >>> from kino.serving import Serving
        >>> server = Serving(lambda x: x * 2, example=np.zeros(()), batch_size=4).start()
        >>> [float(a) for a in server.predict_many([1.0, 2.0, 3.0])]
        [2.0, 4.0, 6.0]
        >>> server.stop()
        """
        func = "Server.predict_many"
        check_bool(return_exceptions, func=func, argument="return_exceptions")
        timeout = self._timeout(timeout, func)
        signature = self.serving.signature
        block = None
        if signature is not None and self.serving.preprocess is None:
            block = signature.block(xs)
        if block is not None:  # rows already stacked: checked once, queued whole, never copied
            ticket = WaitTicket(len(block[0]), timeout)
            parts = [Part(ticket, 0, block)] if ticket.left else []
        else:
            ticket, parts = self._parts(list(xs), timeout, func)
        if not parts:  # no rows, or each one refused: answered already, nobody to wake it
            return ticket.answers(return_exceptions)
        self._enqueue_parts(ticket, parts, func)
        self._wait(ticket)
        return ticket.answers(return_exceptions)

    # -- state -----------------------------------------------------------------
    @property
    def running(self) -> bool:
        """Whether the server accepts requests (``False`` once ``stop`` was called).

        >>> import numpy as np
        >>> from kino.serving import Serving
        >>> s = Serving(abs, example=np.zeros(())).start(); s.running
        True
        >>> s.stop()
        """
        return self._accepting

    @property
    def queue_depth(self) -> int:
        """Requests waiting in the queue now (not counting batches being computed).

        >>> import numpy as np
        >>> from kino.serving import Serving
        >>> s = Serving(abs, example=np.zeros(())).start(); s.queue_depth
        0
        >>> s.stop()
        """
        return self._rows

    def stop(self, *, drain: bool = True, timeout: float | None = None) -> None:
        """Stop accepting requests; answer or reject every queued one, then end the workers.

        ``drain=True`` computes what is queued (waiting at most ``timeout`` seconds, after
        which what is left is rejected); ``drain=False`` rejects it at once with
        ``ServerStopped``. A batch already computing always finishes. Idempotent.

        >>> import numpy as np
        >>> from kino.serving import Serving
        >>> s = Serving(abs, example=np.zeros(())).start()
        >>> s.stop(drain=False); s.stop(); s.running
        False
        """
        check_bool(drain, func="Server.stop", argument="drain")
        check_number(timeout, func="Server.stop", argument="timeout", min=0, allow_none=True)
        with self._cond:
            self._accepting = False
            self._cond.notify_all()
        if not drain:
            self._reject_queued("stop(drain=False) was called before it ran")
        end = None if timeout is None else time.monotonic() + timeout
        for worker in self._workers:
            if worker is not threading.current_thread():
                worker.join(None if end is None else max(0.0, end - time.monotonic()))
        self._reject_queued(f"stop(timeout={timeout!r}) ended the drain before it ran")
        for monitor in list(self._monitors):
            monitor.close()

    # -- display ---------------------------------------------------------------
    def monitor(self, interval: float = 0.5) -> Any:
        """A live dashboard of this server (a kino widget), refreshed every ``interval`` s.

        >>> import numpy as np
        >>> from kino.serving import Serving
        >>> s = Serving(abs, example=np.zeros(())).start()
        >>> m = s.monitor(); type(m).__name__
        'Monitor'
        >>> s.stop(); m.closed
        True
        """
        from kino.serving.monitor import Monitor

        monitor = Monitor(self, interval=interval)
        self._monitors.append(monitor)
        return monitor

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.monitor()._repr_mimebundle_(**kwargs)

    def __repr__(self) -> str:
        state = "running" if self._accepting else "stopped"
        return (
            f"<kino.serving.Server {state}: {len(self.devices)} partition(s), "
            f"batch_size={self.serving.batch_size}, queue {self.queue_depth}/{self.max_queue}>"
        )

    # -- internals -------------------------------------------------------------
    def _timeout(self, timeout: float | None, func: str) -> float | None:
        """A request's deadline in seconds (checked), or the server's default."""
        if timeout is None:
            return self.timeout
        return check_number(timeout, func=func, argument="timeout", min=0)

    def _row(self, x: Any, func: str) -> list[np.ndarray]:
        """One request checked (``InvalidInput`` at once) as leaves with a row axis."""
        fast = self._fast
        if type(x) is np.ndarray and fast and x.shape == fast[0] and x.dtype == fast[1]:
            return [x[None]]  # the common case: an array that already fits
        try:
            row = self.serving.prepare(x, func=func)
        except Exception:
            self.stats.error("invalid")
            raise
        return [leaf[None] for leaf in row]

    def _enqueue(self, ticket: Ticket, func: str) -> None:
        """Queue a one-row ticket under one lock, or raise its refusal at once."""
        with self._lock:
            accepting, before = self._accepting, self._rows
            if accepting and before < self.max_queue:
                self._queue.append(ticket)
                self._rows = before + 1
                if before == 0 or (before + 1) % self.serving.batch_size == 0:
                    self._cond.notify()  # a worker starts a batch, or one is full
                return
        raise self._refusal(func, accepting, 1)

    def _parts(self, xs: list[Any], timeout: float | None, func: str) -> tuple[Ticket, list[Part]]:
        """A ticket for ``xs`` and its runs of checked rows; refused rows answered in place."""
        ticket = WaitTicket(len(xs), timeout)
        parts: list[Part] = []
        run: list[list[Any]] = []
        for i, x in enumerate(xs):
            try:
                run.append(self.serving.prepare(x, func=func))
            except Exception as error:
                self.stats.error("invalid")
                ticket.fail(i, 1, error)
                if run:
                    parts.append(_stacked(ticket, i - len(run), run))
                    run = []
        if run:
            parts.append(_stacked(ticket, len(xs) - len(run), run))
        return ticket, parts

    def _enqueue_parts(self, ticket: WaitTicket, parts: list[Part], func: str) -> None:
        """Queue what fits under one lock (one wake-up); the rest is refused in place."""
        refused: list[Part] = []
        queued = 0
        with self._lock:
            accepting, before = self._accepting, self._rows
            room = self.max_queue - before if accepting else 0
            for part in parts:
                if room - queued <= 0:
                    refused.append(part)
                    continue
                if part.count > room - queued:
                    refused.append(part)
                    part = part.head(room - queued)
                self._queue.append(part)
                queued += part.count
            self._rows = after = before + queued
            size = self.serving.batch_size
            if queued and (before == 0 or before // size != after // size):
                self._cond.notify()  # a worker starts a batch, or one is full
        if refused:  # its caller waits for the queued rest, or is answered here
            error = self._refusal(func, accepting, sum(p.count for p in refused))
            with self._settle_lock:
                done = [ticket.fail(part.offset, part.count, error) for part in refused]
            if any(done):
                ticket.deliver()  # on its own: the caller is this thread, not yet waiting

    def _refusal(self, func: str, accepting: bool, count: int) -> Exception:
        if not accepting:
            self.stats.error("stopped", count)
            return ServerStopped(
                f"{func}: the server is stopped; start a new one with serving.start()"
            )
        self.stats.error("overloaded", count)
        return Overloaded(
            f"{func}: the queue is full ({self.max_queue} requests wait, "
            f"max_queue={self.max_queue}); retry later or start with a larger max_queue"
        )

    def _wait(self, ticket: WaitTicket) -> None:
        """Return once the ticket is done; past its deadline, what is left expires.

        However the wait ends, the waiter wakes the next caller of its chain, once."""
        left = None if ticket.deadline is None else ticket.deadline - time.monotonic()
        try:
            woken = ticket.wait(left)
        except BaseException:  # interrupted: its answers are never read
            self._leave(ticket, concurrent.futures.CancelledError("the caller stopped waiting"))
            raise
        if woken:
            ticket.pass_on()
        else:
            self._leave(ticket, None)

    def _leave(self, ticket: WaitTicket, error: BaseException | None) -> None:
        """A waiter that was not woken: answer what is left with ``error`` (default: its
        deadline passed), so that no worker will; or, if a worker answered it as the wait
        ended, wake the next caller of its chain in its place."""
        try:
            with self._settle_lock:
                if ticket.state != DONE:
                    if error is None:
                        self._end(ticket, ticket.expired(time.monotonic()), "deadline")
                    else:
                        self._end(ticket, error, "cancelled")
        finally:
            ticket.pass_on()

    def _end(self, ticket: Ticket, error: BaseException, kind: str) -> bool:
        """Answer what is left of a ticket with ``error`` (settle lock held); False if it
        was already done or its caller had cancelled it."""
        if ticket.state == DONE:
            return False
        if ticket.state == PENDING and not ticket.claim():
            ticket.state = DONE
            self.stats.error("cancelled")
            return False
        self.stats.error(kind, ticket.fail_rest(error))
        return True

    def _expire_on_loop(self, ticket: LoopTicket) -> None:
        with self._settle_lock:
            ended = self._end(ticket, ticket.expired(time.monotonic()), "deadline")
        if ended:
            ticket.deliver()

    def _cancel(self, ticket: LoopTicket) -> None:
        with self._settle_lock:
            if ticket.state != PENDING:  # a worker has it (its answer is dropped) or it ended
                return
            ticket.state = DONE
        self.stats.error("cancelled")

    def _reject_queued(self, why: str) -> None:
        with self._cond:
            queued = list(self._queue)
            self._queue.clear()
            self._rows = 0
        closed = []
        with self._settle_lock:
            for part in queued:
                ticket = part.ticket
                if ticket.state == DONE:
                    continue
                if ticket.state == PENDING and not ticket.claim():
                    ticket.state = DONE
                    self.stats.error("cancelled")
                    continue
                error = ServerStopped(f"kino.serving: the server stopped: {why}")
                self.stats.error("stopped", part.count)
                if ticket.fail(part.offset, part.count, error):
                    closed.append(ticket)
            link(closed)
        deliver(closed)

    def _take(self) -> list[Part] | None:
        """The next batch (up to batch_size rows), or None once stopped and drained."""
        size, wait = self.serving.batch_size, self.serving.batch_timeout
        queue = self._queue
        with self._cond:
            while True:
                if self._rows >= size or (self._rows and not self._accepting):
                    break
                if self._rows:
                    left = queue[0].ticket.arrived + wait - time.monotonic()
                    if left <= 0:
                        break
                    self._cond.wait(left)
                elif not self._accepting:
                    return None
                else:
                    self._cond.wait()
            batch, room = [], size
            while queue and room:
                part = queue[0]
                if part.count > room:
                    batch.append(part.head(room))
                    room = 0
                else:
                    batch.append(queue.popleft())
                    room -= part.count
            self._rows -= size - room
            if self._rows and len(self._workers) > 1:
                self._cond.notify()  # another worker may take the rest
            return batch

    def _work(self, partition: int, program: Program) -> None:
        while (batch := self._take()) is not None:
            now = time.monotonic()
            live, closed, cancelled = [], [], 0
            with self._settle_lock:
                for part in batch:
                    ticket = part.ticket
                    state = ticket.state
                    if state == DONE:
                        continue
                    if ticket.deadline is not None and now > ticket.deadline:
                        if self._end(ticket, ticket.expired(now), "deadline"):
                            closed.append(ticket)
                        continue
                    if state == PENDING:
                        if not ticket.claim():  # its caller cancelled it: dropped here
                            ticket.state = DONE
                            cancelled += 1
                            continue
                        ticket.state = RUNNING
                    live.append(part)
                link(closed)
            if cancelled:
                self.stats.error("cancelled", cancelled)
            deliver(closed)
            if live:
                self._answer(partition, program, live)

    def _answer(self, partition: int, program: Program, live: list[Part]) -> None:
        rows = sum(part.count for part in live)
        try:
            outputs = program.run([part.block for part in live]).rows(0, rows)
        except Exception as error:  # the function failed: only this batch's requests fail
            self._settle(partition, rows, live, [], error, 0)
            return
        postprocess = self.serving.postprocess
        if postprocess is None:
            self._settle(partition, rows, live, outputs, None, 0)
            return
        answers: list[Any] = []
        left = iter(outputs)
        bad = 0
        while True:
            try:  # list.extend keeps what map gave before a failure; map moved past it
                answers.extend(map(postprocess, left))
                break
            except Exception as error:  # post-processing failed: only this request fails
                answers.append(Failed(error))
                bad += 1
        self._settle(partition, rows, live, answers, None, bad)

    def _settle(
        self,
        partition: int,
        rows: int,
        live: list[Part],
        answers: list[Any],
        error: BaseException | None,
        bad: int,
    ) -> None:
        """Give each live part its answers (``bad`` of them failed), or the batch's
        ``error``, under one lock; then tell the callers whose tickets are done."""
        done = time.monotonic()
        latencies: list[float] = []
        closed: list[Ticket] = []
        failed = 0
        start = 0
        with self._settle_lock:
            for part in live:
                ticket, count = part.ticket, part.count
                if ticket.state == DONE:  # its caller's deadline answered it meanwhile
                    start += count
                    continue
                if error is not None:
                    failed += count
                    if ticket.fail(part.offset, count, error):
                        closed.append(ticket)
                    continue
                mine = answers[start : start + count]
                start += count
                failures = sum(type(a) is Failed for a in mine) if bad else 0
                failed += failures
                latencies.extend(repeat(done - ticket.arrived, count - failures))
                if ticket.fill(part.offset, mine, failures):
                    closed.append(ticket)
            link(closed)
        deliver(closed)
        if failed:
            self.stats.error("failed", failed)
        self.stats.answered(rows, latencies, partition=partition)


def _stacked(ticket: Ticket, offset: int, rows: list[list[Any]]) -> Part:
    """Checked rows (each a list of leaves) of ``ticket`` from ``offset``, as one part."""
    return Part(ticket, offset, [np.stack(column) for column in zip(*rows, strict=True)])
