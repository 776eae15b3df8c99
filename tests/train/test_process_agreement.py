"""Under jax.distributed, process 0's handler outcome reaches every process once per dispatch.

Two processes are simulated in one: ``kino.train.events`` is told it is process 0 (or 1)
of 2, and ``shared_action`` (the broadcast) is replaced by a recorder that plays process
0's part. The multi-process runs themselves are in test_distributed.py.
"""

import pytest

from kino import train
from kino.train import events
from tests.train.tiny import blobs, mlp

STEPS, K = 6, 3  # 48 examples in batches of 8: 6 steps an epoch, 2 dispatches of 3


def as_process(monkeypatch, index: int, answers=None):
    """Pretend to be process ``index`` of 2; returns the list of actions broadcast.

    ``answers``: what process 0 sent at each broadcast (process 1's view); by default
    each broadcast returns the action given, as it does in process 0.
    """
    sent = []

    def shared_action(action):
        sent.append(action)
        return action if answers is None else answers[len(sent) - 1]

    monkeypatch.setattr(events, "process_count", lambda: 2)
    monkeypatch.setattr(events, "process_index", lambda: index)
    monkeypatch.setattr(events, "shared_action", shared_action)
    return sent


def run(handler=None, epochs=2):
    loop = train.trainer(mlp(), "sparse_categorical_cross_entropy", "adam").metric("accuracy")
    if handler is not None:
        loop.handle("iteration_completed", handler)
    return loop.run(train.batches(*blobs(), batch_size=8), epochs=epochs, steps_per_dispatch=K)


def test_process_zero_broadcasts_once_per_dispatch_not_per_step(monkeypatch):
    sent = as_process(monkeypatch, 0)
    seen = []
    result = run(lambda s: seen.append(s.step))
    assert result.status == "completed"
    assert seen == list(range(1, 2 * STEPS + 1)), "every step still reaches the handler"
    assert sent == [None] * (2 * STEPS // K), "one broadcast per dispatch of 3 steps"


def test_a_halt_in_process_zero_is_one_broadcast_at_the_dispatch_end(monkeypatch):
    sent = as_process(monkeypatch, 0)
    result = run(lambda s: "halt_loop" if s.step == 2 else None, epochs=3)
    assert result.status == "halted" and result.state.step < 3 * STEPS
    assert sent[0] == "halt_loop" and len(sent) <= 2, sent


def test_process_one_halts_where_process_zero_said_and_runs_no_handler(monkeypatch):
    sent = as_process(monkeypatch, 1, answers=[None, "halt_loop", None, None])
    ran = []
    result = run(lambda s: ran.append(s.step), epochs=3)
    assert ran == [], "a widget's or printer's handler runs in process 0 only"
    assert (result.status, result.reason) == ("halted", "a handler in process 0")
    assert len(sent) in (2, 3) and result.state.epoch == 0


@pytest.mark.parametrize("index", [0, 1])
def test_a_handler_failing_in_process_zero_fails_both_with_one_broadcast(monkeypatch, index):
    sent = as_process(monkeypatch, index, answers=None if index == 0 else ["failed"])

    def breaks(s):
        if s.step == 2:
            raise RuntimeError("the dashboard broke")

    result = run(breaks)
    assert result.status == "failed"
    assert sent == (["failed"] if index == 0 else [None]), sent
    if index == 0:
        assert "the dashboard broke" in result.reason
    else:
        assert "failed in process 0" in result.reason
