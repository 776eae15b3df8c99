"""GPT-2 in flax.nnx against transformers' Flax GPT-2, and its key/value cache."""

from __future__ import annotations

import json
from pathlib import Path

import jax.numpy as jnp
import numpy as np
import pytest

pytest.importorskip("safetensors")
from flax import nnx
from safetensors.numpy import save_file

import kino.models
from kino.models import gpt2

VOCAB = 61


def tiny_config(head: bool = True, **extra) -> dict:
    config = {
        "model_type": "gpt2",
        "architectures": ["GPT2LMHeadModel" if head else "GPT2Model"],
        "vocab_size": VOCAB,
        "n_positions": 48,
        "n_embd": 24,
        "n_layer": 2,
        "n_head": 3,
        "n_inner": None,
        "activation_function": "gelu_new",
        "layer_norm_epsilon": 1e-5,
        "bos_token_id": 0,
        "eos_token_id": 0,
    }
    return config | extra


def checkpoint(config: dict, *, prefixed: bool, seed: int = 0) -> dict[str, np.ndarray]:
    """Random tensors as a PyTorch GPT-2 saves them: Conv1D weights [in, out], the causal
    mask buffers, and (prefixed, from GPT2LMHeadModel) ``transformer.`` and ``lm_head``."""
    rng = np.random.default_rng(seed)
    d, inner = config["n_embd"], 4 * config["n_embd"]
    shapes = {"wte.weight": (VOCAB, d), "wpe.weight": (config["n_positions"], d)}
    for i in range(config["n_layer"]):
        for norm in ("ln_1", "ln_2"):
            shapes |= {f"h.{i}.{norm}.weight": (d,), f"h.{i}.{norm}.bias": (d,)}
        for name, (cin, cout) in {
            "attn.c_attn": (d, 3 * d),
            "attn.c_proj": (d, d),
            "mlp.c_fc": (d, inner),
            "mlp.c_proj": (inner, d),
        }.items():
            shapes |= {f"h.{i}.{name}.weight": (cin, cout), f"h.{i}.{name}.bias": (cout,)}
    shapes |= {"ln_f.weight": (d,), "ln_f.bias": (d,)}
    tensors = {}
    for name, shape in shapes.items():
        scale = 0.5 if name.endswith("bias") else 0.2
        base = 1.0 if "ln_" in name and name.endswith("weight") else 0.0
        tensors[name] = (base + rng.normal(0, scale, shape)).astype(np.float32)
    n = config["n_positions"]
    for i in range(config["n_layer"]):
        tensors[f"h.{i}.attn.bias"] = np.tril(np.ones((n, n), np.float32))[None, None]
    if prefixed:
        tensors = {f"transformer.{k}": v for k, v in tensors.items()}
        tensors["lm_head.weight"] = tensors["transformer.wte.weight"].copy()
    return tensors


def save_hub_layout(folder: Path, config: dict, tensors: dict[str, np.ndarray]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps(config))
    save_file(tensors, str(folder / "model.safetensors"), metadata={"format": "pt"})
    return folder


@pytest.fixture(scope="module")
def transformers_flax():
    return pytest.importorskip("transformers")


@pytest.mark.parametrize("prefixed", [True, False], ids=["transformer-prefix", "bare-names"])
def test_lm_logits_match_transformers_flax_gpt2(tmp_path, transformers_flax, prefixed):
    config = tiny_config()
    folder = save_hub_layout(tmp_path / "gpt2", config, checkpoint(config, prefixed=prefixed))
    ours = kino.models.load(folder)
    reference = transformers_flax.FlaxGPT2LMHeadModel.from_pretrained(folder)

    ids = np.random.default_rng(1).integers(0, VOCAB, (2, 11)).astype(np.int32)
    expected = np.asarray(reference(ids).logits)
    got = np.asarray(ours.module(ids))
    assert type(ours.module).__name__ == "GPT2LMHeadModel" and got.shape == (2, 11, VOCAB)
    np.testing.assert_allclose(got, expected, atol=1e-4, rtol=1e-4)
    assert np.abs(expected).std() > 0.1


def test_base_model_hidden_states_match_with_padding(tmp_path, transformers_flax):
    config = tiny_config(head=False)
    folder = save_hub_layout(tmp_path / "gpt2", config, checkpoint(config, prefixed=False))
    ours = kino.models.load(folder).module
    reference = transformers_flax.FlaxGPT2Model.from_pretrained(folder)

    ids = np.random.default_rng(2).integers(0, VOCAB, (2, 7)).astype(np.int32)
    mask = np.array([[1] * 7, [0, 0, 1, 1, 1, 1, 1]], np.int32)  # the second is left-padded
    positions = np.clip(mask.cumsum(-1) - 1, 0, None).astype(np.int32)
    expected = np.asarray(
        reference(ids, attention_mask=mask, position_ids=positions).last_hidden_state
    )
    got = np.asarray(ours(ids, attention_mask=mask, position_ids=positions))
    np.testing.assert_allclose(got[mask == 1], expected[mask == 1], atol=1e-4, rtol=1e-4)


def test_cached_decoding_gives_the_full_forward_logits():
    config = tiny_config()
    model = gpt2.build(config, dtype="float32", rngs=nnx.Rngs(3))
    ids = np.random.default_rng(4).integers(0, VOCAB, (2, 9)).astype(np.int32)
    full = np.asarray(model(ids))

    cache = model.init_cache(2, 16)
    logits, cache = model.decode(ids[:, :4], cache, index=0)  # the prompt at once
    steps = [np.asarray(logits)]
    for i in range(4, 9):  # then one token at a time
        logits, cache = model.decode(ids[:, i : i + 1], cache, index=i)
        steps.append(np.asarray(logits))
    np.testing.assert_allclose(np.concatenate(steps, axis=1), full, atol=1e-5)


def test_cache_masks_left_padding_like_the_unpadded_sequence():
    model = gpt2.build(tiny_config(), dtype="float32", rngs=nnx.Rngs(5))
    ids = np.array([[7, 8, 9]], np.int32)
    alone = np.asarray(model(ids))[0, -1]

    padded = np.array([[0, 0, 7, 8, 9]], np.int32)
    mask = np.zeros((1, 8), bool)
    mask[0, 2:5] = True
    logits, _ = model.decode(
        padded, model.init_cache(1, 8), index=0, attention_mask=mask,
        position_ids=np.array([[0, 0, 0, 1, 2]]),
    )  # fmt: skip
    np.testing.assert_allclose(np.asarray(logits)[0, -1], alone, atol=1e-5)


def test_head_is_tied_to_the_token_embeddings():
    model = gpt2.build(tiny_config(), dtype="float32", rngs=nnx.Rngs(6))
    ids = np.array([[1, 2, 3]], np.int32)
    hidden = model.transformer(ids)
    embedding = model.transformer.wte.embedding[...]
    np.testing.assert_allclose(model(ids), hidden @ embedding.T, atol=1e-5)
    assert not any("lm_head" in name for name in gpt2.weight_targets(tiny_config(), model))


def test_bfloat16_load_keeps_the_cache_in_bfloat16(tmp_path):
    config = tiny_config()
    folder = save_hub_layout(tmp_path / "gpt2", config, checkpoint(config, prefixed=True))
    model = kino.models.load(folder, dtype="bfloat16").module
    cache = model.init_cache(1, 8)
    logits, cache = model.decode(np.array([[1, 2]]), cache, index=0)
    assert cache[0][0].dtype == jnp.bfloat16 and logits.dtype == jnp.bfloat16


def test_bad_configs_are_refused_by_name():
    with pytest.raises(ValueError, match="'activation_function' must be one of gelu_new"):
        gpt2.build(tiny_config(activation_function="swiglu"), dtype="float32", rngs=nnx.Rngs(0))
    with pytest.raises(ValueError, match=r"'n_embd' \(24\) must be a multiple of 'n_head' \(5\)"):
        gpt2.build(tiny_config(n_head=5), dtype="float32", rngs=nnx.Rngs(0))
