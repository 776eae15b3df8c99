"""A throwaway PostgreSQL server for the test session (Debian's ``postgresql`` package).

The server runs from a fresh data folder in a temporary directory, listens on 127.0.0.1
on a free port (its unix socket in the same folder) with trust authentication, and is
stopped (``pg_ctl stop -m fast``) and deleted after the session. PostgreSQL refuses to
run as root, so as root it runs as the ``postgres`` user (or ``nobody``).
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import budget

MISSING = (
    "PostgreSQL's server programs (initdb, pg_ctl) are missing: install Debian's postgresql "
    "(apt-get install postgresql; .ci/run does it)"
)


def server_bin() -> Path | None:
    """The folder holding initdb and pg_ctl: on PATH, else Debian's /usr/lib/postgresql/N/bin."""
    found = shutil.which("pg_ctl")
    if found and shutil.which("initdb"):
        return Path(found).resolve().parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]))
    return Path(versions[-1]) if versions else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_server_user(folder: Path) -> list[str]:
    if os.geteuid() != 0:
        return []
    for name in ("postgres", "nobody"):
        try:
            user = pwd.getpwnam(name)
        except KeyError:
            continue
        os.chown(folder, user.pw_uid, user.pw_gid)
        return ["runuser", "-u", name, "--"]
    pytest.fail("running as root, and there is no 'postgres' or 'nobody' user to run PostgreSQL")


def _run(command: list[str]) -> None:
    done = subprocess.run(command, capture_output=True, text=True, timeout=budget(120))
    if done.returncode:
        pytest.fail(f"{' '.join(command)} failed ({done.returncode}):\n{done.stderr}{done.stdout}")


@pytest.fixture(scope="session")
def postgres() -> Iterator[str]:
    """The URL of a fresh, empty database on a running PostgreSQL server
    (``postgresql+psycopg://postgres@127.0.0.1:PORT/kino``)."""
    import psycopg

    bin_dir = server_bin()
    if bin_dir is None:
        pytest.fail(MISSING)
    # Under /tmp itself (not pytest's root-only tmp folder), so the server's user reaches it.
    root = Path(tempfile.mkdtemp(prefix="kino-postgres-"))
    data, log = root / "data", root / "server.log"
    user = _as_server_user(root)
    port = _free_port()
    _run([*user, str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust",
          "--no-sync", "-E", "UTF8"])  # fmt: skip
    options = f"-c listen_addresses=127.0.0.1 -p {port} -k {root} -c fsync=off"
    wait = str(int(budget(60)))  # pg_ctl -w waits until the server accepts connections
    _run([*user, str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", options,
          "-w", "-t", wait, "start"])  # fmt: skip
    try:
        with psycopg.connect(
            f"host=127.0.0.1 port={port} user=postgres dbname=postgres", autocommit=True
        ) as connection:
            connection.execute("CREATE DATABASE kino")
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/kino"
    finally:
        _run([*user, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "-t", wait,
              "stop"])  # fmt: skip
        shutil.rmtree(root, ignore_errors=True)
