import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from kino import train
from kino.train import losses

rng = np.random.default_rng(0)
LOGITS = jnp.asarray(rng.normal(size=(6, 4)), jnp.float32)
LABELS = jnp.asarray([0, 1, 2, 3, 1, 0])
ONEHOT = jax.nn.one_hot(LABELS, 4)


def test_categorical_matches_optax_and_probabilities_match_logits():
    ref = optax.softmax_cross_entropy(LOGITS, ONEHOT)
    got = losses.resolve("categorical_cross_entropy").per_example(LOGITS, ONEHOT)
    np.testing.assert_allclose(got, ref, rtol=1e-6)
    probs = jax.nn.softmax(LOGITS)
    from_probs = losses.resolve("categorical_cross_entropy", from_logits=False)
    np.testing.assert_allclose(from_probs.per_example(probs, ONEHOT), ref, rtol=1e-5)


def test_sparse_categorical_matches_optax_both_ways():
    ref = optax.softmax_cross_entropy_with_integer_labels(LOGITS, LABELS)
    np.testing.assert_allclose(
        losses.resolve("sparse_categorical_cross_entropy").per_example(LOGITS, LABELS),
        ref,
        rtol=1e-6,
    )
    probs = jax.nn.softmax(LOGITS)
    got = losses.resolve("sparse_categorical_crossentropy", from_logits=False).per_example(
        probs, LABELS
    )
    np.testing.assert_allclose(got, ref, rtol=1e-5)


def test_binary_cross_entropy_accepts_labels_without_unit_axis():
    logits = LOGITS[:, :1]
    y = jnp.asarray([0, 1, 1, 0, 1, 0], jnp.float32)
    ref = optax.sigmoid_binary_cross_entropy(logits[:, 0], y)
    np.testing.assert_allclose(
        losses.resolve("binary_cross_entropy").per_example(logits, y), ref, rtol=1e-6
    )
    p = jax.nn.sigmoid(logits)
    got = losses.resolve("binary_cross_entropy", from_logits=False).per_example(p, y)
    np.testing.assert_allclose(got, ref, rtol=1e-4)


@pytest.mark.parametrize(
    ("name", "fn"),
    [
        ("mse", lambda p, t: ((p - t) ** 2).mean(1)),
        ("mean_absolute_error", lambda p, t: np.abs(p - t).mean(1)),
        ("huber", lambda p, t: optax.huber_loss(p, t).mean(1)),
        ("log_cosh", lambda p, t: optax.log_cosh(p, t).mean(1)),
    ],
)
def test_regression_losses(name, fn):
    t = jnp.asarray(rng.normal(size=(6, 4)), jnp.float32)
    np.testing.assert_allclose(
        losses.resolve(name).per_example(LOGITS, t), fn(LOGITS, t), rtol=1e-5
    )


def test_kl_divergence_and_hinge_run():
    assert losses.resolve("kl_divergence").per_example(LOGITS, ONEHOT).shape == (6,)
    assert losses.resolve("hinge").per_example(LOGITS, ONEHOT * 2 - 1).shape == (6,)


def test_custom_scalar_loss_becomes_per_example():
    def mean_sq(p, t):
        return jnp.mean((p - t) ** 2)

    per = losses.resolve(mean_sq).per_example(LOGITS, ONEHOT)
    np.testing.assert_allclose(per, jnp.mean((LOGITS - ONEHOT) ** 2, axis=1), rtol=1e-6)


def test_unknown_loss_lists_allowed_names():
    with pytest.raises(
        ValueError, match=r"unknown loss 'cross_entropy'.*categorical_cross_entropy"
    ):
        losses.resolve("cross_entropy")
    with pytest.raises(TypeError, match="loss must be"):
        losses.resolve(3)
    assert "mean_squared_error" in train.LOSSES


@pytest.mark.parametrize(
    ("name", "pred", "y", "message"),
    [
        ("categorical_cross_entropy", (8, 3), ((8,), "int32"), "sparse_categorical_cross_entropy"),
        ("sparse_categorical_cross_entropy", (8, 3), ((8,), "float32"), "integer class labels"),
        ("sparse_categorical_cross_entropy", (8, 3), ((8, 5), "int32"), "labels shaped"),
        ("mean_squared_error", (8, 2), ((8, 3), "float32"), "labels shaped like the output"),
        ("binary_cross_entropy", (8, 1), ((4,), "float32"), "batch sizes differ"),
    ],
)
def test_label_checks(name, pred, y, message):
    loss = losses.resolve(name)
    with pytest.raises(ValueError, match=message):
        loss.check(jax.ShapeDtypeStruct(pred, jnp.float32), jax.ShapeDtypeStruct(*y))
