"""A server's live dashboard, built from kino's public widgets (``kino.chart``, ``kino.text``).

A timer thread (never the request path) takes a :class:`~kino.serving.stats.Stats`
snapshot every ``interval`` seconds and pushes one point per chart: requests/s,
latency p50/p95/p99 (over the newest ``LATENCY_WINDOW`` requests), and the batch
sizes used, with a summary line that adds the queue depth and errors by kind.
Charts keep the newest ``HISTORY`` points.

>>> import numpy as np
>>> from kino.serving import Serving
>>> server = Serving(lambda x: x, example=np.zeros(())).start()
>>> monitor = server.monitor(interval=60)
>>> _ = server.predict(1.0); _ = monitor.refresh()
>>> monitor.summary.value.startswith("answered 1")
True
>>> server.stop(); monitor.closed
True
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any

from kino.contracts import check_number
from kino.ui.layout import grid
from kino.ui.live import chart
from kino.ui.output import text

if TYPE_CHECKING:
    from kino.serving.server import Server

#: Points each time chart keeps (at the default interval, the last minute).
HISTORY = 120
#: The shortest refresh interval (seconds): the monitor costs the server nothing measurable.
MIN_INTERVAL = 0.1


class Monitor:
    """The live dashboard of one server; ``close()`` (or the server's ``stop``) ends it.

    >>> import numpy as np
    >>> from kino.serving import Serving
    >>> server = Serving(abs, example=np.zeros(())).start()
    >>> m = Monitor(server, interval=60); _ = m.refresh(); m.close(); m.closed
    True
    >>> server.stop()
    """

    def __init__(self, server: Server, *, interval: float = 0.5) -> None:
        import altair as alt

        self.interval = float(
            check_number(interval, func="Server.monitor", argument="interval", min=MIN_INTERVAL)
        )
        self.server = server
        self.summary = text("starting…")
        base = alt.Chart().properties(height=140)
        seconds = alt.X("t:Q", title="seconds")
        self.throughput = chart(
            base.mark_line(point=False)
            .encode(seconds, alt.Y("requests_per_s:Q", title="req/s"))
            .properties(title="requests/s")
        )
        self.latency = chart(
            base.mark_line(point=False)
            .encode(seconds, alt.Y("ms:Q", title="ms"), alt.Color("percentile:N", title=None))
            .properties(title="latency")
        )
        self.batches = chart(
            base.mark_bar()
            .encode(alt.X("size:O", title="batch size"), alt.Y("batches:Q", title="batches"))
            .properties(title="batch sizes used")
        )
        self.widget = grid(
            [self.summary, self.throughput, self.latency, self.batches], columns=2, boxed=True
        )
        self._started = time.monotonic()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._tick, name="kino-serving-monitor", daemon=True)
        self._thread.start()

    @property
    def closed(self) -> bool:
        """Whether the timer has been stopped.

        >>> import numpy as np
        >>> from kino.serving import Serving
        >>> s = Serving(abs, example=np.zeros(())).start(); m = s.monitor(interval=60)
        >>> m.closed
        False
        >>> s.stop()
        """
        return self._stop.is_set()

    def refresh(self) -> dict[str, Any]:
        """Push the server's current figures to the widgets; returns the snapshot shown.

        >>> import numpy as np
        >>> from kino.serving import Serving
        >>> s = Serving(abs, example=np.zeros(())).start(); m = s.monitor(interval=60)
        >>> m.refresh()["queue_depth"]
        0
        >>> s.stop()
        """
        snap = self.server.stats.snapshot(self.server.queue_depth)
        t = round(time.monotonic() - self._started, 2)
        self.throughput.push({"t": t, "requests_per_s": snap["requests_per_s"]}, window=HISTORY)
        if snap["p50_ms"] is not None:
            self.latency.push(
                [{"t": t, "ms": snap[f"{p}_ms"], "percentile": p} for p in ("p50", "p95", "p99")],
                window=3 * HISTORY,
            )
        self.batches.replace(
            [{"size": size, "batches": n} for size, n in snap["batch_sizes"].items()]
        )
        self.summary.update(_summary(snap, self.server))
        return snap

    def close(self) -> None:
        """Stop the timer (the widgets keep their last figures).

        >>> import numpy as np
        >>> from kino.serving import Serving
        >>> s = Serving(abs, example=np.zeros(())).start(); m = s.monitor(interval=60)
        >>> m.close(); m.closed
        True
        >>> s.stop()
        """
        self._stop.set()
        if self._thread is not threading.current_thread():
            self._thread.join()
        self.refresh()

    def _tick(self) -> None:
        while not self._stop.wait(self.interval):
            self.refresh()

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)


def _ms(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f} ms"


def _summary(snap: dict[str, Any], server: Server) -> str:
    """The monitor's text line.

    >>> _summary({"answered": 3, "requests_per_s": 1.5, "queue_depth": 0, "p50_ms": 1.0,
    ...           "p95_ms": 2.0, "p99_ms": None, "errors": {"overloaded": 2}},
    ...          type("S", (), {"max_queue": 8, "running": True})())
    'answered 3 · 1.5 req/s · queue 0/8 · p50 1.0 ms · p95 2.0 ms · p99 – · errors: overloaded 2'
    """
    errors = ", ".join(f"{kind} {n}" for kind, n in snap["errors"].items()) or "none"
    state = "" if server.running else " · stopped"
    return (
        f"answered {snap['answered']} · {snap['requests_per_s']:.1f} req/s · "
        f"queue {snap['queue_depth']}/{server.max_queue} · p50 {_ms(snap['p50_ms'])} · "
        f"p95 {_ms(snap['p95_ms'])} · p99 {_ms(snap['p99_ms'])} · errors: {errors}{state}"
    )
