"""train.TextProgress: the progress line of a plain script (moved from the dashboard's tests)."""

import io

import pytest

from kino import train
from kino.train.progress import clock, eta
from tests.train.tiny import BATCH, blobs, mlp


def test_text_progress_line():
    state = train.LoopState(
        event="iteration_completed",
        epoch=2,
        epochs=4,
        iteration=5,
        iterations=10,
        step=15,
        total_steps=40,
        metrics={"loss": 0.25, "accuracy": 0.9},
        learning_rate=1e-3,
        elapsed=3.0,
        steps_per_second=50.0,
    )
    line = train.TextProgress().line(state)
    assert "epoch 2/4" in line and "step 15/40" in line and "38%" in line
    assert "50.0 steps/s" in line and "ETA 0:00" in line
    assert "loss 0.25" in line and "lr 0.001" in line


def test_text_progress_follows_a_run_without_a_kernel():
    out = io.StringIO()
    loop = train.Trainer(mlp(), "sparse_categorical_cross_entropy", "adam").metric("accuracy")
    progress = train.TextProgress(out)
    assert progress.follow(loop) is progress
    result = loop.run(train.batches(*blobs(), batch_size=BATCH), epochs=2)
    lines = out.getvalue().splitlines()
    assert result.status == "completed"
    assert [line.split(" · ")[0] for line in lines[-3:-1]] == ["epoch 1/2", "epoch 2/2"]
    assert "step 6/6" in lines[-2] and "accuracy" in lines[-2]
    assert lines[-1].startswith("completed after 0:")


def test_text_progress_helpers_and_bad_every():
    state = train.LoopState(
        event="iteration_completed", step=10, total_steps=30, steps_per_second=5
    )
    assert eta(state) == 4.0
    assert clock(59) == "0:59" and clock(3600) == "1:00:00"
    with pytest.raises(
        ValueError, match=r"train\.TextProgress\.follow: 'every' must be an int >= 1, got 0"
    ):
        train.TextProgress().follow(train.Trainer(mlp(), "mse"), every=0)
