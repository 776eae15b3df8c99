"""``kino.dashboard``: a live training dashboard for a ``kino.train`` loop.

Loss and every metric for training and validation on a shared step axis (log
scale toggle for losses), a progress bar with epoch, step, steps/s and ETA, the
current learning rate, a confusion matrix heatmap refreshed each epoch (for
classification losses), and a Stop button that calls ``run.stop()`` while the
run trains in the background. In a plain script (no Jupyter kernel) it is a
``train.TextProgress`` instead, which prints one progress line.

The dashboard is an ordinary set of loop handlers (``loop.handle``), and they
cost the loop almost nothing: on the training thread they only append the
LoopState (whose numbers the loop has already moved to the host) to a bounded
buffer. Every ``DRAIN_INTERVAL`` seconds the streams' timer thread drains it:
curves, the confusion matrix's rows and the progress trait, sent in that same
wake (a thread that wakes often steals a core from XLA's step). Curves stay
small: each series keeps at most ``MAX_POINTS`` points, merging neighbouring
steps (their mean) as the run grows, and the browser gets the rows through the
same coalesced stream as ``kino.chart`` (here at most one message every
``DRAIN_INTERVAL`` seconds).

The status reads waiting → compiling (until the first step arrives) → running
→ stopping (after Stop; never back to running) → the run's own final status,
with its real last step. Steps/s and the ETA count compiled steps only; the
compile time (``LoopState.compile_seconds``) is shown apart.
"""

from __future__ import annotations

import inspect
import math
import threading
import time
from collections import deque
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import traitlets

from kino.contracts import check_bool, check_int, check_str, fail
from kino.train.progress import PROGRESS_INTERVAL, TextProgress, eta, finite, follow
from kino.ui.base import KinoWidget
from kino.ui.live.stream import DataStream, Pump

if TYPE_CHECKING:
    from kino import train

__all__ = [
    "CONFUSION_MAX_CLASSES",
    "DRAIN_INTERVAL",
    "INBOX_MAX",
    "MAX_POINTS",
    "PROGRESS_INTERVAL",
    "RATE_MIN_SECONDS",
    "Dashboard",
    "dashboard",
]

#: Points each training curve keeps; beyond it neighbouring points merge (mean).
MAX_POINTS = 1000
#: A confusion matrix with more classes is summarised instead of drawn.
CONFUSION_MAX_CLASSES = 40
#: Seconds between two drains of what the handlers recorded (off the training thread); the
#: page's curves and progress change this often, and the timer thread wakes no more often.
DRAIN_INTERVAL = PROGRESS_INTERVAL
#: LoopStates the handlers may record between two drains; beyond it the oldest are dropped.
INBOX_MAX = 1 << 16
#: Without a compile time from the runner, steps/s waits for this many seconds of compiled steps.
RATE_MIN_SECONDS = 0.5
#: Statuses a Stop click can still change (the run is under way).
_ACTIVE = ("compiling", "running")
#: Dataset of the confusion matrix cells in the dashboard's stream.
CONFUSION_DATASET = "confusion_matrix"
_VALIDATION = "validation_"
_FUNC = "kino.dashboard"
# rows of one metric's dataset: its train and validation curves, each at most MAX_POINTS + 1
_ROWS = 2 * MAX_POINTS + 2


def _row(split: str, step: int, value: float) -> dict[str, Any]:
    return {"step": step, "split": split, "value": value}


def _in_kernel() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


class _Series:
    """One training curve, kept at most ``MAX_POINTS`` points by merging neighbours."""

    __slots__ = ("count", "points", "stride", "sum")

    def __init__(self) -> None:
        self.stride = 1
        self.sum = 0.0
        self.count = 0
        self.points: list[tuple[int, float]] = []

    def add(self, step: int, value: float) -> tuple[int, float] | None:
        """Add one step's value; returns a new point when a bucket completes."""
        self.sum += value
        self.count += 1
        if self.count < self.stride:
            return None
        point = (step, self.sum / self.count)
        self.sum, self.count = 0.0, 0
        self.points.append(point)
        return point

    def compact(self) -> bool:
        """Merge pairs of points when over ``MAX_POINTS``; True when it did."""
        if len(self.points) <= MAX_POINTS:
            return False
        pts = self.points
        merged = [
            (pts[i + 1][0], (pts[i][1] + pts[i + 1][1]) / 2) for i in range(0, len(pts) - 1, 2)
        ]
        if len(pts) % 2:
            merged.append(pts[-1])
        self.points = merged
        self.stride *= 2
        return True


class Dashboard(KinoWidget, bundle="dashboard"):
    """Follow ``loop`` live: curves, progress, learning rate, confusion matrix, Stop.

    Display the returned widget (the last expression of a cell), then start the
    run with ``background=True`` so the Stop button stays live. In a plain
    script (or with ``text=True``) it returns a ``train.TextProgress`` that
    prints one progress line. ``every=N`` reads every N-th step's values.
    ``labels`` names the classes of the confusion matrix, which is added to
    classification loops (``confusion_matrix=False`` leaves the loop as it is).
    ``kino.dashboard`` is this class.

    >>> import kino, numpy as np
    >>> from flax import nnx
    >>> from kino import train
    >>> model = nnx.Linear(4, 3, rngs=nnx.Rngs(0))
    >>> loop = train.trainer(model, "sparse_categorical_cross_entropy", "adam")
    >>> dash = kino.dashboard(loop, text=False)  # in a notebook: end the cell with `dash`
    >>> x, y = np.ones((64, 4), "float32"), np.zeros(64, "int32")
    >>> run = loop.run((x, y), epochs=2, background=True)
    >>> run.wait().status, dash.progress["status"], dash.metrics
    ('completed', 'completed', ['loss'])
    """

    title = traitlets.Unicode("Training").tag(sync=True)
    metrics = traitlets.List(traitlets.Unicode()).tag(sync=True)
    progress = traitlets.Dict().tag(sync=True)
    labels = traitlets.List(traitlets.Unicode()).tag(sync=True)
    log_scale = traitlets.Bool(False).tag(sync=True)
    _data = traitlets.Dict().tag(sync=True)

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        # the plain-script fallback: outside a kernel (or with text=True) the dashboard is a
        # TextProgress, and __init__ (which alone spells out the arguments) never runs
        bound = inspect.signature(cls.__init__).bind(None, *args, **kwargs)
        bound.apply_defaults()
        options = dict(bound.arguments)
        del options["self"]
        text = options.pop("text")
        as_text = (
            not _in_kernel() if text is None else check_bool(text, func=_FUNC, argument="text")
        )
        if not as_text:
            return super().__new__(cls, *args, **kwargs)
        _check(**options)
        return TextProgress().follow(options["loop"], options["every"])

    def __init__(
        self,
        loop: train.Trainer,
        *,
        every: int = 1,
        title: str = "Training",
        labels: Sequence[str] | None = None,
        log_scale: bool = False,
        text: bool | None = None,
        confusion_matrix: bool = True,
    ) -> None:
        _check(loop, every, title, labels, log_scale, confusion_matrix)
        if confusion_matrix:
            _add_confusion_matrix(loop)
        super().__init__(
            title=title,
            labels=[str(x) for x in labels or ()],
            log_scale=log_scale,
            progress={"status": "waiting"},
        )
        self._stream = DataStream(self._send_ops, self._publish, interval=DRAIN_INTERVAL)
        self._stream.publish_snapshot()
        # the handlers only append LoopStates here; the pump drains them off the training thread
        self._inbox: deque[Any] = deque(maxlen=INBOX_MAX)
        self._pump = Pump(self._drain, DRAIN_INTERVAL)
        self._lock = threading.RLock()
        self._series: dict[str, _Series] = {}
        self._latest: dict[str, float] = {}
        self._last_progress = -math.inf
        self._run: Any = None
        self._stopping = False
        self._start_step = 0
        self._compile: float | None = None
        self._compile_reported = False
        self._first_seen: tuple[int, float] | None = None
        self._last_state: Any = None
        self._confusion_info: dict[str, int] | None = None
        self.every = every
        self.on_msg(self._on_front_end_msg)
        follow(loop, self, every, func=_FUNC)

    # -- loop handlers (on the training thread: they only record) ---------------
    def _started(self, state: Any) -> None:
        with self._lock:
            self._drain_locked()  # what a previous run left
            self._run = state.run
            self._stopping = False
            self._series.clear()
            self._latest.clear()
            self._start_step = state.step
            self._compile = None
            self._compile_reported = False
            self._first_seen = None
            self._last_state = None
            for name in list(self._stream.rows):
                self._stream.replace(name, [], _ROWS)
            self._send_progress(state, force=True)

    def _iteration(self, state: Any) -> None:
        self._inbox.append(state)
        self._pump.poke()

    def _epoch(self, state: Any) -> None:
        self._inbox.append(state)
        self._pump.poke()

    def _completed(self, state: Any) -> None:
        with self._lock:
            self._drain_locked()
            for (metric, split), series in self._series.items():
                if series.count:
                    point = (state.step, series.sum / series.count)
                    series.sum, series.count = 0.0, 0
                    series.points.append(point)
                    self._stream.push(metric, [_row(split, *point)], _ROWS)
            self._stopping = False
            self._send_progress(state, force=True)
        self._stream.publish_snapshot()

    # -- the drain (on the stream's timer thread, at most every DRAIN_INTERVAL) ---
    def _drain(self) -> None:
        with self._lock:
            self._drain_locked()
            self._stream.flush()  # in this wake of the timer thread, not in another

    def _drain_locked(self, force: bool = False) -> None:
        inbox = self._inbox
        last = None
        while inbox:
            state = inbox.popleft()
            if state.event == "epoch_completed":
                self._apply_epoch(state)
                force = True
            else:
                force = self._apply_iteration(state) or force
            last = state
        if last is not None:
            self._last_state = last
            self._send_progress(last, force)
        elif force and self._last_state is not None:
            self._send_progress(self._last_state, force)

    def _apply_iteration(self, state: Any) -> bool:
        """One step's values into the curves; True for the run's first compiled step."""
        first = self._compile is None
        if first:
            # the runner's own measure of the first dispatch when it gives one (kino.train does)
            reported = finite(getattr(state, "compile_seconds", None))
            self._compile_reported = reported is not None
            self._compile = reported if reported is not None else state.elapsed
            self._first_seen = (state.step, state.elapsed)
        step = state.step
        fresh = False
        for key, raw in state.metrics.items():
            value = finite(raw)
            if value is None:
                continue
            self._latest[key] = value
            fresh = self._add(key, "train", step, value) or fresh
        if fresh:
            self._register(state.metrics)
        return first

    def _apply_epoch(self, state: Any) -> None:
        for key, raw in state.metrics.items():
            value = finite(raw)
            if value is None or not key.startswith(_VALIDATION):
                continue
            self._latest[key] = value
            self._add(key[len(_VALIDATION) :], "validation", state.step, value)
        self._register(k[len(_VALIDATION) :] for k in state.metrics if k.startswith(_VALIDATION))
        if state.confusion_matrix is not None:
            self._confusion(state)

    def _add(self, metric: str, split: str, step: int, value: float) -> bool:
        """Add one value to a curve; returns True when the curve is new."""
        series = self._series.get((metric, split))
        fresh = series is None
        if series is None:
            series = self._series[(metric, split)] = _Series()
        point = series.add(step, value)
        if point is None:
            return fresh
        if series.compact():
            rows = [
                _row(sp, s, v)
                for sp in ("train", "validation")
                for s, v in getattr(self._series.get((metric, sp)), "points", ())
            ]
            rows.sort(key=lambda r: r["step"])
            self._stream.replace(metric, rows, _ROWS)
        else:
            self._stream.push(metric, [_row(split, *point)], _ROWS)
        return fresh

    # -- internals ---------------------------------------------------------------
    def _register(self, names: Any) -> None:
        known = list(self.metrics)
        for name in names:
            if name not in known and name != CONFUSION_DATASET:
                known.append(name)
        if known != list(self.metrics):
            order = {n: i for i, n in enumerate(known)}
            self.metrics = sorted(known, key=lambda n: (n != "loss", "loss" not in n, order[n]))

    def _confusion(self, state: Any) -> None:
        matrix = state.confusion_matrix
        classes = len(matrix)
        rows: list[dict[str, Any]] = []
        if classes <= CONFUSION_MAX_CLASSES:
            labels = list(self.labels) if len(self.labels) == classes else None
            for t in range(classes):
                total = float(sum(float(x) for x in matrix[t]))
                for p in range(classes):
                    count = float(matrix[t][p])
                    rows.append(
                        {
                            "actual": labels[t] if labels else str(t),
                            "predicted": labels[p] if labels else str(p),
                            "i": t,
                            "j": p,
                            "count": round(count),
                            "rate": count / total if total else 0.0,
                        }
                    )
        self._stream.replace(CONFUSION_DATASET, rows, CONFUSION_MAX_CLASSES**2)
        self._confusion_info = {"epoch": state.epoch, "classes": classes}

    def _status(self, state: Any) -> str:
        """What the page shows: "compiling" until the first step, then never back once stopping."""
        if state.status != "running":
            return state.status
        if self._stopping:
            return "stopping"
        return "compiling" if self._compile is None else "running"

    def _rate(self, state: Any) -> float | None:
        """Steps per second of compiled steps only (the compile time left out); None if unknown."""
        if self._compile is None:
            return None
        if self._compile_reported:
            steps, seconds = state.step - self._start_step, state.elapsed - self._compile
        else:  # from the first delivered step on, once there is enough to measure
            first_step, first_elapsed = self._first_seen or (state.step, state.elapsed)
            steps, seconds = state.step - first_step, state.elapsed - first_elapsed
            if seconds < RATE_MIN_SECONDS:
                return None
        return finite(steps / seconds) if steps > 0 and seconds > 0 else None

    def _send_progress(self, state: Any, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last_progress < PROGRESS_INTERVAL:
            return
        self._last_progress = now
        status = self._status(state)
        rate = self._rate(state)
        compiled = self._compile
        self.progress = {
            "status": status,
            "reason": state.reason,
            "event": state.event,
            "epoch": state.epoch,
            "epochs": state.epochs,
            "iteration": state.iteration,
            "iterations": state.iterations,
            "step": state.step,
            "total_steps": state.total_steps,
            "steps_per_second": rate,
            "elapsed": finite(state.elapsed),
            "compile_seconds": None if compiled is None else finite(compiled),
            "eta": eta(_Rated(state, rate)) if status == "running" and rate else None,
            "learning_rate": finite(state.learning_rate),
            "latest": dict(self._latest),
            "confusion": self._confusion_info,
            "data_path": _data_path(state),
        }

    def _send_ops(self, content: dict[str, Any], buffers: list[bytes]) -> None:
        self.send(content, buffers or None)

    def _publish(self, snapshot: dict[str, Any]) -> None:
        self._data = snapshot

    def _on_front_end_msg(self, _widget: Any, content: Any, _buffers: Any) -> None:
        if not isinstance(content, dict):
            return
        if content.get("type") == "stop":
            self.stop()
        elif content.get("type") == "hello" and content.get("seq") != self._stream.seq:
            self._stream.snapshot_seq = -1
            self._stream.publish_snapshot()

    def stop(self) -> None:
        """Ask the run the dashboard follows to stop (what the Stop button does).

        The status shows "stopping" at once and never goes back to "running": steps
        already computed still arrive, then the run's own final status and step.
        """
        run = self._run
        if run is None or getattr(run, "done", False):
            return
        run.stop()
        with self._lock:
            if self.progress.get("status") in _ACTIVE:
                self._stopping = True
                if self._last_state is None:  # still compiling
                    self.progress = {**self.progress, "status": "stopping", "eta": None}
                else:  # with the newest step recorded, not the last one sent
                    self._drain_locked(force=True)

    def series(self, metric: str = "loss") -> list[dict[str, Any]]:
        """The rows a metric's chart shows now (``step``, ``split``, ``value``)."""
        with self._stream._lock:
            return [dict(r) for r in self._stream.rows.get(metric, ())]


class _Rated:
    """A LoopState seen with another steps/s (for ``eta``)."""

    __slots__ = ("_state", "steps_per_second")

    def __init__(self, state: Any, rate: float | None) -> None:
        self._state = state
        self.steps_per_second = rate

    def __getattr__(self, name: str) -> Any:
        return getattr(self._state, name)


def _data_path(state: Any) -> str | None:
    """Which path feeds the run's batches, when the runtime says (``data_on_device``).

    >>> from types import SimpleNamespace as S
    >>> _data_path(S(data_on_device=True)), _data_path(S(data_on_device=False)), _data_path(S())
    ('on device', 'host feed', None)
    """
    for source in (state, getattr(state, "run", None)):
        on_device = getattr(source, "data_on_device", None)
        if isinstance(on_device, bool):
            return "on device" if on_device else "host feed"
    return None


def _check(
    loop: Any,
    every: int,
    title: str,
    labels: Sequence[str] | None,
    log_scale: bool,
    confusion_matrix: bool,
) -> None:
    """The argument checks of :class:`Dashboard`, on both of its paths."""
    if not callable(getattr(loop, "handle", None)):
        fail(_FUNC, "loop", "a kino.train loop (train.trainer(...))", loop)
    check_int(every, func=_FUNC, argument="every", min=1)
    check_str(title, func=_FUNC, argument="title")
    if labels is not None and (isinstance(labels, str) or not isinstance(labels, Sequence)):
        fail(_FUNC, "labels", "a list of class names", labels)
    check_bool(log_scale, func=_FUNC, argument="log_scale")
    check_bool(confusion_matrix, func=_FUNC, argument="confusion_matrix")


def _add_confusion_matrix(loop: Any) -> None:
    loss = getattr(loop, "loss", None)
    if not getattr(loss, "classification", False):
        return
    names = {getattr(m, "name", None) for m in getattr(loop, "metrics", ())}
    if "confusion_matrix" not in names:
        loop.metric("confusion_matrix")


dashboard = Dashboard
"""``kino.dashboard(loop, ...)``: the same as :class:`Dashboard`."""
