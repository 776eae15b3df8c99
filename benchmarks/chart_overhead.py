"""What the live dashboard costs a training run, and what a chart push costs, in one process.

1. Training throughput of the trainer benchmark's MLP (784-256-128-10, batch
   128, Adam 1e-3, 60,000 synthetic MNIST-shaped samples, accuracy metric),
   configured as train_throughput.py's kino variant (c) (a handler receiving
   every step's metrics), against the same loop with ``kino.dashboard`` as its
   per-step handler (every step's values, plus the
   confusion matrix the dashboard adds to classification loops). The two loops
   run alternately (A B, B A, A B, ...), each for 1 + E epochs; the first epoch
   of each run is not timed. Each round gives one paired ratio; the headlines are
   their medians, by wall clock (steps/s) and by CPU time (steps per CPU-second),
   each with its worst round (the pooled ratio is printed too). Target for both:
   dashboard / plain >= 0.98.
2. Messages per second the dashboard sent while training, the Python time its
   step handler took per step on the training thread (it only records the state),
   the time its drain took per step on the timer thread, and the handler plus
   the drain alone (fed ready LoopStates, no training thread competing).
   Steps per CPU-second of the process (all threads) beside steps/s: on a
   loaded machine the wall-clock ratio is noise, the CPU-time one much less so.
   A third loop, the dashboard without its confusion matrix metric, separates
   the widget's cost from the metric's (computed on the device every step).
3. ``kino.chart``: Python cost per pushed point and messages per second for a
   tight loop of single-row pushes (with a window).

Widget messages go through a comm that serialises them to JSON (as a kernel
would) and counts them; there is no browser.

    cd benchmarks && ../.venv/bin/python chart_overhead.py [--quick] [--epochs E] [--rounds R]
"""

from __future__ import annotations

import argparse
import importlib
import json
import statistics
import time

import comm
from comm.base_comm import BaseComm
from train_throughput import data, loadavg, mlp  # the same model and data (run from benchmarks/)

import kino
from kino import train

dashboard_module = importlib.import_module("kino.ui.live.dashboard")


BATCH, FUSED = 128, 32


class CountingComm(BaseComm):
    """Serialises each message like a kernel would, and counts messages and bytes."""

    messages = 0
    nbytes = 0

    def publish_msg(self, msg_type, data=None, metadata=None, buffers=None, **keys):
        CountingComm.messages += 1
        CountingComm.nbytes += len(json.dumps(data or {}, default=str))
        CountingComm.nbytes += sum(len(memoryview(b).cast("B")) for b in buffers or ())


class TimedDashboard(dashboard_module.Dashboard):
    """The dashboard, with the time spent in its step handler and in its drains added up."""

    handler_seconds = 0.0
    handler_calls = 0
    drain_seconds = 0.0

    def _iteration(self, state):
        t = time.perf_counter()
        super()._iteration(state)
        TimedDashboard.handler_seconds += time.perf_counter() - t
        TimedDashboard.handler_calls += 1

    def _drain(self):
        t = time.perf_counter()
        super()._drain()
        TimedDashboard.drain_seconds += time.perf_counter() - t


def timed_loop(timings: list[tuple[int, float, float]], per_step_handler: bool):
    marks = {}

    def started(s):
        marks["t"], marks["cpu"] = time.perf_counter(), time.process_time()

    def completed(s):
        if s.epoch > 1:
            wall, cpu = time.perf_counter() - marks["t"], time.process_time() - marks["cpu"]
            timings.append((s.iterations, wall, cpu))

    loop = train.trainer(mlp(), "sparse_categorical_cross_entropy", "adam", learning_rate=1e-3)
    loop.metric("accuracy").handle("epoch_started", started).handle("epoch_completed", completed)
    if per_step_handler:
        # as in train_throughput.py's (c): a handler receives every step's metrics
        seen = []
        loop.handle("iteration_completed", lambda s: seen.append(s.metrics))
    return loop


def chart_push_cost(points: int) -> tuple[float, float, int]:
    import altair as alt

    chart = kino.chart(alt.Chart().mark_line().encode(x="step:Q", y="loss:Q", color="split:N"))
    before = CountingComm.messages
    t = time.perf_counter()
    for i in range(points):
        chart.push({"step": i, "loss": 1.0 / (i + 1), "split": "train"}, window=1000)
    elapsed = time.perf_counter() - t
    chart.flush()
    sent = CountingComm.messages - before
    return elapsed / points, sent / elapsed, sent


def handler_cost(steps: int) -> float:
    """Seconds per step of the dashboard's step handler alone, fed ready LoopStates."""

    class NoLoop:
        def handle(self, *args, **kwargs):
            return self

    dash = dashboard_module.Dashboard(NoLoop(), text=False, confusion_matrix=False)
    states = [
        train.LoopState(
            event="iteration_completed",
            epoch=1,
            epochs=1,
            iteration=i,
            iterations=steps,
            step=i,
            total_steps=steps,
            metrics={"loss": 1.0 / i, "accuracy": 0.5},
            learning_rate=1e-3,
            elapsed=1.0,
            steps_per_second=600.0,
        )
        for i in range(1, steps + 1)
    ]
    dash._pump.due = True  # drained below, in this thread
    t = time.perf_counter()
    for state in states:
        dash._iteration(state)
    dash._drain()
    return (time.perf_counter() - t) / steps


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="16,384 samples, 2 epochs, 2 rounds")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=6)
    args = parser.parse_args()
    n, epochs, rounds = (16_384, 2, 2) if args.quick else (60_000, args.epochs, args.rounds)
    comm.create_comm = CountingComm
    print(f"load average at the start: {loadavg()}")

    x, y = data(n)
    plain_t: list[tuple[int, float, float]] = []
    dash_t: list[tuple[int, float, float]] = []
    plain = timed_loop(plain_t, per_step_handler=True)
    dashed = timed_loop(dash_t, per_step_handler=False)
    dash = TimedDashboard(dashed, text=False)  # adds the confusion matrix, as kino.dashboard does
    # the same dashboard without the confusion matrix metric: what the widget alone costs
    bare_t: list[tuple[int, float, float]] = []
    bare = timed_loop(bare_t, per_step_handler=False)
    dashboard_module.Dashboard(bare, text=False, confusion_matrix=False)
    bare_cpu: list[float] = []
    batches = train.batches(x, y, batch_size=BATCH, seed=0)
    dash_messages = 0
    dash_seconds = 0.0
    paired: list[float] = []
    paired_cpu: list[float] = []
    for r in range(rounds):
        rates, cpu_rates = {}, {}
        pair = [("plain", plain), ("dashboard", dashed), ("no-matrix", bare)]
        for name, loop in pair if r % 2 == 0 else pair[::-1]:  # A B, B A, A B, ...
            before = CountingComm.messages
            t = time.perf_counter()
            result = loop.run(batches, epochs=1 + epochs, steps_per_dispatch=FUSED)
            elapsed = time.perf_counter() - t
            assert result.status == "completed", result
            if name == "dashboard":
                dash_messages += CountingComm.messages - before
                dash_seconds += elapsed
            last = {"plain": plain_t, "dashboard": dash_t, "no-matrix": bare_t}[name][-epochs:]
            steps = sum(s for s, _, _ in last)
            rate = rates[name] = steps / sum(e for _, e, _ in last)
            cpu_rate = cpu_rates[name] = steps / sum(c for _, _, c in last)
            print(
                f"round {r + 1}/{rounds} {name:9s}: {rate:7.0f} steps/s, "
                f"{cpu_rate:7.0f} steps per CPU-second"
            )
        paired.append(rates["dashboard"] / rates["plain"])
        paired_cpu.append(cpu_rates["dashboard"] / cpu_rates["plain"])
        bare_cpu.append(cpu_rates["no-matrix"] / cpu_rates["plain"])
    assert dash.progress["status"] == "completed"
    assert dash.series("confusion_matrix"), "the confusion matrix reached the dashboard"

    def rate_of(rows):
        return sum(s for s, _, _ in rows) / sum(e for _, e, _ in rows)

    plain_rate, dash_rate = rate_of(plain_t), rate_of(dash_t)
    per_step = TimedDashboard.handler_seconds / max(TimedDashboard.handler_calls, 1)
    drain_per_step = TimedDashboard.drain_seconds / max(TimedDashboard.handler_calls, 1)
    cost, push_rate, push_messages = chart_push_cost(200_000)
    isolated = handler_cost(50_000)
    print(f"\n{'':44s} {'value':>12s}")
    print(f"{'plain trainer + accuracy (steps/s)':44s} {plain_rate:12.0f}")
    print(f"{'with kino.dashboard (steps/s)':44s} {dash_rate:12.0f}")
    print(f"{'dashboard messages/s while training':44s} {dash_messages / dash_seconds:12.1f}")
    print(f"{'dashboard handler (training thread), us/step':44s} {per_step * 1e6:12.2f}")
    print(f"{'dashboard drain (timer thread), us per step':44s} {drain_per_step * 1e6:12.1f}")
    print(f"{'handler + drain alone, us per step':44s} {isolated * 1e6:12.1f}")
    print(f"{'chart.push, Python us per point':44s} {cost * 1e6:12.2f}")
    print(f"{'chart.push tight loop, messages/s':44s} {push_rate:12.1f}")
    print(f"{'chart.push tight loop, messages per 200k pts':44s} {push_messages:12d}")
    ratio = statistics.median(paired)
    print(f"{'paired ratios, one per round':44s}", " ".join(f"{x:.3f}" for x in paired))
    print(f"{'pooled ratio dashboard/plain':44s} {dash_rate / plain_rate:12.3f}")
    print(
        f"{'paired CPU-time ratios (steps per CPU-s)':44s}",
        " ".join(f"{x:.3f}" for x in paired_cpu),
    )
    print(f"{'median CPU-time ratio':44s} {statistics.median(paired_cpu):12.3f}")
    bare_pairs = " ".join(f"{x:.3f}" for x in bare_cpu)
    print(f"{'... without the confusion matrix, per round':44s} {bare_pairs}")
    print(f"{'... without the confusion matrix, median':44s} {statistics.median(bare_cpu):12.3f}")
    print(f"load average at the end: {loadavg()}")
    cpu_ratio = statistics.median(paired_cpu)
    for what, value in (("steps/s (wall clock)", ratio), ("steps per CPU-second", cpu_ratio)):
        verdict = "met" if value >= 0.98 else "NOT met"
        print(
            f"\nratio dashboard/plain, {what} = {value:.3f} (median of {rounds} paired "
            f"rounds, worst {min(paired if what.startswith('steps/s') else paired_cpu):.3f}), "
            f"target >= 0.98: {verdict}",
            end="",
        )
    print()


if __name__ == "__main__":
    main()
