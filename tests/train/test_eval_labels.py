"""#18 item 5 for evaluation: validation and the evaluator range-check class labels on the
device (counted in the pass's accumulators, read once per pass) and name the bad labels."""

import jax
import pytest

from kino import train
from tests.train.tiny import BATCH, blobs, mlp


def sparse(model=None):
    return train.trainer(model or mlp(), "sparse_categorical_cross_entropy", "adam")


@pytest.mark.parametrize("bad", [-1, 7])
def test_validation_labels_out_of_range_halt_after_the_epoch_and_keep_its_training(data, bad):
    vx, vy = blobs(24, seed=1)
    vy = vy.copy()
    vy[[5, 17]] = bad
    loop = sparse().metric("accuracy").validate((vx, vy), batch_size=8)
    epochs = []
    loop.handle("epoch_completed", lambda s: epochs.append(s.epoch))
    result = loop.run(data, epochs=3, batch_size=BATCH)
    # before: "completed" with a validation loss and accuracy computed from wrapped labels
    assert result.status == "halted"
    assert result.reason.startswith(
        f"validation data: labels must be in [0, 3) for 3 classes; got {bad} "
        "(2 labels in that data are out of range)"
    )
    assert "after training epoch 1" in result.reason
    assert result.state.epoch == 1 and result.state.step == 3  # the epoch's training is kept
    assert result.history.columns == ["epoch", "loss", "accuracy"]
    assert epochs == []  # no handler saw validation numbers made from wrapped labels


def test_validation_labels_are_checked_on_a_host_fed_stream(data):
    vx, vy = blobs(24, seed=1)
    vy = vy.copy()
    vy[23] = 3
    stream = [(vx[i : i + 8], vy[i : i + 8]) for i in range(0, 24, 8)]
    result = sparse().validate(stream).run(data, epochs=2, batch_size=BATCH)
    assert result.status == "halted"
    assert "got 3" in result.reason and "out of range)" not in result.reason  # one label


def test_the_evaluator_refuses_labels_out_of_range_and_names_them():
    x, y = blobs()
    bad = y.copy()
    bad[[2, 30, 31]] = [9, -4, 9]
    with pytest.raises(ValueError) as err:
        train.evaluator(mlp()).metric("accuracy").run((x, bad), batch_size=BATCH)
    assert str(err.value) == (
        "train.Evaluator.run: labels must be in [0, 3) for 3 classes; got 9 "
        "(3 labels in that data are out of range)"
    )
    fine = train.evaluator(mlp()).metric("accuracy").run((x, y), batch_size=BATCH)
    assert 0.0 <= fine["accuracy"] <= 1.0


def test_the_eval_check_adds_no_host_fetch_per_batch(monkeypatch):
    x, y = blobs()
    ev = train.evaluator(mlp(), "sparse_categorical_cross_entropy").metric("accuracy")
    fetches = []
    original = jax.device_get
    monkeypatch.setattr(jax, "device_get", lambda a: fetches.append(1) or original(a))

    def count(batch_size):
        fetches.clear()
        ev.run((x, y), batch_size=batch_size)
        return len(fetches)

    assert count(8) == count(24)  # 6 batches fetch as often as 2: once per pass
