"""BERT's flax.nnx port against transformers' Flax BERT on the same tiny random weights."""

from __future__ import annotations

import numpy as np
import pytest

from kino.models import load
from tests.models.conftest import TOLERANCE, close, reference, token_batch


def test_bert_model_matches_the_reference_hidden_states_and_pooler(tiny):
    folder = tiny("bert")
    ids, mask = token_batch()
    types = np.zeros_like(ids)
    types[0, 4:] = 1  # a second segment: the token-type embeddings take part
    hidden, pooled = load(folder).module(ids, mask, types)
    theirs = reference("FlaxBertModel", folder)(ids, attention_mask=mask, token_type_ids=types)
    assert close(hidden, theirs.last_hidden_state, mask) < TOLERANCE
    assert close(pooled, theirs.pooler_output) < TOLERANCE
    assert np.abs(np.asarray(pooled)).max() > 0.05  # not a trivially small output


def test_bert_sequence_classification_matches_the_reference_logits(tiny):
    folder = tiny("bert", labels=["NEGATIVE", "NEUTRAL", "POSITIVE"])
    ids, mask = token_batch()
    ours = load(folder).module(ids, mask)
    theirs = reference("FlaxBertForSequenceClassification", folder)(ids, attention_mask=mask)
    assert ours.shape == (2, 3)
    assert close(ours, theirs.logits) < TOLERANCE


def test_bert_masked_lm_matches_the_reference_with_its_decoder_tied_to_the_embeddings(tiny):
    folder = tiny("bert", head="masked")
    ids, mask = token_batch()
    model = load(folder)
    ours = model.module(ids, mask)
    theirs = reference("FlaxBertForMaskedLM", folder)(ids, attention_mask=mask)
    assert ours.shape == (2, ids.shape[1], len(model.tokenizer.get_vocab()))
    assert close(ours, theirs.logits, mask) < TOLERANCE


def test_padding_does_not_change_the_unpadded_positions(tiny):
    module = load(tiny("bert")).module
    ids, mask = token_batch()
    length = int(mask[1].sum())
    alone = np.asarray(module(ids[1:, :length], mask[1:, :length])[0])
    padded = np.asarray(module(ids[1:], mask[1:])[0])[:, :length]
    assert length < ids.shape[1]
    np.testing.assert_allclose(alone, padded, atol=TOLERANCE)


@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
def test_half_precision_stays_near_float32(tiny, dtype):
    folder = tiny("bert")
    ids, mask = token_batch()
    full = np.asarray(load(folder).module(ids, mask)[0], np.float32)
    half = np.asarray(load(folder, dtype=dtype).module(ids, mask)[0], np.float32)
    assert close(full, half, mask) < 0.1  # layer-normed states: half precision's rounding only
