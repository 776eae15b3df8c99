"""Files the smart-cell form uploads: written under ``uploads/`` in the kernel's folder.

The view sends a chosen file in chunks (custom messages, each with one binary buffer);
:class:`Uploads` writes them to ``uploads/<sanitised name>`` under the kernel's working
directory, never outside it, and answers with that relative path.

>>> safe_name("../../etc/passwd")
'passwd'
>>> safe_name("my data (1).csv")
'my_data_1_.csv'
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

#: The largest file the form accepts (the view refuses bigger ones before sending).
MAX_UPLOAD_BYTES = 200 * 1024 * 1024
#: The view sends a file in chunks of at most this size (one websocket message each).
UPLOAD_CHUNK_BYTES = 4 * 1024 * 1024
#: Where uploads go, relative to the kernel's working directory.
UPLOAD_DIR = "uploads"

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_name(name: str) -> str:
    """A file name with no folder part, no leading dots and only ``[A-Za-z0-9._-]``.

    >>> safe_name("C:\\\\Users\\\\me\\\\sales.parquet")
    'sales.parquet'
    >>> safe_name("..")
    'upload'
    """
    base = re.split(r"[\\/]", str(name))[-1]
    cleaned = _UNSAFE.sub("_", base).lstrip(".")
    return cleaned[:120] or "upload"


def size_text(n: int) -> str:
    """A byte count as people read it.

    >>> size_text(MAX_UPLOAD_BYTES), size_text(1536), size_text(12)
    ('200 MB', '1.5 KB', '12 bytes')
    """
    for unit, scale in (("GB", 1024**3), ("MB", 1024**2), ("KB", 1024)):
        if n >= scale:
            return f"{n / scale:.1f}".removesuffix(".0") + f" {unit}"
    return f"{n} bytes"


@dataclass
class _Pending:
    path: Path
    total: int
    written: int = 0


class Uploads:
    """Assembles chunked uploads into ``<root>/uploads/``; one per field at a time.

    >>> import tempfile
    >>> root = Path(tempfile.mkdtemp())
    >>> up = Uploads(root)
    >>> up.chunk("file", "a.csv", offset=0, total=4, data=b"x,y\\n")
    'uploads/a.csv'
    >>> (root / "uploads" / "a.csv").read_text()
    'x,y\\n'
    """

    def __init__(self, root: Path | None = None) -> None:
        self._root = root
        self._pending: dict[str, _Pending] = {}

    def chunk(
        self,
        field: str,
        name: str,
        *,
        offset: int,
        total: int,
        data: bytes,
        limit: int = MAX_UPLOAD_BYTES,
    ) -> str | None:
        """Write one chunk; returns the file's path (relative, with ``/``) once complete.

        Raises ``ValueError`` for a file above ``limit`` bytes or chunks out of order.
        """
        if not 0 <= total <= limit:
            raise ValueError(
                f"the file is {size_text(total)}; the largest upload is {size_text(limit)} "
                "(put bigger files next to the notebook and type their path)"
            )
        root = (self._root or Path.cwd()).resolve()
        folder = root / UPLOAD_DIR
        final = (folder / safe_name(name)).resolve()
        if final.parent != folder.resolve():  # never outside uploads/ (symlinks included)
            raise ValueError(f"cannot write {name!r} under {UPLOAD_DIR}/")
        if offset == 0:
            folder.mkdir(parents=True, exist_ok=True)
            part = final.with_name(final.name + ".part")
            part.write_bytes(b"")
            self._pending[field] = _Pending(part, total)
        pending = self._pending.get(field)
        if pending is None or pending.written != offset or offset + len(data) > pending.total:
            self._pending.pop(field, None)
            raise ValueError("the upload's parts arrived out of order; choose the file again")
        with pending.path.open("ab") as out:
            out.write(data)
        pending.written += len(data)
        if pending.written < pending.total:
            return None
        del self._pending[field]
        pending.path.replace(final)
        return final.relative_to(root).as_posix()
