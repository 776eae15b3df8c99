import re

import jax
import pytest

from kino import train
from tests.train.tiny import BATCH, blobs, mlp


def loop_for(model=None, **kw):
    return train.trainer(model or mlp(), "sparse_categorical_cross_entropy", "adam", **kw).metric(
        "accuracy"
    )


def test_event_order_with_validation_and_checkpoint(data, val_data, tmp_path):
    events = []
    loop = loop_for().validate(val_data)
    for e in train.EVENTS:
        loop.handle(e, lambda s, e=e: events.append(e))
    loop.checkpoint(tmp_path)
    result = loop.run(train.batches(*data, batch_size=BATCH), epochs=2)
    epoch = (
        ["epoch_started"]
        + ["iteration_completed"] * 3
        + ["validated", "epoch_completed", "checkpointed"]
    )
    assert events == ["started", *epoch, *epoch, "completed"]
    assert result.status == "completed" and result.reason is None


def test_handlers_run_in_attachment_order_and_every_n(data):
    calls, steps = [], []
    loop = loop_for()
    loop.handle("epoch_completed", lambda s: calls.append("a"))
    loop.handle("epoch_completed", lambda s: calls.append("b"), every=2)
    loop.handle("epoch_completed", lambda s: calls.append("c"))
    loop.handle("iteration_completed", lambda s: steps.append(s.step), every=4)
    assert loop.run(train.batches(*data, batch_size=BATCH), epochs=4).status == "completed"
    assert calls == ["a", "c", "a", "b", "c", "a", "c", "a", "b", "c"]
    assert steps == [4, 8, 12]


def test_fused_dispatch_delivers_every_steps_own_metrics(data):
    def record(k):
        seen = []
        loop = loop_for()
        loop.handle(
            "iteration_completed", lambda s: seen.append((s.epoch, s.iteration, s.step, s.metrics))
        )
        loop.run(train.batches(*data, batch_size=BATCH), epochs=2, steps_per_dispatch=k)
        return seen

    one, fused = record(1), record(2)
    assert [s[:3] for s in fused] == [(e, i, (e - 1) * 3 + i) for e in (1, 2) for i in range(1, 4)]
    assert [s[:3] for s in one] == [s[:3] for s in fused]
    for (*_, a), (*_, b) in zip(one, fused, strict=True):
        assert set(a) == {"loss", "accuracy"}
        assert all(type(v) is float for v in b.values())
        assert a == pytest.approx(b, rel=1e-5, abs=1e-6)


def test_loop_state_fields(data, val_data):
    states = {}
    loop = train.trainer(mlp(), "sparse_categorical_cross_entropy", "sgd", learning_rate=0.05)
    loop.metric("accuracy").metric("confusion_matrix").validate(val_data)
    for e in ("iteration_completed", "validated", "epoch_completed", "completed"):
        loop.handle(e, lambda s, e=e: states.setdefault(e, s))
    result = loop.run(train.batches(*data, batch_size=BATCH), epochs=2)
    it = states["iteration_completed"]
    assert (it.epoch, it.epochs, it.iteration, it.iterations, it.step, it.total_steps) == (
        1,
        2,
        1,
        3,
        1,
        6,
    )
    assert it.learning_rate == pytest.approx(0.05)
    assert it.run is not None and it.status == "running" and it.confusion_matrix is None
    end = states["epoch_completed"]
    assert set(end.metrics) == {"loss", "accuracy", "validation_loss", "validation_accuracy"}
    assert end.confusion_matrix.shape == (3, 3) and end.confusion_matrix.sum() == 24
    assert end.confusion_matrix.dtype.kind == "i"
    assert end.history["epoch"].to_list() == [1]
    assert "confusion_matrix" not in end.history.columns
    assert states["validated"].metrics == end.metrics
    done = states["completed"]
    assert done.status == "completed" and done.history.height == 2
    assert done.metrics == result.metrics and set(done.metrics) == set(end.metrics)
    assert result.confusion_matrix.sum() == 24


def test_each_step_gets_its_own_whole_state(data):
    import dataclasses

    states = []
    loop = loop_for().handle("iteration_completed", states.append)
    loop.run(train.batches(*data, batch_size=BATCH), epochs=2, steps_per_dispatch=3)
    # read after the run: a later step never changed an earlier step's state
    assert [(s.epoch, s.iteration, s.step) for s in states] == [
        (e, i, (e - 1) * 3 + i) for e in (1, 2) for i in range(1, 4)
    ]
    elapsed = [s.elapsed for s in states]
    assert elapsed == sorted(elapsed) and len({id(s.metrics) for s in states}) == 6
    names = {f.name for f in dataclasses.fields(train.LoopState)}
    for s in states:
        assert set(vars(s)) == names and s == train.LoopState(**vars(s))
        assert s.event == "iteration_completed" and s.checkpoint_path is None
        with pytest.raises(dataclasses.FrozenInstanceError):
            s.step = 0


def test_confusion_matrix_on_training_data_without_validation(data):
    seen = []
    loop = loop_for().metric("confusion_matrix")
    loop.handle("epoch_completed", lambda s: seen.append(s.confusion_matrix))
    loop.run(train.batches(*data, batch_size=BATCH), epochs=1)
    assert seen[0].sum() == len(data[1])


def test_halt_loop_from_epoch_handler_fires_halted_then_completed(data):
    events = []
    loop = loop_for()
    loop.handle("epoch_completed", lambda s: "halt_loop" if s.epoch == 2 else None)
    loop.handle("halted", lambda s: events.append(("halted", s.status, s.reason)))
    loop.handle("completed", lambda s: events.append(("completed", s.status, s.reason)))
    result = loop.run(train.batches(*data, batch_size=BATCH), epochs=5)
    assert result.status == "halted"
    assert "returned 'halt_loop' on epoch_completed" in result.reason
    assert result.history["epoch"].to_list() == [1, 2]
    assert [e[0] for e in events] == ["halted", "completed"]
    assert events[1][1:] == ("halted", result.reason)
    assert result.state.epoch == 2 and result.state.step == 6


def test_halt_epoch_skips_the_rest_of_the_epoch(data):
    per_epoch = {}

    def count(s):
        per_epoch[s.epoch] = s.iteration
        return "halt_epoch"

    loop = loop_for().handle("iteration_completed", count)
    result = loop.run(train.batches(*data, batch_size=BATCH), epochs=3, steps_per_dispatch=1)
    assert result.status == "completed"
    assert result.history.height == 3
    assert all(1 <= n < 3 for n in per_epoch.values())


def test_halt_with_reason_and_bad_return_value(data):
    loop = loop_for().handle("started", lambda s: train.Halt("halt_loop", "nothing to do"))
    result = loop.run(train.batches(*data, batch_size=BATCH), epochs=3)
    assert (result.status, result.reason, result.history.height) == ("halted", "nothing to do", 0)
    pruned = train.Halt("halt_loop", "behind the others", status="pruned")
    loop = loop_for().handle("epoch_completed", lambda s: pruned if s.epoch == 2 else None)
    result = loop.run(train.batches(*data, batch_size=BATCH), epochs=3)
    assert (result.status, result.reason, result.history.height) == (
        "pruned",
        "behind the others",
        2,
    )
    with pytest.raises(ValueError, match=r"train\.Halt: 'status' must be one of halted, pruned"):
        train.Halt("halt_loop", status="done")
    loop = loop_for().handle("epoch_started", lambda s: "stop")
    result = loop.run(train.batches(*data, batch_size=BATCH))
    assert result.status == "failed" and isinstance(result.error, ValueError)
    assert re.search(r"returned 'stop'.*halt_loop", result.reason)


def test_bad_handlers():
    loop = loop_for()
    with pytest.raises(
        ValueError,
        match=r"train\.Trainer\.handle: 'event' must be one of started, .*epoch_completed.*, "
        r"got str: 'epoch_end'",
    ):
        loop.handle("epoch_end", print)
    with pytest.raises(
        ValueError, match=r"train\.Trainer\.handle: 'every' must be an int >= 1, got 0"
    ):
        loop.handle("epoch_completed", print, every=0)
    with pytest.raises(TypeError, match=r"train\.Trainer\.handle: 'fn' must be callable, got 3"):
        loop.handle("epoch_completed", 3)


def test_no_implicit_device_to_host_transfer_in_a_run(data):
    seen = []
    loop = loop_for().handle("iteration_completed", lambda s: seen.append(s.metrics["loss"]))
    with jax.transfer_guard_device_to_host("disallow"):
        result = loop.run(train.batches(*blobs(), batch_size=BATCH), epochs=2)
    assert result.status == "completed" and len(seen) == 6
