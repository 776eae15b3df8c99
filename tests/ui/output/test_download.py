"""kino.download: content made on click, errors reported, size limit."""

from __future__ import annotations

import importlib

import pytest

import kino
from kino.ui.output import MAX_DOWNLOAD_BYTES, Download


def test_download_makes_content_only_when_clicked(comm_log):
    made = []

    def make():
        made.append(1)
        return "a,b\n1,2\n"

    d = kino.download(make, filename="data.csv", label="Get CSV")
    assert made == [] and d.mime == "text/csv"
    comm_log.clear()
    d._handle_custom_msg({"type": "request"}, [])
    assert made == [1] and d.requests == 1
    sent = comm_log.custom()[-1]
    assert sent.content == {"type": "content", "filename": "data.csv", "mime": "text/csv"}
    assert sent.buffers == [b"a,b\n1,2\n"]


def test_download_error_is_reported(comm_log):
    def fail():
        raise RuntimeError("disk full")

    d = kino.download(fail, filename="x.bin")
    d._handle_custom_msg({"type": "request"}, [])
    assert comm_log.custom()[-1].content["type"] == "error"
    assert "disk full" in comm_log.custom()[-1].content["message"]


def test_download_size_limit(monkeypatch):
    download_module = importlib.import_module("kino.ui.output.download")

    assert MAX_DOWNLOAD_BYTES == download_module.MAX_DOWNLOAD_BYTES
    monkeypatch.setattr(download_module, "MAX_DOWNLOAD_BYTES", 10)
    d = kino.download(lambda: b"x" * 11, filename="x.bin")
    with pytest.raises(ValueError, match="MAX_DOWNLOAD_BYTES"):
        d.content()
    assert kino.download(b"x" * 10, filename="x.bin").content() == b"x" * 10


@pytest.mark.parametrize(
    ("call", "exc", "argument"),
    [
        (lambda: kino.download(3, filename="a"), TypeError, "'content'"),
        (lambda: kino.download(b"", filename="a/b"), ValueError, "'filename'"),
        (lambda: kino.download(b"", filename="a", label=3), TypeError, "'label'"),
        (
            lambda: kino.download(b"", filename="a", mime=1),
            TypeError,
            r"kino\.download: 'mime' must be a MIME type like 'text/csv' or None, got 1$",
        ),
        (
            lambda: kino.download(b"", filename="a", mime="text/csv\r\nX-Evil: 1"),
            ValueError,
            r"kino\.download: 'mime' must be a MIME type like 'text/csv' or None, got str",
        ),
    ],
)
def test_bad_download_arguments(call, exc, argument):
    with pytest.raises(exc, match=argument):
        call()


def test_download_is_the_class_itself():
    assert kino.download is Download


def test_a_valid_mime_is_kept():
    d = kino.download(b"", filename="a", mime="text/csv; charset=utf-8")
    assert d.mime == "text/csv; charset=utf-8"
    assert kino.download(b"", filename="a.csv").mime == "text/csv"
