"""Run a training script as several ``jax.distributed`` processes.

On one machine, ``python -m kino.train.launch --processes 2 train.py [args...]`` starts two
Pythons that find each other through a coordinator on 127.0.0.1 and a free port, runs
``train.py`` in each (as ``__main__``, with ``jax.distributed`` already initialised) and
exits with the first failing process's status, stopping the others. ``--devices N`` gives
each process N CPU devices (``XLA_FLAGS``). On a cluster every task runs
``python -m kino.train.launch --worker train.py`` with ``KINO_COORDINATOR`` set to
``host:port`` of the first node; the process id and count come from ``KINO_PROCESS_ID`` /
``KINO_NUM_PROCESSES`` or SLURM's ``SLURM_PROCID`` / ``SLURM_NTASKS``
(``scripts/slurm-train.sbatch`` is a batch template).
"""

from __future__ import annotations

import argparse
import os
import runpy
import socket
import subprocess
import sys
import traceback

from kino.contracts import check_int, fail

COORDINATOR = "KINO_COORDINATOR"
NUM_PROCESSES = "KINO_NUM_PROCESSES"
PROCESS_ID = "KINO_PROCESS_ID"
STOP_GRACE = 5.0  # seconds the other processes get to stop after one failed, then killed


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now.

    >>> 0 < free_port() < 65536
    True
    """
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def settings(env=os.environ) -> tuple[str, int, int]:
    """``(coordinator, process count, process id)`` from KINO_* (or SLURM_*) variables.

    >>> settings({"KINO_COORDINATOR": "node1:1234", "SLURM_NTASKS": "4", "SLURM_PROCID": "2"})
    ('node1:1234', 4, 2)
    """
    func = "train.launch.settings"
    coordinator = env.get(COORDINATOR)
    if not coordinator:
        fail(func, COORDINATOR, "set to host:port of process 0", coordinator, ValueError)
    count = env.get(NUM_PROCESSES, env.get("SLURM_NTASKS"))
    index = env.get(PROCESS_ID, env.get("SLURM_PROCID"))
    if count is None or index is None:
        fail(func, PROCESS_ID, "set (or SLURM_PROCID and SLURM_NTASKS)", index, ValueError)
    count = check_int(int(count), func=func, argument=NUM_PROCESSES, min=1)
    index = check_int(int(index), func=func, argument=PROCESS_ID, min=0, max=count - 1)
    return coordinator, count, index


def initialize(env=os.environ) -> None:
    """``jax.distributed.initialize`` from :func:`settings` (call before any jax work).

    Example (in each process of a job): ``kino.train.launch.initialize()``.
    """
    import jax

    coordinator, count, index = settings(env)
    jax.distributed.initialize(
        coordinator_address=coordinator, num_processes=count, process_id=index
    )


def launch(script: str, args=(), *, processes: int = 2, devices: int | None = None) -> int:
    """Run ``script`` as ``processes`` local processes; the first non-zero exit status, or 0.

    Example: ``launch("train.py", processes=2, devices=2)`` (what the command line does).
    """
    func = "train.launch.launch"
    processes = check_int(processes, func=func, argument="processes", min=1)
    devices = check_int(devices, func=func, argument="devices", min=1, allow_none=True)
    base = {**os.environ, COORDINATOR: f"127.0.0.1:{free_port()}", NUM_PROCESSES: str(processes)}
    if devices is not None:
        base["XLA_FLAGS"] = f"--xla_force_host_platform_device_count={devices}"
    command = [sys.executable, "-m", "kino.train.launch", "--worker", script, *args]
    children = [
        subprocess.Popen(command, env={**base, PROCESS_ID: str(i)}) for i in range(processes)
    ]
    by_pid = {c.pid: c for c in children}
    status = 0
    try:
        while by_pid and not status:
            pid, raw = os.wait()  # whichever child ends first (this process starts no others)
            child = by_pid.pop(pid, None)
            if child is not None:
                child.returncode = os.waitstatus_to_exitcode(raw)
                status = child.returncode
    finally:
        for c in by_pid.values():
            c.terminate()
        for c in by_pid.values():
            try:  # a process blocked in a collective may ignore SIGTERM until its timeout
                c.wait(timeout=STOP_GRACE)
            except subprocess.TimeoutExpired:
                c.kill()
                c.wait()
    return status


def main(argv=None) -> int:
    """The command line: ``--processes N [--devices D] script [args...]`` or ``--worker``."""
    parser = argparse.ArgumentParser(prog="python -m kino.train.launch", description=__doc__)
    parser.add_argument("--processes", type=int, default=2, help="local processes to start")
    parser.add_argument("--devices", type=int, default=None, help="CPU devices per process")
    parser.add_argument(
        "--worker", action="store_true", help="be one process of a job (KINO_*/SLURM_* set)"
    )
    parser.add_argument("script")
    parser.add_argument("args", nargs=argparse.REMAINDER)
    ns = parser.parse_args(argv)
    if not ns.worker:
        return launch(ns.script, ns.args, processes=ns.processes, devices=ns.devices)
    initialize()
    sys.argv = [ns.script, *ns.args]
    try:
        runpy.run_path(ns.script, run_name="__main__")
    except SystemExit as stop:
        code = _exit_code(stop)
        if code:
            _exit_now(code)
        raise
    except BaseException:
        traceback.print_exc()
        _exit_now(1)
    return 0


def _exit_code(stop: SystemExit) -> int:
    if stop.code is None or isinstance(stop.code, int):
        return stop.code or 0
    print(stop.code, file=sys.stderr)  # sys.exit("message"): Python prints it and exits 1
    return 1


def _exit_now(code: int) -> None:
    # A failed process leaves at once. Its normal exit would run jax.distributed's shutdown,
    # which waits at a barrier for the other processes (about 30 s, and they may be blocked on
    # this one); meanwhile the coordinator can abort process 0 first, and the launcher would
    # then report process 0's status instead of this one's.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    sys.exit(main())
