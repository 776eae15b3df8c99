"""kino.models.generate: greedy and sampled decoding with the cache, bucketed, compiled once."""

from __future__ import annotations

import numpy as np
import pytest
from flax import nnx

from kino.models import generate as gen
from kino.models import gpt2

VOCAB = 37


@pytest.fixture(scope="module")
def lm():
    config = {
        "architectures": ["GPT2LMHeadModel"], "vocab_size": VOCAB, "n_positions": 64,
        "n_embd": 16, "n_layer": 2, "n_head": 2,
    }  # fmt: skip
    return gpt2.build(config, dtype="float32", rngs=nnx.Rngs(0))


def greedy_without_cache(model, prompt, n):
    """The reference: a full forward over the whole sequence for every new token."""
    ids = list(prompt)
    for _ in range(n):
        ids.append(int(np.argmax(np.asarray(model(np.array([ids])))[0, -1])))
    return ids[len(prompt) :]


def test_greedy_equals_full_forward_decoding_for_prompts_of_several_lengths(lm):
    prompts = [[3, 4, 5], [9], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17]]
    got = gen.generate(lm, prompts, max_new_tokens=6)
    assert got == [greedy_without_cache(lm, p, 6) for p in prompts]
    assert len(set(map(tuple, got))) == 3


def test_calls_within_one_bucket_compile_once(lm):
    g = gen.Generator(lm)
    g([[1, 2, 3]], gen.Options(max_new_tokens=4))
    g([[1] * 11, [2] * 5], gen.Options(max_new_tokens=9))  # batch 2, lengths up to 16
    g([[5] * 16, [6]], gen.Options(max_new_tokens=16, seed=3))
    assert g.compilations == 2  # batch bucket 1, then batch bucket 2
    g([[7] * 9, [8] * 2], gen.Options(max_new_tokens=2))
    assert g.compilations == 2
    g([[1] * 17], gen.Options(max_new_tokens=4))  # the next length bucket
    assert g.compilations == 3
    g([[1] * 2], gen.Options(max_new_tokens=4, temperature=0.7, top_p=0.9))  # sampling
    g([[1] * 3], gen.Options(max_new_tokens=5, temperature=1.3, top_p=0.5, seed=9))
    assert g.compilations == 4  # temperature and top_p are arguments, not constants


def test_sampling_is_reproducible_by_seed_and_independent_of_the_batch(lm):
    options = {"max_new_tokens": 12, "temperature": 1.5}
    a = gen.generate(lm, [[1, 2]], seed=11, **options)
    assert a == gen.generate(lm, [[1, 2]], seed=11, **options)
    assert a != gen.generate(lm, [[1, 2]], seed=12, **options)
    batched = gen.generate(lm, [[5, 6, 7], [1, 2], [8]], seed=11, **options)
    assert batched[1] == a[0]
    assert a[0] != greedy_without_cache(lm, [1, 2], 12)


def test_top_k_keeps_each_token_among_the_k_most_likely(lm):
    prompt = [4, 2]
    tokens = gen.generate(lm, [prompt], max_new_tokens=10, temperature=5.0, top_k=3, seed=1)[0]
    ids = list(prompt)
    for token in tokens:
        logits = np.asarray(lm(np.array([ids])))[0, -1]
        assert token in np.argsort(logits)[-3:]
        ids.append(token)
    one = gen.generate(lm, [prompt], max_new_tokens=6, temperature=5.0, top_k=1, seed=2)
    tiny_p = gen.generate(lm, [prompt], max_new_tokens=6, temperature=5.0, top_p=1e-6, seed=2)
    assert one == tiny_p == [greedy_without_cache(lm, prompt, 6)]


def test_top_p_keeps_the_smallest_set_reaching_p():
    import jax
    import jax.numpy as jnp

    logits = jnp.log(jnp.array([[0.5, 0.3, 0.15, 0.05]]))
    keys = jax.random.split(jax.random.key(0), 400)
    seen = {
        int(t)
        for t in jax.vmap(
            lambda k: gen.pick(logits, k[None], 1.0, 0.75, greedy=False, top_k=0, nucleus=True)
        )(keys).ravel()
    }
    assert seen == {0, 1}  # 0.5 + 0.3 reaches 0.75; 0.15 and 0.05 never drawn


def test_generation_stops_at_eos_and_keeps_it(lm):
    first = greedy_without_cache(lm, [3, 3], 1)[0]
    assert gen.generate(lm, [[3, 3]], max_new_tokens=8, eos_token_id=first) == [[first]]
    steps = list(gen.stream(lm, [[3, 3], [1]], max_new_tokens=8, eos_token_id=first))
    assert steps[0][0] == first and all(step[0] is None for step in steps[1:])
    assert [s[1] for s in steps if s[1] is not None] == gen.generate(
        lm, [[1]], max_new_tokens=8, eos_token_id=first
    )[0]


@pytest.mark.parametrize("options", [{}, {"temperature": 0.9, "top_k": 5, "seed": 4}])
def test_stream_yields_the_tokens_generate_returns(lm, options):
    prompts = [[1, 2, 3], [7]]
    steps = list(gen.stream(lm, prompts, max_new_tokens=7, **options))
    assert len(steps) == 7
    assert [[s[i] for s in steps] for i in range(2)] == gen.generate(
        lm, prompts, max_new_tokens=7, **options
    )


def test_bad_arguments_name_the_argument(lm):
    with pytest.raises(ValueError, match="'max_new_tokens' must be at most 54 for a prompt of 10"):
        gen.generate(lm, [[1] * 10], max_new_tokens=60)
    with pytest.raises(TypeError, match="'prompts' must be a non-empty list of token id lists"):
        gen.generate(lm, "hello")
    with pytest.raises(TypeError, match="'prompts' must be lists of at least one int token id"):
        gen.generate(lm, [[]])
    with pytest.raises(ValueError, match="'prompts' must be token ids >= 0"):
        gen.stream(lm, [[1, -2]])  # checked at the call, before any step
    with pytest.raises(ValueError, match="'temperature' must be a finite number from 0 to 100"):
        gen.generate(lm, [[1]], temperature=-1)
    with pytest.raises(TypeError, match="'beams' must be one of max_new_tokens"):
        gen.generate(lm, [[1]], beams=4)
    with pytest.raises(TypeError, match="'model' must be a causal language model"):
        gen.generate(nnx.Linear(2, 2, rngs=nnx.Rngs(0)), [[1]])


# text_generation: the task as a Serving ------------------------------------------------
@pytest.fixture(scope="module")
def tiny_gpt2():
    return gpt2.example(seed=3)


@pytest.fixture(scope="module")
def sampled_task(tiny_gpt2):
    from kino.models.tasks_generate import text_generation

    return text_generation(
        tiny_gpt2, max_new_tokens=6, temperature=1.2, top_k=40, seed=5, batch_size=2,
        prompt_lengths=(8, 32),
    )  # fmt: skip


def test_greedy_task_answers_what_generate_makes_from_the_token_ids(tiny_gpt2):
    from kino.models.tasks_generate import text_generation

    task = text_generation(tiny_gpt2, max_new_tokens=5, batch_size=2, prompt_lengths=(8, 32))
    prompts = ["The cat", "A much longer prompt than eight bytes", "x"]
    answers = task.run(prompts)
    ids = [tiny_gpt2.tokenizer.encode(p).ids[-32:] for p in prompts]  # the longest bucket
    expected = gen.generate(tiny_gpt2.module, ids, max_new_tokens=5, eos_token_id=256)
    assert [a["token_ids"] for a in answers] == expected
    assert [a["text"] for a in answers] == [tiny_gpt2.tokenizer.decode(t) for t in expected]


def test_sampled_task_inline_started_and_streamed_agree(sampled_task):
    requests = ["Once upon", {"prompt": "Once upon", "seed": 99}, "a time"]
    inline = sampled_task.run(requests)
    assert inline[0] != inline[1]  # the request's own seed
    server = sampled_task.start()
    try:
        served = server.predict_many(requests)
    finally:
        server.stop()
    assert served == inline
    for request, answer in zip(requests, inline, strict=True):
        assert "".join(sampled_task.stream(request)) == answer["text"]


def test_stream_yields_pieces_before_the_generation_ends(sampled_task):
    steps = sampled_task.stream("Once upon")
    first = next(steps)  # one piece is ready while the rest is still to be made
    assert isinstance(first, str) and first
    rest = list(steps)
    assert first + "".join(rest) == sampled_task.run(["Once upon"])[0]["text"]


def test_a_prompt_longer_than_the_buckets_keeps_its_last_tokens(sampled_task):
    long = "word " * 20 + "Once upon"
    tail = sampled_task.tokenizer.decode(sampled_task.tokenizer.encode(long).ids[-32:])
    assert sampled_task.run([long]) == sampled_task.run([tail])


def test_text_generation_refuses_bad_arguments(tiny_gpt2, sampled_task):
    from kino.models import resnet
    from kino.models.tasks_generate import text_generation
    from kino.serving import InvalidInput

    with pytest.raises(TypeError, match="'model' must be a causal language model"):
        text_generation(resnet.example())
    with pytest.raises(ValueError, match="'max_new_tokens' must be an int from 1 to 4096"):
        text_generation(tiny_gpt2, max_new_tokens=0)
    with pytest.raises(ValueError, match=r"'sequence_lengths' must be ints from 1 to 118"):
        text_generation(tiny_gpt2, max_new_tokens=10, prompt_lengths=(200,))
    with pytest.raises(InvalidInput, match="'prompt' must be a str"):
        sampled_task.run([42])
    with pytest.raises(TypeError, match="'request' must be a str or"):
        sampled_task.stream({"text": "hi"})


# the widget ------------------------------------------------------------------------------
def test_generated_text_streams_into_the_widget_as_it_is_made(comm_log, sampled_task):
    from kino.models.view_media import TextGenerator
    from tests.conftest import budget

    box = TextGenerator(sampled_task)
    shown = []  # each value the output syncs to the page
    box.output.observe(lambda change: shown.append(change["new"]), names="value")
    box.prompt.update("Once upon")
    assert box.form.submit()
    assert box.wait(timeout=budget(120))
    expected = sampled_task.run(["Once upon"])[0]
    assert box.output.value == shown[-1] == expected["text"]
    assert box.status.value == f"{len(expected['token_ids'])} tokens"
    assert not box.form.disabled
    assert comm_log.updates("value")  # the page is told


def test_each_piece_reaches_the_page_when_pieces_come_slower_than_the_interval(
    comm_log, sampled_task, monkeypatch
):
    from kino.models import view_media

    monkeypatch.setattr(view_media, "STREAM_INTERVAL", 0.0)  # every piece is sent at once
    box = view_media.TextGenerator(sampled_task)
    shown = []
    box.output.observe(lambda change: shown.append(change["new"]), names="value")
    pieces = list(sampled_task.stream("a time"))
    assert len(pieces) > 1
    box.generate("a time")
    prefixes = ["".join(pieces[: i + 1]) for i in range(len(pieces))]
    assert [t for t in shown if t] == prefixes  # grew piece by piece, in order
