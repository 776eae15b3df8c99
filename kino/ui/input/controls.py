"""``kino.button``, ``kino.interval`` and ``kino.listen`` (Kino.Control).

Button clicks and input changes arrive as comm messages, handled by the kernel
between cells and while a background thread (a ``kino.train`` run started in
the background) computes; interval ticks run on their own daemon thread. All of
this goes through comms only, so it works in Voila too.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

import ipywidgets

from kino.contracts import check_callable, check_str
from kino.ui.base import kit_style
from kino.ui.input.fields import Input
from kino.ui.input.form import Form

log = logging.getLogger("kino")

#: Shortest period ``kino.interval`` accepts, in milliseconds.
MIN_INTERVAL_MS = 10


class Button(ipywidgets.VBox):
    """A button (``kino.button``); ``.on_click(fn)`` calls ``fn()`` on each click."""

    def __init__(self, label: str, *, primary: bool = False) -> None:
        self.label = check_str(label, func="kino.button", argument="label")
        self.button = ipywidgets.Button(
            description=label, button_style="primary" if primary else ""
        )
        self.clicks = 0
        self._handlers: list[Callable[[], Any]] = []
        self.button.on_click(lambda _b: self.click())
        super().__init__([kit_style(), self.button])
        self.add_class("kino")
        self.add_class("kino-button")

    def on_click(self, fn: Callable[[], Any]) -> Callable[[], Any]:
        """Call ``fn()`` on each click; returns ``fn`` (usable as a decorator)."""
        self._handlers.append(check_callable(fn, func="kino.button.on_click"))
        return fn

    def click(self) -> None:
        """Click the button from Python (counts and calls the handlers)."""
        if self.button.disabled:
            return
        self.clicks += 1
        for fn in list(self._handlers):
            fn()

    def disable(self) -> None:
        """Grey the button out."""
        self.button.disabled = True

    def enable(self) -> None:
        """Make the button clickable again."""
        self.button.disabled = False

    def update(self, label: str) -> None:
        """Change the button's label."""
        self.label = check_str(label, func="kino.button.update", argument="label")
        self.button.description = label

    def __repr__(self) -> str:
        return f"<kino.button {self.label!r} clicks={self.clicks}>"


def button(label: str, *, primary: bool = False) -> Button:
    """A button; ``.on_click(fn)`` calls ``fn()`` on each click.

    >>> import kino
    >>> stop = kino.button("Stop")
    >>> _ = stop.on_click(lambda: print("stopping"))
    >>> stop.click()
    stopping
    """
    return Button(label, primary=primary)


class Interval:
    """Calls its handlers every ``ms`` milliseconds on a daemon thread (``kino.interval``).

    ``.iteration`` counts the ticks so far; ``.start()`` and ``.stop()`` resume
    and pause it; ``times=`` stops it after that many ticks. An exception in a
    handler stops the interval (it is logged and kept in ``.error``).
    """

    def __init__(self, ms: int, *, times: int | None = None, start: bool = True) -> None:
        if isinstance(ms, bool) or not isinstance(ms, (int, float)) or ms < MIN_INTERVAL_MS:
            raise ValueError(
                f"kino.interval: 'ms' must be a number of milliseconds >= {MIN_INTERVAL_MS}, "
                f"got {ms!r}"
            )
        if times is not None and (
            isinstance(times, bool) or not isinstance(times, int) or times < 1
        ):
            raise ValueError(f"kino.interval: 'times' must be an int >= 1 or None, got {times!r}")
        self.ms = ms
        self.times = times
        self.iteration = 0
        self.error: BaseException | None = None
        self._handlers: list[Callable[[int], Any]] = []
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
        """Call ``fn(iteration)`` on each tick (0, 1, 2, ...); returns ``fn``."""
        self._handlers.append(check_callable(fn, func="kino.interval.on_tick"))
        return fn

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
                for fn in list(self._handlers):
                    fn(i)
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


def interval(ms: int, *, times: int | None = None, start: bool = True) -> Interval:
    """Tick every ``ms`` milliseconds: ``.on_tick(fn)`` gets the iteration number.

    >>> import kino
    >>> ticks = []
    >>> timer = kino.interval(10, times=3)
    >>> _ = timer.on_tick(ticks.append)
    >>> timer.join(5)
    >>> timer.iteration
    3
    """
    return Interval(ms, times=times, start=start)


def listen(source: Any, fn: Callable[..., Any]) -> Callable[..., Any]:
    """Call ``fn`` on each event of ``source``: a form's submit (its change when it
    has no submit button) with the values, an input's change with the value, a
    button's click with no argument, an interval's tick with the iteration, or an
    ipywidgets control's change with its value. Returns ``fn``.

    >>> import kino
    >>> seen = []
    >>> epochs = kino.input.range("Epochs", 1, 100, default=10)
    >>> _ = kino.listen(epochs, seen.append)
    >>> epochs.update(20)
    >>> seen
    [20]
    """
    check_callable(fn, func="kino.listen")
    if isinstance(source, Form):
        return source.on_submit(fn) if source.button is not None else source.on_change(fn)
    if isinstance(source, Input):
        return source.on_change(fn)
    if isinstance(source, Button):
        return source.on_click(fn)
    if isinstance(source, Interval):
        return source.on_tick(fn)
    if isinstance(source, ipywidgets.Button):
        source.on_click(lambda _b: fn())
        return fn
    if isinstance(source, ipywidgets.ValueWidget):
        source.observe(lambda change: fn(change["new"]), names="value")
        return fn
    raise TypeError(
        "kino.listen: 'source' must be a kino form, input, button or interval, or an "
        f"ipywidgets control with a value, got {type(source).__name__}"
    )
