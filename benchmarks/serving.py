"""kino.serving against its baselines, in one process (issue 13's four numbers).

The model is the digits MLP of notebook 04 (64-512-10, relu; random weights: the
figures are about serving, not accuracy), one 64-pixel float32 row per request, the
answer the row's argmax (post-processing, per request, in kino and every baseline).

1. 64 concurrent callers, each sending its share of the requests one at a time, in two
   kinds: 64 threads (``server.predict``) and 64 asyncio tasks on one event loop
   (``await server.apredict``, how a notebook awaits). Each against the same kind of
   callers calling the jitted model once per request (the tasks call it inline: a
   plain call is the fastest a coroutine can do). Target: server >= 5x requests/s.
2. Server overhead: the requests as full batches of 64 rows through ``predict_many``
   (queue, worker, tickets, post-processing) against calling the jitted model directly
   on the same batches (argmax per row). The batches are handed over as arrays of rows
   (the headline) and, for comparison, as lists of row arrays. Target: >= 0.9x.
3. p99 latency of the 64 threads of (1), against ``batch_timeout + 3 x`` the time of one
   full batch (the median of direct calls). Target: p99 <= that bound.
4. The HTTP endpoint (uvicorn) at 64 keep-alive connections from a client process:
   requests/s and p99, printed beside the in-process figures (no target).
5. The live monitor's cost: the 64 asyncio callers and the 64 threads of (1) with a
   monitor refreshing every 0.1 s (five times its default rate) against none, the
   order alternating between rounds. Target: >= 0.95x.


Each figure alternates kino and its baseline (ABBA; at least ``--reps`` runs each, more
while the pair has taken under 2 s) and compares medians; the machine's other load moves
single runs a lot. The headline is the median over rounds; every round is printed. Beside
each ratio of requests/s, ``cpu`` is the same ratio in process CPU time per request
(baseline / kino): less moved by other processes, it shows what a quiet machine would
give where wall-clock time is mostly waiting for the scheduler (every hand-off between a
caller and the worker thread waits for a core).

    .venv/bin/python benchmarks/serving.py [--rounds R] [--reps K] [--requests N]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import statistics
import subprocess
import sys
import threading
import time
from typing import Any

import jax
import numpy as np
from flax import nnx

from kino.serving import Serving, http

CALLERS = 64
BATCH = 64
BATCH_TIMEOUT = 0.002


def mlp() -> nnx.Module:
    rngs = nnx.Rngs(0)
    return nnx.Sequential(nnx.Linear(64, 512, rngs=rngs), nnx.relu, nnx.Linear(512, 10, rngs=rngs))


# Process CPU seconds of the last timed section (threads, tasks or rate), for the cpu ratios,
# and the context switches of the last threads section (voluntary, involuntary).
LAST_CPU = [0.0]
LAST_SWITCHES = [(0, 0)]


def switches() -> tuple[int, int]:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_nvcsw, usage.ru_nivcsw


def threads(call, rows: np.ndarray) -> tuple[float, list[float]]:
    """Requests/s of CALLERS threads calling ``call(row)`` on their share; latencies (s)."""
    latencies: list[list[float]] = [[] for _ in range(CALLERS)]
    barrier = threading.Barrier(CALLERS + 1)

    def caller(k: int) -> None:
        mine = rows[k::CALLERS]
        barrier.wait()
        for row in mine:
            t = time.perf_counter()
            call(row)
            latencies[k].append(time.perf_counter() - t)

    workers = [threading.Thread(target=caller, args=(k,)) for k in range(CALLERS)]
    for t in workers:
        t.start()
    barrier.wait()
    start, used, switched = time.perf_counter(), time.process_time(), switches()
    for t in workers:
        t.join()
    elapsed = time.perf_counter() - start
    LAST_CPU[0] = time.process_time() - used
    LAST_SWITCHES[0] = tuple(b - a for a, b in zip(switched, switches(), strict=True))
    return len(rows) / elapsed, [x for per in latencies for x in per]


def tasks(call, rows: np.ndarray, *, awaited: bool) -> tuple[float, list[float]]:
    """Requests/s of CALLERS asyncio tasks on one loop; ``call(row)`` awaited or plain."""

    async def main() -> tuple[float, list[float]]:
        latencies: list[float] = []

        async def caller(mine: np.ndarray) -> None:
            for row in mine:
                t = time.perf_counter()
                if awaited:
                    await call(row)
                else:
                    call(row)
                latencies.append(time.perf_counter() - t)

        start, used = time.perf_counter(), time.process_time()
        await asyncio.gather(*(caller(rows[k::CALLERS]) for k in range(CALLERS)))
        LAST_CPU[0] = time.process_time() - used
        return len(rows) / (time.perf_counter() - start), latencies

    return asyncio.run(main())


# The HTTP load: CALLERS keep-alive connections, each posting its share of the rows one at
# a time, from another process (a client sharing the server's GIL would measure itself).
# Plain asyncio streams: httpx's connection pool costs more CPU per request than the
# endpoint does at 64 connections, on the two cores the server also needs.
HTTP_CLIENT = r"""
import asyncio, json, re, sys, time
import numpy as np

host, path = sys.argv[1], sys.argv[3]
port, n, callers = (int(a) for a in (sys.argv[2], sys.argv[4], sys.argv[5]))
rows = np.random.default_rng(1).random((n, 64), dtype=np.float32)
length = re.compile(rb"(?i)content-length: *(\d+)")

async def caller(mine, latencies):
    reader, writer = await asyncio.open_connection(host, port)
    for row in mine:
        body = json.dumps(row.tolist()).encode()
        head = (f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\n\r\n").encode()
        t = time.perf_counter()
        writer.write(head + body)
        reply = await reader.readuntil(b"\r\n\r\n")
        answer = await reader.readexactly(int(length.search(reply).group(1)))
        assert reply.startswith(b"HTTP/1.1 200"), reply + answer
        latencies.append(time.perf_counter() - t)
    writer.close()

async def main():
    latencies = []
    start = time.perf_counter()
    await asyncio.gather(*(caller(rows[k::callers], latencies) for k in range(callers)))
    return n / (time.perf_counter() - start), latencies

rate, latencies = asyncio.run(main())
print(json.dumps({"rate": rate, "p99": float(np.percentile(latencies, 99))}))
"""


def over_http(endpoint, n: int) -> tuple[float, float]:
    """Requests/s and p99 (s) of CALLERS connections posting ``n`` rows to ``endpoint``."""
    out = subprocess.run(
        [sys.executable, "-c", HTTP_CLIENT, endpoint.host, str(endpoint.port), endpoint.path,
         str(n), str(CALLERS)],
        capture_output=True, text=True, check=True, timeout=600,
    )  # fmt: skip
    figures = json.loads(out.stdout)
    return figures["rate"], figures["p99"]


def p99(latencies: list[float]) -> float:
    return float(np.percentile(latencies, 99))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--requests", type=int, default=64 * 60)
    parser.add_argument("--reps", type=int, default=4, help="alternated runs per figure")
    args = parser.parse_args()

    model = mlp()
    rows = np.random.default_rng(0).random((args.requests, 64), dtype=np.float32)

    def postprocess(scores: np.ndarray) -> int:  # the same function in kino and baselines
        return int(scores.argmax())

    spec = Serving(
        model, batch_size=BATCH, batch_timeout=BATCH_TIMEOUT, example=np.zeros(64, np.float32),
        postprocess=postprocess,
    )  # fmt: skip
    server = spec.start(max_queue=4 * args.requests)

    graphdef, state = nnx.split(model)
    per_request = jax.jit(lambda s, x: nnx.merge(graphdef, s)(x))
    per_request(state, rows[:1]).block_until_ready()

    def one_by_one(row: np.ndarray) -> int:
        return postprocess(np.asarray(per_request(state, row[None]))[0])

    def direct(batch_rows: np.ndarray) -> list[int]:
        answers: list[int] = []
        for start in range(0, len(batch_rows), BATCH):
            outputs = np.asarray(per_request(state, batch_rows[start : start + BATCH]))
            answers += [postprocess(o) for o in outputs]
        return answers

    per_request(state, rows[:BATCH]).block_until_ready()  # compile the batch shape too
    as_list = list(rows)
    want = [one_by_one(r) for r in rows[:200]]
    assert direct(rows[:192]) == server.predict_many(rows[:192]) == want[:192]
    assert server.predict_many(as_list[:200]) == [server.predict(r) for r in rows[:200]] == want
    assert tasks(server.apredict, rows[:128], awaited=True)[0] > 0
    batch_times = []
    for _ in range(50):
        t = time.perf_counter()
        np.asarray(per_request(state, rows[:BATCH]))
        batch_times.append(time.perf_counter() - t)
    t_batch = statistics.median(batch_times)
    bound = BATCH_TIMEOUT + 3 * t_batch

    def rate(fn, *args) -> float:
        t, used = time.perf_counter(), time.process_time()
        fn(*args)
        LAST_CPU[0] = time.process_time() - used
        return len(rows) / (time.perf_counter() - t)

    latencies: dict[str, list[float]] = {"threads": [], "tasks": []}

    def measured(kind: str, rps_and_latencies: tuple[float, list[float]]) -> float:
        latencies[kind] += rps_and_latencies[1]
        return rps_and_latencies[0]

    def watched(run) -> float:
        monitor = server.monitor(interval=0.1)
        try:
            return run()
        finally:
            monitor.close()
            server._monitors.remove(monitor)

    thread_costs: dict[str, tuple[float, float]] = {}

    def pair(base, kino) -> tuple[float, float]:
        """Median requests/s of ``kino`` and ``base`` runs, alternated (ABBA): at least
        args.reps runs each, more (up to 40) while the pair has taken under 2 s, so a
        short figure is not one burst of the other processes' load."""
        got: dict[Any, list[float]] = {base: [], kino: []}
        cpu: dict[Any, list[float]] = {base: [], kino: []}
        switched: dict[Any, list[int]] = {base: [], kino: []}
        start, i = time.perf_counter(), 0
        while i < args.reps or (i < 40 and time.perf_counter() - start < 2.0):
            for run in (base, kino) if i % 2 == 0 else (kino, base):
                got[run].append(run())
                cpu[run].append(LAST_CPU[0])
                switched[run].append(LAST_SWITCHES[0][0])
            i += 1
        for who, run in (("kino", kino), ("base", base)):  # per request, for the threads
            thread_costs[who] = (
                statistics.median(cpu[run]) / len(rows) * 1e6,
                statistics.median(switched[run]) / len(rows),
            )
        cpu_ratio = statistics.median(cpu[base]) / statistics.median(cpu[kino])
        return statistics.median(got[kino]), statistics.median(got[base]), cpu_ratio

    comparisons = {
        "threads": (lambda: threads(one_by_one, rows)[0],
                    lambda: measured("threads", threads(server.predict, rows))),
        "tasks": (lambda: tasks(one_by_one, rows, awaited=False)[0],
                  lambda: measured("tasks", tasks(server.apredict, rows, awaited=True))),
        "many": (lambda: rate(direct, rows), lambda: rate(server.predict_many, rows)),
        "many list": (lambda: rate(direct, rows), lambda: rate(server.predict_many, as_list)),
        "monitor tasks": (lambda: tasks(server.apredict, rows, awaited=True)[0],
                          lambda: watched(lambda: tasks(server.apredict, rows, awaited=True)[0])),
        "monitor threads": (lambda: threads(server.predict, rows)[0],
                            lambda: watched(lambda: threads(server.predict, rows)[0])),
    }  # fmt: skip
    figures: dict[str, list[float]] = {}
    for r in range(args.rounds):
        for kind in latencies:
            latencies[kind] = []
        line = []
        for name, (base, kino) in comparisons.items():
            kino_rps, base_rps, cpu_ratio = pair(base, kino)
            figures.setdefault(name, []).append(kino_rps / base_rps)
            figures.setdefault(f"{name} cpu", []).append(cpu_ratio)
            if name == "threads":
                for who, (us, vcsw) in thread_costs.items():
                    figures.setdefault(f"threads {who} us", []).append(us)
                    figures.setdefault(f"threads {who} vcsw", []).append(vcsw)
            line.append(
                f"{name} {kino_rps:,.0f} vs {base_rps:,.0f} ({kino_rps / base_rps:.2f}, "
                f"cpu {cpu_ratio:.2f})"
            )
        for kind, values in latencies.items():
            figures.setdefault(f"p99 {kind}", []).append(p99(values))
            line.append(f"p99 {kind} {p99(values) * 1e3:.2f} ms")
        print(f"round {r + 1}: " + "; ".join(line), flush=True)

    endpoint = http(server, path="/digits")
    http_rps, http_p99 = over_http(endpoint, len(rows))
    endpoint.stop()
    server.stop()

    med = {name: statistics.median(values) for name, values in figures.items()}
    print(f"\nfull batch of {BATCH}: {t_batch * 1e3:.3f} ms (median of 50 direct calls)")
    print(
        f"4. HTTP at {CALLERS} connections: {http_rps:,.0f} req/s, p99 "
        f"{http_p99 * 1e3:.1f} ms (in-process p99: threads "
        f"{med['p99 threads'] * 1e3:.2f} ms, tasks {med['p99 tasks'] * 1e3:.2f} ms); no target"
    )
    print(
        f"5. monitor (0.1 s) / none: tasks {med['monitor tasks']:.2f} (cpu "
        f"{med['monitor tasks cpu']:.2f}), threads {med['monitor threads']:.2f} (cpu "
        f"{med['monitor threads cpu']:.2f}) (target >= 0.95)"
    )
    print(
        f"3. p99 at {CALLERS} callers: threads {med['p99 threads'] * 1e3:.2f} ms, tasks "
        f"{med['p99 tasks'] * 1e3:.2f} ms; bound batch_timeout + 3 x batch = "
        f"{bound * 1e3:.2f} ms: p99 / bound threads {med['p99 threads'] / bound:.2f}, tasks "
        f"{med['p99 tasks'] / bound:.2f} (target <= 1)"
    )
    print(
        f"2. predict_many / direct batches: {med['many']:.2f} (cpu {med['many cpu']:.2f}); "
        f"rows as lists: {med['many list']:.2f} (cpu {med['many list cpu']:.2f}) "
        "(target >= 0.9)"
    )
    print(
        f"1. server / one-by-one jit, {CALLERS} callers: asyncio tasks {med['tasks']:.2f}x "
        f"(cpu {med['tasks cpu']:.2f}x), threads {med['threads']:.2f}x (cpu "
        f"{med['threads cpu']:.2f}x) (target >= 5)"
    )
    print(
        f"   threads per request: kino {med['threads kino us']:.1f} us CPU, "
        f"{med['threads kino vcsw']:.2f} voluntary context switches; one-by-one jit "
        f"{med['threads base us']:.1f} us, {med['threads base vcsw']:.2f} (counts: no target)"
    )


if __name__ == "__main__":
    main()
