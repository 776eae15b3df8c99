import jax
import jax.numpy as jnp
import numpy as np
import pytest
from sklearn import metrics as skm

from kino import train
from kino.train import metrics

rng = np.random.default_rng(0)


def accumulate(metric, pred, y, batch=7):
    """Fold the data in batches, the last one padded with weight-0 rows, as the loop does."""
    pred, y = np.asarray(pred), np.asarray(y)
    state = metric.init(jnp.asarray(pred[:batch]), jnp.asarray(y[:batch]))
    for start in range(0, len(pred), batch):
        rows = np.resize(np.arange(start, min(start + batch, len(pred))), batch)
        w = np.zeros(batch, np.float32)
        w[: min(batch, len(pred) - start)] = 1
        state = state + metric.update(
            metric.init(jnp.asarray(pred[rows]), jnp.asarray(y[rows])),
            jnp.asarray(pred[rows]),
            jnp.asarray(y[rows]),
            jnp.asarray(w),
        )
    return np.asarray(metric.compute(state))


LOGITS = rng.normal(size=(50, 4)).astype("float32")
LABELS = rng.integers(0, 4, 50)
PRED = LOGITS.argmax(1)


@pytest.mark.parametrize(
    ("name", "ref"),
    [
        ("accuracy", skm.accuracy_score(LABELS, PRED)),
        ("precision", skm.precision_score(LABELS, PRED, average="macro", zero_division=0)),
        ("recall", skm.recall_score(LABELS, PRED, average="macro", zero_division=0)),
        ("f1", skm.f1_score(LABELS, PRED, average="macro", zero_division=0)),
    ],
)
def test_multiclass_metrics_match_sklearn_with_int_and_onehot_labels(name, ref):
    m = metrics.resolve(name)
    assert accumulate(m, LOGITS, LABELS) == pytest.approx(ref, abs=1e-6)
    assert accumulate(m, LOGITS, np.eye(4)[LABELS]) == pytest.approx(ref, abs=1e-6)


SCORES = rng.normal(size=(60, 1)).astype("float32")
BIN = (SCORES[:, 0] + rng.normal(size=60) > 0).astype("float32")


@pytest.mark.parametrize(
    ("name", "ref"),
    [
        ("accuracy", skm.accuracy_score(BIN, SCORES[:, 0] > 0)),
        ("precision", skm.precision_score(BIN, SCORES[:, 0] > 0)),
        ("recall", skm.recall_score(BIN, SCORES[:, 0] > 0)),
        ("f1", skm.f1_score(BIN, SCORES[:, 0] > 0)),
    ],
)
def test_binary_metrics_match_sklearn(name, ref):
    assert accumulate(metrics.resolve(name), SCORES, BIN) == pytest.approx(ref, abs=1e-6)
    probs = jax.nn.sigmoid(SCORES)
    assert accumulate(metrics.resolve(name, from_logits=False), probs, BIN) == pytest.approx(
        ref, abs=1e-6
    )


def test_roc_auc_binary_matches_sklearn():
    ref = skm.roc_auc_score(BIN, SCORES[:, 0])
    assert accumulate(metrics.resolve("roc_auc"), SCORES, BIN) == pytest.approx(ref, abs=0.01)
    probs = np.asarray(jax.nn.sigmoid(SCORES))
    assert accumulate(metrics.resolve("auc", from_logits=False), probs, BIN) == pytest.approx(
        ref, abs=0.01
    )


def test_roc_auc_rejects_multiclass_output():
    m = metrics.resolve("roc_auc")
    with pytest.raises(ValueError, match="binary classification"):
        metrics.check(
            m, jax.ShapeDtypeStruct((8, 4), jnp.float32), jax.ShapeDtypeStruct((8,), jnp.int32)
        )


def test_confusion_matrix_matches_sklearn():
    cm = accumulate(metrics.resolve("confusion_matrix"), LOGITS, LABELS)
    np.testing.assert_array_equal(cm, skm.confusion_matrix(LABELS, PRED, labels=range(4)))


Y = rng.normal(size=(40, 2)).astype("float32")
P = (Y + rng.normal(size=(40, 2)) * 0.5).astype("float32")


@pytest.mark.parametrize(
    ("name", "ref"),
    [
        ("mean_squared_error", skm.mean_squared_error(Y, P)),
        ("mse", skm.mean_squared_error(Y, P)),
        ("mean_absolute_error", skm.mean_absolute_error(Y, P)),
        ("r2", skm.r2_score(Y, P)),
    ],
)
def test_regression_metrics_match_sklearn(name, ref):
    assert accumulate(metrics.resolve(name), P, Y) == pytest.approx(ref, rel=1e-4)


def test_custom_metric_is_averaged_over_examples():
    def within_half(p, t):
        return jnp.mean(jnp.abs(p - t) < 0.5)

    got = accumulate(metrics.resolve(within_half), P, Y)
    assert got == pytest.approx(np.mean(np.abs(P - Y) < 0.5), abs=1e-6)
    assert metrics.resolve(within_half).name == "within_half"


def test_unknown_metric_lists_allowed_names():
    with pytest.raises(ValueError, match=r"unknown metric 'acc'.*accuracy.*roc_auc"):
        metrics.resolve("acc")
    assert set(train.METRICS) >= {"accuracy", "precision", "recall", "f1", "roc_auc", "r2"}
