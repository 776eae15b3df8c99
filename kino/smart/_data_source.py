"""The "Data source" smart cell: a CSV or Parquet file (a path or an upload), or one of
``kino.datasets``, read into a polars frame in a named variable.

>>> cell = DataSource(path="sales.csv", separator=";")
>>> print(cell.code)
import polars as pl
<BLANKLINE>
df = pl.read_csv("sales.csv", separator=";")
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl

from kino.smart._code import call, identifier, imports, literal
from kino.ui.smart import MAX_UPLOAD_BYTES, AttrError, SmartCell
from kino.ui.table import table

PREVIEW_ROWS = 20
"""Rows the preview reads (lazily: ``scan_csv(...).head(PREVIEW_ROWS)``)."""

SOURCES = [["path", "File path"], ["upload", "Upload a file"], ["dataset", "kino.datasets"]]

FORMATS = [["auto", "From the file's suffix"], ["csv", "CSV"], ["parquet", "Parquet"]]

SUFFIXES = {".csv": "csv", ".tsv": "csv", ".txt": "csv", ".parquet": "parquet", ".pq": "parquet"}

SEPARATORS = [[",", "Comma ,"], [";", "Semicolon ;"], ["\t", "Tab"], ["|", "Pipe |"]]

# The data sets of kino.datasets that are polars frames and work offline: name ->
# (label, the call that reads it).
DATASETS = {
    "penguins": ("Palmer penguins (344 rows)", "penguins()"),
    "penguins_complete": ("Palmer penguins, complete rows (333)", "penguins(drop_nulls=True)"),
}


class DataSource(SmartCell):
    """A form that reads a file or a data set into a polars frame.

    >>> print(DataSource(source="dataset", dataset="penguins", variable="birds").code)
    import kino
    <BLANKLINE>
    birds = kino.datasets.penguins()
    >>> DataSource(variable="class").error
    "must not be a Python keyword, got 'class'"
    """

    kind, title = "data_source", "Data source"

    def defaults(self) -> dict[str, Any]:
        """A CSV file path, comma-separated with a header, read into ``df``."""
        return {
            "source": "path",
            "path": "",
            "upload": "",
            "dataset": "penguins",
            "format": "auto",
            "separator": ",",
            "header": True,
            "variable": "df",
        }

    def form(self, attrs: dict[str, Any]) -> list[dict[str, Any]]:
        """Source, then its path / upload / data set, the CSV options, the variable."""
        files = {"when": {"source": ["path", "upload"]}}
        return [
            {"name": "source", "label": "Source", "type": "select", "options": SOURCES},
            {
                "name": "path",
                "label": "Path",
                "type": "text",
                "placeholder": "data/sales.csv",
                "help": "Relative to the notebook's kernel working directory.",
                "when": {"source": ["path"]},
            },
            {
                "name": "upload",
                "label": "File",
                "type": "upload",
                "accept": ",".join(SUFFIXES),
                "help": f"Saved under uploads/ next to the notebook's kernel; at most "
                f"{MAX_UPLOAD_BYTES // (1 << 20)} MB.",
                "when": {"source": ["upload"]},
            },
            {
                "name": "dataset",
                "label": "Data set",
                "type": "select",
                "options": [[name, label] for name, (label, _) in DATASETS.items()],
                "when": {"source": ["dataset"]},
            },
            {
                "name": "format",
                "label": "Format",
                "type": "select",
                "options": FORMATS,
                **files,
            },
            {
                "name": "separator",
                "label": "Separator",
                "type": "select",
                "options": SEPARATORS,
                **files,
            },
            {
                "name": "header",
                "label": "First row is the header",
                "type": "checkbox",
                **files,
            },
            {"name": "variable", "label": "Variable", "type": "text", "placeholder": "df"},
        ]

    def generate(self, attrs: dict[str, Any]) -> str:
        """``<variable> = pl.read_csv(...)`` / ``pl.read_parquet(...)`` / a kino data set."""
        variable = identifier(attrs["variable"], "variable")
        if attrs["source"] == "dataset":
            reader = _dataset_call(attrs["dataset"])
            return f"{imports('import kino')}\n\n{variable} = kino.datasets.{reader}"
        path, fmt, options = _file_reader(attrs)
        arguments = [literal(path, _path_field(attrs))]
        arguments += [f"{key}={literal(value)}" for key, value in options.items()]
        read = call(f"{variable} = pl.read_{fmt}", arguments)
        return f"{imports('import polars as pl')}\n\n{read}"

    def preview(self, attrs: dict[str, Any]) -> Any:
        """The first ``PREVIEW_ROWS`` rows, read lazily, as a ``kino.table``."""
        if attrs["source"] == "dataset":
            from kino import datasets

            frame = datasets.penguins(drop_nulls=attrs["dataset"] == "penguins_complete")
            return table(frame.head(PREVIEW_ROWS))
        path, fmt, options = _file_reader(attrs)
        if not Path(path).is_file():
            if self.preview_frame is not None:  # no stale rows under a path that is not there
                self.preview_frame.clear()
            where = Path.cwd()
            raise AttrError(_path_field(attrs), f"no file at {path!r} (looked in {where})")
        scan = getattr(pl, f"scan_{fmt}")
        try:
            frame = scan(path, **options).head(PREVIEW_ROWS).collect()
        except (pl.exceptions.PolarsError, OSError) as exc:
            raise AttrError(_path_field(attrs), f"could not read it as {fmt}: {exc}") from None
        return table(frame)


def _path_field(attrs: dict[str, Any]) -> str:
    return "upload" if attrs["source"] == "upload" else "path"


def _dataset_call(name: Any) -> str:
    if name not in DATASETS:
        raise AttrError("dataset", f"must be one of {', '.join(DATASETS)}, got {name!r}")
    return f"{DATASETS[name][1]}"


def _file_reader(attrs: dict[str, Any]) -> tuple[str, str, dict[str, Any]]:
    """The path, the format (``csv``/``parquet``) and the reader's keyword arguments."""
    source = attrs["source"]
    if source not in ("path", "upload"):
        raise AttrError("source", f"must be one of path, upload, dataset, got {source!r}")
    field = _path_field(attrs)
    path = attrs[field]
    if not isinstance(path, str) or not path.strip():
        what = "choose a file to upload" if field == "upload" else "type the path of a file"
        raise AttrError(field, f"{what} (CSV or Parquet)")
    fmt = attrs["format"]
    if fmt == "auto":
        fmt = SUFFIXES.get(Path(path).suffix.lower())
        if fmt is None:
            raise AttrError(
                "format",
                f"cannot tell the format of {path!r} from its suffix: choose CSV or Parquet",
            )
    elif fmt not in ("csv", "parquet"):
        raise AttrError("format", f"must be one of auto, csv, parquet, got {fmt!r}")
    options: dict[str, Any] = {}
    if any(c in path for c in "*?["):  # polars reads these as a glob pattern by default
        options["glob"] = False
    if fmt == "csv":
        separator = attrs["separator"]
        if separator not in [value for value, _ in SEPARATORS]:
            allowed = ", ".join(repr(value) for value, _ in SEPARATORS)
            raise AttrError("separator", f"must be one of {allowed}, got {separator!r}")
        if separator != ",":
            options["separator"] = separator
        if not isinstance(attrs["header"], bool):
            raise AttrError("header", f"must be true or false, got {attrs['header']!r}")
        if not attrs["header"]:
            options["has_header"] = False
    return path, fmt, options
