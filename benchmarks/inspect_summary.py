"""What ``kino.inspect`` costs on a 1e8-element float32 jax array, against one jitted pass.

Timed in one process, interleaved (baseline, kino, baseline, kino, ...), best of R:

1. baseline: a hand-written ``jax.jit`` pass computing mean and std of the array;
2. kino summary: ``array_stats`` (min, max, mean, std, exact NaN/+inf/-inf/zero
   counts and the histogram; sampled above ``HISTOGRAM_EXACT_MAX`` on CPU);
3. the whole ``kino.inspect(x)`` (summary, sharding, the downsampled heatmap and
   the widget), and the heatmap payload in bytes;
4. for the record: the same summary with an exact (not sampled) histogram, with
   one NaN planted (its row is gathered and masked in the same pass), and with a
   NaN in every row (a masked pass: on CPU the masked one-pass reduction).

The ratio printed last is kino summary / baseline (target <= 1.5).

    .venv/bin/python benchmarks/inspect_summary.py [--quick] [--rounds R]
"""

from __future__ import annotations

import argparse
import time
import warnings

import jax
import jax.numpy as jnp

import kino
from kino.ui.inspect import stats as S


def best(fn, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        jax.block_until_ready(fn())
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="1e7 elements instead of 1e8")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    side = 3163 if args.quick else 10_000
    warnings.simplefilter("ignore")  # the widget warns when the front end is not built

    x = jax.random.normal(jax.random.key(0), (side, side), jnp.float32)
    jax.block_until_ready(x)
    print(f"array: float32[{side}, {side}] ({x.size:,} elements, {x.nbytes / 2**20:.0f} MiB)")
    print(f"device: {jax.devices()[0]}")

    baseline = jax.jit(lambda a: (jnp.mean(a), jnp.std(a)))

    def summary():
        S.sample_positions.cache_clear()  # the headline is a first look: positions drawn anew
        return S.array_stats(x)

    def summary_again():
        return S.array_stats(x)  # the same shape again: the sample positions are cached

    def whole():
        return kino.inspect(x)

    jax.block_until_ready(baseline(x))
    summary()
    w = whole()  # compile everything once
    base_t, summary_t, again_t, whole_t = [], [], [], []
    for _ in range(args.rounds):
        base_t.append(best(lambda: baseline(x), 1))
        summary_t.append(best(summary, 1))
        again_t.append(best(summary_again, 1))
        whole_t.append(best(whole, 1))
    b, s, t = min(base_t), min(summary_t), min(whole_t)
    payload = len(w.view_data)

    positions = S.sample_positions(x.shape, S.HISTOGRAM_SAMPLE_SIZE, 0)

    def exact_kernel():  # the same one-pass statistics, the histogram over every element
        _, shifts = S._take_sample(x, positions)
        fused = {
            name: {"rows": S._fused_row_pass(x, shift, rows=x.shape, part=name), "shift": shift}
            for name, shift in shifts.items()
        }
        return S._stats_kernel(x, None, fused, bins=S.HISTOGRAM_BINS, masked=False)

    jax.block_until_ready(exact_kernel())
    exact = best(exact_kernel, args.rounds)

    def summary_of(a: jax.Array) -> float:
        S.array_stats(a)
        return best(lambda: S.array_stats(a), args.rounds)

    one_nan = summary_of(x.at[7, 7].set(jnp.nan))
    masked = summary_of(x.at[:, 3].set(jnp.nan))  # a NaN in every row: a masked pass

    sampled = w.summary["stats"]["parts"]["value"]["histogram"]["sampled"]

    def runs(values: list[float]) -> str:
        return ", ".join(f"{v:.3f}" for v in values)

    print(f"baseline jitted mean+std pass:      {b:.3f} s  (runs: {runs(base_t)})")
    print(f"kino summary (stats + histogram):   {s:.3f} s  (runs: {runs(summary_t)})")
    print(f"  histogram sampled:                {sampled}")
    print(f"summary, same shape again:          {min(again_t):.3f} s  (runs: {runs(again_t)})")
    print(f"kino.inspect(x) (summary + view):   {t:.3f} s")
    print(f"summary with exact histogram:       {exact:.3f} s")
    print(f"summary with one NaN planted:       {one_nan:.3f} s")
    print(f"summary with a NaN in every row:    {masked:.3f} s  (masked pass)")
    print(f"heatmap payload:                    {payload:,} bytes (limit {S.MAX_PAYLOAD_BYTES:,})")
    print(f"ratio kino summary / baseline pass: {s / b:.2f}")


if __name__ == "__main__":
    main()
