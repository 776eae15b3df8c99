"""kino.datasets: the offline sets, IDX reading, and the whole download path against a local server.

No test touches the real network: an autouse fixture refuses any connection that is not
to 127.0.0.1, and the MNIST sources are pointed at a server the test starts.
"""

from __future__ import annotations

import dataclasses
import errno
import gzip
import hashlib
import http.server
import os
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import polars as pl
import pytest

import kino
from kino import datasets

ROLES = {
    "train_images": "train-images-idx3-ubyte.gz",
    "train_labels": "train-labels-idx1-ubyte.gz",
    "test_images": "t10k-images-idx3-ubyte.gz",
    "test_labels": "t10k-labels-idx1-ubyte.gz",
}


def idx_bytes(array: np.ndarray) -> bytes:
    """Encode an unsigned-byte array as an IDX file (the format MNIST ships in)."""
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(
        int(n).to_bytes(4, "big") for n in array.shape
    )
    return header + array.astype(np.uint8).tobytes()


@pytest.fixture(autouse=True)
def local_network_only(monkeypatch):
    """Fail any test that tries to reach a host other than 127.0.0.1."""
    real_connect = socket.socket.connect

    def connect(self, address):
        host = address[0] if isinstance(address, tuple) else address
        if host not in ("127.0.0.1", "localhost"):
            raise AssertionError(f"test tried to reach the network: {address!r}")
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", connect)


@pytest.fixture
def idx_files() -> dict[str, tuple[np.ndarray, bytes]]:
    """Small MNIST-shaped data: role -> (array, gzip IDX bytes)."""
    rng = np.random.default_rng(0)
    arrays = {
        "train_images": rng.integers(0, 256, size=(50, 28, 28), dtype=np.uint8),
        "train_labels": rng.integers(0, 10, size=50, dtype=np.uint8),
        "test_images": rng.integers(0, 256, size=(20, 28, 28), dtype=np.uint8),
        "test_labels": rng.integers(0, 10, size=20, dtype=np.uint8),
    }
    # mtime=0 keeps the gzip bytes (and so their checksums) reproducible.
    return {role: (a, gzip.compress(idx_bytes(a), mtime=0)) for role, a in arrays.items()}


ENDLESS_BYTES = 64 * 1024 * 1024


class Server:
    """A static file server on 127.0.0.1 whose files and misbehaviour each test sets."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.truncate: set[str] = set()  # send Content-Length but only half the body
        self.endless: set[str] = set()  # stream up to ENDLESS_BYTES with no Content-Length
        self.sent: dict[str, int] = {}  # body bytes written per file name
        self.requests: list[str] = []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                server.requests.append(self.path)
                name = self.path.rsplit("/", 1)[-1]
                body = server.files.get(name)
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                if name in server.endless:
                    self.send_header("Content-Type", "application/octet-stream")
                    self.end_headers()
                    chunk = b"\0" * 65536
                    try:
                        while server.sent.get(name, 0) < ENDLESS_BYTES:
                            self.wfile.write(chunk)
                            server.sent[name] = server.sent.get(name, 0) + len(chunk)
                    except OSError:
                        pass  # the client hung up
                    self.close_connection = True
                    return
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Content-Type", "application/octet-stream")
                self.end_headers()
                if name in server.truncate:
                    self.wfile.write(body[: len(body) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = False  # so server_close() joins the handler threads
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/mnist/"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join()


@pytest.fixture
def server(idx_files) -> Iterator[Server]:
    srv = Server()
    srv.files = {ROLES[role]: body for role, (_, body) in idx_files.items()}
    yield srv
    srv.close()


@pytest.fixture
def source(monkeypatch, idx_files, server) -> datasets.IdxSource:
    """Point kino.datasets.MNIST at the local server, with the test files' checksums."""
    files = {
        role: (ROLES[role], hashlib.sha256(body).hexdigest(), len(body))
        for role, (_, body) in idx_files.items()
    }
    patched = dataclasses.replace(datasets.MNIST, mirrors=(server.url,), files=files)
    monkeypatch.setattr(datasets, "MNIST", patched)
    return patched


def cache_entries(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


# ---- offline data sets ---------------------------------------------------------------


def test_kino_exports_datasets():
    assert kino.datasets is datasets
    assert "datasets" in kino.__all__


def test_digits_split_shapes_and_ranges():
    (x_train, y_train), (x_test, y_test) = datasets.digits()
    assert x_train.shape == (1437, 8, 8) and x_test.shape == (360, 8, 8)
    assert x_train.dtype == np.float32 and y_train.dtype == np.int32
    assert x_train.min() >= 0.0 and x_train.max() <= 1.0
    assert set(np.unique(y_test)) == set(range(10))
    (again, _), _ = datasets.digits()
    np.testing.assert_array_equal(x_train, again)


@pytest.mark.parametrize(
    ("bad", "error"), [(-1, ValueError), (2**32, ValueError), (1.5, TypeError), ("0", TypeError)]
)
def test_digits_rejects_a_bad_seed_at_the_call(bad, error):
    with pytest.raises(error) as raised:
        datasets.digits(seed=bad)
    message = str(raised.value)
    assert message.startswith("kino.datasets.digits: 'seed' must be an int from 0 to 4294967295")
    assert message.endswith(f"got {bad!r}") or message.endswith(f"got str: {bad!r}")


@pytest.mark.parametrize("bad", [0.0, 1.0, 2, "0.2"])
def test_digits_rejects_bad_test_size(bad):
    with pytest.raises(ValueError, match="'test_size'"):
        datasets.digits(test_size=bad)


def test_penguins_is_a_polars_frame_with_nulls():
    frame = datasets.penguins()
    assert isinstance(frame, pl.DataFrame)
    assert frame.shape == (344, 8)
    assert frame["species"].unique().sort().to_list() == ["Adelie", "Chinstrap", "Gentoo"]
    assert frame["bill_length_mm"].null_count() == 2
    assert datasets.penguins(drop_nulls=True).height == 333


def test_titanic_reads_a_local_csv_with_lower_case_columns(tmp_path):
    csv = tmp_path / "titanic.csv"
    csv.write_text("PassengerId,Survived,Sex,Age,Fare\n1,0,male,22,7.25\n2,1,female,38,71.28\n")
    frame = datasets.titanic(csv)
    assert frame.columns == ["passengerid", "survived", "sex", "age", "fare"]
    assert frame["survived"].to_list() == [0, 1]


def test_titanic_without_a_path_looks_in_the_data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv(datasets.DATA_DIR_ENV, str(tmp_path))
    with pytest.raises(FileNotFoundError, match=r"titanic\.csv"):
        datasets.titanic()
    (tmp_path / "titanic.csv").write_text("Survived,Age\n1,30\n")
    assert datasets.titanic().height == 1


def test_data_dir_precedence(tmp_path, monkeypatch):
    monkeypatch.delenv(datasets.DATA_DIR_ENV, raising=False)
    assert datasets.data_dir() == Path.home() / ".cache" / "kino"
    monkeypatch.setenv(datasets.DATA_DIR_ENV, str(tmp_path / "env"))
    assert datasets.data_dir() == tmp_path / "env"
    assert datasets.data_dir(tmp_path / "arg") == tmp_path / "arg"
    with pytest.raises(TypeError, match="'data_dir'"):
        datasets.data_dir(42)


# ---- IDX reading -----------------------------------------------------------------------


def test_read_idx_plain_and_gzip(tmp_path, idx_files):
    images, body = idx_files["test_images"]
    (tmp_path / "a.gz").write_bytes(body)
    (tmp_path / "a").write_bytes(gzip.decompress(body))
    np.testing.assert_array_equal(datasets.read_idx(tmp_path / "a.gz"), images)
    np.testing.assert_array_equal(datasets.read_idx(tmp_path / "a"), images)


def test_read_idx_big_endian_types(tmp_path):
    values = np.array([[1.5, -2.0], [3.25, 4.0]], dtype=">f4")
    raw = bytes([0, 0, 0x0D, 2]) + (2).to_bytes(4, "big") * 2 + values.tobytes()
    (tmp_path / "f").write_bytes(raw)
    read = datasets.read_idx(tmp_path / "f")
    assert read.dtype == np.float32 and read.dtype.isnative
    np.testing.assert_array_equal(read, values)


def test_read_idx_rejects_garbage_and_truncation(tmp_path):
    (tmp_path / "bad").write_bytes(b"not an idx file")
    with pytest.raises(ValueError, match="bad magic number"):
        datasets.read_idx(tmp_path / "bad")
    (tmp_path / "short").write_bytes(idx_bytes(np.zeros((4, 4), np.uint8))[:-3])
    with pytest.raises(ValueError, match="header promises"):
        datasets.read_idx(tmp_path / "short")


# ---- the download path -----------------------------------------------------------------


def test_mnist_downloads_verifies_caches_and_reads(tmp_path, source, server, idx_files, capsys):
    (x_train, y_train), (x_test, y_test) = datasets.mnist(tmp_path)
    np.testing.assert_array_equal(x_train, idx_files["train_images"][0])
    np.testing.assert_array_equal(y_train, idx_files["train_labels"][0])
    np.testing.assert_array_equal(x_test, idx_files["test_images"][0])
    np.testing.assert_array_equal(y_test, idx_files["test_labels"][0])
    assert cache_entries(tmp_path / "mnist") == sorted(ROLES.values())
    assert "100%" in capsys.readouterr().err  # the progress bar reached the end

    server.requests.clear()
    (again, _), _ = datasets.mnist(tmp_path)
    np.testing.assert_array_equal(again, x_train)
    assert server.requests == []  # the second call reads the cache


def test_progress_false_prints_nothing(tmp_path, source, capsys):
    datasets.mnist(tmp_path, progress=False)
    assert capsys.readouterr().err == ""


def test_kino_data_dir_environment_variable_sets_the_cache(tmp_path, monkeypatch, source):
    monkeypatch.setenv(datasets.DATA_DIR_ENV, str(tmp_path))
    datasets.mnist(progress=False)
    assert cache_entries(tmp_path / "mnist") == sorted(ROLES.values())


def test_checksum_mismatch_deletes_the_download_and_raises(tmp_path, source, server):
    server.files["t10k-labels-idx1-ubyte.gz"] = gzip.compress(idx_bytes(np.zeros(20, np.uint8)))
    with pytest.raises(datasets.ChecksumError, match="SHA-256") as raised:
        datasets.mnist(tmp_path, progress=False)
    assert "t10k-labels-idx1-ubyte.gz" in str(raised.value)
    assert "t10k-labels-idx1-ubyte.gz" not in cache_entries(tmp_path / "mnist")
    assert not [n for n in cache_entries(tmp_path / "mnist") if n.endswith(".part")]


def test_interrupted_transfer_leaves_no_cache_entry(tmp_path, source, server, idx_files):
    server.truncate.add("train-images-idx3-ubyte.gz")
    with pytest.raises(datasets.DownloadError, match="could not download"):
        datasets.mnist(tmp_path, progress=False)
    assert cache_entries(tmp_path / "mnist") == []

    server.truncate.clear()  # the network recovers: the next call completes the cache
    (x_train, _), _ = datasets.mnist(tmp_path, progress=False)
    np.testing.assert_array_equal(x_train, idx_files["train_images"][0])


def test_keyboard_interrupt_mid_download_leaves_no_partial_file(tmp_path, source, monkeypatch):
    monkeypatch.setattr(datasets, "CHUNK_BYTES", 1024)

    def interrupt(self, received):
        raise KeyboardInterrupt

    monkeypatch.setattr(datasets._ProgressBar, "update", interrupt)
    with pytest.raises(KeyboardInterrupt):
        datasets.mnist(tmp_path)
    assert cache_entries(tmp_path / "mnist") == []


def test_second_mirror_is_used_when_the_first_fails(tmp_path, monkeypatch, source, server):
    dead = socket.socket()
    dead.bind(("127.0.0.1", 0))
    dead_url = f"http://127.0.0.1:{dead.getsockname()[1]}/"
    dead.close()  # nothing listens there any more: connection refused
    monkeypatch.setattr(
        datasets, "MNIST", dataclasses.replace(source, mirrors=(dead_url, server.url))
    )
    datasets.mnist(tmp_path, progress=False)
    assert len(cache_entries(tmp_path / "mnist")) == 4


def test_offline_error_explains_how_to_place_files(tmp_path, source):
    dead = socket.socket()
    dead.bind(("127.0.0.1", 0))
    dead_url = f"http://127.0.0.1:{dead.getsockname()[1]}/"
    dead.close()
    with pytest.raises(datasets.DownloadError) as raised:
        datasets.mnist(tmp_path, mirrors=[dead_url], progress=False)
    message = str(raised.value)
    assert dead_url in message
    assert str(tmp_path / "mnist") in message
    assert datasets.DATA_DIR_ENV in message and "data_dir=" in message
    for name in ROLES.values():
        assert name in message
    assert cache_entries(tmp_path / "mnist") == []


def test_files_placed_by_hand_are_used_without_network(tmp_path, source, idx_files):
    folder = tmp_path / "mnist"
    folder.mkdir()
    for role, (_, body) in idx_files.items():
        (folder / ROLES[role]).write_bytes(body)
    (_, y_train), _ = datasets.mnist(tmp_path, mirrors=[], progress=False)
    np.testing.assert_array_equal(y_train, idx_files["train_labels"][0])


def test_a_wrong_file_in_the_cache_is_reported_not_used(tmp_path, source, idx_files):
    folder = tmp_path / "mnist"
    folder.mkdir()
    for role, (_, body) in idx_files.items():
        (folder / ROLES[role]).write_bytes(body)
    (folder / "train-labels-idx1-ubyte.gz").write_bytes(b"something else")
    with pytest.raises(datasets.ChecksumError, match="delete it"):
        datasets.mnist(tmp_path, progress=False)


def test_fashion_mnist_uses_its_own_folder(tmp_path, monkeypatch, source):
    monkeypatch.setattr(
        datasets, "FASHION_MNIST", dataclasses.replace(source, name="fashion_mnist")
    )
    (x_train, _), _ = datasets.fashion_mnist(tmp_path, progress=False)
    assert x_train.shape == (50, 28, 28)
    assert len(cache_entries(tmp_path / "fashion_mnist")) == 4
    assert len(datasets.FASHION_MNIST_CLASSES) == 10


def test_mirrors_must_be_a_list_of_urls(tmp_path):
    with pytest.raises(TypeError, match="'mirrors'"):
        datasets.mnist(tmp_path, mirrors="http://127.0.0.1/")


def test_published_checksums_are_well_formed():
    for source in (datasets.MNIST, datasets.FASHION_MNIST):
        assert set(source.files) == set(ROLES)
        for role, (name, digest, size) in source.files.items():
            assert name == ROLES[role]
            assert len(digest) == 64 and int(digest, 16) >= 0
            assert isinstance(size, int) and size > 0


# ---- mirrors, bounds, stale files, what failed ------------------------------------------


def dead_mirror() -> str:
    dead = socket.socket()
    dead.bind(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{dead.getsockname()[1]}/"
    dead.close()  # nothing listens there any more: connection refused
    return url


@pytest.fixture
def second_server(idx_files) -> Iterator[Server]:
    srv = Server()
    srv.files = {ROLES[role]: body for role, (_, body) in idx_files.items()}
    yield srv
    srv.close()


def test_a_checksum_mismatch_on_one_mirror_tries_the_next(
    tmp_path, monkeypatch, source, server, second_server, idx_files
):
    server.files["t10k-labels-idx1-ubyte.gz"] = b"x" * len(idx_files["test_labels"][1])
    monkeypatch.setattr(
        datasets, "MNIST", dataclasses.replace(source, mirrors=(server.url, second_server.url))
    )
    (_, _), (_, y_test) = datasets.mnist(tmp_path, progress=False)
    np.testing.assert_array_equal(y_test, idx_files["test_labels"][0])
    assert "/mnist/t10k-labels-idx1-ubyte.gz" in second_server.requests
    assert cache_entries(tmp_path / "mnist") == sorted(ROLES.values())


def test_when_every_mirror_fails_each_failure_is_reported(tmp_path, monkeypatch, source, server):
    server.files["t10k-labels-idx1-ubyte.gz"] = b"wrong"
    dead = dead_mirror()
    monkeypatch.setattr(datasets, "MNIST", dataclasses.replace(source, mirrors=(server.url, dead)))
    with pytest.raises(datasets.DownloadError) as raised:
        datasets.mnist(tmp_path, progress=False)
    message = str(raised.value)
    assert f"{server.url}t10k-labels-idx1-ubyte.gz" in message and "SHA-256" in message
    assert f"{dead}t10k-labels-idx1-ubyte.gz" in message and "refused" in message
    assert "t10k-labels-idx1-ubyte.gz" not in cache_entries(tmp_path / "mnist")


def test_an_oversized_response_is_cut_at_the_expected_size(
    tmp_path, monkeypatch, source, server, second_server, idx_files
):
    name = "t10k-labels-idx1-ubyte.gz"
    server.endless.add(name)  # 64 MB of zeros for a file of a few dozen bytes, no length
    monkeypatch.setattr(datasets, "CHUNK_BYTES", 1024)
    with pytest.raises(datasets.ChecksumError, match="more than the") as raised:
        datasets.mnist(tmp_path, progress=False)
    assert "no mirror serves" in str(raised.value)
    # The client stopped reading at size + 1: the server could write no more than what
    # the sockets buffer before it noticed the hang-up, far from all 64 MB.
    server.httpd.server_close()  # joins the handler thread
    # (nothing is counted when the client hung up during the first chunk's write)
    assert server.sent.get(name, 0) < 16 * 1024 * 1024
    assert not [n for n in cache_entries(tmp_path / "mnist") if n.endswith(".part")]


def test_an_announced_length_above_the_expected_size_is_refused_unread(
    tmp_path, monkeypatch, source, server, second_server, idx_files
):
    server.files["t10k-labels-idx1-ubyte.gz"] = b"y" * (10 * 1024 * 1024)
    monkeypatch.setattr(
        datasets, "MNIST", dataclasses.replace(source, mirrors=(server.url, second_server.url))
    )
    (_, _), (_, y_test) = datasets.mnist(tmp_path, progress=False)
    np.testing.assert_array_equal(y_test, idx_files["test_labels"][0])


def test_a_stale_part_file_from_a_killed_download_is_removed(tmp_path, source):
    folder = tmp_path / "mnist"
    folder.mkdir()
    stale = folder / ".train-images-idx3-ubyte.gz.k1ll3d.part"
    stale.write_bytes(b"half of a download that was killed")
    old = time.time() - 2 * datasets.STALE_PART_S
    os.utime(stale, (old, old))
    live = folder / ".train-labels-idx1-ubyte.gz.l1ve.part"  # another process, still writing
    live.write_bytes(b"in progress")
    datasets.mnist(tmp_path, progress=False)
    assert not stale.exists()
    assert live.exists()


def test_a_full_disk_is_reported_as_such_not_as_offline(tmp_path, monkeypatch, source):
    real_mkstemp = tempfile.mkstemp

    def mkstemp_on_a_full_disk(**kwargs):
        fd, name = real_mkstemp(**kwargs)
        os.close(fd)
        return os.open("/dev/full", os.O_WRONLY), name  # every write: ENOSPC

    monkeypatch.setattr(datasets.tempfile, "mkstemp", mkstemp_on_a_full_disk)
    with pytest.raises(OSError) as raised:
        datasets.mnist(tmp_path, progress=False)
    message = str(raised.value)
    assert not isinstance(raised.value, datasets.DownloadError)
    assert raised.value.errno == errno.ENOSPC
    assert str(tmp_path / "mnist") in message and os.strerror(errno.ENOSPC) in message
    assert "no network access" not in message
    assert cache_entries(tmp_path / "mnist") == []


def test_a_folder_that_cannot_be_created_names_the_folder(tmp_path, source, server):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(NotADirectoryError) as raised:
        datasets.mnist(blocker, progress=False)
    message = str(raised.value)
    assert str(blocker / "mnist") in message and "no network access" not in message
    assert server.requests == []


def test_a_read_only_folder_names_the_folder_and_the_reason(tmp_path, monkeypatch, source):
    def read_only(**kwargs):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), kwargs["dir"])

    monkeypatch.setattr(datasets.tempfile, "mkstemp", read_only)
    with pytest.raises(PermissionError) as raised:
        datasets.mnist(tmp_path, progress=False)
    message = str(raised.value)
    assert str(tmp_path / "mnist") in message and os.strerror(errno.EACCES) in message
    assert "no network access" not in message
