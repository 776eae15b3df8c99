"""No lost work: streams without a length, failing handlers and checkpoints, the data's own
errors, batch sizes larger than the data, and argument checks at the call."""

import io
import logging

import jax
import numpy as np
import pytest

from kino import train
from kino.train.checkpoint import CheckpointStore
from kino.train.data import HostSource, wrap
from kino.train.feed import source
from kino.train.progress import TextProgress
from kino.train.resident import DeviceSource
from kino.train.sharding import Placement
from tests.conftest import budget
from tests.train.tiny import BATCH, FEATURES, blobs, mlp


def sparse(model=None, **kw):
    return train.trainer(model or mlp(), "sparse_categorical_cross_entropy", "adam", **kw)


def leaves(tree):
    return [np.asarray(a) for a in jax.tree.leaves(tree)]


def model_params(model):
    from flax import nnx

    return leaves(nnx.state(model, nnx.Param))


def assert_same(a, b):
    assert len(a) == len(b)
    for u, v in zip(a, b, strict=True):
        np.testing.assert_allclose(u, v, rtol=1e-6, atol=1e-7)


class Stream:
    """A re-iterable without ``__len__``: each ``iter()`` starts over.

    ``fail_on_pass``: the pass that raises after its first batch (pass 1 is the loop's look at
    the first batch, pass 2 is epoch 1).
    """

    def __init__(self, x, y, fail_on_pass=None):
        self.x, self.y, self.fail_on_pass, self.passes = x, y, fail_on_pass, 0

    def __iter__(self):
        self.passes += 1
        for i in range(0, len(self.x), BATCH):
            if self.passes == self.fail_on_pass and i > 0:
                raise OSError("disk gone")
            yield self.x[i : i + BATCH], self.y[i : i + BATCH]


# ---- 1. data without __len__ --------------------------------------------------------------
def test_a_generator_trains_with_an_unknown_number_of_steps(data):
    x, y = data
    seen = []
    out = io.StringIO()
    loop = sparse().handle("iteration_completed", seen.append)
    TextProgress(out).follow(loop)
    gen = ((x[i : i + BATCH], y[i : i + BATCH]) for i in range(0, len(x), BATCH))
    result = loop.run(gen, epochs=1)
    assert result.status == "completed" and result.step == len(x) // BATCH
    assert all(s.total_steps is None and s.iterations is None for s in seen)
    assert [s.step for s in seen] == [1, 2, 3]
    text = out.getvalue()
    assert "step 3" in text
    assert "step 3/" not in text and "ETA" not in text


def test_a_re_iterable_without_len_trains_several_epochs(data):
    result = sparse().run(Stream(*data), epochs=2)
    assert result.status == "completed"
    assert result.step == 6 and result.history["epoch"].to_list() == [1, 2]


def test_a_one_shot_generator_asked_for_two_epochs_keeps_its_clear_error(data):
    x, y = data
    gen = ((x[i : i + BATCH], y[i : i + BATCH]) for i in range(0, len(x), BATCH))
    with pytest.raises(TypeError, match="one-shot iterator"):
        sparse().run(gen, epochs=2)


def test_the_data_sources_own_error_reaches_the_caller_unchanged(data):
    x, y = data

    def bad():
        yield x[:BATCH], y[:BATCH]
        raise OSError("disk gone")

    with pytest.raises(OSError, match="disk gone"):
        sparse().run(bad(), epochs=1)
    run = sparse().run(bad(), epochs=1, background=True)
    with pytest.raises(OSError, match="disk gone"):
        run.wait(budget(120))


def test_a_data_error_in_epoch_2_leaves_the_model_at_epoch_1(data):
    model = mlp()
    with pytest.raises(OSError, match="disk gone"):
        sparse(model).run(Stream(*data, fail_on_pass=3), epochs=3)
    reference = mlp()
    sparse(reference).run(Stream(*data), epochs=1)
    assert_same(model_params(model), model_params(reference))


# ---- 2. a failing handler or checkpoint keeps the finished epochs ----------------------------
def _reference_after_two_epochs(data):
    model = mlp()
    result = sparse(model).run(train.batches(*data, batch_size=BATCH), epochs=2)
    return model, result


def _check_failed(result, model, data, error, match):
    ref_model, ref = _reference_after_two_epochs(data)
    assert result.status == "failed"
    assert isinstance(result.error, error) and match in str(result.error)
    assert type(result.error).__name__ in result.reason and match in result.reason
    assert "after epoch 2" in result.reason
    assert result.history["epoch"].to_list() == [1, 2]
    assert result.history["loss"].to_list() == pytest.approx(ref.history["loss"].to_list())
    assert result.epoch == 2 and result.step == ref.step
    assert_same(leaves(result.state.params), leaves(ref.state.params))
    assert_same(model_params(model), model_params(ref_model))


@pytest.mark.parametrize("background", [False, True], ids=["foreground", "background"])
@pytest.mark.parametrize("event", ["epoch_completed", "iteration_completed", "epoch_started"])
def test_a_handler_raising_in_epoch_3_fails_with_epochs_1_and_2(data, event, background, caplog):
    def boom(state):
        if state.epoch == 3:
            raise RuntimeError("handler failed")

    model = mlp()
    loop = sparse(model).handle(event, boom)
    with caplog.at_level(logging.ERROR, logger="kino"):
        out = loop.run(train.batches(*data, batch_size=BATCH), epochs=3, background=background)
        result = out.wait(budget(120)) if background else out
    if background:
        assert out.result is result and out.status == "failed"
    _check_failed(result, model, data, RuntimeError, "handler failed")
    assert "boom" in result.reason and event in result.reason
    assert any("handler failed" in r.getMessage() for r in caplog.records)


def test_a_checkpoint_that_cannot_be_written_fails_with_the_earlier_epochs(
    data, tmp_path, monkeypatch
):
    save = CheckpointStore.save

    def flaky(self, epoch, tree, meta):
        if epoch == 3:
            raise OSError("no space left on device")
        return save(self, epoch, tree, meta)

    monkeypatch.setattr(CheckpointStore, "save", flaky)
    model = mlp()
    loop = sparse(model).checkpoint(tmp_path / "ckpt")
    result = loop.run(train.batches(*data, batch_size=BATCH), epochs=3)
    _check_failed(result, model, data, OSError, "no space left on device")
    assert "checkpoint of epoch 3" in result.reason


def test_a_completed_handler_that_raises_keeps_the_whole_run(data):
    def boom(state):
        raise ValueError("late")

    model = mlp()
    result = sparse(model).handle("completed", boom).run(data, epochs=2, batch_size=BATCH)
    ref_model, ref = _reference_after_two_epochs(data)
    assert result.status == "failed" and isinstance(result.error, ValueError)
    assert result.epoch == 2 and result.step == ref.step
    assert result.history["loss"].to_list() == pytest.approx(ref.history["loss"].to_list())
    assert_same(model_params(model), model_params(ref_model))


def test_failed_is_a_status():
    from kino.train.events import STATUSES

    assert "failed" in STATUSES


# ---- 6. buffers follow the data, not batch_size --------------------------------------------
def test_a_batch_size_larger_than_the_data_is_reduced_to_the_data():
    x, y = blobs(128)
    b = wrap((x, y), batch_size=3_000_000, shuffle=True, seed=0, func="train.Trainer.run")
    assert b.batch_size == 128 and len(b) == 1
    src = source(b, Placement(), 1)
    assert isinstance(src, DeviceSource) and src.width == 128
    ex, ey = src.example()
    assert ex.shape == (128, FEATURES) and ey.shape == (128,)
    assert [c.ids.tolist() for c in src.chunks(1, None, 32)] == [[0]]
    host = source(b, Placement(), 1, data_on_device=False)
    assert [c.w.shape for c in host.chunks(1, None, 32)] == [(1, 128)]
    result = sparse().run((x, y), epochs=1, batch_size=3_000_000)
    assert result.status == "completed" and result.step == 1


def test_drop_remainder_with_a_batch_larger_than_the_data_is_still_refused():
    with pytest.raises(ValueError, match="empty after drop_remainder"):
        train.batches(np.zeros((5, 2)), np.zeros(5), batch_size=8, drop_remainder=True)


# ---- 13. argument checks at the call ----------------------------------------------------------
@pytest.mark.parametrize("lr", [float("inf"), float("nan"), 0, -1e-3, float("-inf")])
def test_a_learning_rate_that_is_not_a_positive_finite_number_fails_at_the_call(lr):
    with pytest.raises(ValueError, match=r"train\.Trainer: 'learning_rate' must be .*got "):
        sparse(learning_rate=lr)


@pytest.mark.parametrize(
    "devices, error",
    [
        ("cpu", TypeError),
        (3, TypeError),
        ([1, 2], TypeError),
        ([], ValueError),
        (None, None),
    ],
)
def test_devices_that_are_not_a_sequence_of_jax_devices_fail(data, devices, error):
    if error is None:
        train.evaluator(mlp(), devices=jax.devices())
        return
    message = r"'devices' must be None or a non-empty list of distinct jax devices.*got "
    with pytest.raises(error, match=r"train\.Evaluator: " + message):
        train.evaluator(mlp(), devices=devices)
    with pytest.raises(error, match=r"train\.Trainer: " + message):
        sparse(devices=devices)  # at the call, before run()


def test_a_single_device_or_repeated_devices_are_refused():
    one = jax.devices()[0]
    with pytest.raises(TypeError, match=r"'devices'.*got Device"):
        train.evaluator(mlp(), devices=one)
    with pytest.raises(ValueError, match=r"'devices'.*distinct"):
        train.evaluator(mlp(), devices=[one, one])


def test_a_feature_dimension_that_changes_mid_run_names_the_batch_and_both_shapes(data):
    x, y = data
    batches = [(x[:BATCH], y[:BATCH]), (np.zeros((BATCH, FEATURES + 1), "float32"), y[:BATCH])]
    message = r"batch 2 of epoch 1 has x \(5,\).*the first batch had x \(4,\)"
    with pytest.raises(ValueError, match=message):
        sparse().run(batches, epochs=1)
    src = source(batches, Placement(), 1)
    assert isinstance(src, HostSource)
    with pytest.raises(ValueError, match=message):
        list(src.chunks(1, None, 8))


def test_a_step_the_program_refused_is_reported_with_the_programs_reason(data, monkeypatch):
    from kino.train.steps import Program

    monkeypatch.setattr(
        Program, "step_error", lambda self, host, j: "labels out of range", raising=False
    )
    x, y = data
    x = x.copy()
    x[0] = np.inf
    result = sparse().run(train.batches(x, y, batch_size=BATCH, shuffle=False), epochs=1)
    assert result.status == "halted"
    assert result.reason.startswith("labels out of range at step 1 (epoch 1, iteration 1)")
