"""DistilBERT's flax.nnx port against transformers' Flax DistilBERT on the same tiny weights."""

from __future__ import annotations

import numpy as np

from kino.models import load
from tests.models.conftest import TOLERANCE, close, reference, token_batch


def test_distilbert_model_matches_the_reference_hidden_states(tiny):
    folder = tiny("distilbert")
    ids, mask = token_batch()
    ours = load(folder).module(ids, mask)
    theirs = reference("FlaxDistilBertModel", folder)(ids, attention_mask=mask)
    assert close(ours, theirs.last_hidden_state, mask) < TOLERANCE
    assert np.abs(np.asarray(ours)).max() > 0.5


def test_distilbert_sequence_classification_matches_the_reference_logits(tiny):
    folder = tiny("distilbert", labels=["NEGATIVE", "POSITIVE"])
    ids, mask = token_batch()
    ours = load(folder).module(ids, mask)
    reference_model = reference("FlaxDistilBertForSequenceClassification", folder)
    assert close(ours, reference_model(ids, attention_mask=mask).logits) < TOLERANCE


def test_distilbert_masked_lm_matches_the_reference_logits(tiny):
    folder = tiny("distilbert", head="masked")
    ids, mask = token_batch()
    ours = load(folder).module(ids, mask)
    theirs = reference("FlaxDistilBertForMaskedLM", folder)(ids, attention_mask=mask)
    assert close(ours, theirs.logits, mask) < TOLERANCE
