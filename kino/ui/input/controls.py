"""``kino.button`` and ``kino.interval`` (Kino.Control).

Button clicks and input changes arrive as comm messages, handled by the kernel
between cells and while a background thread (a ``kino.train`` run started in
the background) computes; interval ticks run on their own daemon thread. All of
this goes through comms only, so it works in Voila too. Both are event sources
(``kino.listen``): a button emits "click" events, an interval "tick" events.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

import ipywidgets

from kino.contracts import check_int, check_number, check_str
from kino.ui.base import ClosesParts, EventSource, kit_style
from kino.ui.input.pinned import Pins

log = logging.getLogger("kino")

#: Shortest period ``kino.interval`` accepts, in milliseconds.
MIN_INTERVAL_MS = 10
#: Longest period ``kino.interval`` accepts, in milliseconds (one day): a longer
#: wait overflows the thread's timer, which would end the interval silently.
MAX_INTERVAL_MS = 24 * 60 * 60 * 1000


class Button(ClosesParts, ipywidgets.VBox, EventSource):
    """A button (``kino.button``): each click emits a "click" event, and
    ``.on_click(fn)`` calls ``fn()`` on each click.

    >>> import kino
    >>> stop = kino.button("Stop")
    >>> _ = stop.on_click(lambda: print("stopping"))
    >>> stop.click()
    stopping
    """

    primary_event = "click"

    def __init__(self, label: str, *, primary: bool = False) -> None:
        self.label = check_str(label, func="kino.button", argument="label")
        self.button = ipywidgets.Button(
            description=label, button_style="primary" if primary else ""
        )
        self.clicks = 0
        self._disabled = False
        self._pins = Pins(self.button, ["disabled"])
        self.button.on_click(lambda _b: self.click())
        super().__init__([kit_style(), self.button])
        self.add_class("kino")
        self.add_class("kino-button")

    def on_click(self, fn: Callable[[], Any]) -> Callable[[], Any]:
        """Call ``fn()`` on each click; returns ``fn`` (usable as a decorator). The
        same as ``subscribe`` to "click" events, with no argument."""
        return self._on("click", fn, func="kino.button.on_click", value=False)

    def click(self) -> None:
        """Click the button from Python (counts and emits the "click" event)."""
        if self._disabled:  # the kernel's flag; the page can rewrite the control's
            return
        self.clicks += 1
        self.emit("click", None)

    def disable(self) -> None:
        """Grey the button out; clicks are ignored until :meth:`enable`."""
        self._disabled = True
        self._pins.set("disabled", True)

    def enable(self) -> None:
        """Make the button clickable again."""
        self._disabled = False
        self._pins.set("disabled", False)

    def update(self, label: str) -> None:
        """Change the button's label."""
        self.label = check_str(label, func="kino.button.update", argument="label")
        self.button.description = label

    def __repr__(self) -> str:
        return f"<kino.button {self.label!r} clicks={self.clicks}>"


class Interval(EventSource):
    """Tick every ``ms`` milliseconds on a daemon thread (``kino.interval``): each
    tick emits a "tick" event with the iteration number (0, 1, 2, ...), and
    ``.on_tick(fn)`` calls ``fn(iteration)``.

    ``.iteration`` counts the ticks so far; ``.start()`` and ``.stop()`` resume
    and pause it; ``times=`` stops it after that many ticks. An exception in a
    handler stops the interval (it is logged and kept in ``.error``).

    >>> import kino
    >>> ticks = []
    >>> timer = kino.interval(10, times=3)
    >>> _ = timer.on_tick(ticks.append)
    >>> timer.join(5)
    >>> timer.iteration
    3
    """

    primary_event = "tick"

    def __init__(self, ms: float, *, times: int | None = None, start: bool = True) -> None:
        self.ms = check_number(
            ms, func="kino.interval", argument="ms", min=MIN_INTERVAL_MS, max=MAX_INTERVAL_MS
        )
        self.times = check_int(
            times, func="kino.interval", argument="times", min=1, allow_none=True
        )
        self.iteration = 0
        self.error: BaseException | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        if start:
            self.start()

    @property
    def running(self) -> bool:
        """True while ticking."""
        return self._thread is not None and self._thread.is_alive() and not self._stop.is_set()

    def on_tick(self, fn: Callable[[int], Any]) -> Callable[[int], Any]:
        """Call ``fn(iteration)`` on each tick (0, 1, 2, ...); returns ``fn``. The same
        as ``subscribe`` to "tick" events, handed the iteration only."""
        return self._on("tick", fn, func="kino.interval.on_tick")

    def start(self) -> None:
        """Start (or resume) ticking."""
        with self._lock:
            if self.running:
                return
            self._stop = threading.Event()
            self._thread = threading.Thread(
                target=self._run, args=(self._stop,), name="kino.interval", daemon=True
            )
            self._thread.start()

    def stop(self) -> None:
        """Stop ticking (the thread ends after the current tick)."""
        self._stop.set()

    def join(self, timeout: float | None = None) -> None:
        """Wait until the interval has stopped (after ``times`` ticks or ``stop()``)."""
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def _run(self, stop: threading.Event) -> None:
        while not stop.wait(self.ms / 1000):
            if self.times is not None and self.iteration >= self.times:
                break
            i = self.iteration
            self.iteration += 1
            try:
                self.emit("tick", i)
            except Exception as exc:
                self.error = exc
                log.exception("kino.interval: a handler raised; the interval stops")
                break
            if self.times is not None and self.iteration >= self.times:
                break
        stop.set()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<kino.interval {self.ms} ms, {state}, iteration={self.iteration}>"
