"""What a server has done lately: requests/s, latency percentiles, batch sizes, errors.

Workers record into it with a few appends under a lock; readers (the monitor's
timer thread) take a ``snapshot``. Latencies are kept for the newest
``LATENCY_WINDOW`` requests only, so memory stays bounded however long it runs.

>>> stats = Stats()
>>> stats.answered(4, [0.01, 0.02, 0.03, 0.04], now=10.0)
>>> stats.error("overloaded")
>>> snap = stats.snapshot(queue_depth=0, now=10.0)
>>> snap["answered"], snap["batch_sizes"], snap["errors"]
(4, {4: 1}, {'overloaded': 1})
"""

from __future__ import annotations

import threading
import time
from collections import Counter, deque
from typing import Any

import numpy as np

#: Requests whose latency the percentiles are computed over (the newest ones).
LATENCY_WINDOW = 2048
#: Seconds over which requests/s is measured.
RATE_WINDOW = 5.0
#: The kinds of error a server counts.
ERROR_KINDS = ("invalid", "overloaded", "deadline", "cancelled", "failed", "stopped")


class Stats:
    """Counters and a bounded window of latencies, safe to share between threads.

    ``started`` (monotonic seconds, default now) is when counting began: requests/s of a
    server younger than ``RATE_WINDOW`` is measured over its age, not the whole window.

    >>> Stats().snapshot(queue_depth=3)["queue_depth"]
    3
    >>> young = Stats(started=0.0); young.answered(10, [0.01] * 10, now=1.0)
    >>> young.snapshot(0, now=1.0)["requests_per_s"]
    10.0
    """

    def __init__(self, started: float | None = None) -> None:
        self._started = time.monotonic() if started is None else started
        self._lock = threading.Lock()
        self._latencies: deque[float] = deque(maxlen=LATENCY_WINDOW)
        self._done: deque[tuple[float, int]] = deque()
        self._batch_sizes: Counter[int] = Counter()
        self._errors: Counter[str] = Counter()
        self._partitions: Counter[int] = Counter()
        self._answered = 0

    def answered(
        self, batch: int, latencies: list[float], now: float | None = None, partition: int = 0
    ) -> None:
        """Record a batch of ``batch`` rows run on ``partition``; ``latencies`` of its results.

        >>> s = Stats(); s.answered(2, [0.1, 0.2]); s.snapshot(0)["answered"]
        2
        """
        now = time.monotonic() if now is None else now
        with self._lock:
            self._batch_sizes[batch] += 1
            self._partitions[partition] += 1
            self._latencies.extend(latencies)
            self._answered += len(latencies)
            self._done.append((now, len(latencies)))
            self._trim(now)

    def error(self, kind: str, count: int = 1) -> None:
        """Count ``count`` requests answered with an error of ``kind`` (one of ``ERROR_KINDS``).

        >>> s = Stats(); s.error("deadline", 2); s.snapshot(0)["errors"]
        {'deadline': 2}
        """
        with self._lock:
            self._errors[kind] += count

    def snapshot(self, queue_depth: int, now: float | None = None) -> dict[str, Any]:
        """The current figures as plain values (latencies in milliseconds).

        >>> s = Stats(); s.answered(1, [0.5], now=1.0)
        >>> s.snapshot(0, now=1.0)["p99_ms"]
        500.0
        """
        now = time.monotonic() if now is None else now
        with self._lock:
            self._trim(now)
            latencies = np.asarray(self._latencies, dtype=np.float64)
            recent = sum(n for _, n in self._done)
            batch_sizes = dict(sorted(self._batch_sizes.items()))
            errors = {k: self._errors[k] for k in ERROR_KINDS if self._errors[k]}
            partitions = dict(sorted(self._partitions.items()))
            answered = self._answered
        if latencies.size:
            p50, p95, p99 = (float(v) * 1000 for v in np.percentile(latencies, [50, 95, 99]))
        else:
            p50 = p95 = p99 = None
        return {
            "requests_per_s": recent / max(min(RATE_WINDOW, now - self._started), 1e-3),
            "queue_depth": queue_depth,
            "answered": answered,
            "batch_sizes": batch_sizes,
            "batches_per_partition": partitions,
            "errors": errors,
            "p50_ms": p50,
            "p95_ms": p95,
            "p99_ms": p99,
        }

    def _trim(self, now: float) -> None:
        while self._done and self._done[0][0] < now - RATE_WINDOW:
            self._done.popleft()
