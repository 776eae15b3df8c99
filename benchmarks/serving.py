"""kino.serving against its baselines, in one process (issue 13's four numbers).

The model is the digits MLP of notebook 04 (64-512-10, relu; random weights: the
figures are about serving, not accuracy), one 64-pixel float32 row per request.

1. 64 concurrent callers (threads), each sending its share of the requests one at a
   time: the batched server (``batch_size=64``) against each caller calling the jitted
   model once per request. Target: server >= 5x requests/s.
2. Server overhead: the same requests as full batches, through ``predict_many`` (queue,
   workers, futures, post-processing) against calling the compiled batch function
   directly on the same batches (stack, run, split into rows). Target: >= 0.9x.
3. p99 latency of the 64 callers of (1), against ``batch_timeout + 3 x`` the time of one
   full batch (the median of direct calls). Target: p99 <= that bound.
4. The HTTP endpoint (uvicorn, httpx client in the same process) at 64 connections:
   requests/s and p99, printed beside the in-process figures (no target).
5. The live monitor's cost: (1)'s server with a monitor refreshing every 0.1 s (five times
   its default rate) against none. Target: >= 0.95x.

Rounds alternate kino and baseline; the headline of each ratio is the median over rounds.

    .venv/bin/python benchmarks/serving.py [--rounds R] [--requests N]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import threading
import time

import httpx
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


def concurrent(call, rows: np.ndarray) -> tuple[float, list[float]]:
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

    threads = [threading.Thread(target=caller, args=(k,)) for k in range(CALLERS)]
    for t in threads:
        t.start()
    barrier.wait()
    start = time.perf_counter()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    return len(rows) / elapsed, [x for per in latencies for x in per]


def over_http(url: str, rows: np.ndarray) -> tuple[float, list[float]]:
    async def main() -> tuple[float, list[float]]:
        limits = httpx.Limits(max_connections=CALLERS, max_keepalive_connections=CALLERS)
        async with httpx.AsyncClient(limits=limits, timeout=300) as client:
            latencies: list[float] = []

            async def caller(mine: np.ndarray) -> None:
                for row in mine:
                    t = time.perf_counter()
                    reply = await client.post(url, json=row.tolist())
                    reply.raise_for_status()
                    latencies.append(time.perf_counter() - t)

            start = time.perf_counter()
            await asyncio.gather(*(caller(rows[k::CALLERS]) for k in range(CALLERS)))
            return len(rows) / (time.perf_counter() - start), latencies

    return asyncio.run(main())


def p99(latencies: list[float]) -> float:
    return float(np.percentile(latencies, 99))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--requests", type=int, default=64 * 60)
    args = parser.parse_args()

    model = mlp()
    rows = np.random.default_rng(0).random((args.requests, 64), dtype=np.float32)
    spec = Serving(
        model, batch_size=BATCH, batch_timeout=BATCH_TIMEOUT, example=np.zeros(64, np.float32),
        postprocess=lambda scores: int(scores.argmax()),
    )  # fmt: skip
    server = spec.start(max_queue=4 * args.requests)
    program = server.programs[0]

    graphdef, state = nnx.split(model)
    per_request = jax.jit(lambda s, x: nnx.merge(graphdef, s)(x))
    per_request(state, rows[:1]).block_until_ready()

    def one_by_one(row: np.ndarray) -> int:
        return int(np.asarray(per_request(state, row[None]))[0].argmax())

    def direct(batch_rows: np.ndarray) -> list[int]:
        answers: list[int] = []
        for start in range(0, len(batch_rows), BATCH):
            outputs = program([[r] for r in batch_rows[start : start + BATCH]])
            answers += [int(o.argmax()) for o in outputs]
        return answers

    def through_server(batch_rows: np.ndarray) -> list[int]:
        return server.predict_many(list(batch_rows))

    assert direct(rows[:200]) == through_server(rows[:200]) == [one_by_one(r) for r in rows[:200]]
    full = [[r] for r in rows[:BATCH]]
    batch_times = []
    for _ in range(50):
        t = time.perf_counter()
        program(full)
        batch_times.append(time.perf_counter() - t)
    t_batch = statistics.median(batch_times)

    speedup, overhead, p99s, bounds, monitor_cost = [], [], [], [], []
    for r in range(args.rounds):
        base_rps, _ = concurrent(one_by_one, rows)
        kino_rps, latencies = concurrent(server.predict, rows)
        speedup.append(kino_rps / base_rps)
        p99s.append(p99(latencies))
        bounds.append(BATCH_TIMEOUT + 3 * t_batch)

        t = time.perf_counter()
        direct(rows)
        direct_rps = len(rows) / (time.perf_counter() - t)
        t = time.perf_counter()
        through_server(rows)
        server_rps = len(rows) / (time.perf_counter() - t)
        overhead.append(server_rps / direct_rps)

        monitor = server.monitor(interval=0.1)
        watched_rps, _ = concurrent(server.predict, rows)
        monitor.close()
        server._monitors.remove(monitor)
        plain_rps, _ = concurrent(server.predict, rows)
        monitor_cost.append(watched_rps / plain_rps)
        print(
            f"round {r + 1}: 64 callers {kino_rps:,.0f} req/s (one-by-one jit {base_rps:,.0f}); "
            f"p99 {p99s[-1] * 1e3:.1f} ms; predict_many {server_rps:,.0f} req/s "
            f"(direct batches {direct_rps:,.0f}); with monitor {watched_rps:,.0f} "
            f"(without {plain_rps:,.0f})",
            flush=True,
        )

    endpoint = http(server, path="/digits")
    http_rps, http_latencies = over_http(endpoint.url, rows[: min(len(rows), 64 * 20)])
    endpoint.stop()
    server.stop()

    med = statistics.median
    print(f"\nfull batch of {BATCH}: {t_batch * 1e3:.2f} ms (median of 50 direct calls)")
    print(
        f"4. HTTP at {CALLERS} connections: {http_rps:,.0f} req/s, p99 "
        f"{p99(http_latencies) * 1e3:.1f} ms (in-process: "
        f"{kino_rps:,.0f} req/s (last round), p99 "
        f"{med(p99s) * 1e3:.1f} ms); no target"
    )
    print(f"5. monitor (0.1 s) / none: {med(monitor_cost):.2f} (target >= 0.95)")
    print(f"3. p99 at {CALLERS} callers: {med(p99s) * 1e3:.1f} ms, bound batch_timeout + 3 x "
          f"batch = {med(bounds) * 1e3:.1f} ms: p99 / bound {med(p99s) / med(bounds):.2f} "
          "(target <= 1)")  # fmt: skip
    print(f"2. predict_many / direct batches: {med(overhead):.2f} (target >= 0.9)")
    print(f"1. server / one-by-one jit, {CALLERS} callers: {med(speedup):.2f}x (target >= 5)")


if __name__ == "__main__":
    main()
