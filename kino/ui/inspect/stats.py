"""Device-side numerics of ``kino.inspect``: statistics, histograms, downsampled views.

Everything here runs under ``jax.jit`` on the device that holds the array; only
small results (a few numbers, a histogram, a downsampled slice of at most
``MAX_PAYLOAD_BYTES``) cross to the host.

Statistics (min, max, mean, std) are over the *finite* elements; NaN, +inf,
-inf and zero are counted exactly. Complex arrays are described by their
magnitude (and, separately, their phase).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

HISTOGRAM_BINS = 64
"""Number of histogram bins over the finite range (fewer for small integer ranges)."""

HISTOGRAM_EXACT_MAX = 1 << 22
"""On CPU, arrays with more elements than this get their histogram from a sample.

Scatter-add binning is slow on CPU (0.5 s for 1e8 elements against 0.03 s for
the whole statistics pass), so above 4,194,304 elements the histogram is drawn
from ``HISTOGRAM_SAMPLE_SIZE`` elements picked uniformly at random with a fixed
seed (``sample_positions``) and the view says "sampled". Statistics and counts
are always exact. On GPU and TPU the histogram is exact.
"""

HISTOGRAM_SAMPLE_SIZE = 1 << 17
"""Elements in the histogram sample of a large array on CPU (131,072).

About 2,000 draws per bin of a 64-bin histogram: the bars' sampling noise is a
few percent, below what the small chart shows, and the gather (in ascending
position order) costs a few percent of the statistics pass; a 1,048,576-element
sample cost a third of it.
"""

MAX_PAYLOAD_BYTES = 256_000
"""Upper bound of the binary view data sent to the browser for one view."""

HEATMAP_MAX_SIDE = 252
"""A heatmap is at most 252 x 252 float32 cells (254,016 bytes)."""

LINE_MAX_POINTS = 4096
"""A 1-d line view has at most 4096 points, each min, max, mean and flags."""

IMAGE_MAX_SIDE = 252
"""An image view is at most 252 x 252 RGBA pixels (254,016 bytes)."""

TABLE_MAX_ELEMENTS = 400
"""Arrays with at most this many elements are also shown as a table of values."""

MODES = ("mean", "maxabs")
"""How a heatmap block is reduced: its mean, or its value of largest magnitude."""

assert HEATMAP_MAX_SIDE**2 * 4 <= MAX_PAYLOAD_BYTES
assert IMAGE_MAX_SIDE**2 * 4 <= MAX_PAYLOAD_BYTES
assert LINE_MAX_POINTS * 4 * 4 <= MAX_PAYLOAD_BYTES


def parts_of(dtype: Any) -> tuple[str, ...]:
    """The real-valued parts an array of ``dtype`` can be viewed as.

    >>> parts_of(np.complex64)
    ('abs', 'angle', 'real', 'imag')
    >>> parts_of(np.float32)
    ('value',)
    """
    if jnp.issubdtype(dtype, jnp.complexfloating):
        return ("abs", "angle", "real", "imag")
    return ("value",)


def kind_of(dtype: Any) -> str:
    """One of ``"float"``, ``"int"``, ``"bool"``, ``"complex"``.

    >>> kind_of(np.int8), kind_of(np.bool_)
    ('int', 'bool')
    """
    dtype = np.dtype(dtype)
    if dtype == np.bool_:
        return "bool"
    if jnp.issubdtype(dtype, jnp.complexfloating):
        return "complex"
    if jnp.issubdtype(dtype, jnp.integer):
        return "int"
    if jnp.issubdtype(dtype, jnp.floating):
        return "float"
    raise TypeError(
        f"kino.inspect: arrays of dtype {dtype} are not supported; "
        "use a bool, integer, floating or complex dtype"
    )


def _float_dtype(dtype: Any) -> Any:
    """The float dtype statistics of ``dtype`` are computed in (float32 or float64)."""
    if np.dtype(dtype) in (np.dtype(np.float64), np.dtype(np.complex128)) and jax.config.read(
        "jax_enable_x64"
    ):
        return jnp.float64
    return jnp.float32


def _part(x: jax.Array, part: str) -> jax.Array:
    """A real float view of ``x``: the value itself, or a part of a complex value."""
    if part == "abs":
        return jnp.abs(x)
    if part == "angle":
        return jnp.angle(x)
    if part == "real":
        return jnp.real(x)
    if part == "imag":
        return jnp.imag(x)
    return x.astype(_float_dtype(x.dtype))


def _count_axes(shape: tuple[int, ...]) -> tuple[int, ...]:
    """Trailing axes whose float32 sum of 0/1 values is exact (at most 2**24 elements).

    Counting by summing 0/1 floats is exact while every partial sum stays below
    2**24. XLA on CPU reduces an array's own trailing axes fast, but is up to ten
    times slower when the reduction follows a reshape, so counts are summed over
    the natural trailing axes first and the (small) rest as int32.
    """
    axes: list[int] = []
    size = 1
    for ax in range(len(shape) - 1, -1, -1):
        if size * shape[ax] > 1 << 24:
            break
        size *= shape[ax]
        axes.append(ax)
    return tuple(sorted(axes))


def _count(ind: jax.Array) -> jax.Array:
    """Exact int32 count of the ones in a 0/1 float indicator of any shape."""
    axes = _count_axes(ind.shape)
    if len(axes) == ind.ndim:
        return jnp.sum(ind).astype(jnp.int32)
    if not axes:
        return jnp.sum(ind.astype(jnp.int32))
    return jnp.sum(jnp.sum(ind, axis=axes).astype(jnp.int32))


def _is_zero(v: jax.Array) -> jax.Array:
    """1 for zero, 0 for any other finite value, in float arithmetic only.

    Two clamped products lift the smallest subnormal to 1 (the inner clamp
    keeps XLA from folding big * big into inf).
    """
    big = jnp.asarray(2.0 ** (jnp.finfo(v.dtype).maxexp - 1), v.dtype)
    return 1 - jnp.minimum(jnp.minimum(jnp.abs(v) * big, 1) * big, 1)


ROWS_GATHERED = 64
"""Rows with NaN or inf that the row-wise statistics pass handles itself.

Large arrays are reduced row by row (over their own trailing axes) with plain
reductions; up to this many rows holding NaN or inf (and at most 2**22 of their
elements) are gathered and reduced with masks in the same jitted call, so a few
bad values cost almost nothing. More bad rows than that take a masked pass: on
CPU the masked ``_fused_row_pass`` (one pass, several times slower than the
plain one), elsewhere masked whole-array reductions.
"""


REASSOCIATE = {
    "xla_cpu_enable_fast_math": True,
    "xla_cpu_fast_math_honor_nans": True,
    "xla_cpu_fast_math_honor_infs": True,
    "xla_cpu_fast_math_honor_division": True,
    "xla_cpu_fast_math_honor_functions": True,
}
"""XLA:CPU options for ``_fused_row_pass``: float sums may be reordered, nothing else.

A variadic reduction whose sums must keep their order runs as a scalar loop
(five times slower than one ``jnp.sum``); allowed to reorder them, XLA
vectorises it and computes all five results in one pass at the cost of one
plain reduction. NaN, infinities, division and library functions keep IEEE
semantics, so a NaN or inf still reaches its row's sums.
"""


@functools.partial(
    jax.jit, static_argnames=("rows", "part", "masked"), compiler_options=REASSOCIATE
)
def _fused_row_pass(
    x: jax.Array,
    shift: jax.Array,
    *,
    rows: tuple[int, int],
    part: str = "value",
    masked: bool = False,
) -> tuple:
    """Per row of ``part`` of ``x`` (see ``_part``) viewed as ``rows`` (m, k), in one pass on CPU.

    Returns the sum and the sum of squares of the values minus ``shift``, the
    minimum, the maximum and the smallest magnitude, each of shape (m,), in the
    float dtype statistics use. With ``masked`` these are over the finite elements only, and
    three more per-row results follow: how many elements are not finite, how
    many are +inf and how many -inf (exact: a row has at most 2**24 elements).
    The masked pass costs several plain passes on CPU (compare and select keep
    it from vectorising well), still a fraction of masked whole-array reductions.
    """
    v2 = _part(x.reshape(rows), part)
    zero, one = jnp.zeros((), v2.dtype), jnp.ones((), v2.dtype)
    inf = jnp.asarray(jnp.inf, v2.dtype)
    if masked:
        fin = jnp.isfinite(v2)
        d = jnp.where(fin, v2 - shift.astype(v2.dtype), zero)
        values = (
            d,
            d * d,
            jnp.where(fin, v2, inf),
            jnp.where(fin, v2, -inf),
            jnp.where(fin, jnp.abs(v2), inf),
            jnp.where(fin, zero, one),
            jnp.where(v2 == inf, one, zero),
            jnp.where(v2 == -inf, one, zero),
        )
    else:
        d = v2 - shift.astype(v2.dtype)
        values = (d, d * d, v2, v2, jnp.abs(v2))
    kinds = ("sum", "sum", "min", "max", "min", "sum", "sum", "sum")[: len(values)]
    init = {"sum": zero, "min": inf, "max": -inf}

    def combine(a, b):
        ops = {"sum": jnp.add, "min": jnp.minimum, "max": jnp.maximum}
        return tuple(ops[kind](p, q) for kind, p, q in zip(kinds, a, b, strict=True))

    return lax.reduce(values, tuple(init[kind] for kind in kinds), combine, (1,))


def _masked_row_stats(v: jax.Array, fused: dict) -> dict[str, jax.Array]:
    """Statistics from a masked ``_fused_row_pass`` of ``v`` (any number of NaN or inf)."""
    dtype = v.dtype
    rows = fused["rows"]
    m, k = rows[0].shape[0], v.size // rows[0].shape[0]
    v2 = v.reshape(m, k)
    row_sum, row_sq, row_min, row_max, row_minabs, row_bad, row_pinf, row_ninf = rows
    shift = fused["shift"].astype(dtype)

    def count(per_row):
        return jnp.sum(per_row.astype(jnp.int32))

    bad, posinf, neginf = count(row_bad), count(row_pinf), count(row_ninf)
    finite = count(k - row_bad)
    denom = jnp.maximum(finite, 1).astype(dtype)
    off = jnp.sum(row_sum) / denom  # the mean's distance from the shift
    mean = shift + off
    spread = jnp.sum(row_sq) - denom * jnp.square(off)

    def centred():
        keep = jnp.isfinite(v2)
        return jnp.sum(jnp.where(keep, jnp.square(v2 - mean), jnp.zeros((), dtype)))

    sq = lax.cond(~(spread > 0) | (denom * jnp.square(off) > 4 * spread), centred, lambda: spread)
    zeros = lax.cond(
        jnp.min(row_minabs) == 0, lambda: jnp.sum(v2 == 0, dtype=jnp.int32), lambda: jnp.int32(0)
    )
    missing = jnp.asarray(jnp.nan, dtype)
    return {
        "all_finite": jnp.bool_(True),
        "nan": bad - posinf - neginf,
        "posinf": posinf,
        "neginf": neginf,
        "zeros": zeros,
        "finite": finite,
        "min": jnp.where(finite > 0, jnp.min(row_min), missing),
        "max": jnp.where(finite > 0, jnp.max(row_max), missing),
        "mean": jnp.where(finite > 0, mean, missing),
        "std": jnp.where(finite > 0, jnp.sqrt(sq / denom), missing),
    }


def _row_stats(
    v: jax.Array, axes: tuple[int, ...], fused: dict | None = None
) -> dict[str, jax.Array]:
    """Statistics of a large array per row (its trailing ``axes``), masking only bad rows.

    On CPU every pass over the data counts (XLA there runs each reduction as its
    own loop), so ``fused`` brings the per-row results of ``_fused_row_pass``
    (sums and sums of squares around a shift, minimum, maximum and smallest
    magnitude, all from one pass) and nothing here reads the data again unless
    it must: the variance comes from the sums of squares unless the mean lies far
    from the shift against the spread (then a centred pass keeps it exact), and
    zeros are counted only when the smallest magnitude is zero. Without
    ``fused`` (GPU, TPU, where XLA fuses plain reductions of one input) the rows
    are reduced with plain reductions. Rows holding NaN or inf are gathered and
    masked only when there are some.
    """
    dtype = v.dtype
    m = math.prod(v.shape[: v.ndim - len(axes)])
    k = math.prod(v.shape[v.ndim - len(axes) :])
    v2 = v.reshape(m, k)
    gathered = max(1, min(ROWS_GATHERED, m, (1 << 22) // k))
    zero = jnp.zeros((), dtype)
    shift = zero
    if fused is not None:
        shift = fused["shift"].astype(dtype)
        row_sum, row_sq, row_min, row_max, row_minabs = fused["rows"]
    else:
        row_sum = jnp.sum(v2, axis=1)
        row_min = jnp.min(v2, axis=1)
        row_max = jnp.max(v2, axis=1)
    bad = ~jnp.isfinite(row_sum)
    if fused is not None:
        bad = bad | ~jnp.isfinite(row_sq)
    clean = ~bad
    n_bad = jnp.sum(bad.astype(jnp.int32))

    def bad_rows():
        """The gathered rows (those with NaN or inf first), which are bad, which elements count."""
        _, idx = lax.top_k(bad.astype(jnp.float32), gathered)
        rows = v2[idx]
        picked = bad[idx][:, None]
        return rows, picked, picked & jnp.isfinite(rows)

    def bad_part():
        rows, picked, keep = bad_rows()

        def count(pred):
            return jnp.sum(picked & pred, dtype=jnp.int32)

        return {
            "finite": jnp.sum(keep, dtype=jnp.int32),
            "total": jnp.sum(jnp.where(keep, rows - shift, zero)),
            "raw": jnp.sum(jnp.where(keep, jnp.square(rows - shift), zero)),
            "nan": count(jnp.isnan(rows)),
            "posinf": count(rows == jnp.inf),
            "neginf": count(rows == -jnp.inf),
            "zeros": count(rows == 0),
            "lo": jnp.min(jnp.where(keep, rows, jnp.inf)),
            "hi": jnp.max(jnp.where(keep, rows, -jnp.inf)),
        }

    def no_bad_part():
        none, inf = jnp.int32(0), jnp.asarray(jnp.inf, dtype)
        return {
            "finite": none,
            "total": zero,
            "raw": zero,
            "nan": none,
            "posinf": none,
            "neginf": none,
            "zeros": none,
            "lo": inf,
            "hi": -inf,
        }

    part = lax.cond(n_bad > 0, bad_part, no_bad_part)

    def clean_sum(per_row):
        return jnp.sum(jnp.where(clean, per_row, 0))

    def clean_count(per_row):
        return jnp.sum(jnp.where(clean, per_row, 0).astype(jnp.int32))

    def clean_zeros():
        return clean_count(jnp.sum(_is_zero(v2), axis=1))

    finite = clean_count(jnp.full((m,), k, jnp.float32)) + part["finite"]
    denom = jnp.maximum(finite, 1).astype(dtype)
    total = clean_sum(row_sum) + part["total"]  # around the shift
    mean = shift + total / denom

    def centred():
        sq = clean_sum(jnp.sum(jnp.square(v2 - mean), axis=1))

        def bad_sq():
            rows, _, keep = bad_rows()
            return jnp.sum(jnp.where(keep, jnp.square(rows - mean), zero))

        return sq + lax.cond(n_bad > 0, bad_sq, lambda: zero)

    if fused is not None:
        off = total / denom  # the mean's distance from the shift
        spread = clean_sum(row_sq) + part["raw"] - denom * jnp.square(off)
        # sum((x - shift)**2) - n * off**2 loses precision as off**2 grows against
        # the variance; up to |off| = 2 std the loss stays within a few float32 ulps.
        exact = ~(spread > 0) | (denom * jnp.square(off) > 4 * spread)
        sq = lax.cond(exact, centred, lambda: spread)
        any_zero = jnp.min(jnp.where(clean, row_minabs, jnp.inf)) == 0
        zeros = lax.cond(any_zero, clean_zeros, lambda: jnp.int32(0))
    else:
        sq = centred()
        zeros = clean_zeros()
    lo = jnp.minimum(jnp.min(jnp.where(clean, row_min, jnp.inf)), part["lo"])
    hi = jnp.maximum(jnp.max(jnp.where(clean, row_max, -jnp.inf)), part["hi"])
    missing = jnp.asarray(jnp.nan, dtype)
    return {
        "all_finite": (n_bad <= gathered) & jnp.isfinite(total),
        "nan": part["nan"],
        "posinf": part["posinf"],
        "neginf": part["neginf"],
        "zeros": zeros + part["zeros"],
        "finite": finite,
        "min": jnp.where(finite > 0, lo, missing),
        "max": jnp.where(finite > 0, hi, missing),
        "mean": jnp.where(finite > 0, mean, missing),
        "std": jnp.where(finite > 0, jnp.sqrt(sq / denom), missing),
    }


def _fast_stats(v: jax.Array, fused: dict | None = None) -> dict[str, jax.Array]:
    """Statistics of a real float array assuming every element is finite.

    Uses only plain float arithmetic and reductions, which XLA vectorises well
    on CPU (reductions over predicates are several times slower there). The sum
    doubles as the probe: it is NaN or infinite exactly when some element is
    (or when the finite sum overflows); then ``"all_finite"`` is False, the other
    results are meaningless and ``_masked_stats`` must be used. Arrays of more
    than 2**24 elements with trailing axes of at most 2**24 go row by row
    (``_row_stats``), which also handles a few rows holding NaN or inf.
    """
    n = v.size
    axes = _count_axes(v.shape)
    if 0 < len(axes) < v.ndim:
        return _row_stats(v, axes, fused)
    total = jnp.sum(v)
    mean = total / n
    return {
        "all_finite": jnp.isfinite(total),
        "nan": jnp.int32(0),
        "posinf": jnp.int32(0),
        "neginf": jnp.int32(0),
        "zeros": _count(_is_zero(v)),
        "finite": jnp.int32(n),
        "min": jnp.min(v),
        "max": jnp.max(v),
        "mean": mean,
        "std": jnp.sqrt(jnp.sum(jnp.square(v - mean)) / n),
    }


def _masked_stats(v: jax.Array) -> dict[str, jax.Array]:
    """Statistics of a real float array holding NaN or infinities: finite-only values.

    Masked reductions (compare and select) are several times slower than plain
    ones on CPU, so this path runs only when ``_fast_stats`` found a non-finite
    value.
    """
    dtype = v.dtype
    one, zero = jnp.ones((), dtype), jnp.zeros((), dtype)

    def ind(pred):
        return jnp.where(pred(v), one, zero)

    fin = jnp.isfinite(v)
    finite = _count(ind(jnp.isfinite))
    denom = jnp.maximum(finite, 1).astype(dtype)
    mean = jnp.sum(jnp.where(fin, v, zero)) / denom
    var = jnp.sum(jnp.where(fin, jnp.square(v - mean), zero)) / denom
    nan = jnp.asarray(jnp.nan, dtype)
    return {
        "all_finite": finite == v.size,
        "nan": _count(ind(jnp.isnan)),
        "posinf": _count(ind(lambda p: p == jnp.inf)),
        "neginf": _count(ind(lambda p: p == -jnp.inf)),
        "zeros": _count(ind(lambda p: p == 0)),
        "finite": finite,
        "min": jnp.where(finite > 0, jnp.min(jnp.where(fin, v, jnp.inf)), nan),
        "max": jnp.where(finite > 0, jnp.max(jnp.where(fin, v, -jnp.inf)), nan),
        "mean": jnp.where(finite > 0, mean, nan),
        "std": jnp.where(finite > 0, jnp.sqrt(var), nan),
    }


def _int_stats(x: jax.Array, fused: dict | None = None) -> dict[str, jax.Array]:
    """Statistics of an integer array: exact min/max, float mean/std, counts."""
    stats = _fast_stats(x.astype(jnp.float32), fused)
    stats["min"] = jnp.min(x)
    stats["max"] = jnp.max(x)
    return stats


def _histogram(
    v: jax.Array, lo: jax.Array, hi: jax.Array, *, integer: bool, bins: int
) -> tuple[jax.Array, jax.Array, jax.Array]:
    """Counts of the finite values of flat ``v`` in ``bins`` bins over [lo, hi].

    Returns ``(counts, first_edge, width)``. Integer data with a range of at most
    ``bins`` values gets one bin per integer.
    """
    lo = lo.astype(jnp.float32)
    hi = hi.astype(jnp.float32)
    span = hi - lo
    if integer:
        unit = span + 1 <= bins
        first = jnp.where(unit, lo - 0.5, lo)
        width = jnp.where(unit, 1.0, jnp.where(span > 0, span / bins, 1.0))
    else:
        first = lo
        width = jnp.where(span > 0, span / bins, 1.0)
    width = width.astype(jnp.float32)
    f = v.astype(jnp.float32)
    finite = jnp.isfinite(f)
    idx = jnp.floor((jnp.where(finite, f, lo) - first) / width)
    idx = jnp.clip(idx, 0, bins - 1).astype(jnp.int32)
    counts = jnp.zeros(bins, jnp.int32).at[idx].add(finite.astype(jnp.int32))
    return counts, first, width


_COMPUTED_VIEWS = frozenset(("abs", "angle"))
"""Views computed by a transcendental function (hypot, atan2) on the device.

The device's libm may round them an ulp or two away from the correctly rounded
value (XLA's atan2 of a complex64 near -pi gives -3.1415920 where numpy gives
-3.1415923), so the reported min and max can sit inside the true range.
"""

EDGE_ULPS = 4
"""Float32 ulps the outer histogram edges of a computed view are moved outward."""


def _widen(edges: list[float], ulps: int = EDGE_ULPS) -> list[float]:
    """``edges`` with the first and last moved ``ulps`` float32 ulps outward.

    So the histogram of a computed view encloses the true [min, max] whatever the
    device's rounding; counts do not change (every finite value is in a bin).

    >>> lo, hi = _widen([-np.pi, 0.0, np.pi])[::2]
    >>> lo < -np.pi and hi > np.pi and hi - np.pi < 2e-6
    True
    """
    out = list(edges)
    lo, hi = np.float32(out[0]), np.float32(out[-1])
    down, up = np.float32(-np.inf), np.float32(np.inf)
    for _ in range(ulps):
        lo, hi = np.nextafter(lo, down), np.nextafter(hi, up)
    # A magnitude never goes below zero, so neither does its first edge.
    out[0] = min(out[0], max(float(lo), 0.0) if out[0] >= 0 else float(lo))
    out[-1] = max(out[-1], float(hi))
    return out


@functools.lru_cache(maxsize=8)
def sample_positions(shape: tuple[int, ...], size: int, seed: int = 0) -> tuple[np.ndarray, ...]:
    """Positions of ``size`` elements of an array of ``shape``, uniform, with replacement.

    One flat index when the array has fewer than 2**31 elements; otherwise an
    independent index per axis, which is uniform over elements too. Drawn on
    the host once per shape and seed (cached), so inspecting arrays of one shape
    again, as a training run does, pays only the gather.

    >>> [p.shape for p in sample_positions((1000, 1000), 8)]
    [(8,)]
    """
    rng = np.random.default_rng(seed)
    n = math.prod(shape)
    if n < 1 << 31:
        # Ascending positions read memory in order: a quarter faster to gather.
        positions: tuple[np.ndarray, ...] = (np.sort(rng.integers(0, n, size, dtype=np.int32)),)
    else:
        positions = tuple(rng.integers(0, d, size, dtype=np.int32) for d in shape)
    for p in positions:
        p.flags.writeable = False  # shared by every caller through the cache
    return positions


def _sample(x: jax.Array, positions: tuple[jax.Array, ...]) -> jax.Array:
    """The elements of ``x`` at ``positions`` (from ``sample_positions``)."""
    if len(positions) == 1:
        return x.reshape(-1)[positions[0]]
    return x[positions]


def _views(dtype: Any) -> dict[str, Callable[[jax.Array], jax.Array]]:
    """The real-valued views statistics are computed of, by name."""
    kind = kind_of(dtype)
    if kind == "complex":
        return {"abs": jnp.abs, "angle": jnp.angle}
    if kind == "bool":
        return {"value": lambda a: a.astype(jnp.float32)}
    return {"value": lambda a: a}


@jax.jit
def _take_sample(
    x: jax.Array, positions: tuple[jax.Array, ...]
) -> tuple[jax.Array, dict[str, jax.Array]]:
    """The histogram sample of ``x`` and, per view, the mean of its finite values.

    That mean is the shift the fused pass sums squares around: within a small
    fraction of a standard deviation of the true mean, so the variance taken
    from the sums of squares keeps nearly all its digits.
    """
    sample = _sample(x, positions)
    shifts = {}
    for name in _views(x.dtype):
        f = _part(sample, name)
        fin = jnp.isfinite(f)
        shifts[name] = jnp.sum(jnp.where(fin, f, 0)) / jnp.maximum(jnp.sum(fin), 1)
    return sample, shifts


@functools.partial(jax.jit, static_argnames=("bins", "masked"))
def _stats_kernel(
    x: jax.Array,
    sample: jax.Array | None,
    fused: dict | None,
    *,
    bins: int,
    masked: bool,
) -> dict[str, Any]:
    kind = kind_of(x.dtype)
    out: dict[str, Any] = {}
    for name, view_of in _views(x.dtype).items():
        view = view_of(x)
        rows = None if fused is None else fused[name]
        if kind == "int":
            stats = _int_stats(view, rows)
        elif masked and rows is not None:
            stats = _masked_row_stats(view.astype(_float_dtype(view.dtype)), rows)
        elif masked:
            stats = _masked_stats(view.astype(_float_dtype(view.dtype)))
        else:
            stats = _fast_stats(view.astype(_float_dtype(view.dtype)), rows)
        source = view.reshape(-1) if sample is None else view_of(sample)
        counts, first, width = _histogram(
            source, stats["min"], stats["max"], integer=kind in ("int", "bool"), bins=bins
        )
        stats["hist_counts"] = counts
        stats["hist_first"] = first
        stats["hist_width"] = width
        out[name] = stats
    return out


def _platform(x: jax.Array) -> str:
    return next(iter(x.devices())).platform


def should_sample(x: jax.Array) -> bool:
    """Whether the histogram of ``x`` is drawn from a sample (large array on CPU).

    >>> should_sample(jnp.zeros(10))
    False
    """
    return x.size > HISTOGRAM_EXACT_MAX and _platform(x) == "cpu"


def _py(value: Any, kind: str) -> Any:
    """A JSON-friendly Python number (None for NaN, strings for infinities)."""
    value = np.asarray(value).item()
    if kind == "bool":
        return bool(value)
    if isinstance(value, float):
        if math.isnan(value):
            return None
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
    return value


def array_stats(x: jax.Array, *, seed: int = 0) -> dict[str, Any]:
    """Statistics and histogram of a jax array, computed on its device.

    One jitted call computes everything when all elements are finite (the common
    case, with plain reductions that are fast on every backend); when it finds a
    NaN or an infinity, a second jitted call recomputes with masked reductions.

    Returns ``{"kind", "count", "parts": {part: stats}}`` where each ``stats`` has
    ``min``, ``max``, ``mean``, ``std`` (over finite elements; ``None`` when there
    is none), exact ``nan``, ``posinf``, ``neginf``, ``zeros`` and ``finite``
    counts, and ``histogram`` (``edges``, ``counts``, ``sampled``, ``sample_size``).

    >>> s = array_stats(jnp.array([1.0, 2.0, jnp.nan]))
    >>> s["parts"]["value"]["mean"], s["parts"]["value"]["nan"]
    (1.5, 1)
    """
    kind = kind_of(x.dtype)
    count = int(x.size)
    result: dict[str, Any] = {"kind": kind, "count": count, "parts": {}}
    if count == 0:
        for name in ("abs", "angle") if kind == "complex" else ("value",):
            result["parts"][name] = {
                "min": None,
                "max": None,
                "mean": None,
                "std": None,
                "nan": 0,
                "posinf": 0,
                "neginf": 0,
                "zeros": 0,
                "finite": 0,
                "histogram": {"edges": [], "counts": [], "sampled": False, "sample_size": 0},
            }
        return result
    sampled = should_sample(x)
    sample = layout = None
    shifts: dict[str, jax.Array] = {}
    if sampled:  # a large array on CPU: rows go through the one-pass reduction
        sample, shifts = _take_sample(x, sample_positions(x.shape, HISTOGRAM_SAMPLE_SIZE, seed))
        axes = _count_axes(x.shape)
        if 0 < len(axes) < x.ndim:
            k = math.prod(x.shape[x.ndim - len(axes) :])
            layout = (count // k, k)

    def stats_of(masked: bool) -> dict:
        fused = None
        if layout is not None:
            fused = {
                name: {
                    "rows": _fused_row_pass(x, shift, rows=layout, part=name, masked=masked),
                    "shift": shift,
                }
                for name, shift in shifts.items()
            }
        return jax.device_get(_stats_kernel(x, sample, fused, bins=HISTOGRAM_BINS, masked=masked))

    raw = stats_of(masked=False)
    if not all(bool(stats["all_finite"]) for stats in raw.values()):
        raw = stats_of(masked=True)  # NaN or inf in many rows
    for name, stats in raw.items():
        num_kind = "int" if kind == "int" and name == "value" else "float"
        minmax_kind = "bool" if kind == "bool" else num_kind
        finite = int(stats["finite"])
        counts = [int(c) for c in stats["hist_counts"]]
        first = float(stats["hist_first"])
        width = float(stats["hist_width"])
        if finite:
            lo, hi = float(stats["min"]), float(stats["max"])
            if kind in ("int", "bool"):
                used = round((hi - lo) / width) + 1 if width == 1.0 else HISTOGRAM_BINS
            else:
                used = 1 if hi == lo else HISTOGRAM_BINS
            used = max(1, min(used, HISTOGRAM_BINS))
            if kind == "bool":
                first, width, used = -0.5, 1.0, 2
                counts = [int(stats["zeros"]), finite - int(stats["zeros"])]
            counts = counts[:used]
            edges = [first + width * i for i in range(used + 1)]
            edges[-1] = max(edges[-1], hi)  # float32 width * bins may round below max
            if name in _COMPUTED_VIEWS:
                edges = _widen(edges)
        else:
            counts, edges = [], []
        result["parts"][name] = {
            "min": _py(stats["min"], minmax_kind) if finite else None,
            "max": _py(stats["max"], minmax_kind) if finite else None,
            "mean": _py(stats["mean"], "float") if finite else None,
            "std": _py(stats["std"], "float") if finite else None,
            "nan": int(stats["nan"]),
            "posinf": int(stats["posinf"]),
            "neginf": int(stats["neginf"]),
            "zeros": int(stats["zeros"]),
            "finite": finite,
            "histogram": {
                "edges": edges,
                "counts": counts,
                "sampled": sampled and kind != "bool",
                "sample_size": HISTOGRAM_SAMPLE_SIZE if sampled and kind != "bool" else count,
            },
        }
    return result


# ---------------------------------------------------------------- downsampled views


def block_sizes(rows: int, cols: int, max_side: int = HEATMAP_MAX_SIDE) -> tuple[int, int]:
    """Block height and width that bring a rows x cols slice to at most max_side a side.

    >>> block_sizes(10000, 10000)
    (40, 40)
    >>> block_sizes(3, 5)
    (1, 1)
    """
    return max(1, -(-rows // max_side)), max(1, -(-cols // max_side))


@functools.partial(jax.jit, static_argnames=("rows_axis", "cols_axis", "block", "mode", "part"))
def _heatmap_kernel(
    x: jax.Array,
    index: jax.Array,
    *,
    rows_axis: int,
    cols_axis: int,
    block: tuple[int, int],
    mode: str,
    part: str,
) -> jax.Array:
    starts = [jnp.where(ax in (rows_axis, cols_axis), 0, index[ax]) for ax in range(x.ndim)]
    sizes = [x.shape[ax] if ax in (rows_axis, cols_axis) else 1 for ax in range(x.ndim)]
    s = lax.dynamic_slice(x, starts, sizes)
    r, c = x.shape[rows_axis], x.shape[cols_axis]
    s = s.reshape(r, c) if rows_axis < cols_axis else s.reshape(c, r).T
    v = _part(s, part).astype(jnp.float32)
    bh, bw = block
    if (bh, bw) == (1, 1):
        return v
    out_r, out_c = -(-r // bh), -(-c // bw)
    pad = ((0, out_r * bh - r), (0, out_c * bw - c))
    if mode == "mean":
        # Plain sums: IEEE arithmetic makes a block with a NaN (or with both
        # infinities) NaN and a block with one kind of infinity that infinity.
        total = jnp.pad(v, pad).reshape(out_r, bh, out_c, bw).sum(axis=(1, 3))
        rows_in = np.minimum(bh, r - bh * np.arange(out_r))
        cols_in = np.minimum(bw, c - bw * np.arange(out_c))
        return total / jnp.asarray(np.outer(rows_in, cols_in), jnp.float32)
    blocks = jnp.pad(v, pad, mode="edge").reshape(out_r, bh, out_c, bw)
    hi = blocks.max(axis=(1, 3))
    lo = blocks.min(axis=(1, 3))
    # XLA's max/min reductions on CPU skip NaN, so NaN blocks are found apart.
    has_nan = jnp.any(jnp.isnan(blocks), axis=(1, 3))
    return jnp.where(has_nan, jnp.nan, jnp.where(jnp.abs(lo) > jnp.abs(hi), lo, hi))


def heatmap(
    x: jax.Array,
    rows_axis: int,
    cols_axis: int,
    index: list[int],
    *,
    mode: str = "mean",
    part: str = "value",
) -> tuple[bytes, dict[str, Any]]:
    """A downsampled 2-d slice of ``x`` as little-endian float32 bytes plus its layout.

    ``index`` gives the position along every axis (ignored for the two shown axes).
    Each cell is the mean (``mode="mean"``) or the value of largest magnitude
    (``mode="maxabs"``) of its block, in IEEE arithmetic: a block holding a NaN
    is NaN, and so is a mean over both +inf and -inf; a block whose extreme
    value is infinite shows that infinity. The bytes never exceed
    ``MAX_PAYLOAD_BYTES``.

    >>> data, meta = heatmap(jnp.arange(6.0).reshape(2, 3), 0, 1, [0, 0])
    >>> meta["rows"], meta["cols"], len(data)
    (2, 3, 24)
    """
    rows, cols = x.shape[rows_axis], x.shape[cols_axis]
    bh, bw = block_sizes(rows, cols)
    out = _heatmap_kernel(
        x,
        jnp.asarray(index, jnp.int32),
        rows_axis=rows_axis,
        cols_axis=cols_axis,
        block=(bh, bw),
        mode=mode,
        part=part,
    )
    data = np.asarray(jax.device_get(out), dtype="<f4").tobytes()
    meta = {
        "rows": -(-rows // bh),
        "cols": -(-cols // bw),
        "block": [bh, bw],
        "slice_shape": [rows, cols],
    }
    return data, meta


@functools.partial(jax.jit, static_argnames=("block", "part"))
def _line_kernel(x: jax.Array, *, block: int, part: str) -> jax.Array:
    v = _part(x, part).astype(jnp.float32)
    n = v.shape[0]
    m = -(-n // block)
    valid = jnp.pad(jnp.ones(n, bool), (0, m * block - n)).reshape(m, block)
    v = jnp.pad(v, (0, m * block - n)).reshape(m, block)
    finite = jnp.isfinite(v) & valid
    count = jnp.sum(finite, axis=1)
    some = count > 0
    lo = jnp.where(some, jnp.min(jnp.where(finite, v, jnp.inf), axis=1), jnp.nan)
    hi = jnp.where(some, jnp.max(jnp.where(finite, v, -jnp.inf), axis=1), jnp.nan)
    mean = jnp.where(some, jnp.sum(jnp.where(finite, v, 0), axis=1) / count, jnp.nan)
    flags = (
        jnp.any(jnp.isnan(v) & valid, axis=1).astype(jnp.float32)
        + 2 * jnp.any((v == jnp.inf) & valid, axis=1)
        + 4 * jnp.any((v == -jnp.inf) & valid, axis=1)
    )
    return jnp.stack([lo, hi, mean, flags])


def line(x: jax.Array, *, part: str = "value") -> tuple[bytes, dict[str, Any]]:
    """A 1-d array as at most ``LINE_MAX_POINTS`` blocks: rows of min, max, mean, flags.

    Min, max and mean are over each block's finite values (NaN when it has none);
    flags are 1 NaN, 2 +inf, 4 -inf present. Four float32 rows, little-endian.

    >>> data, meta = line(jnp.arange(10.0))
    >>> meta["points"], meta["block"], len(data)
    (10, 1, 160)
    """
    n = x.shape[0]
    block = max(1, -(-n // LINE_MAX_POINTS))
    out = _line_kernel(x, block=block, part=part)
    data = np.asarray(jax.device_get(out), dtype="<f4").tobytes()
    return data, {"points": -(-n // block), "block": block, "length": n}


def is_image(shape: tuple[int, ...], dtype: Any) -> bool:
    """Whether an array can be shown as an image: uint8 (H, W, C) with C in 1, 3, 4.

    >>> is_image((32, 32, 3), np.uint8), is_image((32, 32, 2), np.uint8)
    (True, False)
    """
    return np.dtype(dtype) == np.uint8 and len(shape) == 3 and shape[2] in (1, 3, 4)


@functools.partial(jax.jit, static_argnames=("block",))
def _image_kernel(x: jax.Array, *, block: int) -> jax.Array:
    h, w, c = x.shape
    oh, ow = -(-h // block), -(-w // block)
    v = x.astype(jnp.float32)
    if block > 1:
        pad = ((0, oh * block - h), (0, ow * block - w), (0, 0))
        valid = jnp.pad(jnp.ones((h, w, 1), jnp.float32), pad)
        v = jnp.pad(v, pad).reshape(oh, block, ow, block, c).sum(axis=(1, 3))
        v = v / valid.reshape(oh, block, ow, block, 1).sum(axis=(1, 3))
    v = jnp.round(v).astype(jnp.uint8)
    if c == 1:
        v = jnp.concatenate([v, v, v, jnp.full((oh, ow, 1), 255, jnp.uint8)], axis=2)
    elif c == 3:
        v = jnp.concatenate([v, jnp.full((oh, ow, 1), 255, jnp.uint8)], axis=2)
    return v


def image(x: jax.Array) -> tuple[bytes, dict[str, Any]]:
    """A uint8 (H, W, C) array as RGBA bytes, block-averaged to ``IMAGE_MAX_SIDE``.

    >>> data, meta = image(jnp.zeros((4, 6, 3), jnp.uint8))
    >>> meta["height"], meta["width"], len(data)
    (4, 6, 96)
    """
    h, w, _ = x.shape
    block = max(1, -(-h // IMAGE_MAX_SIDE), -(-w // IMAGE_MAX_SIDE))
    out = _image_kernel(x, block=block)
    data = np.asarray(jax.device_get(out)).tobytes()
    return data, {"height": -(-h // block), "width": -(-w // block), "block": block}


# ---------------------------------------------------------------- comparison and trees


COMPARE_TOP = 10
"""How many of the largest differences ``kino.inspect(a, b)`` lists."""


@jax.jit
def _compare_kernel(a: jax.Array, b: jax.Array) -> dict[str, jax.Array]:
    dtype = jnp.promote_types(jnp.promote_types(a.dtype, b.dtype), jnp.float32)
    fa = a.astype(dtype).reshape(-1)
    fb = b.astype(dtype).reshape(-1)
    diff = jnp.abs(fa - fb)
    if jnp.issubdtype(diff.dtype, jnp.complexfloating):
        diff = diff.real
    scale = jnp.maximum(jnp.abs(fa), jnp.abs(fb)).real
    rel = jnp.where(scale > 0, diff / jnp.where(scale > 0, scale, 1), 0)
    nan_a, nan_b = jnp.isnan(fa), jnp.isnan(fb)
    both_finite = jnp.isfinite(diff)
    key = jnp.where(both_finite, diff, jnp.inf)
    k = min(COMPARE_TOP, diff.shape[0])
    _, top = lax.top_k(key, k)
    same = (fa == fb) | (nan_a & nan_b)
    return {
        "max_abs": jnp.max(jnp.where(both_finite, diff, 0)),
        "mean_abs": jnp.sum(jnp.where(both_finite, diff, 0)) / jnp.maximum(jnp.sum(both_finite), 1),
        "max_rel": jnp.max(jnp.where(both_finite, rel, 0)),
        "not_equal": jnp.sum(~same, dtype=jnp.int32),
        "nan_mismatch": jnp.sum(nan_a != nan_b, dtype=jnp.int32),
        "nonfinite_diff": jnp.sum(~both_finite & ~(nan_a & nan_b), dtype=jnp.int32),
        "top": top,
        "top_a": fa[top],
        "top_b": fb[top],
        "top_diff": diff[top],
    }


def compare_stats(a: jax.Array, b: jax.Array) -> dict[str, Any]:
    """Element-wise comparison of two same-shape arrays on the device.

    ``max_abs`` and ``mean_abs`` of ``|a - b|`` and ``max_rel`` of
    ``|a - b| / max(|a|, |b|)`` over elements where the difference is finite;
    ``not_equal`` counts elements that differ (NaN equals NaN here),
    ``nan_mismatch`` those that are NaN in one array only, and ``top`` lists the
    largest differences (non-finite ones first) with their indices.

    >>> c = compare_stats(jnp.array([1.0, 2.0]), jnp.array([1.0, 2.5]))
    >>> c["max_abs"], c["top"][0]["index"]
    (0.5, [1])
    """
    if a.size == 0:
        return {
            "max_abs": 0.0,
            "mean_abs": 0.0,
            "max_rel": 0.0,
            "not_equal": 0,
            "nan_mismatch": 0,
            "nonfinite_diff": 0,
            "top": [],
        }
    raw = jax.device_get(_compare_kernel(a, b))

    def fmt(value: Any) -> Any:
        value = np.asarray(value).item()
        if isinstance(value, complex):
            return str(value)
        return _py(value, "float")

    top = []
    for flat, va, vb, d in zip(
        raw["top"], raw["top_a"], raw["top_b"], raw["top_diff"], strict=True
    ):
        if float(d) == 0:
            break
        top.append(
            {
                "index": [int(i) for i in np.unravel_index(int(flat), a.shape)],
                "a": fmt(va),
                "b": fmt(vb),
                "diff": fmt(d),
            }
        )
    return {
        "max_abs": fmt(raw["max_abs"]),
        "mean_abs": fmt(raw["mean_abs"]),
        "max_rel": fmt(raw["max_rel"]),
        "not_equal": int(raw["not_equal"]),
        "nan_mismatch": int(raw["nan_mismatch"]),
        "nonfinite_diff": int(raw["nonfinite_diff"]),
        "top": top,
    }


@jax.jit
def _nonfinite_kernel(leaves: list[jax.Array]) -> list[jax.Array]:
    out = []
    for leaf in leaves:
        bad = ~jnp.isfinite(leaf)
        out.append(
            jnp.stack(
                [
                    jnp.sum(jnp.isnan(leaf), dtype=jnp.int32),
                    jnp.sum(bad & ~jnp.isnan(leaf), dtype=jnp.int32),
                ]
            )
        )
    return out


def nonfinite_counts(leaves: list[jax.Array]) -> list[tuple[int, int]]:
    """(NaN count, inf count) of each inexact array, in one jitted call.

    >>> nonfinite_counts([jnp.array([jnp.nan, jnp.inf, 1.0])])
    [(1, 1)]
    """
    if not leaves:
        return []
    raw = jax.device_get(_nonfinite_kernel(list(leaves)))
    return [(int(r[0]), int(r[1])) for r in raw]
