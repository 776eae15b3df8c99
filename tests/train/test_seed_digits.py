"""The seed's Axon training example, line for line, on scikit-learn's digits (8x8 = 64 features)."""

import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from kino import train


@pytest.fixture(scope="module")
def digits():
    x, labels = load_digits(return_X_y=True)
    x = (x / 16.0).astype("float32")
    y = np.eye(10, dtype="float32")[labels]
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=0.2, random_state=0, stratify=labels
    )
    x_train, x_val, y_train, y_val = train_test_split(
        x_train, y_train, test_size=0.1, random_state=0
    )
    return (x_train, y_train), (x_val, y_val), (x_test, y_test)


def test_seed_training_example_reaches_95_percent(digits):
    (x_train, y_train), (x_val, y_val), (x_test, y_test) = digits
    rngs = nnx.Rngs(0)
    model = nnx.Sequential(
        nnx.Linear(64, 256, rngs=rngs),
        nnx.relu,
        nnx.Dropout(0.4, rngs=rngs),
        nnx.Linear(256, 128, rngs=rngs),
        nnx.relu,
        nnx.Dropout(0.3, rngs=rngs),
        nnx.Linear(128, 10, rngs=rngs),
        nnx.softmax,
    )

    def l2(model):
        return 1e-4 * jnp.sum(model.layers[0].kernel[...] ** 2)

    train_data = train.batches(x_train, y_train, batch_size=32, shuffle=True, seed=0)
    val_data = train.batches(x_val, y_val, batch_size=32, shuffle=False)
    test_data = train.batches(x_test, y_test, batch_size=32, shuffle=False)

    result = (
        train.trainer(
            model, "categorical_cross_entropy", "adam", learning_rate=1e-3, from_logits=False
        )
        .regularize(l2)
        .metric("accuracy")
        .validate(val_data)
        .early_stopping("validation_loss", patience=5)
        .run(train_data, epochs=20)
    )

    assert result.status in ("completed", "halted")
    if result.status == "halted":
        assert result.reason.startswith(
            "early stopping: validation_loss did not improve for 5 epochs"
        )
    assert result.history.columns == [
        "epoch",
        "loss",
        "accuracy",
        "validation_loss",
        "validation_accuracy",
    ]
    scores = train.evaluator(model).metric("accuracy").run(test_data, result.state)
    assert scores["accuracy"] >= 0.95
    model.eval()
    sk = np.mean(np.argmax(np.asarray(model(x_test)), 1) == np.argmax(y_test, 1))
    assert scores["accuracy"] == pytest.approx(sk, abs=1e-6)
