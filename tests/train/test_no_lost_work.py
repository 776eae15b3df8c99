"""No lost work: checkpoints never mix runs or drop the newest, labels are range-checked,
and the loop's configuring calls refuse wrong arguments at the call."""

import re

import jax.numpy as jnp
import numpy as np
import pytest

from kino import train
from kino.train.checkpoint import CheckpointStore
from kino.train.losses import resolve as resolve_loss
from kino.train.metrics import resolve as resolve_metric
from kino.train.runner import Runner
from kino.train.steps import Program
from tests.train.tiny import BATCH, mlp


def loop(seed=0):
    return train.trainer(mlp(), "sparse_categorical_cross_entropy", "adam", seed=seed)


def run(lp, data, epochs, **kw):
    return lp.run(data, epochs=epochs, batch_size=BATCH, **kw)


# ---- 3: keep=N without a monitor keeps the newest N ---------------------------------
@pytest.mark.parametrize("mode", ["min", "max"])
def test_keep_without_a_monitor_keeps_the_newest(tmp_path, mode):
    store = CheckpointStore(tmp_path, keep=3, mode=mode)
    for epoch in range(1, 7):
        store.save(epoch, {"w": jnp.full(2, float(epoch))}, {"epoch": epoch, "metrics": {}})
    assert store.epochs() == [4, 5, 6]
    assert store.best() == 6


def test_loop_checkpoint_keep_without_a_monitor_keeps_the_newest(tmp_path, data):
    lp = loop().checkpoint(tmp_path / "ck", keep=2)
    run(lp, data, 4)
    assert CheckpointStore(tmp_path / "ck").epochs() == [3, 4]
    assert lp.restore(tmp_path / "ck").epoch == 4


# ---- 4: a checkpoint directory belongs to one run -----------------------------------
def test_each_checkpoint_records_the_run_that_wrote_it(tmp_path, data):
    lp = loop(seed=3).metric("accuracy")
    run(lp.checkpoint(tmp_path / "ck"), data, 1)
    writer = CheckpointStore(tmp_path / "ck").writer(1)
    assert writer == lp.run_record()
    assert writer["seed"] == 3 and writer["metrics"] == ["accuracy"]
    assert writer["optimizer"] == "adam(learning_rate=0.001)"
    assert loop(seed=3).run_record()["id"] != writer["id"]  # the metrics differ


def test_a_fresh_run_refuses_a_directory_holding_checkpoints(tmp_path, data):
    ck = tmp_path / "ck"
    a = loop(seed=0)
    assert run(a.checkpoint(ck), data, 3).status == "completed"
    b = loop(seed=7).checkpoint(ck)
    with pytest.raises(FileExistsError) as err:
        run(b, data, 1)
    message = str(err.value)
    assert str(ck) in message and "overwrite=True" in message and "resume=" in message
    assert a.run_record()["id"] in message and b.run_record()["id"] in message
    assert CheckpointStore(ck).epochs() == [1, 2, 3]  # nothing was touched


def test_another_process_probing_the_directory_does_not_make_it_taken(tmp_path, data):
    # Each process of a jax.distributed run checks that it can write the directory with a
    # probe file of its own, at the same moment as the others look whether it is empty.
    ck = tmp_path / "ck"
    ck.mkdir()
    (ck / ".kino-write-check-other-process").touch()
    assert run(loop(seed=0).checkpoint(ck), data, 1).status == "completed"
    other = tmp_path / "other"
    other.mkdir()
    (other / ".kino-write-check-other-process").touch()
    (other / "notes.txt").touch()  # what the user put there still keeps a run out
    with pytest.raises(FileExistsError, match=r"1 entries \(notes\.txt\)"):
        run(loop(seed=1).checkpoint(other), data, 1)


def test_overwrite_replaces_the_other_runs_checkpoints_and_resume_continues_this_one(
    tmp_path, data
):
    ck = tmp_path / "ck"
    run(loop(seed=0).checkpoint(ck), data, 3)
    assert run(loop(seed=7).checkpoint(ck, overwrite=True), data, 1).status == "completed"
    store = CheckpointStore(ck)
    assert store.epochs() == [1]
    assert store.writer(1)["seed"] == 7
    resumed = run(loop(seed=7).checkpoint(ck), data, 2, resume=ck)
    assert resumed.status == "completed"
    assert resumed.history["epoch"].to_list() == [1, 2]
    assert resumed.state.step == 2 * len(data[0]) // BATCH
    assert store.epochs() == [1, 2]


def test_resume_refuses_a_directory_written_by_another_run(tmp_path, data):
    ck = tmp_path / "ck"
    run(loop(seed=0).checkpoint(ck), data, 2)
    b = loop(seed=7)
    with pytest.raises(ValueError) as err:
        run(b, data, 3, resume=ck)
    message = str(err.value)
    assert f"resume={str(ck)!r}" in message
    assert loop(seed=0).run_record()["id"] in message and b.run_record()["id"] in message
    assert "seed 0 vs 7" in message


def test_the_checkpoint_directory_must_be_writable_at_the_call(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(OSError, match=re.escape(str(blocker / "ck"))) as err:
        loop().checkpoint(blocker / "ck")
    assert str(err.value).startswith("train.Trainer.checkpoint: cannot write checkpoints to")


def test_the_checkpoint_directory_is_checked_again_before_the_first_step(tmp_path, data):
    ck = tmp_path / "ck"
    lp = loop().checkpoint(ck)
    ck.rmdir()
    ck.write_text("now a file")
    steps = []
    lp.handle("iteration_completed", lambda s: steps.append(s.step))
    with pytest.raises(OSError, match="cannot write checkpoints to " + re.escape(repr(str(ck)))):
        run(lp, data, 1)
    assert steps == []


# ---- 5: class labels are range-checked on the device ---------------------------------
def test_labels_outside_the_classes_halt_at_their_step_with_the_last_good_state(data):
    x, y = data
    y = y.copy()
    y[20] = -1  # the second batch of 16 (no shuffling)
    lp = loop().metric("accuracy")
    result = lp.run(train.batches(x, y, batch_size=BATCH, shuffle=False), steps_per_dispatch=1)
    assert result.status == "halted"  # before: "completed", -1 read as another class
    assert "at step 2" in result.reason
    assert result.state.step == 1


def test_resident_labels_are_checked_once_and_only_bad_ones_are_checked_per_step(data):
    # resident labels never change in a run: one pass over them before the first step; the
    # per-step check (and its output) is left out of the dispatch unless a label is bad
    x, y = data
    bad = y.copy()
    bad[20] = 7
    per_step_checks = []
    original = Runner._process

    def spy(self, outs, k, allow_halt):
        per_step_checks.append("label_check" in outs)
        return original(self, outs, k, allow_halt)

    runs = {}
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Runner, "_process", spy)
        for name, labels in (("good", y), ("bad", bad)):
            per_step_checks.clear()
            lp = loop().metric("accuracy")
            batches = train.batches(x, labels, batch_size=BATCH, shuffle=False)
            runs[name] = (lp.run(batches, steps_per_dispatch=1), list(per_step_checks))
    (good, good_checks), (halted, bad_checks) = runs["good"], runs["bad"]
    assert good.status == "completed" and good.data_on_device and not any(good_checks)
    assert halted.status == "halted" and all(bad_checks)
    assert "got 7 at step 2" in halted.reason and halted.state.step == 1


def test_the_step_check_names_the_bad_labels_and_the_range():
    program = Program(
        None, None, resolve_loss("sparse_categorical_cross_entropy"), [], None, None, None
    )
    pred = jnp.zeros((5, 2))
    w = jnp.asarray([1.0, 1.0, 1.0, 1.0, 0.0])  # the last row is padding: never checked
    check = program._label_check(pred, jnp.asarray([0, -1, 1, -2, 9]), w)
    assert check.tolist() == [2, -1, 2]
    assert program.step_error({"label_check": np.asarray([check])}, 0) == (
        "labels must be in [0, 2) for 2 classes; got -1 (2 labels of that batch are out of range)"
    )
    fine = program._label_check(pred, jnp.asarray([[0], [1], [1], [0], [5]]), w)
    assert fine.tolist() == [0, 0, 2]
    assert program.step_error({"label_check": np.asarray([fine])}, 0) is None
    # a class metric reads sparse labels too, whatever the loss
    by_metric = Program(
        None, None, resolve_loss("mse"), [resolve_metric("accuracy")], None, None, None
    )
    assert by_metric._label_check(pred, jnp.asarray([0, 1, 2, 0, 0]), w).tolist() == [1, 2, 2]


def test_the_halt_reason_names_the_bad_labels(data):
    x, y = data
    y = y.copy()
    y[3] = 5
    result = loop().run(train.batches(x, y, batch_size=BATCH, shuffle=False))
    assert result.reason.startswith("labels must be in [0, 3) for 3 classes; got 5 at step 1")


# ---- 13: the loop's configuring calls check their arguments ---------------------------
# (the callbacks' and the store's messages name the class the call builds, as before)
@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (
            lambda lp, d: lp.checkpoint(d, monitor=1),
            TypeError,
            "train.Trainer.checkpoint: 'monitor' must be a metric name or None, got 1",
        ),
        (
            lambda lp, d: lp.checkpoint(d, overwrite="yes"),
            TypeError,
            "train.CheckpointStore: 'overwrite' must be True or False, got str: 'yes'",
        ),
        (
            lambda lp, d: lp.checkpoint(d, keep=0),
            ValueError,
            "train.CheckpointStore: 'keep' must be an int >= 1, got 0",
        ),
        (
            lambda lp, d: lp.checkpoint(3),
            TypeError,
            "train.CheckpointStore: 'directory' must be a path (str or os.PathLike), got 3",
        ),
        (
            lambda lp, d: lp.reduce_lr_on_plateau("loss", cooldown=float("inf")),
            TypeError,
            "train.ReduceLROnPlateau: 'cooldown' must be an int >= 0, got inf",
        ),
        (
            lambda lp, d: lp.reduce_lr_on_plateau("loss", cooldown=-1),
            ValueError,
            "train.ReduceLROnPlateau: 'cooldown' must be an int >= 0, got -1",
        ),
        (
            lambda lp, d: lp.reduce_lr_on_plateau("loss", cooldown=1.5),
            TypeError,
            "train.ReduceLROnPlateau: 'cooldown' must be an int >= 0, got 1.5",
        ),
        (
            lambda lp, d: lp.early_stopping("loss", patience=-1),
            ValueError,
            "train.EarlyStopping: 'patience' must be an int >= 0, got -1",
        ),
        (
            lambda lp, d: lp.metric("accuracy", name=1),
            TypeError,
            "train.Trainer.metric: 'name' must be a non-empty str or None "
            "(the metric's own name), got 1",
        ),
        (
            lambda lp, d: lp.metric("accuracy", name=""),
            ValueError,
            "train.Trainer.metric: 'name' must be a non-empty str or None "
            "(the metric's own name), got str: ''",
        ),
        (
            lambda lp, d: lp.metric(3),
            TypeError,
            "train.Trainer.metric: 'metric' must be a metric name (train.METRICS) or "
            "fn(y_pred, y_true), got 3",
        ),
    ],
)
def test_configuring_calls_refuse_wrong_arguments(tmp_path, call, error, message):
    lp = loop()
    with pytest.raises(error) as err:
        call(lp, tmp_path / "ck")
    assert str(err.value) == message
    assert lp._callbacks == [] and lp.metrics == []


def test_metric_name_none_means_the_metrics_own_name():
    lp = loop().metric("accuracy", name=None).metric("accuracy", name="acc")
    assert [m.name for m in lp.metrics] == ["accuracy", "acc"]
