"""Compile once: a re-run cell, a new trainer over an equal model and a resumed run reuse
the compiled program (compilations counted with jax's own backend-compile event)."""

import numpy as np
import optax
import pytest
from flax import nnx

from kino import train
from kino.train import prepare
from kino.train.fingerprint import fingerprint
from tests.train.compiles import TRACE_EVENT, after_first_epoch, compilations
from tests.train.tiny import BATCH, blobs


def model(seed=0):
    # a shape of its own: these tests' programs are not ones the other files warmed
    rngs = nnx.Rngs(seed)
    return nnx.Sequential(nnx.Linear(4, 7, rngs=rngs), nnx.relu, nnx.Linear(7, 3, rngs=rngs))


def fit(tx, epochs=2, seed=0, **kw):
    loop = train.trainer(model(seed), "sparse_categorical_cross_entropy", tx)
    loop.metric("accuracy").validate(blobs(24, seed=1))
    return loop.run(blobs(), epochs=epochs, batch_size=BATCH, **kw)


def test_same_optax_object_equal_model_and_resume_compile_nothing(tmp_path, monkeypatch):
    # an empty program cache: the first run compiles whichever tests ran before this one
    monkeypatch.setattr(prepare, "_programs", type(prepare._programs)())
    tx = optax.adam(1e-3)
    with compilations() as first:
        done = fit(tx)
    assert done.status == "completed" and first[0] > 0

    with compilations() as again:  # the same cell run again: same optax object, new model
        fit(tx)
    assert again[0] == 0

    with compilations() as fresh:  # a new optax.adam(1e-3) and a new trainer, equal model
        fit(optax.adam(1e-3), seed=5)
    assert fresh[0] == 0

    with compilations() as resumed:
        more = fit(optax.adam(1e-3), epochs=4, resume=done)
    assert more.status == "completed" and more.state.epoch == 4
    assert resumed[0] == 0


def test_resume_from_a_checkpoint_directory_compiles_nothing(tmp_path):
    loop = train.trainer(model(), "sparse_categorical_cross_entropy", optax.adam(1e-3))
    loop.checkpoint(tmp_path).run(blobs(), epochs=1, batch_size=BATCH)
    with compilations() as n:
        loop = train.trainer(model(), "sparse_categorical_cross_entropy", optax.adam(1e-3))
        result = loop.checkpoint(tmp_path).run(blobs(), epochs=2, batch_size=BATCH, resume=tmp_path)
    assert result.status == "completed" and result.state.epoch == 2
    assert n[0] == 0


def test_a_different_hyperparameter_compiles_its_own_program():
    slow, fast = fit(optax.sgd(1e-3)), fit(optax.sgd(0.5))
    with compilations() as n:
        again = fit(optax.sgd(0.5))
    assert n[0] == 0
    assert not np.allclose(slow.history["loss"].to_numpy(), fast.history["loss"].to_numpy())
    np.testing.assert_array_equal(again.history["loss"].to_numpy(), fast.history["loss"])


def test_a_redefined_loss_with_a_changed_global_is_a_new_program():
    def run_with(scale):
        namespace = {"optax": optax, "SCALE": scale}
        exec(  # a notebook cell that defines the loss anew, reading a global
            "def loss(p, y):\n"
            "    return SCALE * optax.softmax_cross_entropy_with_integer_labels(p, y)\n",
            namespace,
        )
        first = []
        loop = train.trainer(model(), namespace["loss"], "sgd", learning_rate=0.1)
        loop.handle("iteration_completed", lambda s: first.append(s.metrics["loss"]))
        loop.run(blobs(), epochs=1, batch_size=BATCH)
        return first[0]  # the loss before any update

    one = run_with(1.0)
    with compilations() as n:
        same = run_with(1.0)
    assert n[0] == 0 and same == one
    assert run_with(2.0) == pytest.approx(2 * one, rel=1e-5)


def test_fingerprint_tells_transformations_apart():
    schedule = optax.exponential_decay(0.1, transition_steps=10, decay_rate=0.5)
    assert fingerprint(optax.chain(optax.clip(1.0), optax.adam(schedule))) == fingerprint(
        optax.chain(optax.clip(1.0), optax.adam(schedule))
    )
    assert fingerprint(optax.chain(optax.clip(1.0), optax.adam(1e-3))) != fingerprint(
        optax.chain(optax.clip(2.0), optax.adam(1e-3))
    )
    assert fingerprint(optax.adam(1e-3, b1=0.8)) != fingerprint(optax.adam(1e-3))


def test_fingerprint_keys_closed_over_arrays_by_value_and_odd_objects_by_identity():
    import jax
    import jax.numpy as jnp

    def scaled(w):
        return lambda p, y: w * p

    small = fingerprint(scaled(np.ones(3)))
    assert small == fingerprint(scaled(np.ones(3))) != fingerprint(scaled(np.zeros(3)))
    assert fingerprint(scaled(jnp.ones(3))) == fingerprint(scaled(jnp.ones(3)))
    struct = jax.ShapeDtypeStruct((2,), jnp.float32)
    assert fingerprint(scaled(struct)) == fingerprint(scaled(struct))
    assert fingerprint(scaled(struct)) != fingerprint(scaled(jax.ShapeDtypeStruct((2,), "f4")))


def test_epochs_after_the_first_trace_and_compile_nothing():
    # per-epoch work (zero accumulators, the kept state's copy, the epoch's metrics) reuses
    # compiled calls: a trace per epoch is Python work the device waits for
    loop = train.trainer(model(), "sparse_categorical_cross_entropy", optax.adam(1e-3))
    loop.metric("accuracy").validate(blobs(24, seed=1))
    traces, watching = after_first_epoch(loop, TRACE_EVENT)
    compiled, counting = after_first_epoch(loop)
    with watching, counting:
        result = loop.run(blobs(), epochs=4, batch_size=BATCH)
    assert result.status == "completed" and result.data_on_device is True
    assert (traces[0][0], compiled[0][0]) == (0, 0)
