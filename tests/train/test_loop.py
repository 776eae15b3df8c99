import signal
import threading

import jax
import numpy as np
import optax
import pytest

from kino import train
from kino.train.runner import Runner
from tests.conftest import budget
from tests.train.compiles import after_first_epoch
from tests.train.tiny import BATCH, blobs, mlp


def sparse(model=None, optimizer="adam", **kw):
    """The loop most tests share (one compiled program for the same shapes)."""
    loop = train.trainer(model or mlp(), "sparse_categorical_cross_entropy", optimizer, **kw)
    return loop.metric("accuracy")


def params_of(state):
    return [np.asarray(a) for a in jax.tree.leaves(state.params)]


def test_every_optimizer_name_builds_and_updates():
    from kino.train import optim

    params = {"w": jax.numpy.ones((2, 2))}
    for name in train.OPTIMIZERS:
        tx = optim.resolve(name).tx
        updates, _ = tx.update({"w": jax.numpy.ones((2, 2))}, tx.init(params), params)
        assert np.isfinite(np.asarray(updates["w"])).all(), name


def test_named_optimizer_trains(data):
    loop = sparse(optimizer="rmsprop", learning_rate=0.05)
    result = loop.run(train.batches(*data, batch_size=BATCH), epochs=3)
    assert result.status == "completed"
    assert result.history["loss"][-1] < result.history["loss"][0]


def test_optax_transformation_and_trained_model_is_updated(data):
    model = mlp()
    before = np.asarray(model.layers[0].kernel[...]).copy()
    result = sparse(model, optax.sgd(0.1)).run(data, epochs=2, batch_size=BATCH)
    after = np.asarray(model.layers[0].kernel[...])
    assert not np.allclose(before, after)
    np.testing.assert_array_equal(
        after, np.asarray(result.state.params["layers"][0]["kernel"][...])
    )
    assert result.state.epoch == 2 and result.state.step == 6


def test_plateau_changes_learning_rate_without_recompiling(data, val_data):
    lrs = []
    loop = sparse(optimizer="sgd", learning_rate=0.1).validate(val_data)
    loop.reduce_lr_on_plateau("loss", factor=0.5, patience=1, mode="max")
    loop.handle("epoch_started", lambda s: lrs.append(s.learning_rate))
    compiled, counting = after_first_epoch(loop)
    with counting:
        loop.run(train.batches(*data, batch_size=BATCH), epochs=4)
    assert compiled[0][0] == 0, "the plateau's new rates compiled nothing (train or eval)"
    assert lrs == pytest.approx([0.1, 0.1, 0.05, 0.025])


def test_schedule_learning_rate_is_reported_per_step(data):
    lrs = []
    schedule = optax.exponential_decay(0.1, transition_steps=1, decay_rate=0.5)
    loop = sparse(optimizer="sgd", learning_rate=schedule)
    loop.handle("iteration_completed", lambda s: lrs.append(s.learning_rate))
    loop.run(train.batches(*data, batch_size=BATCH), epochs=1)
    assert lrs == pytest.approx([0.1, 0.05, 0.025])


def test_nan_loss_halts_with_last_finite_state(data):
    x, y = data
    x = x.copy()
    x[40] = np.nan  # third batch of the first epoch (no shuffle)
    nan_run = sparse(mlp(), "sgd", learning_rate=0.1).run(
        train.batches(x, y, batch_size=BATCH, shuffle=False), epochs=3
    )
    assert nan_run.status == "halted"
    assert "loss became nan at step 3 (epoch 1, iteration 3)" in nan_run.reason
    assert nan_run.state.step == 2
    two = sparse(mlp(), "sgd", learning_rate=0.1).run(
        train.batches(x, y, batch_size=BATCH, shuffle=False), epochs=1, iterations=2
    )
    for a, b in zip(params_of(nan_run.state), params_of(two.state), strict=True):
        np.testing.assert_array_equal(a, b)
        assert np.isfinite(a).all()


@pytest.mark.parametrize("how", ["signal", "raise"])
def test_keyboard_interrupt_returns_interrupted(data, how):
    events = []

    def interrupt(s):
        if s.step == 2:
            if how == "signal":
                signal.raise_signal(signal.SIGINT)
            else:
                raise KeyboardInterrupt

    loop = sparse().handle("iteration_completed", interrupt)
    loop.handle("halted", lambda s: events.append(s.status))
    loop.handle("completed", lambda s: events.append(s.status))
    result = loop.run(train.batches(*data, batch_size=BATCH), epochs=5, steps_per_dispatch=1)
    assert result.status == "interrupted"
    assert "KeyboardInterrupt" in result.reason
    assert 2 <= result.state.step < 15
    assert events == ["interrupted", "interrupted"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_background_run_stops_from_another_thread(data):
    started = threading.Event()
    loop = sparse().handle("iteration_completed", lambda s: started.set())
    run = loop.run(train.batches(*data, batch_size=BATCH), epochs=10_000, background=True)
    assert isinstance(run, train.Run)
    assert started.wait(budget(120))
    assert loop.current_run is run and run.status == "running"
    run.stop()
    result = run.wait(budget(120))
    assert run.done and result.status == "stopped" and run.status == "stopped"
    assert result.reason == "stopped by Run.stop()"
    assert 1 <= result.state.step < 30_000
    assert run.progress.event == "completed"
    assert loop.current_run is None


def test_stop_from_a_handler_through_state_run(data):
    loop = sparse().handle("epoch_completed", lambda s: s.run.stop() if s.epoch == 2 else None)
    result = loop.run(train.batches(*data, batch_size=BATCH), epochs=6)
    assert result.status == "stopped"
    assert result.history.height == 2


def test_background_run_completes_and_a_failing_handler_gives_a_failed_result(data):
    run = sparse().run(train.batches(*data, batch_size=BATCH), epochs=2, background=True)
    assert run.wait(budget(120)).status == "completed"

    def boom(s):
        raise RuntimeError("handler failed")

    run = (
        sparse()
        .handle("epoch_completed", boom)
        .run(data, epochs=2, background=True, batch_size=BATCH)
    )
    result = run.wait(budget(120))
    assert result.status == "failed" and run.status == "failed"
    assert isinstance(result.error, RuntimeError) and "handler failed" in result.reason


def test_early_stopping_restores_best_state(data, val_data):
    best = {}
    loop = sparse(optimizer="sgd", learning_rate=0.05).validate(val_data)

    def remember(s):
        best[s.epoch] = s.metrics["validation_loss"]

    loop.handle("epoch_completed", remember)
    loop.early_stopping("validation_loss", mode="max", patience=2, restore_best=True)
    result = loop.run(train.batches(*data, batch_size=BATCH), epochs=10)
    assert result.status == "halted"
    assert result.reason.startswith("early stopping: validation_loss did not improve for 2 epochs")
    assert result.history.height == 3
    assert result.state.epoch == max(best, key=best.get)
    scores = train.evaluator(mlp(), "sparse_categorical_cross_entropy").run(val_data, result)
    assert scores["loss"] == pytest.approx(max(best.values()), rel=1e-5)


def test_validation_runs_in_eval_mode(val_data):
    model = mlp(seed=1, dropout=0.3)
    seen = []
    loop = (
        sparse(model).validate(val_data).handle("epoch_completed", lambda s: seen.append(s.metrics))
    )
    loop.run(val_data, epochs=1, batch_size=24)
    scores = train.evaluator(model, "sparse_categorical_cross_entropy").run(val_data)
    assert seen[0]["validation_loss"] == pytest.approx(scores["loss"], rel=1e-5)


def test_evaluator_metrics_and_confusion_matrix(data):
    from sklearn.metrics import confusion_matrix

    model = mlp()
    ev = train.evaluator(model).metric("accuracy").metric("confusion_matrix")
    scores = ev.run(data)
    pred = np.asarray(model(data[0])).argmax(1)
    assert scores["accuracy"] == pytest.approx(np.mean(pred == data[1]))
    np.testing.assert_array_equal(
        scores["confusion_matrix"], confusion_matrix(data[1], pred, labels=[0, 1, 2])
    )


def test_donates_the_carried_state(data, monkeypatch):
    donated = []
    original = Runner._dispatch

    def spy(self, chunk):
        old = jax.tree.leaves(self.carry.params)
        outs = original(self, chunk)
        donated.append(all(a.is_deleted() for a in old))
        return outs

    monkeypatch.setattr(Runner, "_dispatch", spy)
    sparse().run(train.batches(*data, batch_size=BATCH), epochs=2)
    assert donated == [True, True]


def test_data_stays_on_device_and_one_dispatch_per_epoch(data, monkeypatch):
    chunks = []
    original = Runner._dispatch
    monkeypatch.setattr(Runner, "_dispatch", lambda self, c: chunks.append(c) or original(self, c))
    sparse().run(train.batches(*data, batch_size=BATCH), epochs=3)
    assert [c.k for c in chunks] == [3, 3, 3]
    assert all(c.xs is None and c.ids.tolist() == [0, 1, 2] for c in chunks)


def test_iterable_of_batches_and_iterations_cap():
    x, y = blobs()
    batches = [(x[i : i + 10], y[i : i + 10]) for i in range(0, 48, 10)]
    seen = []
    loop = sparse().handle("epoch_completed", lambda s: seen.append((s.step, s.iterations)))
    result = loop.run(batches, epochs=2, iterations=4)
    assert result.status == "completed"
    assert seen == [(4, 4), (8, 4)]


@pytest.mark.parametrize(
    ("make", "error", "message"),
    [
        (
            lambda d: sparse().run(d, epochs=0),
            ValueError,
            r"train\.Trainer\.run: 'epochs' must be an int >= 1, got 0",
        ),
        (
            lambda d: sparse().run(d, iterations=0),
            ValueError,
            r"train\.Trainer\.run: 'iterations' must be an int >= 1 or None, got 0",
        ),
        (
            lambda d: sparse().run(d, batch_size=0),
            ValueError,
            r"train\.Trainer\.run: 'batch_size' must be an int >= 1, got 0",
        ),
        (lambda d: sparse().run([]), ValueError, "data is empty"),
        (
            lambda d: train.trainer(mlp(), "categorical_cross_entropy").run(d),
            ValueError,
            "one-hot labels.*sparse_categorical_cross_entropy",
        ),
        (
            lambda d: sparse().run((d[0], d[1].astype("float32"))),
            ValueError,
            "needs integer class labels",
        ),
        (
            lambda d: sparse().run((d[0][:, :3], d[1])),
            ValueError,
            "cannot be applied to a batch of x",
        ),
        (
            lambda d: sparse().early_stopping("validation_loss").run(d),
            ValueError,
            "monitor 'validation_loss' is not produced.*available: loss.*loop.validate",
        ),
        (
            lambda d: sparse().checkpoint("/tmp/x", monitor="val_acc").run(d),
            ValueError,
            "monitor 'val_acc' is not produced by this loop; available: loss, accuracy",
        ),
        (lambda d: sparse().metric("roc_auc").run(d), ValueError, "binary classification"),
        (lambda d: sparse().metric("r2").run(d), ValueError, "needs labels with as many values"),
        (
            lambda d: sparse(optimizer="adamm"),
            ValueError,
            r"train\.Trainer: 'optimizer' must be one of .*adam.* or an optax"
            r"\.GradientTransformation, got str: 'adamm'",
        ),
        (lambda d: train.trainer(mlp(), "xent"), ValueError, "unknown loss 'xent'; allowed"),
        (lambda d: sparse().metric("acc"), ValueError, "unknown metric 'acc'; allowed"),
        (lambda d: sparse().metric("accuracy"), ValueError, "already tracked"),
        (
            lambda d: train.trainer("model", "mse"),
            TypeError,
            r"train\.Trainer: 'model' must be a flax\.nnx\.Module, got str: 'model'",
        ),
        (
            lambda d: sparse().checkpoint("/tmp/x", keep=0),
            ValueError,
            r"train\.CheckpointStore: 'keep' must be an int >= 1, got 0",
        ),
        (
            lambda d: sparse().reduce_lr_on_plateau(factor=2),
            ValueError,
            r"train\.ReduceLROnPlateau: 'factor' must be a number between 0 and 1 \(exclusive\), "
            "got 2",
        ),
        (
            lambda d: sparse().early_stopping(mode="up"),
            ValueError,
            r"train\.EarlyStopping: 'mode' must be one of auto, min, max, got str: 'up'",
        ),
    ],
)
def test_bad_input_fails_before_compiling(data, make, error, message):
    from kino.train import prepare

    before = len(prepare._programs)
    with pytest.raises(error, match=message):
        make(data)
    assert len(prepare._programs) == before


def test_resume_from_a_result_in_memory(data):
    batches = train.batches(*data, batch_size=BATCH)
    first = sparse().run(batches, epochs=2)
    more = sparse().run(batches, epochs=4, resume=first)
    assert (more.state.epoch, more.state.step) == (4, 12)
    assert more.history["epoch"].to_list() == [1, 2, 3, 4]
    with pytest.raises(ValueError, match="already finished epoch 4"):
        sparse().run(batches, epochs=4, resume=more)


def test_data_too_big_for_the_budget_streams_from_the_host_with_the_same_result(data, monkeypatch):
    from kino.train import resident

    batches = train.batches(*data, batch_size=BATCH, shuffle=False)
    on_device = sparse().run(batches, epochs=2)
    assert on_device.data_on_device is True
    monkeypatch.setattr(resident, "free_bytes", lambda device: batches.nbytes)  # budget: half
    chunks = []
    original = Runner._dispatch
    monkeypatch.setattr(Runner, "_dispatch", lambda self, c: chunks.append(c) or original(self, c))
    streamed = sparse().run(batches, epochs=2)
    assert streamed.data_on_device is False
    assert chunks and all(c.ids is None and c.xs.shape == (3, BATCH, 4) for c in chunks)
    for a, b in zip(params_of(on_device.state), params_of(streamed.state), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    assert streamed.history.equals(on_device.history)
    fits = sparse().run(batches, epochs=1, device_budget=1.0)  # a larger budget: it fits again
    assert fits.data_on_device is True
