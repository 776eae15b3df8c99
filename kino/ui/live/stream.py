"""Rows of named datasets mirrored to the browser through coalesced changesets.

Shared by ``kino.chart`` and ``kino.dashboard``. Python keeps the truth (a
bounded deque of rows per dataset); the browser is told about changes as
"keep the newest ``keep`` rows you have, then append these rows" operations,
batched by a timer thread so that at most one message leaves every ``FLUSH_INTERVAL``
seconds however fast rows are pushed. A snapshot of all rows is published to a synced
trait shortly after the stream goes quiet (and at a bounded rate while it is
busy), so saved notebooks, second views and reconnecting pages see the data.

Wire format of a block of rows (columnar, compact): ``{"n": rows, "columns":
[{"name": str, "kind": "f64", "buffer": ...} | {"name": str, "kind": "json",
"values": [...]}]}``. ``f64`` columns are little-endian float64 bytes; in a
custom message ``buffer`` is an index into the message's buffers, in the
snapshot trait it is the bytes themselves (ipywidgets sends them as buffers).
"""

from __future__ import annotations

import heapq
import itertools
import math
import sys
import threading
import time
import weakref
from array import array
from collections import deque
from collections.abc import Callable
from typing import Any

#: Seconds between two messages of one stream: pushes in between are coalesced.
FLUSH_INTERVAL = 0.05
#: Seconds the stream must be quiet before the snapshot trait is refreshed.
SNAPSHOT_QUIET = 0.5
#: While the stream is busy, the snapshot is refreshed at most this often (seconds).
SNAPSHOT_MAX_AGE = 5.0
#: ... and never costs more than 1/SNAPSHOT_COST_RATIO of the wall time.
SNAPSHOT_COST_RATIO = 50.0

Row = dict[str, Any]
_NUMBER = (int, float)


def encode_rows(rows: list[Row], buffers: list[bytes] | None) -> dict[str, Any]:
    """Columnar form of ``rows``; numeric columns become float64 bytes.

    With ``buffers`` (a list), bytes are appended to it and referenced by index;
    without, they are embedded in the result (for a synced trait).

    >>> buffers = []
    >>> encode_rows([{"step": 1, "split": "train"}, {"step": 2, "split": "val"}], buffers)
    {'n': 2, 'columns': [{'name': 'step', 'kind': 'f64', 'buffer': 0}, \
{'name': 'split', 'kind': 'json', 'values': ['train', 'val']}]}
    >>> len(buffers[0])  # two float64 values
    16
    """
    n = len(rows)
    if n == 0:
        return {"n": 0, "columns": []}
    keys = list(rows[0])
    width = len(keys)
    if any(len(r) != width for r in rows) or any(
        r.keys() != rows[0].keys() for r in itertools.islice(rows, 1, None)
    ):
        seen: dict[str, None] = {}
        for r in rows:
            for k in r:
                seen.setdefault(k, None)
        keys = list(seen)
    columns = []
    for key in keys:
        values = [r.get(key) for r in rows]
        if all(type(v) is float or (type(v) is int and abs(v) < 2**53) for v in values):
            data = array("d", values)
            if sys.byteorder == "big":
                data.byteswap()
            raw = data.tobytes()
            if buffers is None:
                columns.append({"name": key, "kind": "f64", "buffer": raw})
            else:
                buffers.append(raw)
                columns.append({"name": key, "kind": "f64", "buffer": len(buffers) - 1})
        else:
            columns.append({"name": key, "kind": "json", "values": [_json_safe(v) for v in values]})
    return {"n": n, "columns": columns}


def _json_safe(v: Any) -> Any:
    if type(v) is float and not math.isfinite(v):
        return None
    return v


class _Scheduler:
    """One daemon thread that calls ``store._tick()`` at requested times."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, weakref.ref]] = []
        self._cond = threading.Condition()
        self._counter = itertools.count()
        self._thread: threading.Thread | None = None

    def call_at(self, when: float, store: DataStream | Pump) -> None:
        with self._cond:
            heapq.heappush(self._heap, (when, next(self._counter), weakref.ref(store)))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="kino-chart-flush", daemon=True
                )
                self._thread.start()
            self._cond.notify()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._heap:
                    self._cond.wait()
                when, _, ref = self._heap[0]
                delay = when - time.monotonic()
                if delay > 0:
                    self._cond.wait(delay)
                    continue
                heapq.heappop(self._heap)
            store = ref()
            if store is not None:
                try:
                    store._tick()
                except Exception as exc:  # a closed comm must not kill the thread
                    store.last_error = exc


_scheduler = _Scheduler()


class Pump:
    """Calls ``fn()`` on the streams' timer thread, at most once every ``interval`` seconds.

    ``poke()`` is what a hot path calls (a training loop's handler): when a call
    is already due it is one attribute read, and ``fn`` never runs on the poking
    thread. Whatever ``fn`` raises is kept in ``last_error``.

    >>> import threading
    >>> called = threading.Event()
    >>> pump = Pump(called.set, interval=0.01)
    >>> pump.poke(); called.wait(60)
    True
    """

    def __init__(self, fn: Callable[[], None], interval: float) -> None:
        self._fn = fn
        self.interval = interval
        self.due = False
        self.last = -math.inf
        self.last_error: Exception | None = None

    def poke(self) -> None:
        """Have ``fn`` called soon (no sooner than ``interval`` after its last call)."""
        if self.due:
            return
        self.due = True
        _scheduler.call_at(max(time.monotonic(), self.last + self.interval), self)

    def _tick(self) -> None:
        # cleared before fn runs: a poke from now on schedules another call
        self.due = False
        self.last = time.monotonic()
        self._fn()


class DataStream:
    """Named datasets whose changes reach the browser in coalesced batches.

    ``send(content, buffers)`` delivers a custom message; ``publish(snapshot)``
    stores the snapshot in a synced trait. Both are called with the stream's
    lock held, so messages leave in order.

    >>> snapshots = []
    >>> stream = DataStream(lambda content, buffers: None, snapshots.append)
    >>> stream.push("data", [{"x": 1}, {"x": 2}, {"x": 3}], limit=2)  # rows dropped
    1
    >>> [r["x"] for r in stream.rows["data"]]
    [2, 3]
    >>> stream.publish_snapshot(); snapshots[-1]["datasets"]["data"]["n"]
    2
    """

    def __init__(
        self,
        send: Callable[[dict[str, Any], list[bytes]], None],
        publish: Callable[[dict[str, Any]], None],
        interval: float = FLUSH_INTERVAL,
    ) -> None:
        self._send = send
        self._publish = publish
        self.interval = interval
        self._lock = threading.RLock()
        self.rows: dict[str, deque[Row]] = {}
        self._pending: dict[str, list[Any]] = {}
        self.seq = 0
        self.snapshot_seq = -1
        self.messages = 0
        self.last_error: Exception | None = None
        self._last_flush = -math.inf
        self._last_snapshot = -math.inf
        self._snapshot_cost = 0.0
        self._next_tick: float | None = None

    # -- changes -----------------------------------------------------------
    def push(self, name: str, rows: list[Row], limit: int) -> int:
        """Append rows to ``name`` and keep its newest ``limit``; returns rows dropped."""
        with self._lock:
            dropped = self._append(name, rows, limit)
        self._after_change()
        return dropped

    def replace(self, name: str, rows: list[Row], limit: int) -> int:
        """Make ``rows`` the whole of ``name`` (one changeset); returns rows dropped."""
        with self._lock:
            self.rows[name] = deque()
            self._pending[name] = [0, []]
            dropped = self._append(name, rows, limit)
        self._after_change()
        return dropped

    def load(self, name: str, rows: list[Row], limit: int) -> None:
        """Set the initial rows of ``name`` (before any view exists: no message)."""
        with self._lock:
            self.rows[name] = deque(rows[-limit:] if len(rows) > limit else rows)

    def _append(self, name: str, rows: list[Row], limit: int) -> int:
        ds = self.rows.get(name)
        if ds is None:
            ds = self.rows[name] = deque()
        pending = self._pending.get(name)
        if pending is None:
            pending = self._pending[name] = [len(ds), []]
        if len(rows) > limit:
            skipped = len(rows) - limit
            rows = rows[skipped:]
        else:
            skipped = 0
        ds.extend(rows)
        pending[1].extend(rows)
        excess = len(ds) - limit
        if excess > 0:
            if excess == 1:
                ds.popleft()
            else:
                for _ in range(excess):
                    ds.popleft()
            from_old = min(excess, pending[0])
            pending[0] -= from_old
            if excess > from_old:
                del pending[1][: excess - from_old]
        return skipped + max(excess, 0)

    def _after_change(self) -> None:
        # The timer thread sends the batch: the pushing thread (a training loop)
        # only appends rows, and encoding overlaps with its device work.
        self._schedule(max(time.monotonic(), self._last_flush + self.interval))

    # -- delivery ----------------------------------------------------------
    def flush(self) -> None:
        """Send every pending change now as one message."""
        with self._lock:
            if not self._pending:
                return
            buffers: list[bytes] = []
            ops = [
                {"dataset": name, "keep": keep, "rows": encode_rows(new, buffers)}
                for name, (keep, new) in self._pending.items()
            ]
            self._pending.clear()
            self.seq += 1
            self._last_flush = time.monotonic()
            self.messages += 1
            self._send({"type": "ops", "seq": self.seq, "ops": ops}, buffers)
            self._schedule(self._last_flush + SNAPSHOT_QUIET)

    def publish_snapshot(self) -> None:
        """Flush, then store every row in the synced snapshot trait now."""
        with self._lock:
            self.flush()
            if self.snapshot_seq == self.seq:
                return
            start = time.perf_counter()
            snapshot = {
                "seq": self.seq,
                "datasets": {name: encode_rows(list(ds), None) for name, ds in self.rows.items()},
            }
            self._publish(snapshot)
            self._snapshot_cost = time.perf_counter() - start
            self._last_snapshot = time.monotonic()
            self.snapshot_seq = self.seq

    def snapshot_now(self) -> dict[str, Any]:
        """The snapshot structure for the current rows (without publishing it)."""
        with self._lock:
            return {
                "seq": self.seq,
                "datasets": {name: encode_rows(list(ds), None) for name, ds in self.rows.items()},
            }

    def _schedule(self, when: float) -> None:
        with self._lock:
            if self._next_tick is not None and self._next_tick <= when:
                return
            self._next_tick = when
        _scheduler.call_at(when, self)

    def _tick(self) -> None:
        with self._lock:
            self._next_tick = None
            now = time.monotonic()
            if self._pending:
                if now - self._last_flush >= self.interval:
                    self.flush()
                else:
                    self._schedule(self._last_flush + self.interval)
                    return
            if self.snapshot_seq == self.seq:
                return
            quiet_at = self._last_flush + SNAPSHOT_QUIET
            stale_at = self._last_snapshot + max(
                SNAPSHOT_MAX_AGE, SNAPSHOT_COST_RATIO * self._snapshot_cost
            )
            if now >= quiet_at or now >= stale_at:
                self.publish_snapshot()
            else:
                self._schedule(min(quiet_at, stale_at))
