"""``kino.table``: a polars DataFrame viewer that stays fast at ten million rows.

Everything runs in the kernel with polars: the browser asks for a page by
setting the ``query`` trait (page, page size, multi-column sort, per-column
filters, global search, like Livebook's ``Kino.Table``) and receives only that
page, as Arrow IPC bytes in the ``page`` trait, which travels as a binary
buffer. Because the query and the page are traits, a saved notebook reopens on
the same page and a second view of the widget shows the same thing.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

import polars as pl
import traitlets

from kino.contracts import check_bool, check_choice, check_int, check_str, fail
from kino.ui.base import EventSource, KinoWidget
from kino.ui.table.arrow import Formatter, FormatterError, encode_page, json_text
from kino.ui.table.columns import Column, describe_schema
from kino.ui.table.query import MAX_PAGE_SIZE, Pager, Query, QueryError, parse_query
from kino.ui.table.summary import summarize

#: Frames with more cells (rows x columns) than this get their summaries in a
#: background thread, so the first page never waits for them.
SUMMARY_SYNC_CELLS = 200_000
#: Background summaries start when a browser view reports its first page drawn, or
#: after this many seconds without one, so they never compete with the first render.
SUMMARY_START_DELAY_S = 1.0
#: Most rows that can be selected at once.
MAX_SELECTED = 10_000
#: Largest export (bytes) the download button produces; bigger views say how to
#: write the file from Python instead.
EXPORT_MAX_BYTES = 100 * 1024 * 1024
EXPORT_FORMATS = ("csv", "parquet")
#: Most rows polars streams per batch of an export, and most rows written per CSV slice;
#: slices are also kept under 1/16 of the limit in bytes, so an export over the limit
#: stops within one small slice of it.
EXPORT_BATCH_ROWS = 50_000
#: Rows of the first CSV batch, which measures the bytes per row for the next ones.
EXPORT_FIRST_BATCH_ROWS = 256

TableData = Any


def to_polars(data: TableData, argument: str = "data") -> pl.DataFrame | pl.LazyFrame:
    """Convert what ``kino.table`` accepts into a polars DataFrame or LazyFrame.

    >>> to_polars({"a": [1, 2]}).shape
    (2, 1)
    """
    if isinstance(data, (pl.DataFrame, pl.LazyFrame)):
        return data
    if isinstance(data, pl.Series):
        return data.to_frame()
    module = type(data).__module__
    try:
        if module.startswith("pandas"):
            if type(data).__name__ == "Series":
                return pl.from_pandas(data.to_frame())
            if type(data).__name__ == "DataFrame":
                return pl.from_pandas(data)
        if module.startswith("pyarrow") and type(data).__name__ in ("Table", "RecordBatch"):
            return pl.from_arrow(data)  # type: ignore[return-value]
        if isinstance(data, Mapping):
            return pl.DataFrame(dict(data))
        if (
            isinstance(data, Sequence)
            and not isinstance(data, (str, bytes))
            and all(isinstance(row, Mapping) for row in data)
        ):
            return pl.DataFrame(list(data))
    except (TypeError, ValueError, pl.exceptions.PolarsError) as error:
        raise ValueError(
            f"kino.table: could not turn {argument!r} into a polars DataFrame: {error}"
        ) from error
    raise TypeError(
        f"kino.table: {argument!r} must be a polars DataFrame or LazyFrame, a pandas "
        f"DataFrame, a dict of columns or a list of dicts; got {type(data).__name__}"
    )


class Table(KinoWidget, EventSource, bundle="table"):
    """Show a polars DataFrame or LazyFrame as a paged, sortable, filterable table.

    Also accepts a pandas DataFrame, a dict of columns or a list of dicts.
    ``formatter(column, value)`` may return the text of a cell, or None for the
    default rendering. ``kino.table`` is this class.

    Selecting rows (in the browser, or by setting ``selected_rows``) emits
    ``Event("select", <selected row positions>, table)`` to its subscribers
    (``subscribe``, ``kino.listen``).

    >>> import polars as pl, kino
    >>> t = kino.table(pl.DataFrame({"city": ["Paris", "Lima"], "pop": [2.1, 9.7]}))
    >>> t.query = {**t.query, "sort": [{"column": "pop", "descending": True}]}
    >>> t.view.collect()["city"].to_list()
    ['Lima', 'Paris']
    >>> picked = []
    >>> _ = kino.listen(t, picked.append)
    >>> t.selected_rows = [1]
    >>> picked[0].type, picked[0].value, picked[0].source is t
    ('select', [1], True)
    """

    primary_event = "select"

    name = traitlets.Unicode("").tag(sync=True)
    #: One description per column: name, dtype, kind, sortable, filters.
    columns = traitlets.List(traitlets.Dict()).tag(sync=True)
    #: The page request: page, page_size, sort, filters, search (see table_query).
    query = traitlets.Dict().tag(sync=True)
    #: The current page as Arrow IPC bytes (a binary buffer on the wire).
    page = traitlets.Bytes(b"").tag(sync=True)
    #: Rows in the filtered view, and in the whole data.
    total_rows = traitlets.Int(0).tag(sync=True)
    row_count = traitlets.Int(0).tag(sync=True)
    #: Why the last request could not be answered ("" when it was).
    error = traitlets.Unicode("").tag(sync=True)
    #: Bumped with every answered request, so the browser knows its page arrived.
    seq = traitlets.Int(0).tag(sync=True)
    #: Per-column summaries (aligned with ``columns``) and their state:
    #: "off", "computing", "ready" or "failed: <reason>".
    summaries = traitlets.List(traitlets.Dict()).tag(sync=True)
    summary_state = traitlets.Unicode("off").tag(sync=True)
    #: Positions (in the data) of the selected rows.
    selected_rows = traitlets.List().tag(sync=True)

    def __init__(
        self,
        data: TableData,
        name: str | None = None,
        page_size: int = 20,
        summaries: bool = True,
        formatter: Formatter | None = None,
    ) -> None:
        func = "kino.table"
        check_str(name, func=func, argument="name", allowed="a str or None", allow_none=True)
        page_size = check_int(page_size, func=func, argument="page_size", min=1, max=MAX_PAGE_SIZE)
        summaries = check_bool(summaries, func=func, argument="summaries")
        if formatter is not None and not callable(formatter):
            fail(func, "formatter", "a function (column, value) -> str | None", formatter)
        frame = to_polars(data)
        self._formatter = formatter
        self._with_summaries = summaries
        self._lock = threading.RLock()
        self._version = 0
        # Query generations: bumped by every change of ``query``; a page is computed only
        # for the newest, so requests a newer one replaced are dropped before their work.
        self._requests = threading.Lock()
        self._generation = 0
        self._answered = 0
        self._front_end = threading.local()
        self._query_thread: threading.Thread | None = None
        self._summary_thread: threading.Thread | None = None
        self._rendered = threading.Event()
        self._page_size = page_size
        super().__init__(name=name or "")
        self._install(frame, Query(page_size=page_size))
        self.on_msg(self._on_message)

    # -- data versions ------------------------------------------------------------------
    def _install(self, frame: pl.DataFrame | pl.LazyFrame, query: Query) -> None:
        schema = frame.collect_schema() if isinstance(frame, pl.LazyFrame) else frame.schema
        cols = describe_schema(schema)
        with self._lock:
            self._version += 1
            self._data = frame
            self._cols = cols
            self._pager = Pager(frame, cols)
            with self.hold_sync():
                self.columns = [c.describe() for c in cols]
                self.summaries = []
                self.summary_state = "computing" if self._with_summaries else "off"
                self.selected_rows = []
                self._set_query(query.as_dict())
        if self._with_summaries:
            self._start_summaries()

    def _set_query(self, value: dict) -> None:
        if value == self.query:
            self._refresh()
        else:
            self.query = value

    def _start_summaries(self) -> None:
        version, frame, cols = self._version, self._data, self._cols
        cells = frame.height * max(1, len(cols)) if isinstance(frame, pl.DataFrame) else None
        if cells is not None and cells <= SUMMARY_SYNC_CELLS:
            self._compute_summaries(version, frame, cols)
            return
        thread = threading.Thread(
            target=self._compute_summaries_later,
            args=(version, frame, cols),
            name="kino-table-summaries",
            daemon=True,
        )
        self._summary_thread = thread
        thread.start()

    def _compute_summaries_later(self, version: int, frame: Any, cols: list[Column]) -> None:
        self._rendered.wait(SUMMARY_START_DELAY_S)
        self._compute_summaries(version, frame, cols)

    def _compute_summaries(self, version: int, frame: Any, cols: list[Column]) -> None:
        try:
            result = summarize(frame, cols)
            state = "ready"
        except Exception as error:
            result, state = [], f"failed: {type(error).__name__}: {error}"
        with self._lock:
            if version != self._version:
                return
            with self.hold_sync():
                self.summaries = result
                self.summary_state = state

    def wait_for_summaries(self, timeout: float | None = None) -> bool:
        """Block until the background summaries are done; True when they are.

        >>> t = table({"x": [1, 2]})
        >>> t.wait_for_summaries()
        True
        """
        thread = self._summary_thread
        if thread is not None:
            thread.join(timeout)
        return self.summary_state != "computing" or not self._with_summaries

    # -- answering the front end --------------------------------------------------------
    def set_state(self, sync_data: dict) -> None:
        """Apply state from the front end; a new ``query`` is answered off the kernel's thread.

        So the kernel keeps reading messages while a page is computed, and a request
        that a newer one replaced is dropped before its work starts.
        """
        self._front_end.active = True
        try:
            super().set_state(sync_data)
        finally:
            self._front_end.active = False

    @traitlets.observe("query")
    def _on_query(self, change: dict) -> None:
        generation = self._next_generation()
        if getattr(self._front_end, "active", False):
            self._answer_in_background()
        else:
            self._answer(generation)

    def _next_generation(self) -> int:
        with self._requests:
            self._generation += 1
            return self._generation

    def _answer_in_background(self) -> None:
        """Make sure one worker answers the newest query; it skips every older one."""
        with self._requests:
            if self._query_thread is not None:
                return  # the running worker reads the newest generation when it is free
            thread = threading.Thread(target=self._answer_newest, name="kino-table-query")
            thread.daemon = True
            self._query_thread = thread
        thread.start()

    def _answer_newest(self) -> None:
        try:
            while True:
                with self._requests:
                    generation = self._generation
                    if generation == self._answered:
                        self._query_thread = None
                        return
                self._answer(generation, background=True)
        except BaseException:
            with self._requests:
                self._query_thread = None
            raise

    def _refresh(self) -> None:
        self._answer(self._next_generation())

    def _answer(self, generation: int, background: bool = False) -> None:
        """Compute and publish the page of ``query`` unless a newer request replaced it."""
        with self._lock:
            if generation != self._generation:
                return  # superseded: the newer request is (or will be) answered
            error = ""
            total = 0
            data = b""
            try:
                query = parse_query(self.query, self._cols, self._page_size)
                total = self._pager.count(query)
                page = self._pager.page(query)
                try:
                    data = encode_page(page, self._cols, self._pager.row_id, self._formatter)
                except FormatterError as problem:
                    error = str(problem)
                    data = encode_page(page, self._cols, self._pager.row_id)
                if page.height == 0 and query.page > 0 and total > 0:
                    last = (total - 1) // query.page_size + 1
                    error = f"page {query.page + 1} is past the end: the view has {last} pages"
            except QueryError as problem:
                error = f"Bad request: {problem}"
                data = encode_page(self._empty_page(), self._cols, self._pager.row_id)
            except (pl.exceptions.PolarsError, ArithmeticError, MemoryError) as problem:
                error = f"Could not compute the page: {type(problem).__name__}: {problem}"
                data = encode_page(self._empty_page(), self._cols, self._pager.row_id)
            except Exception as problem:
                if not background:
                    raise
                # No caller to raise to: the widget shows it, and later requests still work.
                error = f"Could not compute the page: {type(problem).__name__}: {problem}"
                data = encode_page(self._empty_page(), self._cols, self._pager.row_id)
            with self.hold_sync():
                self.page = data
                self.total_rows = total
                self.row_count = self._safe_row_count()
                self.error = error
                self.seq += 1
            with self._requests:
                self._answered = max(self._answered, generation)

    def _safe_row_count(self) -> int:
        try:
            return self._pager.row_count()
        except pl.exceptions.PolarsError:
            return 0

    def _empty_page(self) -> pl.DataFrame:
        schema = {self._pager.row_id: pl.get_index_type()}
        schema.update({c.name: c.dtype for c in self._cols})
        return pl.DataFrame(schema=schema)

    @traitlets.observe("selected_rows")
    def _on_selected(self, change: dict) -> None:
        self.emit("select", list(change["new"]))

    @traitlets.validate("selected_rows")
    def _valid_selection(self, proposal: dict) -> list[int]:
        rows = proposal["value"]
        total = self._safe_row_count()
        kept = sorted(
            {r for r in rows if isinstance(r, int) and not isinstance(r, bool) and 0 <= r < total}
        )
        return kept[:MAX_SELECTED]

    def _on_message(self, widget: Any, content: Any, buffers: list) -> None:
        if isinstance(content, dict) and content.get("type") == "rendered":
            self._rendered.set()
            return
        if not isinstance(content, dict) or content.get("type") != "export":
            return
        fmt = content.get("format")
        try:
            data = self.export(fmt)
        except Exception as error:
            # Whatever went wrong is reported in the widget, beside the button.
            self.send({"type": "export_error", "message": f"{type(error).__name__}: {error}"})
            return
        self.send(
            {"type": "export", "format": fmt, "filename": f"{self.name or 'table'}.{fmt}"},
            buffers=[data],
        )

    # -- the Python API -----------------------------------------------------------------
    @property
    def data(self) -> pl.DataFrame | pl.LazyFrame:
        """The frame shown (as given, after conversion to polars).

        >>> table({"x": [1, 2]}).data.shape
        (2, 1)
        """
        return self._data

    @property
    def view(self) -> pl.LazyFrame:
        """The current sorted and filtered rows as a LazyFrame (all pages).

        >>> t = table({"x": [3, 1, 2]})
        >>> t.query = {**t.query, "sort": [{"column": "x", "descending": False}]}
        >>> t.view.collect()["x"].to_list()
        [1, 2, 3]
        """
        try:
            query = parse_query(self.query, self._cols, self._page_size)
        except QueryError:
            query = Query(page_size=self._page_size)
        return self._pager.view(query)

    @property
    def selected(self) -> pl.DataFrame:
        """The selected rows as a DataFrame, in the data's order.

        >>> t = table({"x": [3, 1, 2]})
        >>> t.selected_rows = [2, 0]
        >>> t.selected["x"].to_list()
        [3, 2]
        """
        return self._pager.rows(self.selected_rows)

    def update(self, data: TableData) -> None:
        """Replace the data in place, keeping the sort, filters and search that still apply.

        >>> t = table({"x": [1, 2]})
        >>> t.update({"x": [5, 6, 7]})
        >>> t.total_rows
        3
        """
        frame = to_polars(data)
        try:
            old = parse_query(self.query, self._cols, self._page_size)
        except QueryError:
            old = Query(page_size=self._page_size)
        schema = frame.collect_schema() if isinstance(frame, pl.LazyFrame) else frame.schema
        kinds = {c.name: c.kind for c in describe_schema(schema)}
        before = {c.name: c.kind for c in self._cols}

        def same(name: str) -> bool:
            return kinds.get(name) is not None and kinds.get(name) == before.get(name)

        query = Query(
            page=0,
            page_size=old.page_size,
            sort=tuple(s for s in old.sort if same(s[0])),
            filters=tuple(f for f in old.filters if same(f.column)),
            search=old.search,
        )
        self._install(frame, query)

    def export(self, format: str = "csv") -> bytes:
        """The current view written as CSV or Parquet bytes (what the download button saves).

        The view is streamed: polars produces it in batches (``collect_batches``), each
        written into a buffer that refuses to grow past ``EXPORT_MAX_BYTES``; a bigger
        view stops there, and the rest of it is never computed or held in memory.

        >>> table({"x": [1, 2]}).export("csv")
        b'x\\n1\\n2\\n'
        """
        check_choice(format, EXPORT_FORMATS, func="Table.export", argument="format")
        buffer = _BoundedBuffer(EXPORT_MAX_BYTES)
        nested = [c for c in self._cols if c.kind in ("list", "struct", "binary", "object")]
        objects = [c for c in self._cols if c.kind == "object"]
        durations = [c.name for c in self._cols if c.kind == "duration"]
        view = self.view
        stream = view.collect_batches(chunk_size=EXPORT_BATCH_ROWS)
        rows = 0
        try:
            if format == "parquet":
                parquet = _ParquetStream(buffer)
                for batch in _non_empty(stream, view):
                    parquet.write(_as_text(batch, objects))
                    rows += batch.height
                parquet.close()
            else:
                for batch in _csv_batches(_non_empty(stream, view), buffer):
                    text = _as_text(batch, nested).with_columns(
                        pl.col(name).dt.to_string("iso") for name in durations
                    )
                    buffer.run(text.write_csv, buffer, include_header=rows == 0)
                    rows += batch.height
        except _ExportTooBig:
            raise ValueError(
                f"the {format} export is above the download limit of {EXPORT_MAX_BYTES:,} bytes "
                f"(it stopped there, after writing {rows:,} of its {self.total_rows:,} rows); "
                f"write it from Python: table.view.sink_{format}(path)"
            ) from None
        finally:
            del stream  # stops the streaming engine at the batch it was on
        return buffer.getvalue()


def _non_empty(stream: Iterable[pl.DataFrame], view: pl.LazyFrame) -> Iterator[pl.DataFrame]:
    """The stream's batches, or one empty batch of the view's schema (a file with its
    header) when it yields none."""
    empty = True
    for batch in stream:
        empty = False
        yield batch
    if empty:
        yield pl.DataFrame(schema=view.collect_schema())


def _csv_batches(frames: Iterable[pl.DataFrame], buffer: _BoundedBuffer) -> Iterator[pl.DataFrame]:
    """The streamed frames cut into slices, each sized from the last one's bytes.

    A slice holds at most ``EXPORT_BATCH_ROWS`` rows and, at the previous slice's bytes
    per row, 1/16 of the buffer's limit, so the write stops within a small slice of it.
    """
    rows = min(EXPORT_FIRST_BATCH_ROWS, EXPORT_BATCH_ROWS)
    for frame in frames:
        offset = 0
        while True:
            before = buffer.written
            batch = frame.slice(offset, rows)
            yield batch
            offset += batch.height
            if batch.height:
                per_row = max(1, buffer.written - before) / batch.height
                rows = max(1, min(EXPORT_BATCH_ROWS, int(buffer.limit / 16 / per_row)))
            if offset >= frame.height:
                break


class _ParquetStream:
    """A Parquet file written one row group per batch (pyarrow's writer) into ``sink``."""

    def __init__(self, sink: _BoundedBuffer) -> None:
        self.sink = sink
        self._writer: Any = None
        self._schema: Any = None

    def write(self, batch: pl.DataFrame) -> None:
        import pyarrow.parquet as pq

        table = batch.to_arrow()
        if self._writer is None:
            self._schema = table.schema
            self._writer = pq.ParquetWriter(self.sink, table.schema)
        self.sink.run(self._writer.write_table, table.cast(self._schema))

    def close(self) -> None:
        if self._writer is not None:
            self.sink.run(self._writer.close)


class _ExportTooBig(Exception):
    """An export reached ``EXPORT_MAX_BYTES``; nothing more is written."""


class _BoundedBuffer(io.RawIOBase):
    """A bytes buffer that raises :class:`_ExportTooBig` once it would exceed ``limit``."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit
        self.written = 0
        self.full = False
        self._buffer = io.BytesIO()

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        size = memoryview(data).nbytes
        if self.written + size > self.limit:
            self.full = True
            raise _ExportTooBig
        self._buffer.write(data)
        self.written += size
        return size

    def getvalue(self) -> bytes:
        return self._buffer.getvalue()

    def run(self, write: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        """Call a polars writer on this buffer; :class:`_ExportTooBig` once it is full.

        polars and pyarrow wrap an exception raised by ``write`` in their own errors
        (an OSError for CSV, an ArrowIOError for Parquet), so ``full`` says what happened.
        """
        try:
            write(*args, **kwargs)
        except Exception:  # polars' OSError/ComputeError, pyarrow's ArrowIOError, ...
            if self.full:
                raise _ExportTooBig from None
            raise


def _as_text(frame: pl.DataFrame, columns: list[Column]) -> pl.DataFrame:
    """Columns that CSV or Parquet cannot hold, as JSON text (bytes as hex)."""

    def text(value: Any) -> str | None:
        if isinstance(value, bytes):
            return value.hex()
        return json_text(value)

    return frame.with_columns(
        pl.Series(c.name, [text(v) for v in frame.get_column(c.name).to_list()], dtype=pl.String)
        for c in columns
    )


#: ``kino.table`` is the :class:`Table` class itself: one definition, one signature.
table = Table
