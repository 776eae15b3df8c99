"""kino.inspect on an array sharded over 8 CPU devices (in a subprocess, as XLA needs)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from tests.conftest import budget

SCRIPT = textwrap.dedent(
    """
    import json
    import jax, jax.numpy as jnp, numpy as np
    from jax.sharding import Mesh, NamedSharding, PartitionSpec as P
    import kino

    assert len(jax.devices()) == 8, jax.devices()
    mesh = Mesh(np.array(jax.devices()).reshape(4, 2), ("a", "b"))
    host = np.random.default_rng(3).normal(size=(40, 30, 6)).astype(np.float32)
    host[5, 7, 1] = np.nan
    host[31, 2, 4] = -np.inf
    host[12, 20, 3] = 77.0
    x = jax.device_put(host, NamedSharding(mesh, P("a", "b")))
    w = kino.inspect(x)
    w.select(axes=(0, 1), index={2: 3})
    replicated = kino.inspect(jax.device_put(host[:, :, 0], NamedSharding(mesh, P("a"))))
    # Above 2**24 elements: the one-pass CPU reduction, partitioned over the mesh.
    big = np.random.default_rng(4).normal(size=(4104, 4096)).astype(np.float32) + 5
    big[100, 7] = np.nan
    big[2000, 9] = 0.0
    big_stats = kino.ui.inspect.stats.array_stats(
        jax.device_put(big, NamedSharding(mesh, P("a", "b")))
    )["parts"]["value"]
    print(json.dumps({
        "summary": w.summary,
        "view": w.view,
        "grid": np.frombuffer(bytes(w.view_data), "<f4").tolist(),
        "replicated_blocks": replicated.summary["sharding"]["blocks"],
        "line": kino.ui.inspect.widget.summary_line(x),
        "big": big_stats,
    }))
    """
)


@pytest.fixture(scope="module")
def sharded():
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=8")
    env["JAX_PLATFORMS"] = "cpu"
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env, timeout=budget(300)
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_sharded_statistics_match_numpy(sharded):
    host = np.random.default_rng(3).normal(size=(40, 30, 6)).astype(np.float32)
    host[5, 7, 1] = np.nan
    host[31, 2, 4] = -np.inf
    host[12, 20, 3] = 77.0
    part = sharded["summary"]["stats"]["parts"]["value"]
    fin = host[np.isfinite(host)]
    assert part["nan"] == 1 and part["neginf"] == 1 and part["posinf"] == 0
    assert part["finite"] == fin.size
    assert part["max"] == 77.0 and part["min"] == pytest.approx(float(fin.min()))
    assert part["mean"] == pytest.approx(float(fin.mean()), rel=1e-5)
    assert part["std"] == pytest.approx(float(fin.std()), rel=1e-5)


def test_sharding_map_lists_which_device_holds_which_block(sharded):
    sh = sharded["summary"]["sharding"]
    assert len(sh["devices"]) == 8 and sh["kind"] == "NamedSharding"
    assert "'a', 'b'" in sh["spec"]
    blocks = sh["blocks"]
    assert len(blocks) == 8
    starts = sorted((b["start"][0], b["start"][1]) for b in blocks)
    assert starts == [(r, c) for r in (0, 10, 20, 30) for c in (0, 15)]
    assert all(b["stop"][2] == 6 and b["start"][2] == 0 for b in blocks)
    # Sharded over one mesh axis, replicated over the other: two devices per block.
    rep = sharded["replicated_blocks"]
    assert len(rep) == 8 and len({tuple(b["start"]) for b in rep}) == 4
    assert "8 devices" in sharded["line"]


def test_heatmap_of_sharded_array_reads_planted_value(sharded):
    view = sharded["view"]
    grid = np.array(sharded["grid"], np.float32).reshape(view["rows"], view["cols"])
    assert grid.shape == (40, 30) and grid[12, 20] == 77.0


def test_sharded_statistics_of_a_large_array_match_numpy(sharded):
    big = np.random.default_rng(4).normal(size=(4104, 4096)).astype(np.float32) + 5
    big[100, 7] = np.nan
    big[2000, 9] = 0.0
    fin = big[np.isfinite(big)].astype(np.float64)
    part = sharded["big"]
    assert part["nan"] == 1 and part["zeros"] == 1 and part["finite"] == fin.size
    assert part["min"] == pytest.approx(fin.min()) and part["max"] == pytest.approx(fin.max())
    assert part["mean"] == pytest.approx(fin.mean(), rel=1e-5)
    assert part["std"] == pytest.approx(fin.std(), rel=1e-4)
