"""Text tasks' compiled shapes and packed tokens (kino.models.text_program, kino.models.packing).

A task compiles each batch size at its longest length before the first request; other
shapes compile in the background on first need while a larger compiled shape answers,
and packed batches answer as padded ones do.
"""

from __future__ import annotations

import subprocess
import sys
import threading

import jax
import numpy as np
import pytest

from kino.models import load, text_classification, text_embedding
from kino.models.packing import Packed
from tests.models.conftest import TOLERANCE, token_batch

#: Generous: compiling a tiny model on a loaded 2-core machine.
BUDGET_S = 300


@pytest.mark.parametrize("model_type", ["bert", "distilbert"])
def test_packed_encoders_answer_as_padded_ones(tiny, model_type):
    model = load(tiny(model_type, labels=["NO", "YES"], seed=2))
    ids, mask = token_batch()
    padded = np.asarray(model.module(ids, mask))
    layout = Packed(mask, size=int(mask.sum()) + 3)  # with padding slots after the tokens
    np.testing.assert_allclose(np.asarray(model.module(ids, layout)), padded, atol=TOLERANCE)
    encoder = getattr(model.module, model_type)
    hidden = encoder(ids, mask)
    hidden = np.asarray(hidden[0] if isinstance(hidden, tuple) else hidden)
    packed = encoder(ids, layout)
    packed = np.asarray(layout.spread(packed[0] if isinstance(packed, tuple) else packed))
    keep = mask.astype(bool)
    np.testing.assert_allclose(packed[keep], hidden[keep], atol=TOLERANCE)
    assert np.all(packed[~keep] == 0)


def test_a_task_compiles_only_its_batch_sizes_before_the_first_request(tiny):
    task = text_embedding(load(tiny("bert")), batch_size=4, sequence_lengths=(8, 16, 32))
    program = task.program(jax.devices()[0])
    assert sorted(program.compiled) == [(1, 32, 32), (2, 32, 64), (4, 32, 128)]
    assert program.packed
    plain = text_classification(
        load(tiny("bert", labels=["A", "B"])), batch_size=2, sequence_lengths=(8, 16)
    )
    plain.packed = False  # what fill_mask uses: the padded batch, no token buckets
    assert sorted(plain.program(jax.devices()[0]).compiled) == [(1, 16, None), (2, 16, None)]


def test_a_new_shape_is_answered_at_once_in_a_larger_one_and_compiled_in_the_background(tiny):
    task = text_embedding(load(tiny("bert")), batch_size=2, sequence_lengths=(8, 16))
    program = task.program(jax.devices()[0])
    compile_now = program._compile
    release = threading.Event()
    started = threading.Event()

    def held(shape):
        started.set()
        assert release.wait(BUDGET_S)
        compile_now(shape)

    program._compile = held  # the background compile waits until released
    answers: list = []
    runner = threading.Thread(target=lambda: answers.append(task.run(["the cat sat"])))
    runner.start()
    runner.join(BUDGET_S)
    assert answers, "the request waited for a compile"
    assert started.wait(BUDGET_S)
    want = program.shape_for(1, longest=5, tokens=5)  # [CLS] the cat sat [SEP]
    assert want == (1, 8, 5) and want not in program.compiled
    release.set()
    program.wait()
    assert want in program.compiled
    again = task.run(["the cat sat"])  # now in its own shape
    np.testing.assert_allclose(again[0], answers[0][0], atol=TOLERANCE)


def test_a_batch_uses_the_smallest_compiled_shape_that_holds_it(tiny):
    task = text_embedding(load(tiny("bert")), batch_size=4, sequence_lengths=(8, 16))
    program = task.program(jax.devices()[0])
    texts = ["the cat sat", "the cat sat on the mat and the dog sat on the mat"]
    counts = [len(task.tokenizer.encode(t).ids) for t in texts]
    assert 8 < max(counts) <= 16
    first = task.run(texts)
    program.wait()
    shape = program.shape_for(2, longest=max(counts), tokens=sum(counts))
    assert shape[:2] == (2, 16) and sum(counts) <= shape[2] < 2 * 16  # fewer than padded
    assert shape in program.compiled
    used = []
    compiled = program.compiled[shape]
    program.compiled[shape] = lambda *args: used.append(shape) or compiled(*args)
    second = task.run(texts)
    assert used == [shape]
    np.testing.assert_allclose(np.stack(second), np.stack(first), atol=TOLERANCE)


def test_the_interpreter_exits_cleanly_while_shapes_compile_in_the_background(tiny):
    # XLA aborts the process ("terminate called ...") if a daemon thread is still
    # compiling when the interpreter ends; kino finishes or drops those compiles first.
    folder = tiny("bert")
    script = (
        "from kino.models import load, text_embedding\n"
        f"task = text_embedding(load({str(folder)!r}), batch_size=8,"
        " sequence_lengths=(8, 16, 32, 64))\n"
        "words = 'the cat sat on the mat and the dog ran'.split()\n"
        "for n in range(1, 9):\n"  # each batch queues shapes of its own in the background
        "    task.run([' '.join(words[:k]) for k in range(1, n + 1)])\n"
        "print('ran', flush=True)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=BUDGET_S
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "ran" in done.stdout
    assert "terminate called" not in done.stderr, done.stderr[-2000:]
