"""``kino.datasets``: small real data sets for the notebooks, and the MNIST loaders.

``digits()`` and ``penguins()`` work offline: they read data that scikit-learn and
palmerpenguins ship. ``titanic(path)`` reads a CSV you already have. ``mnist()`` and
``fashion_mnist()`` download the gzip IDX files once into a cache directory, verify
their SHA-256 checksums, and read them into numpy arrays.

The cache directory is, in order of precedence: the ``data_dir`` argument, the
``KINO_DATA_DIR`` environment variable, then ``~/.cache/kino``. Each data set has
its own folder inside it (``mnist/``, ``fashion_mnist/``). On a machine without
network access, download the files elsewhere (the error message lists their
URLs) and copy them into that folder: they are verified and used as they are.

A download never leaves a corrupt file behind: it goes to a temporary ``.part`` file
in the same folder, reads at most the published size (a longer response is a
mismatch, not a disk filler), its checksum is verified, and only then is it renamed
into place. Any failure deletes the temporary file, and a ``.part`` file left by a
download that was killed outright is deleted by the next attempt. Each mirror is
tried in turn; when all fail, the error lists what each one did. A folder that cannot
be written (a full disk, no permission) is reported as such, not as a network problem.
"""

from __future__ import annotations

import glob
import gzip
import hashlib
import http.client
import os
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import IO, Any

import numpy as np
import polars as pl

from kino._extras import load
from kino.contracts import check_int, fail

__all__ = [
    "DATA_DIR_ENV",
    "FASHION_MNIST",
    "FASHION_MNIST_CLASSES",
    "MNIST",
    "ChecksumError",
    "DownloadError",
    "IdxSource",
    "data_dir",
    "digits",
    "fashion_mnist",
    "mnist",
    "penguins",
    "read_idx",
    "titanic",
]

DATA_DIR_ENV = "KINO_DATA_DIR"
"""Environment variable naming the cache directory (overridden by ``data_dir=``)."""

CHUNK_BYTES = 1 << 16
"""Bytes read per network read while downloading (the progress bar advances per chunk)."""

DOWNLOAD_TIMEOUT_S = 30.0
"""Seconds a connection may stay silent before a download attempt is abandoned."""

STALE_PART_S = 2 * DOWNLOAD_TIMEOUT_S
"""A ``.part`` file untouched for this long belongs to no live download (a live one writes
at least every ``DOWNLOAD_TIMEOUT_S``): the next download of that file deletes it."""

SEED_MAX = 2**32 - 1
"""Largest ``seed`` the splitting functions accept (numpy's and scikit-learn's limit)."""

Arrays = tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


class ChecksumError(ValueError):
    """A file's SHA-256 does not match the published checksum.

    >>> issubclass(ChecksumError, ValueError)
    True
    """


class DownloadError(OSError):
    """A data set file could not be downloaded from any mirror.

    >>> issubclass(DownloadError, OSError)
    True
    """


@dataclass(frozen=True)
class IdxSource:
    """Where one IDX data set lives: its cache folder, mirrors, and files with sizes and sums.

    ``files`` maps the four roles ``train_images``, ``train_labels``, ``test_images``,
    ``test_labels`` to ``(file name, sha256 hex digest, size in bytes)``. A download
    reads at most ``size + 1`` bytes: a longer response is refused as a mismatch.

    >>> MNIST.name, MNIST.files["test_labels"][0], MNIST.files["test_labels"][2]
    ('mnist', 't10k-labels-idx1-ubyte.gz', 4542)
    """

    name: str
    mirrors: tuple[str, ...]
    files: dict[str, tuple[str, str, int]]


MNIST = IdxSource(
    name="mnist",
    mirrors=(
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
    ),
    files={
        "train_images": (
            "train-images-idx3-ubyte.gz",
            "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
            9912422,
        ),
        "train_labels": (
            "train-labels-idx1-ubyte.gz",
            "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
            28881,
        ),
        "test_images": (
            "t10k-images-idx3-ubyte.gz",
            "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
            1648877,
        ),
        "test_labels": (
            "t10k-labels-idx1-ubyte.gz",
            "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
            4542,
        ),
    },
)
"""MNIST handwritten digits: 60,000 training and 10,000 test images, 28×28 grey."""

FASHION_MNIST = IdxSource(
    name="fashion_mnist",
    mirrors=(
        "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
    ),
    files={
        "train_images": (
            "train-images-idx3-ubyte.gz",
            "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
            26421880,
        ),
        "train_labels": (
            "train-labels-idx1-ubyte.gz",
            "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
            29515,
        ),
        "test_images": (
            "t10k-images-idx3-ubyte.gz",
            "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
            4422102,
        ),
        "test_labels": (
            "t10k-labels-idx1-ubyte.gz",
            "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
            5148,
        ),
    },
)
"""Fashion-MNIST (Zalando): the same shapes as MNIST, ten kinds of clothing."""

FASHION_MNIST_CLASSES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)
"""Fashion-MNIST's class names, indexed by label."""

_IDX_DTYPES = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


def data_dir(path: str | os.PathLike[str] | None = None) -> Path:
    """The cache directory: ``path`` if given, else ``$KINO_DATA_DIR``, else ``~/.cache/kino``.

    >>> str(data_dir("/tmp/my-data"))
    '/tmp/my-data'
    """
    if path is not None:
        if not isinstance(path, (str, os.PathLike)):
            fail("kino.datasets", "data_dir", "a path (str or os.PathLike) or None", path)
        return Path(path).expanduser()
    env = os.environ.get(DATA_DIR_ENV)
    if env:
        return Path(env).expanduser()
    return Path.home() / ".cache" / "kino"


def digits(*, test_size: float = 0.2, seed: int = 0) -> Arrays:
    """scikit-learn's 1,797 handwritten digits (8×8), split into train and test sets.

    Images are float32 in [0, 1] with shape ``[n, 8, 8]``; labels are int32 in 0..9.
    The split is stratified, so both sets hold every digit in the same proportion.

    >>> (x_train, y_train), (x_test, y_test) = digits()
    >>> x_train.shape, x_test.shape, y_train.dtype.name
    ((1437, 8, 8), (360, 8, 8), 'int32')
    >>> digits(seed=-1)
    Traceback (most recent call last):
    ...
    ValueError: kino.datasets.digits: 'seed' must be an int from 0 to 4294967295, got -1
    """
    if not isinstance(test_size, float) or not 0.0 < test_size < 1.0:
        allowed = "a float between 0 and 1 (both excluded)"
        fail("kino.datasets.digits", "test_size", allowed, test_size, ValueError)
    seed = check_int(seed, func="kino.datasets.digits", argument="seed", min=0, max=SEED_MAX)
    sklearn_datasets = load("sklearn.datasets", "kino.datasets.digits")
    train_test_split = load("sklearn.model_selection", "kino.datasets.digits").train_test_split
    bunch = sklearn_datasets.load_digits()
    images = (bunch.images / 16.0).astype(np.float32)
    labels = bunch.target.astype(np.int32)
    x_train, x_test, y_train, y_test = train_test_split(
        images, labels, test_size=test_size, random_state=seed, stratify=labels
    )
    return (x_train, y_train), (x_test, y_test)


def penguins(*, drop_nulls: bool = False) -> pl.DataFrame:
    """The Palmer penguins (344 rows, 8 columns) as a polars DataFrame, read offline.

    Missing measurements are nulls; ``drop_nulls=True`` keeps only complete rows (333).

    >>> penguins().shape
    (344, 8)
    >>> penguins(drop_nulls=True).height
    333
    """
    csv = resources.files(load("palmerpenguins", "kino.datasets.penguins")).joinpath(
        "data", "penguins.csv"
    )
    with resources.as_file(csv) as path:
        frame = pl.read_csv(path, null_values="NA")
    return frame.drop_nulls() if drop_nulls else frame


def titanic(path: str | os.PathLike[str] | None = None) -> pl.DataFrame:
    """Read the Titanic passenger list from a local CSV (``titanic.csv``).

    kino does not ship it. With no ``path``, it looks for ``titanic.csv`` in the
    cache directory (see :func:`data_dir`). The usual file has the columns
    ``PassengerId, Survived, Pclass, Name, Sex, Age, SibSp, Parch, Ticket, Fare, ...``;
    the column names are lower-cased here so that ``survived``, ``age``, ``sex``
    and ``fare`` read as in the seed's Explorer example.

    >>> import pathlib, tempfile
    >>> csv = pathlib.Path(tempfile.mkdtemp()) / "titanic.csv"
    >>> _ = csv.write_text("Survived,Age,Sex,Fare\\n1,29,female,211.3\\n")
    >>> titanic(csv).columns
    ['survived', 'age', 'sex', 'fare']
    """
    file = data_dir() / "titanic.csv" if path is None else Path(path).expanduser()
    if not file.is_file():
        raise FileNotFoundError(
            f"kino.datasets.titanic: no CSV file at {file}. kino does not ship the Titanic "
            f"data; download a titanic.csv (for example Kaggle's 'Titanic - Machine Learning "
            f"from Disaster' train.csv) and pass its path, or copy it to {file}."
        )
    frame = pl.read_csv(file, infer_schema_length=10_000)
    return frame.rename({name: name.lower() for name in frame.columns})


def mnist(
    data_dir: str | os.PathLike[str] | None = None,
    *,
    mirrors: Sequence[str] | None = None,
    progress: bool = True,
) -> Arrays:
    """MNIST handwritten digits: ``(x_train, y_train), (x_test, y_test)``.

    Images are uint8 ``[60000, 28, 28]`` and ``[10000, 28, 28]`` (scale them with
    ``/ 255.0``); labels are uint8 in 0..9. The first call downloads four gzip IDX
    files (about 11 MB) into ``<data_dir>/mnist/``, verifying each SHA-256; later
    calls read the cache. ``mirrors`` replaces the default list of base URLs.

    Not run by the doctests: the first call downloads from the network.

    >>> import kino
    >>> (x_train, y_train), (x_test, y_test) = kino.datasets.mnist()  # doctest: +SKIP
    >>> x_train.shape, y_test.shape  # doctest: +SKIP
    ((60000, 28, 28), (10000,))
    """
    return _load_idx_dataset(MNIST, data_dir, mirrors, progress)


def fashion_mnist(
    data_dir: str | os.PathLike[str] | None = None,
    *,
    mirrors: Sequence[str] | None = None,
    progress: bool = True,
) -> Arrays:
    """Fashion-MNIST: ``(x_train, y_train), (x_test, y_test)``, shaped like :func:`mnist`.

    Cached in ``<data_dir>/fashion_mnist/`` (about 30 MB). Class names are in
    ``kino.datasets.FASHION_MNIST_CLASSES``.

    Not run by the doctests: the first call downloads from the network.

    >>> import kino
    >>> (x_train, y_train), _ = kino.datasets.fashion_mnist()  # doctest: +SKIP
    >>> kino.datasets.FASHION_MNIST_CLASSES[y_train[0]]  # doctest: +SKIP
    'Ankle boot'
    """
    return _load_idx_dataset(FASHION_MNIST, data_dir, mirrors, progress)


def read_idx(path: str | os.PathLike[str]) -> np.ndarray:
    """Read an IDX file (gzip-compressed when its name ends in ``.gz``) into a numpy array.

    >>> import pathlib, tempfile
    >>> raw = bytes([0, 0, 8, 1, 0, 0, 0, 3, 7, 2, 1])
    >>> file = pathlib.Path(tempfile.mkdtemp()) / "labels-idx1-ubyte"
    >>> _ = file.write_bytes(raw)
    >>> read_idx(file).tolist()
    [7, 2, 1]
    """
    file = Path(path)
    opener: Callable[..., IO[bytes]] = gzip.open if file.suffix == ".gz" else open
    with opener(file, "rb") as handle:
        data = handle.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _IDX_DTYPES:
        raise ValueError(f"kino.datasets.read_idx: {file} is not an IDX file (bad magic number)")
    dtype, ndim = _IDX_DTYPES[data[2]], data[3]
    header = 4 + 4 * ndim
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    count = int(np.prod(shape, dtype=np.int64))
    if len(data) != header + count * dtype.itemsize:
        raise ValueError(
            f"kino.datasets.read_idx: {file} holds {len(data) - header} data bytes, "
            f"its header promises {count * dtype.itemsize} for shape {shape}"
        )
    array = np.frombuffer(data, dtype=dtype, offset=header).reshape(shape)
    return array.astype(dtype.newbyteorder("="))


def _load_idx_dataset(
    source: IdxSource,
    directory: str | os.PathLike[str] | None,
    mirrors: Sequence[str] | None,
    progress: bool,
) -> Arrays:
    folder = data_dir(directory) / source.name
    bases = _check_mirrors(source.mirrors if mirrors is None else mirrors)
    arrays = {
        role: read_idx(_ensure_file(source, folder, name, sha256, size, bases, progress))
        for role, (name, sha256, size) in source.files.items()
    }
    return (
        (arrays["train_images"], arrays["train_labels"]),
        (arrays["test_images"], arrays["test_labels"]),
    )


def _check_mirrors(mirrors: Sequence[str]) -> tuple[str, ...]:
    if isinstance(mirrors, str) or not all(isinstance(m, str) for m in mirrors):
        allowed = "a list of base URLs (str), e.g. ['https://example.org/mnist/']"
        fail("kino.datasets", "mirrors", allowed, mirrors)
    return tuple(m if m.endswith("/") else m + "/" for m in mirrors)


class _WriteFailed(Exception):
    """Writing into the cache folder failed: no other mirror can help."""

    def __init__(self, error: OSError) -> None:
        super().__init__(error)
        self.error = error


def _ensure_file(
    source: IdxSource,
    folder: Path,
    name: str,
    sha256: str,
    size: int,
    mirrors: tuple[str, ...],
    progress: bool,
) -> Path:
    target = folder / name
    if target.is_file():
        actual = _sha256_of(target)
        if actual != sha256:
            raise ChecksumError(
                f"kino.datasets.{source.name}: {target} has SHA-256 {actual}, expected {sha256}. "
                f"It is not the published file (or it is damaged): delete it and call "
                f"kino.datasets.{source.name}() again to download it."
            )
        return target
    failures: list[str] = []
    mismatches = 0
    try:
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise _WriteFailed(error) from error
        _remove_stale_parts(target)
        for base in mirrors:
            url = base + name
            try:
                _download(url, target, sha256, size, progress)
                return target
            except ChecksumError as error:
                mismatches += 1
                failures.append(f"{url}: {error}")
            except (OSError, http.client.HTTPException) as error:
                failures.append(f"{url}: {type(error).__name__}: {error}")
    except _WriteFailed as failed:
        raise _write_error(source, folder, name, failed.error) from failed.error
    if failures and mismatches == len(failures):
        tried = "\n".join(f"  - {line}" for line in failures)
        raise ChecksumError(
            f"kino.datasets.{source.name}: no mirror serves the published {name} "
            f"(SHA-256 {sha256}, {size:,} bytes); nothing was kept.\nTried:\n{tried}\n"
            f"Try again later, or pass mirrors=[...] with another base URL."
        )
    raise DownloadError(_offline_message(source, folder, name, mirrors, failures))


def _write_error(source: IdxSource, folder: Path, name: str, error: OSError) -> OSError:
    """The same kind of OSError, saying which folder could not be written and why."""
    reason = error.strerror or str(error) or type(error).__name__
    message = (
        f"kino.datasets.{source.name}: could not write {name} into {folder}: {reason}"
        f"{f' (errno {error.errno})' if error.errno else ''}. The download itself was not the "
        f"problem: free some space or make the folder writable, or choose another folder "
        f"with data_dir=<dir> or {DATA_DIR_ENV}=<dir>."
    )
    kind = type(error) if type(error).__module__ == "builtins" else OSError
    raised = kind(message)
    raised.errno = error.errno
    return raised


def _remove_stale_parts(target: Path) -> None:
    """Delete ``.part`` files of ``target`` that no live download is writing (killed ones)."""
    cutoff = time.time() - STALE_PART_S
    for part in target.parent.glob(f".{glob.escape(target.name)}.*.part"):
        try:
            if part.stat().st_mtime < cutoff:
                part.unlink()
        except FileNotFoundError:
            pass  # another process removed it first
        except OSError as error:
            raise _WriteFailed(error) from error


def _offline_message(
    source: IdxSource, folder: Path, name: str, mirrors: tuple[str, ...], failures: list[str]
) -> str:
    tried = "\n".join(f"  - {line}" for line in failures) or "  (no mirrors were given)"
    base = mirrors[0] if mirrors else source.mirrors[0]
    files = "\n".join(f"  {base}{file}" for file, *_ in source.files.values())
    return (
        f"kino.datasets.{source.name}: could not download {name}.\n"
        f"Tried:\n{tried}\n"
        f"If this machine has no network access, download these files on one that has:\n"
        f"{files}\n"
        f"and copy them, still gzip-compressed, into {folder}/ "
        f"(or into <dir>/{source.name}/ and pass data_dir=<dir>, or set {DATA_DIR_ENV}=<dir>). "
        f"kino verifies their SHA-256 checksums and then uses them without any download."
    )


def _download(url: str, target: Path, sha256: str, size: int, progress: bool) -> None:
    """Fetch ``url`` into ``target`` atomically: temp file, verify, rename; never a partial file.

    Reads at most ``size + 1`` bytes. Network failures raise OSError or HTTPException,
    a wrong body ChecksumError, and a failure to write the folder :class:`_WriteFailed`.
    """
    try:
        fd, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    except OSError as error:
        raise _WriteFailed(error) from error
    part = Path(name)
    try:
        handle = os.fdopen(fd, "wb")
        try:
            with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT_S) as response:
                digest = _receive(url, response, handle, size, target.name, progress)
        finally:
            try:
                handle.close()
            except OSError as error:
                raise _WriteFailed(error) from error
        if digest != sha256:
            raise ChecksumError(
                f"{url} has SHA-256 {digest}, expected {sha256}; the downloaded file was deleted"
            )
        try:
            os.replace(part, target)
        except OSError as error:
            raise _WriteFailed(error) from error
    except BaseException:
        part.unlink(missing_ok=True)
        raise


def _receive(
    url: str, response: Any, handle: IO[bytes], size: int, label: str, progress: bool
) -> str:
    """Copy at most ``size + 1`` bytes of ``response`` into ``handle``; the SHA-256 hex digest."""
    announced = int(response.headers.get("Content-Length") or 0) or None
    if announced is not None and announced > size:
        raise ChecksumError(
            f"{url} announces {announced:,} bytes, the published file has {size:,}; nothing read"
        )
    digest = hashlib.sha256()
    bar = _ProgressBar(label, size) if progress else None
    received = 0
    while chunk := response.read(min(CHUNK_BYTES, size + 1 - received)):
        try:
            handle.write(chunk)
        except OSError as error:
            raise _WriteFailed(error) from error
        digest.update(chunk)
        received += len(chunk)
        if received > size:
            raise ChecksumError(
                f"{url} sends more than the {size:,} bytes of the published file; stopped there"
            )
        if bar is not None:
            bar.update(received)
    expected = size if announced is None else announced
    if received < expected:
        raise http.client.IncompleteRead(b"", expected - received)
    if bar is not None:
        bar.close()
    return digest.hexdigest()


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


class _ProgressBar:
    """A one-line progress bar on stderr, redrawn with ``\\r`` (terminals and notebooks)."""

    WIDTH = 30

    def __init__(self, label: str, total: int | None) -> None:
        self.label = label
        self.total = total
        self.shown = -1

    def update(self, received: int) -> None:
        if self.total:
            percent = min(100, received * 100 // self.total)
            if percent == self.shown:
                return
            self.shown = percent
            filled = self.WIDTH * percent // 100
            bar = "█" * filled + "·" * (self.WIDTH - filled)
            line = f"{self.label} {bar} {percent:3d}% of {self.total / 1e6:.1f} MB"
        else:
            line = f"{self.label} {received / 1e6:.1f} MB"
        sys.stderr.write("\r" + line)
        sys.stderr.flush()

    def close(self) -> None:
        sys.stderr.write("\n")
        sys.stderr.flush()
