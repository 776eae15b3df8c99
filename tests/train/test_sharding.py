"""Data-parallel training on 8 CPU devices matches one device."""

import textwrap

from tests.train.conftest import assert_matched, run_script

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
    assert_matched(run_script(EIGHT_DEVICES, devices=8))
