"""Callbacks say what they want (intents); the runner alone changes the state."""

import re

import optax
import pytest

from kino import train
from kino.train import optim, prepare
from kino.train.callbacks import Callback
from kino.train.loop import Trainer
from kino.train.run import Run
from kino.train.runner import Runner
from kino.train.steps import Carry, Program
from tests.train.compiles import after_first_epoch
from tests.train.tiny import BATCH, blobs, mlp


def sparse(optimizer="sgd", **kw):
    loop = train.trainer(mlp(), "sparse_categorical_cross_entropy", optimizer, **kw)
    return loop.metric("accuracy")


def reachable(obj, depth=4, seen=None):
    """Every object reachable from ``obj`` through attributes and containers (a few levels)."""
    seen = set() if seen is None else seen
    if id(obj) in seen or depth < 0:
        return
    seen.add(id(obj))
    yield obj
    if isinstance(obj, dict):
        children = list(obj.keys()) + list(obj.values())
    elif isinstance(obj, list | tuple | set | frozenset):
        children = list(obj)
    elif hasattr(obj, "__dict__") and not isinstance(obj, type):
        children = list(vars(obj).values())
    else:
        children = []
    if hasattr(obj, "__self__"):  # a bound method holds its object
        children.append(obj.__self__)
    for child in children:
        yield from reachable(child, depth - 1, seen)


def test_no_builtin_callback_holds_the_runner_or_the_loop(tmp_path, data, val_data):
    loop = sparse(learning_rate=0.1).validate(val_data)
    loop.early_stopping("validation_loss", patience=1, mode="max")
    loop.reduce_lr_on_plateau("loss", patience=1, mode="max")
    loop.checkpoint(tmp_path)
    result = loop.run(train.batches(*data, batch_size=BATCH), epochs=4)
    assert result.status == "halted" and "early stopping" in result.reason
    callbacks = loop._callbacks
    assert len(callbacks) == 3 and all(isinstance(cb, Callback) for cb in callbacks)
    forbidden = (Runner, Trainer, Run, Program, Carry)
    for cb in callbacks:
        held = [type(o).__name__ for o in reachable(cb) if isinstance(o, forbidden)]
        assert not held, f"{type(cb).__name__} holds {held}"
        assert "runner" not in vars(cb) and "loop" not in vars(cb)


def test_callbacks_share_one_protocol_and_reset_between_runs(data, val_data):
    loop = sparse(learning_rate=0.1).validate(val_data)
    loop.early_stopping("validation_loss", patience=5, mode="max")
    loop.reduce_lr_on_plateau("loss", patience=1, mode="max", cooldown=1)
    at_start = []
    loop.handle("started", lambda s: at_start.append([cb.state_dict() for cb in loop._callbacks]))
    batches = train.batches(*data, batch_size=BATCH)
    loop.run(batches, epochs=3)
    saved = [cb.state_dict() for cb in loop._callbacks]
    assert saved[0]["best"] is not None and set(saved[1]) == {
        "best",
        "best_epoch",
        "wait",
        "cooling",
    }
    loop.run(batches, epochs=2)
    fresh = {"best": None, "best_epoch": 0, "wait": 0}
    assert at_start == [[fresh, fresh | {"cooling": 0}]] * 2, "a fresh run starts from zero"
    for cb, d in zip(loop._callbacks, saved, strict=True):
        cb.reset()
        assert cb.best is None and cb.wait == 0
        cb.load_state_dict(d)
        assert cb.state_dict() == d


def test_a_handler_may_return_intents_on_epoch_completed(data):
    lrs = []

    def halve(s):
        return (train.ScaleLearningRate(0.5), train.KeepBest()) if s.epoch == 1 else None

    loop = sparse(learning_rate=0.1).handle("epoch_completed", halve)
    loop.handle("epoch_started", lambda s: lrs.append(s.learning_rate))
    loop.handle(
        "epoch_completed",
        lambda s: [train.Halt("halt_loop", "enough")] if s.epoch == 3 else None,
    )
    compiled, counting = after_first_epoch(loop)
    with counting:
        result = loop.run(train.batches(*data, batch_size=BATCH), epochs=5)
    assert compiled[0][0] == 0, "the scaled learning rate and the kept state compiled nothing"
    assert lrs == pytest.approx([0.1, 0.05, 0.05])
    assert (result.status, result.reason) == ("halted", "enough")
    assert result.state.epoch == 1, "KeepBest kept epoch 1's state"


def test_min_lr_floors_a_scaled_learning_rate(data):
    lrs = []
    loop = sparse(learning_rate=0.1)
    loop.handle("epoch_completed", lambda s: train.ScaleLearningRate(0.1, min_lr=0.02))
    loop.handle("epoch_started", lambda s: lrs.append(s.learning_rate))
    loop.run(train.batches(*data, batch_size=BATCH), epochs=3)
    assert lrs == pytest.approx([0.1, 0.02, 0.02])


def test_intents_outside_epoch_completed_are_refused(data):
    loop = sparse().handle("epoch_started", lambda s: train.KeepBest())
    result = loop.run(train.batches(*data, batch_size=BATCH), epochs=1)
    assert result.status == "failed" and isinstance(result.error, ValueError)
    assert re.search(r"returned KeepBest\(\); the loop's state can change only", result.reason)


def test_handler_return_values_other_than_halts_and_intents_are_ignored(data):
    loop = sparse().handle("epoch_completed", lambda s: [1, "two"])
    loop.handle("iteration_completed", lambda s: (s.step,))
    assert loop.run(train.batches(*data, batch_size=BATCH), epochs=1).status == "completed"


def test_optimizer_state_is_typed_and_holds_the_only_learning_rate():
    import jax.numpy as jnp

    params = {"w": jnp.ones(2)}
    named = optim.resolve("adam", 0.01)
    state = named.tx.init(params)
    assert isinstance(state, optim.OptState) and state.learning_rate is None
    assert float(optim.learning_rate(state)) == pytest.approx(0.01)
    assert float(optim.learning_rate(optim.with_factor(state, 0.5))) == pytest.approx(0.005)
    assert named.key == "adam" and not hasattr(named, "learning_rate")
    custom = optim.resolve(optax.sgd(0.3), 0.3)
    state = custom.tx.init(params)
    assert float(optim.learning_rate(optim.with_factor(state, 0.5))) == pytest.approx(0.15)
    assert float(optim.learning_rate(optim.resolve(optax.sgd(0.3)).tx.init(params))) == 1.0
    assert optim.resolve("sgd", optax.constant_schedule(0.1)).key is not None


def test_custom_optimizer_reports_its_nominal_rate_and_plateaus_scale_it(data):
    lrs = []
    loop = train.trainer(
        mlp(), "sparse_categorical_cross_entropy", optax.sgd(0.2), learning_rate=0.2
    )
    loop.reduce_lr_on_plateau("loss", factor=0.5, patience=1, mode="max")
    loop.handle("epoch_started", lambda s: lrs.append(s.learning_rate))
    loop.run(train.batches(*data, batch_size=BATCH), epochs=3)
    assert lrs == pytest.approx([0.2, 0.2, 0.1])


def test_trainer_and_evaluator_share_preparation_and_the_program_cache(data):
    assert train.trainer is train.Trainer and train.evaluator is train.Evaluator
    model = mlp()
    ev = train.evaluator(model, "sparse_categorical_cross_entropy").metric("accuracy")
    ev.run(data)
    size = len(prepare._programs)
    ev.run(blobs(32, seed=3), batch_size=16)
    ev.run(data)
    assert len(prepare._programs) == size, "the evaluator reuses its cached program"
    prep = prepare.prepare(
        model,
        data,
        loss=ev.loss,
        metrics=ev.metrics,
        batch_size=BATCH,
        shuffle=False,
        mode="eval",
        func="test",
    )
    assert prep.pred_struct.shape == (BATCH, 3) and prep.y_struct.shape == (BATCH,)
    with pytest.raises(ValueError, match="cannot be applied to a batch of x"):
        ev.run((data[0][:, :3], data[1]))
    with pytest.raises(
        TypeError, match=r"train\.Evaluator\.run: 'state' must be a train\.Result, .*, got 3$"
    ):
        ev.run(data, 3)
