"""``train.TextProgress``: the progress of a run as one text line, for plain scripts.

A progress display follows a loop through four handlers, attached by
:func:`follow`: ``_started``, ``_iteration`` (every ``every``-th step),
``_epoch`` and ``_completed``. ``kino.dashboard`` is the notebook one and falls
back to this one outside a Jupyter kernel. This module needs only the standard
library, so importing it loads no JAX.

Example:
    >>> import io
    >>> from kino.train.events import LoopState
    >>> out = io.StringIO()
    >>> TextProgress(out)._epoch(LoopState(event="epoch_completed", epoch=1, epochs=2, step=5))
    >>> out.getvalue()
    'epoch 1/2 · step 5\\n'
"""

from __future__ import annotations

import math
import sys
import time
from typing import Any, TextIO

from kino.contracts import check_int

PROGRESS_INTERVAL = 0.25
"""Seconds between two progress updates (a terminal line; 10 s when not a terminal)."""


def finite(value: Any) -> float | None:
    """``value`` as a float, or ``None`` when it is not a finite number.

    >>> finite("0.5"), finite(float("nan")), finite(None)
    (0.5, None, None)
    """
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def eta(state: Any) -> float | None:
    """Seconds left in the run at its current speed, or ``None`` when unknown."""
    rate = state.steps_per_second
    if not rate or rate <= 0:
        return None
    if state.total_steps:
        return max(state.total_steps - state.step, 0) / rate
    if state.iterations:
        left = (state.epochs - state.epoch) * state.iterations + state.iterations - state.iteration
        return max(left, 0) / rate
    return None


def clock(seconds: float) -> str:
    """``m:ss`` or ``h:mm:ss``.

    >>> clock(75), clock(3725)
    ('1:15', '1:02:05')
    """
    seconds = int(max(seconds, 0))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def follow(loop: Any, display: Any, every: int = 1, *, func: str = "train.TextProgress") -> Any:
    """Attach a progress display's handlers to ``loop``; returns the display."""
    every = check_int(every, func=func, argument="every", min=1)
    loop.handle("started", display._started)
    loop.handle("iteration_completed", display._iteration, every=every)
    loop.handle("epoch_completed", display._epoch)
    loop.handle("completed", display._completed)
    return display


class TextProgress:
    """The dashboard of a plain script: one progress line, rewritten in place on a terminal.

    ``TextProgress(stream).follow(loop)`` prints to ``stream`` (default: stderr);
    ``kino.dashboard(loop)`` returns one outside a Jupyter kernel.

    >>> import io
    >>> out = io.StringIO()
    >>> p = TextProgress(out)
    """

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self._last = -math.inf
        self._width = 0
        self._tty = bool(getattr(self.stream, "isatty", lambda: False)())

    def follow(self, loop: Any, every: int = 1) -> TextProgress:
        """Print the progress of ``loop``'s runs (every ``every``-th step at most); returns self."""
        return follow(loop, self, every, func="train.TextProgress.follow")

    def line(self, state: Any) -> str:
        """The progress line for a loop state."""
        parts = [f"epoch {state.epoch}/{state.epochs}"]
        if state.total_steps:
            done = min(state.step / state.total_steps, 1.0)
            filled = int(done * 20)
            parts.append(f"{'█' * filled}{'░' * (20 - filled)} {done:4.0%}")
            parts.append(f"step {state.step}/{state.total_steps}")
        else:
            parts.append(f"step {state.step}")
        if state.steps_per_second:
            parts.append(f"{state.steps_per_second:.1f} steps/s")
        left = eta(state)
        if left is not None and state.status == "running":
            parts.append(f"ETA {clock(left)}")
        for key, value in state.metrics.items():
            v = finite(value)
            if v is not None:
                parts.append(f"{key} {v:.4g}")
        lr = finite(state.learning_rate)
        if lr is not None:
            parts.append(f"lr {lr:.3g}")
        return " · ".join(parts)

    def _write(self, text: str, end: str) -> None:
        if self._tty:
            pad = max(self._width - len(text), 0)
            self.stream.write("\r" + text + " " * pad + end)
            self._width = 0 if end else len(text)
        else:
            self.stream.write(text + "\n")
        self.stream.flush()

    def _iteration(self, state: Any) -> None:
        now = time.monotonic()
        interval = PROGRESS_INTERVAL if self._tty else 10.0
        if now - self._last >= interval:
            self._last = now
            self._write(self.line(state), "")

    def _epoch(self, state: Any) -> None:
        self._last = time.monotonic()
        self._write(self.line(state), "\n")

    def _completed(self, state: Any) -> None:
        reason = f" ({state.reason})" if state.reason else ""
        self._write(f"{state.status}{reason} after {clock(state.elapsed)}", "\n")

    def _started(self, state: Any) -> None:
        self._last = -math.inf

    def stop(self) -> None:
        """Text progress has no button; stop the run with ``run.stop()``."""
