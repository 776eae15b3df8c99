import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

EIGHT_DEVICES = textwrap.dedent(
    """
    import jax, numpy as np
    from kino import train
    from tests.train.tiny import blobs, mlp

    assert len(jax.devices()) == 8, jax.devices()
    x, y = blobs()
    vx, vy = blobs(24, seed=1)

    def fit(devices):
        loop = train.trainer(mlp(), "sparse_categorical_cross_entropy", "adam", learning_rate=0.01,
                             devices=devices)
        loop.metric("accuracy").validate((vx, vy))
        return loop.run(train.batches(x, y, batch_size=12, seed=3), epochs=3)

    many, one = fit(None), fit(jax.devices()[:1])
    for a in jax.tree.leaves(many.state.params):
        assert len(a.sharding.device_set) == 8, a.sharding
    assert many.state.step == one.state.step == 12
    for a, b in zip(jax.tree.leaves(many.state.params), jax.tree.leaves(one.state.params)):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-4, atol=1e-5)
    for column in many.history.columns:
        np.testing.assert_allclose(many.history[column], one.history[column], rtol=1e-4, atol=1e-5)
    print("MATCH", many.history["validation_loss"].to_list())
    """
)


def test_eight_cpu_devices_match_one_device():
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "XLA_FLAGS": "--xla_force_host_platform_device_count=8",
    }
    proc = subprocess.run(
        [sys.executable, "-c", EIGHT_DEVICES],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "MATCH" in proc.stdout
