"""One event shape for every kino source, one way to subscribe, and ``kino.listen``.

Buttons, inputs, forms, intervals, table and chart selections all deliver an
:class:`Event` (its ``type``, ``value`` and ``source``) to the functions given to
their ``subscribe`` method. The older per-kind methods (``on_change``,
``on_submit``, ``on_click``, ``on_tick``) are that same subscription, filtered to
one type and handed the value only.

>>> class Counter(EventSource):
...     primary_event = "tick"
>>> counter, seen = Counter(), []
>>> _ = listen(counter, seen.append)
>>> counter.emit("tick", 1)
>>> seen[0].type, seen[0].value, seen[0].source is counter
('tick', 1, True)
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from kino.contracts import check_callable, check_str, fail

log = logging.getLogger("kino")

Subscriber = Callable[["Event"], Any]


@dataclass(frozen=True)
class Event:
    """What a source delivers: ``type`` ("change", "submit", "click", "tick",
    "select", ...), ``value`` (the new value, the form's values, the tick's
    iteration, the selection; None for a click) and the ``source`` itself.

    >>> Event("click", None, "button")
    Event(type='click', value=None, source='button')
    """

    type: str
    value: Any
    source: Any


class EventSource:
    """Mix-in for every widget that emits events: ``subscribe``, ``unsubscribe``, ``emit``.

    ``primary_event`` is the type :func:`listen` follows (None: every type).
    """

    primary_event: ClassVar[str | None] = None

    def _subscribers(self) -> list[tuple[Subscriber, str | None, Any]]:
        """(callback, type or None, what ``unsubscribe`` knows it by), in order."""
        # Created on first use: ipywidgets/traitlets classes run their own __init__ chains.
        subscribers = self.__dict__.get("_kino_subscribers")
        if subscribers is None:
            subscribers = self.__dict__.setdefault("_kino_subscribers", [])
        return subscribers

    def subscribe(self, fn: Subscriber, *, type: str | None = None) -> Subscriber:
        """Call ``fn(event)`` on every event (or only on events of ``type``); returns ``fn``.

        >>> source, seen = EventSource(), []
        >>> _ = source.subscribe(seen.append, type="change")
        >>> source.emit("change", 3); source.emit("click", None)
        >>> [e.value for e in seen]
        [3]
        """
        func = f"{self.__class__.__name__}.subscribe"
        check_callable(fn, func=func)
        check_str(
            type, func=func, argument="type", allowed="an event type (a str)", allow_none=True
        )
        with _lock:
            self._subscribers().append((fn, type, fn))
        return fn

    def _on(self, type: str, fn: Callable[..., Any], *, func: str, value: bool = True) -> Any:
        """What the per-kind methods (``on_change``, ``on_click``, ...) share: ``fn``
        subscribed to ``type`` and handed the event's value (``value=False``: nothing).
        Returns ``fn``; ``unsubscribe(fn)`` ends it.

        >>> source, seen = EventSource(), []
        >>> _ = source._on("change", seen.append, func="Source.on_change")
        >>> source.emit("change", 3); source.emit("click", None)
        >>> seen
        [3]
        """
        check_callable(fn, func=func)
        call: Subscriber = (lambda event: fn(event.value)) if value else (lambda _event: fn())
        with _lock:
            self._subscribers().append((call, type, fn))
        return fn

    def _has_subscribers(self, type: str) -> bool:
        """Whether an event of ``type`` would reach anyone (skip costly work when not)."""
        with _lock:
            return any(wanted in (None, type) for _, wanted, _ in self._subscribers())

    def unsubscribe(self, fn: Subscriber) -> None:
        """Stop calling ``fn`` (every subscription of it).

        >>> source, seen = EventSource(), []
        >>> source.unsubscribe(source.subscribe(seen.append))
        >>> source.emit("change", 1); seen
        []
        """
        with _lock:
            self._subscribers()[:] = [s for s in self._subscribers() if s[2] is not fn]

    def emit(self, type: str, value: Any = None) -> None:
        """Deliver ``Event(type, value, self)`` to the subscribers of ``type``, in order."""
        event = Event(type, value, self)
        with _lock:
            subscribers = list(self._subscribers())
        for fn, wanted, _ in subscribers:
            if wanted is None or wanted == type:
                fn(event)


_lock = threading.Lock()


def listen(source: Any, fn: Subscriber) -> Subscriber:
    """Call ``fn(event)`` on each event of ``source``; returns ``fn``.

    ``source`` is any kino event source (a form, an input, a button, an interval, a
    table, a chart) or an ipywidgets control with a ``value`` (its changes) or a
    button (its clicks). A form with a submit button is followed on submit, other
    sources on their main event.

    >>> import kino
    >>> seen = []
    >>> epochs = kino.input.range("Epochs", 1, 100, default=10)
    >>> _ = kino.listen(epochs, seen.append)
    >>> epochs.update(20)
    >>> [(e.type, e.value) for e in seen]
    [('change', 20)]
    """
    check_callable(fn, func="kino.listen")
    if isinstance(source, EventSource):
        return source.subscribe(fn, type=source.primary_event)
    # ipywidgets controls are not kino sources: their own observer API, adapted.
    if callable(getattr(source, "on_click", None)) and hasattr(source, "description"):
        source.on_click(lambda _button: fn(Event("click", None, source)))
        return fn
    if (
        callable(getattr(source, "observe", None))
        and "value" in getattr(source, "trait_names", list)()
    ):
        source.observe(lambda change: fn(Event("change", change["new"], source)), names="value")
        return fn
    fail(
        "kino.listen",
        "source",
        "a kino event source (form, input, button, interval, table, chart) or an ipywidgets "
        "control with a value",
        source,
    )
