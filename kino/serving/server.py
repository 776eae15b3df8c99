"""The in-process server: a bounded queue, one worker per device partition.

Callers on any thread (``predict``, ``predict_many``, ``submit``) or on an event
loop (``await apredict``, which never blocks the loop) put checked rows into one
bounded queue. Each worker owns one device's :class:`~kino.serving.program.Program`
(its own copy of the parameters there), takes up to ``batch_size`` requests, waiting
at most ``batch_timeout`` after the oldest arrived, and answers each.

Every accepted request gets exactly one answer, settled under one lock: its result,
or ``DeadlineExceeded`` (its deadline passed: in the queue, or while its caller waited),
``ServerStopped`` (``stop(drain=False)``), or the exception its batch raised. A request
whose future was cancelled before its batch ran is dropped before compute.

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
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kino.contracts import check_bool, check_number
from kino.serving.errors import DeadlineExceeded, Overloaded, ServerStopped
from kino.serving.stats import Stats

if TYPE_CHECKING:
    from kino.serving.program import Program
    from kino.serving.spec import Serving


@dataclass(eq=False)
class Request:
    """One accepted request: its checked row, its future and its deadline."""

    row: list[Any]
    timeout: float | None
    arrived: float = field(default_factory=time.monotonic)
    future: concurrent.futures.Future = field(default_factory=concurrent.futures.Future)

    @property
    def deadline(self) -> float | None:
        """The monotonic time after which the request is answered with ``DeadlineExceeded``."""
        return None if self.timeout is None else self.arrived + self.timeout

    def expired(self, now: float) -> DeadlineExceeded:
        """The error this request gets once its deadline has passed."""
        return DeadlineExceeded(
            f"kino.serving: no answer within the deadline of {self.timeout:g} s "
            f"(timeout={self.timeout!r}); waited {now - self.arrived:.3f} s"
        )


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
        self._queue: deque[Request] = deque()
        self._cond = threading.Condition()
        self._settle_lock = threading.Lock()
        self._accepting = True
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
        return self._submit(x, timeout, "Server.submit").future

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
        request = self._submit(x, timeout, "Server.predict")
        return self._wait(request)

    async def apredict(self, x: Any, *, timeout: float | None = None) -> Any:
        """``await server.apredict(x)``: the answer, without blocking the event loop.

        Cancelling the awaiting task cancels the request (dropped before compute if its
        batch has not started).

        >>> import asyncio, numpy as np
        >>> from kino.serving import Serving
        >>> server = Serving(lambda x: x + 1, example=np.zeros(())).start()
        >>> async def three():
        ...     return await asyncio.gather(*(server.apredict(float(i)) for i in range(3)))
        >>> [float(a) for a in asyncio.run(three())]
        [1.0, 2.0, 3.0]
        >>> server.stop()
        """
        return await self._answer_of(self._submit(x, timeout, "Server.apredict"))

    async def _answer_of(self, request: Request) -> Any:
        """Await one queued request's answer (the caller's deadline enforced here)."""
        waiting = asyncio.wrap_future(request.future)
        left = None if request.deadline is None else request.deadline - time.monotonic()
        try:
            return await asyncio.wait_for(asyncio.shield(waiting), left)
        except TimeoutError:
            self._expire(request)
            return request.future.result()
        except asyncio.CancelledError:
            request.future.cancel()
            raise

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
        check_bool(return_exceptions, func="Server.predict_many", argument="return_exceptions")
        pending = self._submit_many(xs, timeout, "Server.predict_many")
        answers: list[Any] = []
        for item in pending:
            try:
                if isinstance(item, BaseException):
                    raise item
                answers.append(self._wait(item))
            except Exception as error:
                if not return_exceptions:
                    raise
                answers.append(error)
        return answers

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
        return len(self._queue)

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
    def _submit(self, x: Any, timeout: float | None, func: str) -> Request:
        return self._submit_many([x], timeout, func, raise_first=True)[0]

    def _submit_many(
        self, xs: Iterable[Any], timeout: float | None, func: str, raise_first: bool = False
    ) -> list[Any]:
        """Check every request, then queue those that fit under one lock (one wake-up).

        Returns a Request or the exception refusing it, per request, in order; with
        ``raise_first`` a refusal is raised instead.
        """
        timeout = check_number(timeout, func=func, argument="timeout", min=0, allow_none=True)
        if timeout is None:
            timeout = self.timeout
        items: list[Any] = []
        for x in xs:
            try:
                items.append(Request(self.serving.prepare(x, func=func), timeout))
            except Exception as error:
                self.stats.error("invalid")
                if raise_first:
                    raise
                items.append(error)
        with self._cond:
            accepting, room = self._accepting, self.max_queue - len(self._queue)
            for i, item in enumerate(items):
                if not isinstance(item, Request):
                    continue
                if accepting and room > 0:
                    self._queue.append(item)
                    room -= 1
                else:
                    items[i] = self._refusal(func, accepting)
            self._cond.notify_all()
        if raise_first and isinstance(items[0], Exception):
            raise items[0]
        return items

    def _refusal(self, func: str, accepting: bool) -> Exception:
        if not accepting:
            self.stats.error("stopped")
            return ServerStopped(
                f"{func}: the server is stopped; start a new one with serving.start()"
            )
        self.stats.error("overloaded")
        return Overloaded(
            f"{func}: the queue is full ({self.max_queue} requests wait, "
            f"max_queue={self.max_queue}); retry later or start with a larger max_queue"
        )

    def _wait(self, request: Request) -> Any:
        left = None if request.deadline is None else request.deadline - time.monotonic()
        try:
            return request.future.result(max(0.0, left) if left is not None else None)
        except concurrent.futures.TimeoutError:
            if request.future.done():  # answered as the wait ended: that is its answer
                return request.future.result()
            self._expire(request)
            return request.future.result()

    def _expire(self, request: Request) -> bool:
        if self._settle(request, error=request.expired(time.monotonic())):
            self.stats.error("deadline")
            return True
        return False

    def _settle(self, request: Request, result: Any = None, error: BaseException | None = None):
        """Give the request its one answer; False if it already had one (or was cancelled)."""
        with self._settle_lock:
            future = request.future
            if future.done():
                return False
            if error is not None:
                future.set_exception(error)
            else:
                future.set_result(result)
            return True

    def _start(self, request: Request) -> bool:
        """Mark the request running; False if it was cancelled or already answered."""
        with self._settle_lock:
            if request.future.done():
                return False
            return request.future.set_running_or_notify_cancel()

    def _reject_queued(self, why: str) -> None:
        with self._cond:
            queued = list(self._queue)
            self._queue.clear()
        for request in queued:
            error = ServerStopped(f"kino.serving: the server stopped: {why}")
            if self._settle(request, error=error):
                self.stats.error("stopped")

    def _take(self) -> list[Request] | None:
        """The next batch (up to batch_size requests), or None once stopped and drained."""
        size, wait = self.serving.batch_size, self.serving.batch_timeout
        with self._cond:
            while not self._queue:
                if not self._accepting:
                    return None
                self._cond.wait()
            batch = [self._queue.popleft()]
            until = batch[0].arrived + wait
            while len(batch) < size:
                if self._queue:
                    batch.append(self._queue.popleft())
                    continue
                left = until - time.monotonic()
                if left <= 0 or not self._accepting:
                    break
                self._cond.wait(left)
            return batch

    def _work(self, partition: int, program: Program) -> None:
        while (batch := self._take()) is not None:
            now = time.monotonic()
            live = []
            for request in batch:
                expired = request.deadline is not None and now > request.deadline
                if expired and self._expire(request):
                    continue
                if not expired and self._start(request):
                    live.append(request)
                elif request.future.cancelled():  # else its caller already answered it
                    self.stats.error("cancelled")
            if live:
                self._answer(partition, program, live)

    def _answer(self, partition: int, program: Program, live: list[Request]) -> None:
        try:
            outputs = program([r.row for r in live])
        except Exception as error:  # the function failed: only this batch's requests fail
            failed = sum(self._settle(r, error=error) for r in live)
            self.stats.error("failed", failed)
            self.stats.answered(len(live), [], partition=partition)
            return
        done = time.monotonic()
        answers: list[tuple[Request, Any, BaseException | None]] = []
        for request, output in zip(live, outputs, strict=True):
            try:
                answers.append((request, self.serving.finish(output), None))
            except Exception as error:  # post-processing failed: only this request fails
                answers.append((request, None, error))
        latencies, failed = [], 0
        with self._settle_lock:
            for request, answer, error in answers:
                future = request.future
                if future.done():  # its caller's deadline answered it meanwhile
                    continue
                if error is not None:
                    future.set_exception(error)
                    failed += 1
                else:
                    future.set_result(answer)
                    latencies.append(done - request.arrived)
        if failed:
            self.stats.error("failed", failed)
        self.stats.answered(len(live), latencies, partition=partition)
