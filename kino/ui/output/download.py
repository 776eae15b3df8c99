"""A download button: ``kino.download`` (Kino.Download)."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

import traitlets

from kino.contracts import check_str, fail
from kino.ui.base import KinoWidget

log = logging.getLogger("kino")

#: Largest content ``kino.download`` sends to the browser (bytes).
MAX_DOWNLOAD_BYTES = 256 * 1024 * 1024
_MIME = re.compile(r"[\w.+-]+/[\w.+-]+(?:\s*;\s*[\w.+-]+=[\w.+\-\"]+)*")


class Download(KinoWidget, bundle="download"):
    """A button that downloads ``content`` (bytes, str, or a function called only
    when the button is clicked) as ``filename`` (``kino.download``).

    >>> import kino
    >>> d = kino.download(lambda: "a,b\\n1,2\\n", filename="data.csv")
    >>> d.content()
    b'a,b\\n1,2\\n'
    """

    filename = traitlets.Unicode("download").tag(sync=True)
    label = traitlets.Unicode("").tag(sync=True)
    mime = traitlets.Unicode("application/octet-stream").tag(sync=True)

    def __init__(
        self,
        content: bytes | str | Callable[[], bytes | str],
        *,
        filename: str = "download",
        label: str | None = None,
        mime: str | None = None,
    ) -> None:
        func = "kino.download"
        if not isinstance(content, (bytes, bytearray, memoryview, str)) and not callable(content):
            fail(func, "content", "bytes, a str, or a function returning them", content)
        named = "a file name like 'data.csv'"
        check_str(filename, func=func, argument="filename", allowed=named)
        if not filename.strip() or "/" in filename:
            fail(func, "filename", named, filename, ValueError)
        check_str(label, func=func, argument="label", allowed="a str or None", allow_none=True)
        mime_allowed = "a MIME type like 'text/csv' or None"
        check_str(mime, func=func, argument="mime", allowed=mime_allowed, allow_none=True)
        if mime is not None and not _MIME.fullmatch(mime):
            fail(func, "mime", mime_allowed, mime, ValueError)
        self._content = content
        self.requests = 0
        super().__init__(filename=filename, label=label or "", mime=mime or _guess_mime(filename))
        self.on_msg(self._on_request)

    def content(self) -> bytes:
        """Make the content now (what a click does)."""
        made = self._content() if callable(self._content) else self._content
        if isinstance(made, str):
            made = made.encode("utf-8")
        if not isinstance(made, (bytes, bytearray, memoryview)):
            raise TypeError(
                "kino.download: the content function must return bytes or str, "
                f"got {type(made).__name__}"
            )
        made = bytes(made)
        if len(made) > MAX_DOWNLOAD_BYTES:
            raise ValueError(
                f"kino.download: content is {len(made)} bytes; "
                f"MAX_DOWNLOAD_BYTES is {MAX_DOWNLOAD_BYTES}"
            )
        return made

    def _on_request(self, _widget: Any, content: Any, _buffers: Any) -> None:
        if not isinstance(content, dict) or content.get("type") != "request":
            return
        self.requests += 1
        try:
            data = self.content()
        except Exception as exc:
            log.exception("kino.download: making the content failed")
            self.send({"type": "error", "message": f"Download failed: {type(exc).__name__}: {exc}"})
            return
        self.send({"type": "content", "filename": self.filename, "mime": self.mime}, [data])


def _guess_mime(filename: str) -> str:
    import mimetypes

    return mimetypes.guess_type(filename)[0] or "application/octet-stream"
