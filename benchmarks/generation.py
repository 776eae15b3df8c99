"""kino.models.generate against its baselines, in one process: greedy GPT-2 decoding.

A random GPT-2 (vocab 8,000, 4 layers of width 256, 4 heads; the figures are about
decoding, not text) saved in the hub's layout and loaded by both kino and transformers'
Flax GPT-2; 4 prompts of 32 tokens, 128 new tokens each, greedy.

1. kino's ``generate`` (key/value cache, the whole loop compiled) against transformers'
   Flax ``generate`` jitted the same way (its own cache): target >= 1.0x tokens/s.
2. kino's ``generate`` against decoding without a cache: one jitted full forward over the
   whole (fixed-size) sequence per new token, the way a model without a cache generates:
   no target, it shows what the cache buys.

Both sides are compiled before timing; each figure alternates kino and the baseline
(ABBA) and compares medians. The tokens of kino and transformers are compared too.

    .venv/bin/python benchmarks/generation.py [--reps K]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

import kino.models
from kino.models.generate import generate

CONFIG = {
    "model_type": "gpt2",
    "architectures": ["GPT2LMHeadModel"],
    "vocab_size": 8000,
    "n_positions": 512,
    "n_embd": 256,
    "n_layer": 4,
    "n_head": 4,
    "bos_token_id": 0,
    "eos_token_id": 0,
}
BATCH, PROMPT, NEW = 4, 32, 128


def write_checkpoint(folder: Path) -> Path:
    """Random weights under GPT-2's PyTorch names (Conv1D weights are [in, out])."""
    from flax import nnx
    from safetensors.numpy import save_file

    from kino.models import gpt2

    module = gpt2.build(CONFIG, dtype="float32", rngs=nnx.Rngs(0))
    tensors = {}
    for name, target in gpt2.weight_targets(CONFIG, module).items():
        node = module
        for part in target.path:
            node = node[part] if isinstance(part, int) else getattr(node, part)
        tensors[name] = np.asarray(node[...], np.float32)
    (folder / "config.json").write_text(json.dumps(CONFIG))
    save_file(tensors, str(folder / "model.safetensors"), metadata={"format": "pt"})
    return folder


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def abba(kino_run, base_run, reps: int) -> tuple[float, float]:
    """Median seconds of each, alternating kino, base, base, kino, ..."""
    kino_times, base_times = [], []
    for i in range(reps):
        order = (kino_run, base_run) if i % 2 == 0 else (base_run, kino_run)
        for run in order:
            (kino_times if run is kino_run else base_times).append(timed(run))
    return statistics.median(kino_times), statistics.median(base_times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reps", type=int, default=4)
    args = parser.parse_args()

    from transformers import FlaxGPT2LMHeadModel

    folder = write_checkpoint(Path(tempfile.mkdtemp()))
    model = kino.models.load(folder).module
    reference = FlaxGPT2LMHeadModel.from_pretrained(folder)
    prompts = np.random.default_rng(0).integers(1, CONFIG["vocab_size"], (BATCH, PROMPT))
    prompts = prompts.astype(np.int32)
    tokens = BATCH * NEW

    def kino_run() -> list[list[int]]:
        return generate(model, prompts.tolist(), max_new_tokens=NEW)

    reference_generate = jax.jit(
        lambda params, ids: reference.generate(
            ids, params=params, max_new_tokens=NEW, do_sample=False, pad_token_id=0,
            eos_token_id=None,
        ).sequences
    )  # fmt: skip

    def reference_run() -> np.ndarray:
        return np.asarray(reference_generate(reference.params, prompts))

    forward = jax.jit(lambda ids: model(ids))
    buffer_width = PROMPT + NEW

    def uncached_run() -> np.ndarray:
        ids = jnp.zeros((BATCH, buffer_width), jnp.int32).at[:, :PROMPT].set(prompts)
        for i in range(NEW):  # each token: the whole fixed-size sequence again
            logits = forward(ids)
            ids = ids.at[:, PROMPT + i].set(jnp.argmax(logits[:, PROMPT + i - 1], axis=-1))
        return np.asarray(ids[:, PROMPT:])

    ours = np.array(kino_run())
    theirs = reference_run()[:, PROMPT:]
    uncached = uncached_run()
    agree = float((ours == theirs).mean())
    agree_uncached = float((ours == uncached).mean())

    k1, t1 = abba(kino_run, reference_run, args.reps)
    k2, u2 = abba(kino_run, uncached_run, args.reps)
    print(f"{BATCH} prompts x {PROMPT} tokens, {NEW} new tokens each, greedy; {args.reps} reps")
    print(f"tokens equal to transformers': {agree:.1%}; to uncached decoding: {agree_uncached:.1%}")
    print(f"kino generate          {tokens / k1:9.0f} tokens/s  ({k1 * 1000:.0f} ms)")
    print(f"transformers Flax      {tokens / t1:9.0f} tokens/s  ({t1 * 1000:.0f} ms)")
    print(f"kino generate (2nd)    {tokens / k2:9.0f} tokens/s  ({k2 * 1000:.0f} ms)")
    print(f"no cache, full forward {tokens / u2:9.0f} tokens/s  ({u2 * 1000:.0f} ms)")
    print(f"kino vs no cache: {u2 / k2:.2f}x (no target)")
    print(f"kino vs transformers Flax generate: {t1 / k1:.2f}x (target >= 1.0x)")


if __name__ == "__main__":
    main()
