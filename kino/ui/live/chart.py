"""``kino.chart``: live Vega-Lite charts you push rows into (Kino.VegaLite).

The chart renders any altair chart or Vega-Lite dict with vega-embed bundled
in kino (no CDN), follows the JupyterLab light/dark theme and the width of its
cell. ``push`` adds rows through Vega changesets without re-rendering the
chart; pushes are coalesced so that a tight loop sends at most one message
every ``FLUSH_INTERVAL`` seconds (about 20 a second), every row arriving in
order. The rows live in widget state, so a saved notebook, a second view of the
chart or a reconnecting Voila page shows the same data.
"""

from __future__ import annotations

import datetime as _dt
import decimal
import math
import numbers
import warnings
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import traitlets

from kino._extras import load
from kino.contracts import check_int, check_str, fail
from kino.ui.base import EventSource, KinoWidget
from kino.ui.live import vlspec as _vlspec
from kino.ui.live.stream import FLUSH_INTERVAL, DataStream, Row

if TYPE_CHECKING:
    from kino import train

__all__ = ["FLUSH_INTERVAL", "MAX_ROWS", "Chart", "chart"]

#: Rows a dataset keeps when pushes give no ``window``: beyond it the oldest
#: rows are dropped (and the chart says so once).
MAX_ROWS = 100_000
#: Width (pixels) of ``to_png``/``to_svg`` images of charts that fill their cell.
EXPORT_WIDTH = 640
#: Largest ``scale`` ``to_png`` accepts (a 640-pixel chart becomes 10,240 pixels wide).
MAX_PNG_SCALE = 16

_PLAIN = frozenset((str, int, float, bool, type(None)))
_NUMERIC = frozenset((int, float, bool, type(None)))


class Chart(KinoWidget, EventSource, bundle="chart"):
    """A live chart of an altair chart or Vega-Lite dict; push rows into it.

    ``kino.chart`` is this class. ``max_rows`` bounds each dataset when pushes give
    no ``window``. When the spec has selection params (``alt.selection_point``,
    ``alt.selection_interval``), the browser fills ``selection`` with
    ``{param name: Vega signal value}`` and the chart emits
    ``Event("select", selection, chart)`` to its subscribers (``subscribe``,
    ``kino.listen``).

    >>> import altair as alt, kino
    >>> c = kino.chart(
    ...     alt.Chart().mark_line().encode(x="step:Q", y="loss:Q", color="split:N")
    ... )
    >>> c.push({"step": 1, "loss": 0.9, "split": "train"}, window=1000)
    >>> c.rows()
    [{'step': 1, 'loss': 0.9, 'split': 'train'}]
    >>> picked = []
    >>> _ = kino.listen(c, picked.append)
    >>> c.selection = {"brush": {"step": [0, 5]}}  # what the browser does on a drag
    >>> picked[0].type, picked[0].value
    ('select', {'brush': {'step': [0, 5]}})
    """

    primary_event = "select"

    spec = traitlets.Dict().tag(sync=True)
    notice = traitlets.Unicode("").tag(sync=True)
    #: ``{param name: Vega signal value}`` of the spec's selection params (set by the browser).
    selection = traitlets.Dict().tag(sync=True)
    _data = traitlets.Dict().tag(sync=True)

    def __init__(self, spec: Any, *, max_rows: int = MAX_ROWS) -> None:
        max_rows = check_int(max_rows, func="kino.chart", argument="max_rows", min=1)
        parsed = _vlspec.parse(spec)
        self.max_rows = max_rows
        self._parsed = parsed
        self._warned: set[str] = set()
        super().__init__(spec=parsed.spec)
        self._stream = DataStream(self._send_ops, self._publish)
        for name, rows in parsed.initial.items():
            self._stream.load(name, [self._row(r, name, i) for i, r in enumerate(rows)], max_rows)
        self._stream.publish_snapshot()
        self.on_msg(self._on_front_end_msg)

    # -- the public API ------------------------------------------------------
    @property
    def datasets(self) -> list[str]:
        """Names of the datasets rows can be pushed into; the first is the default.

        >>> import kino
        >>> kino.chart({"mark": "point", "data": {"name": "points"}}).datasets
        ['points']
        """
        names = list(self._parsed.names)
        if self._parsed.default in names:
            names.remove(self._parsed.default)
            names.insert(0, self._parsed.default)
        return names

    def push(
        self,
        rows: Row | Iterable[Row] | Any,
        window: int | None = None,
        dataset: str | None = None,
    ) -> None:
        """Append one row (a dict) or many (a list of dicts or a DataFrame).

        ``window=N`` keeps only the newest ``N`` rows of the dataset, in the
        browser and in Python; without it the dataset keeps at most ``max_rows``.

        >>> import altair as alt, kino
        >>> c = kino.chart(alt.Chart().mark_line().encode(x="step:Q", y="loss:Q"))
        >>> for step in range(1, 6):
        ...     c.push({"step": step, "loss": 1 / step}, window=3)
        >>> [r["step"] for r in c.rows()]
        [3, 4, 5]
        """
        window = check_int(
            window, func="kino.chart.push", argument="window", min=1, allow_none=True
        )
        name = self._dataset(dataset, "push")
        batch = self._rows(rows, name, "push")
        dropped = self._stream.push(name, batch, window or self.max_rows)
        if dropped and window is None:
            self._say_dropping(name)

    def replace(self, rows: Row | Iterable[Row] | Any, dataset: str | None = None) -> None:
        """Make ``rows`` the whole data of the dataset, in one changeset (no flicker).

        >>> import altair as alt, kino
        >>> c = kino.chart(alt.Chart().mark_bar().encode(x="k:N", y="v:Q"))
        >>> c.replace([{"k": "a", "v": 1}, {"k": "b", "v": 2}])
        >>> len(c.rows())
        2
        """
        name = self._dataset(dataset, "replace")
        batch = self._rows(rows, name, "replace")
        if self._stream.replace(name, batch, self.max_rows):
            self._say_dropping(name)

    def clear(self, dataset: str | None = None) -> None:
        """Remove every row of the dataset (the default one unless named).

        >>> import altair as alt, kino
        >>> c = kino.chart(alt.Chart().mark_point().encode(x="a:Q"))
        >>> c.push({"a": 1}); c.clear(); c.rows()
        []
        """
        self._stream.replace(self._dataset(dataset, "clear"), [], self.max_rows)

    def rows(self, dataset: str | None = None) -> list[Row]:
        """A copy of the rows the dataset holds now, oldest first.

        >>> import kino
        >>> c = kino.chart({"mark": "point", "data": {"values": [{"a": 1}]}})
        >>> c.rows()
        [{'a': 1}]
        """
        name = self._dataset(dataset, "rows")
        with self._stream._lock:
            return [dict(r) for r in self._stream.rows.get(name, ())]

    def flush(self) -> None:
        """Send pending rows now and store every row in the widget state.

        Pushes are sent on their own within ``FLUSH_INTERVAL`` seconds; call this
        before saving a notebook mid-run to make sure the saved state is current.

        >>> import kino
        >>> c = kino.chart({"mark": "point"})
        >>> c.push({"a": 1}); c.flush()
        >>> c._data["datasets"]["data"]["n"]
        1
        """
        self._stream.publish_snapshot()

    def to_spec(self) -> dict[str, Any]:
        """The spec with the current rows inlined as ``datasets`` (self-contained).

        >>> import kino
        >>> c = kino.chart({"mark": "point"})
        >>> c.push({"a": 1})
        >>> c.to_spec()["datasets"]
        {'data': [{'a': 1}]}
        """
        spec = dict(self.spec)
        with self._stream._lock:
            spec["datasets"] = {
                name: [dict(r) for r in rows] for name, rows in self._stream.rows.items()
            }
        if spec.get("width") == "container":
            spec["width"] = EXPORT_WIDTH
        return spec

    def to_svg(self) -> str:
        """The chart with its current rows as an SVG document (rendered by vl-convert).

        >>> import altair as alt, kino
        >>> c = kino.chart(alt.Chart().mark_line().encode(x="x:Q", y="y:Q"))
        >>> c.push([{"x": 0, "y": 0}, {"x": 1, "y": 1}])
        >>> c.to_svg().startswith("<svg")
        True
        """
        vl_convert = load("vl_convert", "kino.chart.to_svg")
        return vl_convert.vegalite_to_svg(self.to_spec())

    def to_png(self, scale: float = 2.0) -> bytes:
        """The chart with its current rows as PNG bytes (``scale`` 2 = retina).

        >>> import altair as alt, kino
        >>> c = kino.chart(alt.Chart().mark_point().encode(x="x:Q"))
        >>> c.push({"x": 1})
        >>> c.to_png(scale=1)[:4]
        b'\x89PNG'
        >>> c.to_png(scale=0)
        Traceback (most recent call last):
        ...
        ValueError: kino.chart.to_png: 'scale' must be a finite number > 0 and <= 16, got 0
        """
        allowed = f"a finite number > 0 and <= {MAX_PNG_SCALE}"
        if isinstance(scale, bool) or not isinstance(scale, numbers.Real):
            fail("kino.chart.to_png", "scale", allowed, scale)
        if not (math.isfinite(scale) and 0 < scale <= MAX_PNG_SCALE):
            fail("kino.chart.to_png", "scale", allowed, scale, ValueError)
        vl_convert = load("vl_convert", "kino.chart.to_png")
        return vl_convert.vegalite_to_png(self.to_spec(), scale=float(scale))

    def follow(
        self,
        loop: train.Trainer,
        metrics: Sequence[str] | None = None,
        *,
        every: int = 1,
        event: str = "iteration_completed",
        window: int | None = None,
        dataset: str | None = None,
    ) -> Chart:
        """Push a row ``{"step", "epoch", <metric>: value ...}`` on each loop event.

        Attaches an ordinary handler with ``loop.handle(event, fn, every=every)``;
        the values are the floats the loop already moved to the host, so following
        a loop adds no device synchronisation. ``metrics=None`` pushes them all.

        >>> import altair as alt, kino
        >>> c = kino.chart(alt.Chart().mark_line().encode(x="step:Q", y="loss:Q"))
        >>> c = c.follow(loop, ["loss"], every=10)  # doctest: +SKIP
        """
        func = "kino.chart.follow"
        every = check_int(every, func=func, argument="every", min=1)
        window = check_int(window, func=func, argument="window", min=1, allow_none=True)
        if metrics is not None:
            if isinstance(metrics, str) or not all(isinstance(m, str) for m in metrics):
                fail(func, "metrics", "a list of metric names (str) or None", metrics)
            metrics = list(metrics)
        name = self._dataset(dataset, "follow")

        def handler(state: Any) -> None:
            values = state.metrics
            row: Row = {"step": state.step, "epoch": state.epoch}
            if metrics is None:
                row.update(values)
            else:
                for m in metrics:
                    if m not in values:
                        raise ValueError(
                            f"kino.chart.follow: the loop reports no metric {m!r} on "
                            f"{state.event!r}; it reports {sorted(values)}"
                        )
                    row[m] = values[m]
            self.push(row, window=window, dataset=name)

        loop.handle(event, handler, every=every)
        return self

    # -- internals -------------------------------------------------------------
    def _dataset(self, dataset: str | None, method: str) -> str:
        if dataset is None:
            if self._parsed.default is None:
                raise ValueError(
                    f"kino.chart.{method}: this chart has several datasets; name one with "
                    f"dataset=..., one of {self._parsed.names}"
                )
            return self._parsed.default
        check_str(dataset, func=f"kino.chart.{method}", argument="dataset")
        if dataset not in self._parsed.names:
            raise ValueError(
                f"kino.chart.{method}: the spec has no dataset {dataset!r}; "
                f"its datasets are {self._parsed.names} "
                '(name one in the spec with data={"name": ...} or alt.NamedData)'
            )
        return dataset

    def _rows(self, rows: Any, dataset: str, method: str) -> list[Row]:
        if type(rows) is dict or isinstance(rows, Mapping):
            items: Iterable[Any] = (rows,)
        elif hasattr(rows, "to_dicts") and callable(rows.to_dicts):  # polars
            items = rows.to_dicts()
        elif hasattr(rows, "to_dict") and hasattr(rows, "columns"):  # pandas
            items = rows.to_dict("records")
        elif isinstance(rows, Iterable) and not isinstance(rows, (str, bytes)):
            items = rows
        else:
            fail(
                f"kino.chart.{method}",
                "rows",
                "a dict (one row), a list of dicts or a DataFrame",
                rows,
            )
        fields = self._parsed.fields.get(dataset)
        out = [self._row(r, dataset, i, method) for i, r in enumerate(items)]
        if fields is not None and (fields.required or fields.quantitative):
            required, quantitative = fields.required, fields.quantitative
            for i, r in enumerate(out):
                if all(f in r for f in required) and all(
                    type(r[f]) in _NUMERIC for f in quantitative
                ):
                    continue
                for f, channel in required.items():
                    if f not in r:
                        raise ValueError(
                            f"kino.chart.{method}: row {i} has no field {f!r}, which the chart "
                            f"encodes as {channel}; the row has {sorted(r)}"
                        )
                for f, channel in quantitative.items():
                    v = r[f]
                    if type(v) not in _NUMERIC:
                        raise ValueError(
                            f"kino.chart.{method}: field {f!r} is quantitative ({channel}), "
                            f"so it must be a number, got {type(v).__name__} {v!r:.40} in row {i}"
                        )
        return out

    @staticmethod
    def _row(row: Any, dataset: str, index: int, method: str = "push") -> Row:
        if type(row) is not dict and not isinstance(row, Mapping):
            raise TypeError(
                f"kino.chart.{method}: each row must be a dict of field -> value, "
                f"got {type(row).__name__} at position {index}"
            )
        out = dict(row)
        for key, value in out.items():
            if type(value) in _PLAIN and type(key) is str:
                continue
            if type(key) is not str:
                raise TypeError(
                    f"kino.chart.{method}: field names must be str, got {key!r} in row {index}"
                )
            out[key] = _plain(value, key, index, method)
        return out

    def _say_dropping(self, dataset: str) -> None:
        if dataset in self._warned:
            return
        self._warned.add(dataset)
        message = (
            f"Showing the newest {self.max_rows:,} rows of {dataset!r}: older rows are "
            "dropped (kino.chart max_rows; push with window=N to choose)."
        )
        self.notice = message
        warnings.warn(f"kino.chart: {message}", RuntimeWarning, stacklevel=3)

    def _send_ops(self, content: dict[str, Any], buffers: list[bytes]) -> None:
        self.send(content, buffers or None)

    def _publish(self, snapshot: dict[str, Any]) -> None:
        self._data = snapshot

    @traitlets.observe("selection")
    def _on_selection(self, change: dict[str, Any]) -> None:
        self.emit("select", dict(change["new"]))

    def _on_front_end_msg(self, _widget: Any, content: Any, _buffers: Any) -> None:
        hello = isinstance(content, dict) and content.get("type") == "hello"
        if hello and content.get("seq") != self._stream.seq:
            self._stream.snapshot_seq = -1
            self._stream.publish_snapshot()


def _plain(value: Any, key: str, index: int, method: str) -> Any:
    if isinstance(value, bool):
        return bool(value)
    for kind in (int, float, str):
        if isinstance(value, kind):
            return kind(value)
    if isinstance(value, _dt.datetime):
        return value.timestamp() * 1000.0
    if isinstance(value, _dt.date):
        return _dt.datetime(value.year, value.month, value.day, tzinfo=_dt.UTC).timestamp() * 1000
    if isinstance(value, decimal.Decimal):
        return float(value)
    item = getattr(value, "item", None)
    if callable(item) and getattr(value, "size", 1) == 1:
        plain = item()
        if type(plain) in _PLAIN:
            return plain
    raise TypeError(
        f"kino.chart.{method}: field {key!r} in row {index} holds a "
        f"{type(value).__name__}, which a chart cannot show; use numbers, str, bool, "
        "None or datetime"
    )


#: ``kino.chart`` is the :class:`Chart` class itself: one definition, one signature.
chart = Chart
