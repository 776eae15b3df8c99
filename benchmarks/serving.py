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
4. The HTTP endpoint (uvicorn, httpx client in the same process) at 64 connections:
   requests/s and p99, printed beside the in-process figures (no target).
5. The live monitor's cost: the 64 asyncio callers and the 64 threads of (1) with a
   monitor refreshing every 0.1 s (five times its default rate) against none, the
   order alternating between rounds. Target: >= 0.95x.

The headline of each ratio is the median over rounds; every round is printed.

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
    start = time.perf_counter()
    for t in workers:
        t.join()
    elapsed = time.perf_counter() - start
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

        start = time.perf_counter()
        await asyncio.gather(*(caller(rows[k::CALLERS]) for k in range(CALLERS)))
        return len(rows) / (time.perf_counter() - start), latencies

    return asyncio.run(main())


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

    graphdef, state = nnx.split(model)
    per_request = jax.jit(lambda s, x: nnx.merge(graphdef, s)(x))
    per_request(state, rows[:1]).block_until_ready()

    def one_by_one(row: np.ndarray) -> int:
        return int(np.asarray(per_request(state, row[None]))[0].argmax())

    def direct(batch_rows: np.ndarray) -> list[int]:
        answers: list[int] = []
        for start in range(0, len(batch_rows), BATCH):
            outputs = np.asarray(per_request(state, batch_rows[start : start + BATCH]))
            answers += [int(o.argmax()) for o in outputs]
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
        t = time.perf_counter()
        fn(*args)
        return len(rows) / (time.perf_counter() - t)

    figures: dict[str, list[float]] = {}

    def keep(name: str, value: float) -> float:
        figures.setdefault(name, []).append(value)
        return value

    for r in range(args.rounds):
        base_t, _ = threads(one_by_one, rows)
        kino_t, lat_t = threads(server.predict, rows)
        base_a, _ = tasks(one_by_one, rows, awaited=False)
        kino_a, lat_a = tasks(server.apredict, rows, awaited=True)
        keep("threads", kino_t / base_t)
        keep("tasks", kino_a / base_a)
        keep("p99", p99(lat_t))
        keep("p99 tasks", p99(lat_a))

        direct_rps = rate(direct, rows)
        array_rps = rate(server.predict_many, rows)
        list_rps = rate(server.predict_many, as_list)
        keep("many", array_rps / direct_rps)
        keep("many list", list_rps / direct_rps)

        watched, plain = {}, {}
        for watching in (r % 2 == 0, r % 2 == 1):
            monitor = server.monitor(interval=0.1) if watching else None
            into = watched if watching else plain
            into["tasks"] = tasks(server.apredict, rows, awaited=True)[0]
            into["threads"] = threads(server.predict, rows)[0]
            if monitor is not None:
                monitor.close()
                server._monitors.remove(monitor)
        keep("monitor tasks", watched["tasks"] / plain["tasks"])
        keep("monitor threads", watched["threads"] / plain["threads"])
        print(
            f"round {r + 1}: threads {kino_t:,.0f} vs {base_t:,.0f} req/s "
            f"({kino_t / base_t:.2f}x), p99 {p99(lat_t) * 1e3:.2f} ms; "
            f"tasks {kino_a:,.0f} vs {base_a:,.0f} ({kino_a / base_a:.2f}x), "
            f"p99 {p99(lat_a) * 1e3:.2f} ms; predict_many array {array_rps:,.0f} / list "
            f"{list_rps:,.0f} vs direct {direct_rps:,.0f} ({array_rps / direct_rps:.2f} / "
            f"{list_rps / direct_rps:.2f}); monitor tasks "
            f"{figures['monitor tasks'][-1]:.2f}, threads {figures['monitor threads'][-1]:.2f}",
            flush=True,
        )

    endpoint = http(server, path="/digits")
    http_rps, http_latencies = over_http(endpoint.url, rows[: min(len(rows), 64 * 20)])
    endpoint.stop()
    server.stop()

    med = {name: statistics.median(values) for name, values in figures.items()}
    print(f"\nfull batch of {BATCH}: {t_batch * 1e3:.3f} ms (median of 50 direct calls)")
    print(
        f"4. HTTP at {CALLERS} connections: {http_rps:,.0f} req/s, p99 "
        f"{p99(http_latencies) * 1e3:.1f} ms (in-process p99: threads "
        f"{med['p99'] * 1e3:.2f} ms, tasks {med['p99 tasks'] * 1e3:.2f} ms); no target"
    )
    print(
        f"5. monitor (0.1 s) / none: tasks {med['monitor tasks']:.2f}, threads "
        f"{med['monitor threads']:.2f} (target >= 0.95)"
    )
    print(
        f"3. p99 at {CALLERS} threads: {med['p99'] * 1e3:.2f} ms, bound batch_timeout + 3 x "
        f"batch = {bound * 1e3:.2f} ms: p99 / bound {med['p99'] / bound:.2f} (target <= 1)"
    )
    print(
        f"2. predict_many / direct batches: {med['many']:.2f} (rows as lists: "
        f"{med['many list']:.2f}) (target >= 0.9)"
    )
    print(
        f"1. server / one-by-one jit, {CALLERS} callers: asyncio tasks {med['tasks']:.2f}x, "
        f"threads {med['threads']:.2f}x (target >= 5)"
    )


if __name__ == "__main__":
    main()
