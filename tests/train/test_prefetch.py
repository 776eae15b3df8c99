"""#19 item 2: the host feed is overlapped: the next dispatches' batches are asked for
while the current one computes (events, not timing), bounded, and the data's own
exception still reaches the user unchanged."""

import threading

import pytest

from kino import train
from kino.train import prefetch
from tests.conftest import budget
from tests.train.tiny import BATCH, blobs, mlp

WAIT = 60  # generous: a missing overlap fails by timing out here, never by a fixed sleep


class Recorded:
    """A re-iterable stream of batches (no __len__) that records which batch was asked for."""

    def __init__(self, n=8, fail_at=None, error=None):
        self.x, self.y = blobs(n * BATCH)
        self.n = n
        self.asked: list[int] = []
        self.furthest = -1
        self.events = [threading.Event() for _ in range(n + 1)]
        self.fail_at, self.error = fail_at, error
        self.threads: set[str] = set()

    def __iter__(self):
        for event in self.events:  # each pass (epoch) is watched afresh
            event.clear()
        self.furthest = -1
        for i in range(self.n):
            self.threads.add(threading.current_thread().name)
            self.asked.append(i)
            self.furthest = i
            self.events[i].set()
            if i == self.fail_at:
                raise self.error
            yield self.x[i * BATCH : (i + 1) * BATCH], self.y[i * BATCH : (i + 1) * BATCH]
        self.events[self.n].set()


def sparse():
    return train.trainer(mlp(), "sparse_categorical_cross_entropy", "adam")


def no_feed_thread_left() -> bool:
    return not [t for t in threading.enumerate() if t.name == "kino-feed"]


def test_the_next_dispatches_are_asked_for_before_this_ones_results_are_fetched():
    data = Recorded()
    lead = []

    def on_step(s):
        done = s.iteration - 1  # the epoch's dispatch whose results this handler receives
        target = min(done + 2, data.n)  # two ahead: only a feed on its own thread gets there
        assert data.events[target].wait(budget(WAIT)), f"batch {target} never asked for"
        lead.append(data.furthest - done)

    loop = sparse().handle("iteration_completed", on_step)
    result = loop.run(data, epochs=2, steps_per_dispatch=1)
    assert result.status == "completed", result.reason
    assert result.data_on_device is False and result.step == 16
    assert "kino-feed" in data.threads  # (the main thread reads only the first batch's shapes)
    # bounded: never more than the queue's depth beyond the dispatch being issued
    assert max(lead) <= 2 + prefetch.DEPTH
    assert no_feed_thread_left()


def test_the_datas_own_exception_reaches_the_user_unchanged():
    error = OSError("the disk went away")
    data = Recorded(fail_at=5, error=error)
    with pytest.raises(OSError) as raised:
        sparse().run(data, epochs=1, steps_per_dispatch=1)
    assert raised.value is error and str(raised.value) == "the disk went away"
    assert no_feed_thread_left()


def test_an_early_end_stops_the_feed_before_the_data_is_read_again():
    data = Recorded(n=8)
    loop = sparse().handle(
        "iteration_completed", lambda s: "halt_epoch" if s.iteration == 2 else None
    )
    result = loop.run(data, epochs=3, steps_per_dispatch=1)
    # the halt from dispatch 2's results takes effect at the next boundary: 3 an epoch
    assert result.status == "completed" and result.step == 9
    starts = [i for i, b in enumerate(data.asked) if b == 0][1:]  # after the shape probe
    assert len(starts) == 3
    for a, b in zip(starts, [*starts[1:], len(data.asked)], strict=True):
        assert b - a <= 4 + prefetch.DEPTH < 8  # the feed stopped within its bound each epoch
    assert no_feed_thread_left()


def test_host_fed_validation_is_prefetched_too():
    data = Recorded(n=3)
    result = sparse().validate(data).run(blobs(), epochs=1, batch_size=BATCH)
    assert "validation_loss" in result.history.columns
    assert "kino-feed" in data.threads
