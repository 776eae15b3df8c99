"""Text tasks on tiny random models: the answers' shape and their agreement with the module."""

from __future__ import annotations

import numpy as np
import pytest

from kino.models import fill_mask, load, text_classification, text_embedding
from kino.models.testing import vocabulary
from kino.serving import Serving
from kino.serving.errors import InvalidInput
from tests.models.conftest import TOLERANCE

TEXTS = ["i love this movie !", "this film was awful", "the cat sat on the mat ."]


def module_inputs(model, texts):
    encodings = [model.tokenizer.encode(t) for t in texts]
    width = max(len(e.ids) for e in encodings)
    ids = np.array([e.ids + [0] * (width - len(e.ids)) for e in encodings], np.int32)
    return ids, (ids > 0).astype(np.int32)


@pytest.mark.parametrize("model_type", ["bert", "distilbert"])
def test_classification_answers_every_label_best_first_with_the_module_probabilities(
    tiny, model_type
):
    model = load(tiny(model_type, labels=["NEGATIVE", "NEUTRAL", "POSITIVE"], seed=3))
    task = text_classification(model, batch_size=2, sequence_lengths=(8, 16))
    assert isinstance(task, Serving)
    answers = task.run(TEXTS)
    logits = np.asarray(model.module(*module_inputs(model, TEXTS)), np.float64)
    expected = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    for answer, probabilities in zip(answers, expected, strict=True):
        assert [p["label"] for p in answer] == [
            model.labels[i] for i in np.argsort(-probabilities, kind="stable")
        ]
        scores = [p["score"] for p in answer]
        assert scores == sorted(scores, reverse=True)
        np.testing.assert_allclose(scores, np.sort(probabilities)[::-1], atol=TOLERANCE)
    top = text_classification(model, top_k=1, sequence_lengths=16).run(TEXTS[:1])[0]
    assert len(top) == 1 and top[0]["label"] == answers[0][0]["label"]
    assert top[0]["score"] == pytest.approx(answers[0][0]["score"], abs=TOLERANCE)


@pytest.mark.parametrize("model_type", ["bert", "distilbert"])
def test_embeddings_are_the_normalised_mean_of_the_unpadded_states(tiny, model_type):
    model = load(tiny(model_type))
    vectors = np.stack(text_embedding(model, batch_size=4, sequence_lengths=16).run(TEXTS))
    ids, mask = module_inputs(model, TEXTS)
    out = model.module(ids, mask)
    hidden = np.asarray(out[0] if isinstance(out, tuple) else out)
    mean = (hidden * mask[..., None]).sum(1) / mask.sum(1, keepdims=True)
    np.testing.assert_allclose(
        vectors, mean / np.linalg.norm(mean, axis=1, keepdims=True), atol=TOLERANCE
    )
    raw = text_embedding(model, normalize=False, sequence_lengths=16).run(TEXTS)
    np.testing.assert_allclose(np.stack(raw), mean, atol=TOLERANCE)


@pytest.mark.parametrize("model_type", ["bert", "distilbert"])
def test_fill_mask_answers_the_top_k_tokens_at_the_mask(tiny, model_type):
    model = load(tiny(model_type, head="masked", seed=1))
    text = "the cat sat on the [MASK] ."
    answer = fill_mask(model, top_k=3, sequence_lengths=16).run([text])[0]
    ids, mask = module_inputs(model, [text])
    at = int(np.argmax(ids[0] == vocabulary()["[MASK]"]))
    logits = np.asarray(model.module(ids, mask), np.float64)[0, at]
    probabilities = np.exp(logits - logits.max()) / np.exp(logits - logits.max()).sum()
    best = np.argsort(-probabilities)[:3]
    assert [p["token"] for p in answer] == [model.tokenizer.id_to_token(int(i)) for i in best]
    np.testing.assert_allclose([p["score"] for p in answer], probabilities[best], atol=TOLERANCE)


def test_fill_mask_refuses_a_text_without_exactly_one_mask(tiny):
    task = fill_mask(load(tiny("bert", head="masked")), sequence_lengths=16)
    for text in ["no mask here", "[MASK] and [MASK]"]:
        with pytest.raises(InvalidInput, match=r"must hold \[MASK\] once"):
            task.run([text])


def test_a_task_refuses_a_model_without_its_head(tiny):
    base = load(tiny("bert"))
    with pytest.raises(ValueError, match="a model with a ForSequenceClassification head"):
        text_classification(base)
    with pytest.raises(ValueError, match="a model with a ForMaskedLM head"):
        fill_mask(base)
    with pytest.raises(TypeError, match=r"'model' must be a model from kino\.models\.load"):
        text_embedding("bert-base-uncased")


@pytest.mark.parametrize(
    ("argument", "value", "message"),
    [
        ("sequence_lengths", (16, 100), r"'sequence_lengths' must be ints from 1 to 64"),
        ("sequence_lengths", "long", r"'sequence_lengths' must be ints"),
        ("batch_size", 0, r"'batch_size' must be an int >= 1"),
    ],
)
def test_bad_task_arguments_are_refused_at_the_call(tiny, argument, value, message):
    with pytest.raises((TypeError, ValueError), match=message):
        text_embedding(load(tiny("bert")), **{argument: value})


def test_a_text_longer_than_the_longest_bucket_is_cut_to_it(tiny):
    model = load(tiny("bert"))
    task = text_embedding(model, sequence_lengths=8)
    long = "the cat sat on the mat and the dog sat on the mat"
    cut = "the cat sat on the mat and"  # [CLS] + 6 words + [SEP] = 8 tokens
    np.testing.assert_allclose(task.run([long])[0], task.run([cut])[0], atol=TOLERANCE)


def test_a_started_server_answers_as_run_does(tiny):
    model = load(tiny("distilbert", labels=["NEGATIVE", "POSITIVE"]))
    task = text_classification(model, batch_size=4, sequence_lengths=(8, 16))
    server = task.start(max_queue=16)
    try:
        answers = [server.predict(text) for text in TEXTS]
    finally:
        server.stop()
    inline = task.run(TEXTS)
    for one, other in zip(answers, inline, strict=True):  # batches of 1 against one of 4
        assert [p["label"] for p in one] == [p["label"] for p in other]
        np.testing.assert_allclose([p["score"] for p in one], [p["score"] for p in other],
                                   atol=TOLERANCE)  # fmt: skip
    assert task.buckets == (1, 2, 4) and task.sequence_lengths == (8, 16)
