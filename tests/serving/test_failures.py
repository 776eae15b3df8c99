"""What callers of a kino.serving server get under stress: a full queue, deadlines,
cancellations, failures in the model or in pre/post-processing, and a property test that
every accepted request gets exactly one answer, its own."""

from __future__ import annotations

import asyncio
import threading

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kino.serving import DeadlineExceeded, InvalidInput, Overloaded
from tests.conftest import budget
from tests.serving.stress import FAIL_BATCH, FAIL_POST, FAIL_PRE, SPEC


def test_a_full_queue_answers_at_once_with_overloaded(held):
    h = held(max_queue=3)
    queued = [h.server.submit((i, 0)) for i in range(1, 4)]
    with pytest.raises(Overloaded, match=r"Server.predict: the queue is full .*max_queue=3"):
        h.server.predict((9, 0))  # refused without waiting for the held worker
    h.release()
    assert [f.result(timeout=budget(60)) for f in queued] == [1, 2, 3]
    assert h.server.stats.snapshot(0)["errors"] == {"overloaded": 1}


def test_predict_many_queues_what_fits_and_refuses_the_rest_in_place(held):
    h = held(max_queue=3)
    answers = []
    caller = threading.Thread(
        target=lambda: answers.extend(
            h.server.predict_many([(i, 0) for i in range(1, 6)], return_exceptions=True)
        )
    )
    caller.start()
    while h.server.queue_depth < 3:  # three queued behind the held batch, two refused
        caller.join(0.01)
    h.release()
    caller.join(budget(60))
    assert answers[:3] == [1, 2, 3]
    assert [type(a) for a in answers[3:]] == [Overloaded, Overloaded]
    assert h.server.stats.snapshot(0)["errors"] == {"overloaded": 2}


def test_a_request_past_its_deadline_in_the_queue_is_answered_with_the_deadline(held):
    h = held()
    late = h.server.submit((1, 0), timeout=0.01)
    with pytest.raises(DeadlineExceeded, match=r"deadline of 0.02 s \(timeout=0.02\)"):
        h.server.predict((2, 0), timeout=0.02)  # its caller waits no longer than that
    h.release()
    error = late.exception(timeout=budget(60))  # expired in the queue: never computed
    assert isinstance(error, DeadlineExceeded) and "deadline of 0.01 s" in str(error)
    assert h.first.result(timeout=budget(60)) == 0
    snap = h.server.stats.snapshot(0)
    assert snap["errors"] == {"deadline": 2}
    assert sum(snap["batch_sizes"].values()) == 1  # only the held batch ran


def test_a_server_default_timeout_applies_to_every_request(held):
    h = held(timeout=0.01)
    with pytest.raises(DeadlineExceeded, match=r"deadline of 0\.01 s"):
        h.server.predict((1, 0))


def test_a_cancelled_future_is_dropped_before_compute(held):
    h = held()
    dropped = h.server.submit((1, 0))
    kept = h.server.submit((2, 0))
    assert dropped.cancel()
    h.release()
    assert kept.result(timeout=budget(60)) == 2
    h.server.stop()
    snap = h.server.stats.snapshot(0)
    assert snap["errors"] == {"cancelled": 1}
    assert sum(size * n for size, n in snap["batch_sizes"].items()) == 2  # first and kept


def test_a_cancelled_task_cancels_its_request_without_blocking_the_loop(held):
    h = held()

    async def scenario():
        task = asyncio.ensure_future(h.server.apredict((1, 0)))
        other = asyncio.ensure_future(h.server.apredict((2, 0)))
        ticks = 0
        while h.server.queue_depth < 2:  # the loop keeps running while both wait
            ticks += 1
            await asyncio.sleep(0)
        task.cancel()
        await asyncio.sleep(0)
        h.release()
        with pytest.raises(asyncio.CancelledError):
            await task
        return await other, ticks

    answer, ticks = asyncio.run(scenario())
    assert answer == 2 and ticks >= 1
    h.server.stop()
    assert h.server.stats.snapshot(0)["errors"] == {"cancelled": 1}


def test_an_exception_in_the_model_fails_only_its_batch(held):
    h = held()
    batch = [h.server.submit((i, FAIL_BATCH if i == 2 else 0)) for i in range(1, 5)]
    h.release()
    for future in batch:  # the four queued requests formed one batch
        assert "injected failure in the model" in str(future.exception(timeout=budget(60)))
    assert h.server.predict_many([(i, 0) for i in range(5, 9)]) == [5, 6, 7, 8]


def test_a_post_processing_error_fails_only_its_request(held):
    h = held()
    batch = [h.server.submit((i, FAIL_POST if i == 3 else 0)) for i in range(1, 5)]
    h.release()
    answers = [f.exception(timeout=budget(60)) or f.result() for f in batch]
    assert answers[:2] == [1, 2] and answers[3] == 4
    assert isinstance(answers[2], RuntimeError) and "failed on 3" in str(answers[2])


def test_a_pre_processing_error_fails_only_the_bad_request():
    server = SPEC.start()
    try:
        answers = server.predict_many([(1, 0), (2, FAIL_PRE), (3, 0)], return_exceptions=True)
        assert answers[0] == 1 and answers[2] == 3
        assert isinstance(answers[1], InvalidInput)
        assert "preprocess refused the request: ValueError('request 2 is malformed')" in str(
            answers[1]
        )
        with pytest.raises(InvalidInput, match="request 5 is malformed"):
            server.predict_many([(4, 0), (5, FAIL_PRE)])
    finally:
        server.stop()


PLAN = st.lists(
    st.tuples(
        st.sampled_from([0, 0, 0, 0, FAIL_POST, FAIL_BATCH, FAIL_PRE]),  # failure injected
        st.booleans(),  # cancel right after submitting
        st.sampled_from([None, None, 0.0005, 0.05, 5.0]),  # the request's deadline
        st.booleans(),  # wait with predict (the caller enforces the deadline) or a future
    ),
    min_size=1,
    max_size=120,
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plan=PLAN, callers=st.integers(1, 12), max_queue=st.sampled_from([4, 32, 1024]))
def test_every_accepted_request_gets_exactly_one_answer_its_own(plan, callers, max_queue):
    server = SPEC.start(max_queue=max_queue)
    outcome = {}
    settled = {}  # id -> how many times its future was answered
    cancelled = set()
    thread_errors = []
    previous_hook = threading.excepthook
    threading.excepthook = lambda args: thread_errors.append(args.exc_value)

    def count(ident):
        def done(_future):
            settled[ident] = settled.get(ident, 0) + 1

        return done

    def caller(k):
        for ident in range(k, len(plan), callers):
            flag, cancel, timeout, wait = plan[ident]
            try:
                if wait and not cancel:
                    outcome[ident] = ("answer", server.predict((ident, flag), timeout=timeout))
                    continue
                future = server.submit((ident, flag), timeout=timeout)
            except Exception as error:
                outcome[ident] = ("refused" if isinstance(error, Overloaded | InvalidInput)
                                  else "error", error)  # fmt: skip
                continue
            future.add_done_callback(count(ident))
            if cancel and future.cancel():
                cancelled.add(ident)
            outcome[ident] = ("future", future)

    threads = [threading.Thread(target=caller, args=(k,)) for k in range(callers)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(budget(300))
        server.stop(timeout=budget(120))
    except BaseException:
        server.stop(drain=False)
        raise
    finally:
        threading.excepthook = previous_hook

    assert not thread_errors, thread_errors  # no worker ever tried to answer twice
    assert sorted(outcome) == list(range(len(plan)))
    batch_failed = any(flag == FAIL_BATCH for flag, *_ in plan)
    for ident, (kind, value) in outcome.items():
        flag, _cancel, timeout, _wait = plan[ident]
        if kind == "future":
            assert value.done(), f"request {ident} has no answer after stop()"
            assert settled.get(ident) == 1, (ident, settled.get(ident))
            if ident in cancelled:
                assert value.cancelled()
                continue
            error = value.exception()
            if error is None:
                kind, value = "answer", value.result()
            else:
                kind, value = "error", error
        if kind == "answer":
            assert value == ident, f"request {ident} got {value}"  # its own answer
            assert flag == 0
        elif kind == "refused":
            assert isinstance(value, InvalidInput) == (flag == FAIL_PRE) or isinstance(
                value, Overloaded
            )
        else:
            if isinstance(value, DeadlineExceeded):
                assert timeout is not None
                assert f"deadline of {timeout:g} s" in str(value)
            elif "injected failure in the model" in str(value):
                assert batch_failed
            else:
                assert flag == FAIL_POST and f"failed on {ident}" in str(value), value
        if flag == FAIL_PRE:
            assert kind == "refused" and isinstance(value, InvalidInput)
    snap = server.stats.snapshot(0)
    accepted = sum(kind != "refused" for kind, _ in outcome.values())
    accounted = snap["answered"] + sum(
        n for kind, n in snap["errors"].items() if kind not in ("invalid", "overloaded")
    )
    assert accounted == accepted  # the server's own count: one answer per accepted request
