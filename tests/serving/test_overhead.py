"""kino.serving's work per call, counted (not timed): what a batch and a caller cost in
Python function calls, so an overhead that grows with the rows or the model shows up."""

from __future__ import annotations

import cProfile
import pstats

import jax
import numpy as np
from flax import nnx

from kino.serving import Serving
from kino.serving.tickets import Failed, Ticket


def calls(fn, *args):
    """``fn(*args)``'s result and its Python-level calls on this thread: {(file, name): n}."""
    profile = cProfile.Profile()
    result = profile.runcall(fn, *args)
    stats = pstats.Stats(profile).stats  # type: ignore[attr-defined]
    return result, {(f, name): n for (f, _, name), (_, n, *_) in stats.items()}


def test_a_batch_runs_without_walking_the_models_parameter_tree():
    model = nnx.Sequential(
        nnx.Linear(4, 8, rngs=nnx.Rngs(0)), nnx.relu, nnx.Linear(8, 2, rngs=nnx.Rngs(1))
    )
    program = Serving(model, batch_size=4, example=np.zeros(4, np.float32)).program(
        jax.devices()[0]
    )
    block = np.random.default_rng(0).normal(size=(4, 4)).astype(np.float32)
    program.run([[block]])  # the first call sets up jax's fast path
    outputs, counted = calls(program.run, [[block]])
    np.testing.assert_allclose(outputs.rows(0, 4), np.asarray(model(block)), rtol=1e-5)
    flax = {key: n for key, n in counted.items() if "/flax/" in key[0]}
    assert not flax, flax  # the module's state was flattened once, when the server started


def test_predict_many_costs_its_caller_the_same_python_calls_for_any_number_of_rows(spec, servers):
    server = spec.start(max_queue=10_000)
    servers.append(server)
    counts = []
    for n in (16, 4096):
        block = np.arange(2 * n, dtype=np.float32).reshape(n, 2)
        answers, counted = calls(server.predict_many, block)
        np.testing.assert_allclose(np.stack(answers), block * 3.0 + 1.0)
        counts.append(sum(counted.values()))
    assert counts[1] == counts[0], counts  # nothing per row on the caller's thread


def test_a_ticket_counts_its_failed_slots_and_answers_them_in_place():
    ticket = Ticket(5, None)
    ticket.fill(0, ["a"])
    assert ticket.failures == 0
    ticket.fill(1, ["b", Failed(KeyError("k"))], failures=1)
    ticket.fail(3, 1, ValueError("v"))
    assert ticket.failures == 2
    ticket.fail_rest(TimeoutError("t"))
    assert ticket.failures == 3
    answers = ticket.answers(return_exceptions=True)
    assert answers[:2] == ["a", "b"]
    assert [type(a) for a in answers[2:]] == [KeyError, ValueError, TimeoutError]
    clean = Ticket(2, None)
    clean.fill(0, [1, 2])
    assert clean.answers(return_exceptions=False) == [1, 2]


def test_a_predict_call_costs_its_caller_few_python_calls(spec, servers):
    server = spec.start()
    servers.append(server)
    row = np.array([1.0, 2.0], np.float32)
    server.predict(row)

    def many():
        return [server.predict(row) for _ in range(64)]

    answers, counted = calls(many)
    np.testing.assert_allclose(np.stack(answers), np.tile(row * 3.0 + 1.0, (64, 1)))
    python = sum(n for (file, _), n in counted.items() if file != "~") - 1  # less many()
    assert python / 64 <= 10, sorted(counted.items(), key=lambda kv: -kv[1])[:12]
