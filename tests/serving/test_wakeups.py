"""Waiting threads of one batch are woken along chains (the worker wakes the first of each,
each woken caller the next of its chain), and a caller that stops waiting early never
strands the rest."""

from __future__ import annotations

import threading
import time

import pytest

from kino.serving.tickets import CHAINS, WaitTicket
from tests.conftest import budget


def queue_callers(h, idents, call):
    """Start one thread per ident calling ``call(ident)``, queued in this order behind the
    held worker; returns the threads and their outcomes {ident: answer or error}."""
    outcomes = {}

    def caller(ident):
        try:
            outcomes[ident] = call(ident)
        except BaseException as error:  # KeyboardInterrupt too: recorded, not lost
            outcomes[ident] = error

    threads = []
    for n, ident in enumerate(idents, start=1):
        threads.append(threading.Thread(target=caller, args=(ident,), name=f"caller-{ident}"))
        threads[-1].start()
        end = time.monotonic() + budget(60)
        while h.server.queue_depth < n and ident not in outcomes:  # queued in this order
            assert time.monotonic() < end, f"caller {ident} was never queued"
            threads[-1].join(0.001)
    return threads, outcomes


def join(threads):
    for t in threads:
        t.join(budget(120))
    assert not any(t.is_alive() for t in threads), "a caller was never woken"


def test_the_worker_wakes_the_first_waiting_thread_of_each_chain_only(held, monkeypatch):
    wakes = []
    deliver = WaitTicket.deliver

    def counted(self):
        wakes.append(threading.current_thread().name)
        deliver(self)

    monkeypatch.setattr(WaitTicket, "deliver", counted)
    h = held()
    threads, outcomes = queue_callers(h, [1, 2, 3, 4], lambda i: h.server.predict((i, 0)))
    h.release()
    join(threads)
    assert outcomes == {1: 1, 2: 2, 3: 3, 4: 4}
    assert h.server.stats.snapshot(0)["batch_sizes"][4] == 1  # the four in one batch
    assert CHAINS < 4
    assert wakes == ["kino-serving-0"] * CHAINS  # the callers woke the rest


@pytest.mark.parametrize("first", [True, False])
def test_a_caller_that_stops_waiting_still_wakes_the_next(held, monkeypatch, first):
    # Callers 1 and 2 are woken by the worker, each the first of a chain that goes on to
    # 3 and 4. One of them "stops waiting" as its answer arrives: interrupted, or its
    # deadline passing.
    stopping = {"caller-1"} if first else {"caller-2"}
    wait = WaitTicket.wait

    def interrupted(self, timeout):
        woken = wait(self, timeout)
        if threading.current_thread().name in stopping:
            if first:
                raise KeyboardInterrupt
            return False  # the deadline passed as the worker answered
        return woken

    monkeypatch.setattr(WaitTicket, "wait", interrupted)
    h = held()
    threads, outcomes = queue_callers(
        h, [1, 2, 3, 4], lambda i: h.server.predict((i, 0), timeout=budget(300))
    )
    h.release()
    join(threads)
    if first:
        assert isinstance(outcomes.pop(1), KeyboardInterrupt)
        assert outcomes == {2: 2, 3: 3, 4: 4}
    else:  # answered by the worker as its wait ended: the answer, not a deadline error
        assert outcomes == {1: 1, 2: 2, 3: 3, 4: 4}


def test_a_caller_interrupted_before_its_batch_runs_is_skipped_and_the_rest_answered(
    held, monkeypatch
):
    wait = WaitTicket.wait

    def interrupted(self, timeout):
        if threading.current_thread().name == "caller-2":
            raise KeyboardInterrupt  # before its batch ran: no worker may answer it now
        return wait(self, timeout)

    monkeypatch.setattr(WaitTicket, "wait", interrupted)
    h = held()
    threads, outcomes = queue_callers(h, [1, 2, 3, 4], lambda i: h.server.predict((i, 0)))
    threads[1].join(budget(60))
    h.release()
    join(threads)
    assert isinstance(outcomes.pop(2), KeyboardInterrupt)
    assert outcomes == {1: 1, 3: 3, 4: 4}
    assert h.server.stats.snapshot(0)["errors"] == {"cancelled": 1}
