"""kino.inspect numerics: statistics, histograms and downsampled views against numpy."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from kino.ui.inspect import stats as S

RNG = np.random.default_rng(7)


def planted(dtype, shape=(37, 53)) -> np.ndarray:
    """Random values of ``dtype`` with NaN, +inf, -inf and zeros planted where they apply."""
    dtype = np.dtype(dtype) if not isinstance(dtype, str) else dtype
    if dtype == np.bool_:
        return RNG.random(shape) < 0.3
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        lo, hi = max(info.min, -1000), min(info.max, 1000)
        a = RNG.integers(lo, hi, size=shape, endpoint=True).astype(dtype)
        a.flat[:5] = 0
        return a
    if np.issubdtype(dtype, np.complexfloating):
        a = (RNG.normal(size=shape) + 1j * RNG.normal(size=shape)).astype(dtype)
        a.flat[3] = complex(np.nan, 1.0)
        a.flat[4] = complex(np.inf, 0.0)
        a.flat[5] = 0
        return a
    a = (RNG.normal(size=shape) * 10).astype(np.float32)
    a.flat[3] = np.nan
    a.flat[4] = np.nan
    a.flat[5] = np.inf
    a.flat[6] = -np.inf
    a.flat[7:10] = 0
    return a


def expected(values: np.ndarray) -> dict:
    v = values.astype(np.float64)
    fin = v[np.isfinite(v)]
    return {
        "nan": int(np.isnan(v).sum()),
        "posinf": int((v == np.inf).sum()),
        "neginf": int((v == -np.inf).sum()),
        "zeros": int((v == 0).sum()),
        "finite": int(fin.size),
        "min": fin.min(),
        "max": fin.max(),
        "mean": fin.mean(),
        "std": fin.std(),
    }


def check(part: dict, values: np.ndarray, rtol: float = 1e-5) -> None:
    want = expected(values)
    for key in ("nan", "posinf", "neginf", "zeros", "finite"):
        assert part[key] == want[key], key
    for key in ("min", "max"):
        assert float(part[key]) == pytest.approx(want[key], rel=1e-6), key
    assert part["mean"] == pytest.approx(want["mean"], rel=rtol, abs=1e-5)
    assert part["std"] == pytest.approx(want["std"], rel=rtol)
    hist = part["histogram"]
    if hist["sampled"]:
        assert sum(hist["counts"]) <= hist["sample_size"]
    else:
        assert sum(hist["counts"]) == want["finite"]
    assert hist["edges"][0] <= want["min"] and hist["edges"][-1] >= want["max"]
    assert len(hist["edges"]) == len(hist["counts"]) + 1


@pytest.mark.parametrize("dtype", ["float32", "float16", "bfloat16", "float64"])
def test_float_stats_match_numpy_with_planted_nan_inf(dtype):
    host = planted(np.float32)
    x = jnp.asarray(host.astype(np.float64)) if dtype == "float64" else jnp.asarray(host, dtype)
    values = np.asarray(x.astype(jnp.float32))  # the values the array really holds
    s = S.array_stats(x)
    assert s["kind"] == "float" and s["count"] == host.size
    check(s["parts"]["value"], values)


@pytest.mark.parametrize("dtype", [np.int8, np.int32, np.uint8, np.uint32, np.int16])
def test_int_stats_match_numpy(dtype):
    host = planted(dtype)
    s = S.array_stats(jnp.asarray(host))
    part = s["parts"]["value"]
    assert s["kind"] == "int"
    assert isinstance(part["min"], int) and part["min"] == int(host.min())
    assert part["max"] == int(host.max())
    check(part, host)


def test_small_integer_range_gets_one_bin_per_value():
    s = S.array_stats(jnp.array([3, 4, 4, 6], jnp.int32))["parts"]["value"]["histogram"]
    assert s["edges"] == [2.5, 3.5, 4.5, 5.5, 6.5]
    assert s["counts"] == [1, 2, 0, 1]


def test_bool_stats_count_true_and_false():
    host = planted(np.bool_)
    part = S.array_stats(jnp.asarray(host))["parts"]["value"]
    assert part["min"] is False and part["max"] is True
    assert part["zeros"] == int((~host).sum())
    assert part["mean"] == pytest.approx(host.mean(), rel=1e-6)
    assert part["histogram"]["counts"] == [int((~host).sum()), int(host.sum())]


def test_complex_stats_are_of_magnitude_and_phase():
    host = planted(np.complex64)
    s = S.array_stats(jnp.asarray(host))
    assert s["kind"] == "complex"
    check(s["parts"]["abs"], np.abs(host))
    assert s["parts"]["abs"]["nan"] == 1 and s["parts"]["abs"]["posinf"] == 1
    angle = s["parts"]["angle"]
    assert -np.pi <= angle["min"] <= angle["max"] <= np.pi


def test_empty_and_zero_d_arrays():
    empty = S.array_stats(jnp.zeros((0, 4)))
    part = empty["parts"]["value"]
    assert empty["count"] == 0 and part["mean"] is None and part["histogram"]["counts"] == []
    scalar = S.array_stats(jnp.float32(-2.5))["parts"]["value"]
    assert scalar["min"] == scalar["max"] == scalar["mean"] == -2.5 and scalar["std"] == 0
    assert scalar["histogram"]["counts"] == [1]


def test_all_nan_array_has_no_finite_statistics():
    part = S.array_stats(jnp.full((3, 3), jnp.nan))["parts"]["value"]
    assert part["nan"] == 9 and part["finite"] == 0
    assert part["min"] is None and part["mean"] is None and part["histogram"]["counts"] == []


def test_counts_stay_exact_above_float32_integer_range():
    # 2**24 + 5 elements: a float32 running count would round.
    n = (1 << 24) + 5
    x = jnp.zeros((n,), jnp.float32).at[:3].set(1.0)
    part = S.array_stats(x)["parts"]["value"]
    assert part["zeros"] == n - 3 and part["finite"] == n
    y = x.at[10].set(jnp.nan)
    part = S.array_stats(y)["parts"]["value"]
    assert part["nan"] == 1 and part["zeros"] == n - 4 and part["finite"] == n - 1
    z = jnp.zeros((4100, 4100), jnp.float32).at[7, 9].set(jnp.inf)
    part = S.array_stats(z)["parts"]["value"]
    assert part["posinf"] == 1 and part["zeros"] == 4100 * 4100 - 1


@pytest.mark.parametrize("bad_rows", [3, S.ROWS_GATHERED + 5])
def test_row_wise_statistics_of_large_arrays_with_bad_rows(bad_rows):
    # More than 2**24 elements: reduced row by row; a few bad rows are gathered and
    # masked in the same pass, many take the masked one-pass reduction. Same answers.
    host = RNG.normal(size=(4100, 4100)).astype(np.float32)
    host[0, :5] = 0
    for r in range(bad_rows):
        host[r * 7 + 1, r] = (np.nan, np.inf, -np.inf)[r % 3]
    host[4099, 4099] = 0
    check(S.array_stats(jnp.asarray(host))["parts"]["value"], host, rtol=1e-4)


def fused_calls(monkeypatch) -> list:
    """Record the calls of the one-pass CPU reduction, so a test knows it ran."""
    calls: list = []
    real = S._fused_row_pass

    def spy(*args, **kwargs):
        calls.append((kwargs["rows"], "masked") if kwargs.get("masked") else kwargs["rows"])
        return real(*args, **kwargs)

    monkeypatch.setattr(S, "_fused_row_pass", spy)
    return calls


def test_fused_pass_keeps_std_of_data_far_from_zero(monkeypatch):
    # Above 2**24 elements on CPU one reassociating pass sums squares around the
    # sample mean; data centred at 1000 with unit spread keeps its std.
    calls = fused_calls(monkeypatch)
    host = (1000 + RNG.normal(size=(4100, 4100))).astype(np.float32)
    host[3, 3] = 0
    check(S.array_stats(jnp.asarray(host))["parts"]["value"], host, rtol=1e-4)
    assert calls == [(4100, 4100)]  # one pass, no masked retry


def test_fused_pass_falls_back_to_a_centred_pass_when_the_shift_is_far_off():
    # The shift (normally the sample's mean) lies 10,000 standard deviations from
    # the mean: the sums of squares around it have lost the variance, so it is
    # recomputed around the mean itself.
    host = RNG.normal(size=(4100, 4100)).astype(np.float32)
    host[1, 2] = np.nan
    x = jnp.asarray(host)
    shift = jnp.float32(1e4)
    fused = {"rows": S._fused_row_pass(x, shift, rows=x.shape), "shift": shift}
    stats = jax.jit(lambda a, f: S._row_stats(a, (1,), f))(x, fused)
    fin = host[np.isfinite(host)].astype(np.float64)
    assert float(stats["std"]) == pytest.approx(fin.std(), rel=1e-4)
    # The mean keeps float32 precision relative to the shift: 1e4 * 2**-24 per term.
    assert float(stats["mean"]) == pytest.approx(fin.mean(), abs=2e-3)
    assert int(stats["nan"]) == 1 and int(stats["finite"]) == fin.size


def test_masked_fused_pass_when_every_row_has_nan_or_inf(monkeypatch):
    # More bad rows than ROWS_GATHERED: the masked one-pass reduction, exact counts.
    calls = fused_calls(monkeypatch)
    host = (5 + RNG.normal(size=(4100, 4100)) * 2).astype(np.float32)
    host[:, 3] = np.nan
    host[::2, 9] = np.inf
    host[1::3, 11] = -np.inf
    host[7, 100:110] = 0
    check(S.array_stats(jnp.asarray(host))["parts"]["value"], host, rtol=1e-4)
    assert calls == [(4100, 4100), ((4100, 4100), "masked")]


def test_all_nan_large_array_has_no_finite_statistics():
    part = S.array_stats(jnp.full((4100, 4100), jnp.nan, jnp.float32))["parts"]["value"]
    assert part["nan"] == 4100 * 4100 and part["finite"] == 0
    assert part["min"] is None and part["std"] is None and part["histogram"]["counts"] == []


def test_fused_pass_of_large_int_bool_and_complex_arrays(monkeypatch):
    # Every kind takes the one-pass reduction on CPU, one pass per view.
    calls = fused_calls(monkeypatch)
    ints = RNG.integers(-500, 2000, size=(4100, 4100), dtype=np.int32)
    ints[3, :7] = 0
    check(S.array_stats(jnp.asarray(ints))["parts"]["value"], ints, rtol=1e-4)
    flags = RNG.random((4100, 4100)) < 0.3
    part = S.array_stats(jnp.asarray(flags))["parts"]["value"]
    assert part["zeros"] == int((~flags).sum()) and part["mean"] == pytest.approx(flags.mean())
    z = (RNG.normal(size=(4100, 4100)) + 1j * RNG.normal(size=(4100, 4100))).astype(np.complex64)
    z[9, 9] = complex(np.nan, 1.0)
    parts = S.array_stats(jnp.asarray(z))["parts"]
    check(parts["abs"], np.abs(z), rtol=1e-4)
    check(parts["angle"], np.angle(z), rtol=1e-4)
    assert calls == [(4100, 4100)] * 4  # int, bool, and the two views of the complex array


def test_fused_pass_of_a_constant_array_has_zero_std(monkeypatch):
    calls = fused_calls(monkeypatch)
    part = S.array_stats(jnp.full((4100, 4100), 3.0, jnp.float32))["parts"]["value"]
    assert (part["min"], part["max"], part["mean"], part["std"]) == (3.0, 3.0, 3.0, 0.0)
    assert part["zeros"] == 0 and part["finite"] == 4100 * 4100 and calls


@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
def test_fused_pass_of_half_precision_arrays(monkeypatch, dtype):
    calls = fused_calls(monkeypatch)
    x = jnp.asarray(RNG.normal(size=(4100, 4100)) * 3 - 1, dtype).at[7, 7].set(jnp.nan)
    check(S.array_stats(x)["parts"]["value"], np.asarray(x, np.float32), rtol=1e-3)
    assert calls


@pytest.mark.parametrize("bad_rows", [0, 3, S.ROWS_GATHERED + 5])
def test_gpu_formulation_of_row_statistics_matches_numpy(bad_rows):
    # GPU and TPU take plain reductions (XLA fuses them there), not the CPU passes;
    # no accelerator here, so run that formulation on the CPU and check its answers.
    host = RNG.normal(size=(4100, 4100)).astype(np.float32) + 3
    host[0, :5] = 0
    for r in range(bad_rows):
        host[r * 7 + 1, r] = (np.nan, np.inf, -np.inf)[r % 3]
    x = jnp.asarray(host)
    raw = S._stats_kernel(x, None, None, bins=S.HISTOGRAM_BINS, masked=False)
    if not bool(raw["value"]["all_finite"]):
        raw = S._stats_kernel(x, None, None, bins=S.HISTOGRAM_BINS, masked=True)
    stats = jax.device_get(raw["value"])
    want = expected(host)
    for key in ("nan", "posinf", "neginf", "zeros", "finite"):
        assert int(stats[key]) == want[key], key
    for key in ("min", "max"):
        assert float(stats[key]) == pytest.approx(want[key], rel=1e-6), key
    assert float(stats["mean"]) == pytest.approx(want["mean"], rel=1e-4)
    assert float(stats["std"]) == pytest.approx(want["std"], rel=1e-4)
    assert int(np.sum(stats["hist_counts"])) == want["finite"]  # exact histogram off CPU


def test_large_arrays_on_cpu_get_a_sampled_histogram(monkeypatch):
    monkeypatch.setattr(S, "HISTOGRAM_EXACT_MAX", 1000)
    host = RNG.normal(size=(71, 73)).astype(np.float32)
    host[0, 0] = np.nan
    part = S.array_stats(jnp.asarray(host))["parts"]["value"]
    hist = part["histogram"]
    assert hist["sampled"] and hist["sample_size"] == S.HISTOGRAM_SAMPLE_SIZE
    # About 1 in 5183 draws is the NaN (about 202); every finite draw lands in a bin.
    assert S.HISTOGRAM_SAMPLE_SIZE - 400 < sum(hist["counts"]) < S.HISTOGRAM_SAMPLE_SIZE
    check_counts = expected(host)
    assert part["nan"] == 1 and part["finite"] == check_counts["finite"]  # stats stay exact


def test_heatmap_full_resolution_reads_back_planted_value():
    host = RNG.normal(size=(4, 5, 6)).astype(np.float32)
    host[2, 3, 4] = 42.0
    data, meta = S.heatmap(jnp.asarray(host), 1, 2, [2, 0, 0])
    grid = np.frombuffer(data, "<f4").reshape(meta["rows"], meta["cols"])
    assert meta["block"] == [1, 1]
    np.testing.assert_array_equal(grid, host[2])
    assert grid[3, 4] == 42.0
    # Rows and columns swapped: axis 2 down, axis 0 across, at position 3 on axis 1.
    data, meta = S.heatmap(jnp.asarray(host), 2, 0, [0, 3, 0])
    grid = np.frombuffer(data, "<f4").reshape(meta["rows"], meta["cols"])
    np.testing.assert_array_equal(grid, host[:, 3, :].T)


def test_heatmap_downsamples_by_block_mean_and_maxabs():
    host = RNG.normal(size=(600, 530)).astype(np.float32)
    x = jnp.asarray(host)
    data, meta = S.heatmap(x, 0, 1, [0, 0], mode="mean")
    bh, bw = meta["block"]
    assert (bh, bw) == (3, 3) and meta["rows"] == 200 and meta["cols"] == 177
    grid = np.frombuffer(data, "<f4").reshape(meta["rows"], meta["cols"])
    np.testing.assert_allclose(grid[5, 7], host[15:18, 21:24].mean(), rtol=1e-5)
    np.testing.assert_allclose(grid[-1, -1], host[597:600, 528:530].mean(), rtol=1e-5)
    data, meta = S.heatmap(x, 0, 1, [0, 0], mode="maxabs")
    grid = np.frombuffer(data, "<f4").reshape(meta["rows"], meta["cols"])
    block = host[15:18, 21:24]
    assert grid[5, 7] == block.flat[np.abs(block).argmax()]


def test_heatmap_marks_nan_and_inf_blocks():
    host = np.ones((1000, 1000), np.float32)
    host[0, 0] = np.nan
    host[500, 500] = np.inf
    host[999, 999] = -np.inf
    for mode in S.MODES:
        data, meta = S.heatmap(jnp.asarray(host), 0, 1, [0, 0], mode=mode)
        grid = np.frombuffer(data, "<f4").reshape(meta["rows"], meta["cols"])
        bh, bw = meta["block"]
        assert np.isnan(grid[0, 0])
        assert grid[500 // bh, 500 // bw] == np.inf
        assert grid[-1, -1] == -np.inf
        assert np.isfinite(grid).sum() == grid.size - 3


def test_line_view_blocks_min_max_mean_and_flags():
    host = np.arange(10_000, dtype=np.float32)
    host[5] = np.nan
    data, meta = S.line(jnp.asarray(host))
    assert meta["block"] == 3 and meta["points"] == 3334
    lo, hi, mean, flags = np.frombuffer(data, "<f4").reshape(4, meta["points"])
    assert (lo[0], hi[0], mean[0], flags[0]) == (0, 2, 1, 0)
    assert (lo[1], hi[1], mean[1], flags[1]) == (3, 4, 3.5, 1)
    assert lo[-1] == hi[-1] == 9999
    assert len(data) <= S.MAX_PAYLOAD_BYTES


@pytest.mark.parametrize("channels", [1, 3, 4])
def test_image_view_is_rgba(channels):
    host = RNG.integers(0, 256, size=(20, 30, channels), dtype=np.uint8)
    data, meta = S.image(jnp.asarray(host))
    rgba = np.frombuffer(data, np.uint8).reshape(meta["height"], meta["width"], 4)
    if channels == 1:
        np.testing.assert_array_equal(rgba[..., 0], host[..., 0])
        np.testing.assert_array_equal(rgba[..., 2], host[..., 0])
    else:
        np.testing.assert_array_equal(rgba[..., :channels], host)
    if channels != 4:
        assert (rgba[..., 3] == 255).all()


def test_large_image_is_block_averaged_within_budget():
    host = np.full((1000, 700, 3), 200, np.uint8)
    data, meta = S.image(jnp.asarray(host))
    assert meta["block"] == 4 and len(data) <= S.MAX_PAYLOAD_BYTES
    assert (np.frombuffer(data, np.uint8).reshape(-1, 4)[:, :3] == 200).all()


def test_compare_finds_largest_differences():
    a = RNG.normal(size=(30, 40)).astype(np.float32)
    b = a.copy()
    b[3, 4] += 5.0
    b[10, 20] -= 2.0
    b[7, 7] = np.nan
    c = S.compare_stats(jnp.asarray(a), jnp.asarray(b))
    assert c["top"][0]["index"] == [7, 7]  # non-finite first
    assert c["top"][1]["index"] == [3, 4] and c["top"][2]["index"] == [10, 20]
    assert c["max_abs"] == pytest.approx(5.0, rel=1e-5)
    assert c["not_equal"] == 3 and c["nan_mismatch"] == 1
    assert len(c["top"]) == 3


def test_payload_constants_hold():
    assert S.HEATMAP_MAX_SIDE**2 * 4 <= S.MAX_PAYLOAD_BYTES
    assert S.IMAGE_MAX_SIDE**2 * 4 <= S.MAX_PAYLOAD_BYTES
    assert S.LINE_MAX_POINTS * 16 <= S.MAX_PAYLOAD_BYTES


@pytest.mark.slow
def test_payload_of_a_1e8_element_array_stays_bounded():
    x = jnp.ones((10_000, 10_000), jnp.float32).at[1234, 5678].set(jnp.nan)
    data, meta = S.heatmap(x, 0, 1, [0, 0])
    assert len(data) <= S.MAX_PAYLOAD_BYTES
    grid = np.frombuffer(data, "<f4").reshape(meta["rows"], meta["cols"])
    bh, bw = meta["block"]
    assert np.isnan(grid[1234 // bh, 5678 // bw]) and np.isnan(grid).sum() == 1
    part = S.array_stats(x)["parts"]["value"]
    assert part["nan"] == 1 and part["finite"] == 10**8 - 1 and part["mean"] == 1.0
    del x
    y = jnp.arange(10**8, dtype=jnp.float32)
    data, meta = S.line(y)
    assert len(data) <= S.MAX_PAYLOAD_BYTES and meta["points"] <= S.LINE_MAX_POINTS


def test_unsupported_dtype_is_named():
    with pytest.raises(TypeError, match="dtype"):
        S.kind_of(np.dtype("U3"))
    assert jax.numpy.issubdtype(jnp.float32, jnp.floating)
