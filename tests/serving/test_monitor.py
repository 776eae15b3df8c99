"""The server's live monitor: built from kino.chart / kino.text, refreshed by its own timer
thread (never on the request path), bounded history, closed when the server stops."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from kino.serving import InvalidInput, Serving
from kino.serving.monitor import HISTORY, Monitor
from tests.conftest import budget


def wait_for(condition, seconds=60.0):
    end = time.monotonic() + budget(seconds)
    while not condition():  # polls the condition; the budget only says when to give up
        assert time.monotonic() < end, "condition not met within the budget"
        time.sleep(0.01)


@pytest.fixture
def server():
    s = Serving(lambda x: x + 1, batch_size=4, example=np.zeros((), np.float32)).start()
    yield s
    s.stop(drain=False)


def test_the_monitor_shows_what_the_server_did(server, comm_log):
    monitor = server.monitor(interval=60)
    server.predict_many([float(i) for i in range(6)])
    with pytest.raises(InvalidInput, match="must be a row of shape"):
        server.predict([1.0, 2.0])
    snap = monitor.refresh()
    assert snap["answered"] == 6
    batches = {row["size"]: row["batches"] for row in monitor.batches.rows()}
    assert batches == snap["batch_sizes"] and sum(s * n for s, n in batches.items()) == 6
    assert [r["percentile"] for r in monitor.latency.rows()] == ["p50", "p95", "p99"]
    assert monitor.throughput.rows()[-1]["requests_per_s"] == snap["requests_per_s"] > 0
    assert monitor.summary.value.startswith("answered 6 · ")
    assert "queue 0/1024" in monitor.summary.value
    assert monitor.summary.value.endswith("errors: invalid 1")


def test_refreshes_come_from_the_timer_thread_only(server, comm_log, monkeypatch):
    threads = []
    original = Monitor.refresh

    def recording(self):
        threads.append(threading.current_thread().name)
        return original(self)

    monkeypatch.setattr(Monitor, "refresh", recording)
    monitor = server.monitor(interval=0.1)
    for i in range(50):
        server.predict(float(i))
    wait_for(lambda: "answered 50 " in monitor.summary.value)
    monitor.close()
    assert len(threads) >= 2
    # every refresh but the final one of close() ran on the monitor's timer thread
    assert set(threads[:-1]) == {"kino-serving-monitor"}, set(threads)


def test_history_is_bounded(server, comm_log):
    monitor = server.monitor(interval=60)
    server.predict(1.0)
    for _ in range(HISTORY + 15):
        monitor.refresh()
    assert len(monitor.throughput.rows()) == HISTORY
    assert len(monitor.latency.rows()) == 3 * HISTORY


def test_a_server_displays_as_its_monitor_and_stop_ends_the_timer(server, comm_log):
    bundle = server._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    monitors = list(server._monitors)
    assert len(monitors) == 1 and not monitors[0].closed
    server.stop()
    assert monitors[0].closed
    assert monitors[0].summary.value.endswith("· stopped")


def test_bad_interval_is_refused(server):
    with pytest.raises(ValueError, match=r"Server.monitor: 'interval' must be a finite number"):
        server.monitor(interval=0.01)


def test_requests_per_second_of_a_young_server_is_measured_over_its_age():
    from kino.serving.stats import RATE_WINDOW, Stats

    stats = Stats(started=100.0)
    stats.answered(8, [0.001] * 8, now=100.5)
    stats.answered(8, [0.001] * 8, now=101.0)
    assert stats.snapshot(0, now=101.0)["requests_per_s"] == 16.0
    # an old server: the newest RATE_WINDOW seconds only
    assert stats.snapshot(0, now=100.0 + RATE_WINDOW + 0.7)["requests_per_s"] == 8 / RATE_WINDOW
