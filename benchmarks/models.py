"""kino.models against its baseline, in one process (issue 14's two numbers).

1. all-MiniLM-L6-v2 embeddings of 1,024 sentences: kino's batched serving
   (``text_embedding(...).run``, batches of 32, each run in its sequence-length bucket on
   its real tokens packed, ``kino.models.packing``) against transformers' Flax BERT on
   the same weights, jitted, in batches of 32 padded to each batch's longest sentence,
   with the same mean pooling and normalisation jitted with it. Both are warmed first
   (every shape compiled; kino's background compiles waited for), then timed in
   alternation (ABBA) and compared by medians. Target: kino >= 1.0x sentences/s. The
   first run's time (what a user waits for on first use) is printed for both.
2. Load time of all-MiniLM-L6-v2 from its local files (``kino.models.load``), once a
   first load in this process has imported everything and compiled what loading uses.
   Target: median <= 2 s.

    .venv/bin/python benchmarks/models.py [--reps K] [--sentences N]
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings

import jax
import jax.numpy as jnp
import numpy as np

from kino.models import load, text_embedding
from kino.models.checkpoint import bundled_minilm

BATCH = 32
#: kino's sequence-length buckets: steps of 4 tokens over these sentences' range (9-27).
LENGTHS = (12, 16, 20, 24, 28, 32, 48)

SUBJECTS = ["The cat", "A young engineer", "Our neighbour", "The orchestra", "My grandmother",
            "The football team", "A tired traveller", "The new student", "The old bakery",
            "The research group"]  # fmt: skip
VERBS = ["walked to", "wrote about", "painted", "talked for hours about", "dreamed of",
         "laughed at", "photographed", "argued over"]  # fmt: skip
OBJECTS = ["the quiet harbour", "a strange machine", "the last train home",
           "the results of the experiment", "an unexpected letter from abroad",
           "the mountains behind the village", "a recipe for plum cake",
           "the price of electricity this winter"]  # fmt: skip
TAILS = ["", " yesterday", " before the storm arrived", " while everyone else was asleep",
         " and nobody could explain why it mattered so much to them",
         ", which surprised the whole town and made the evening news"]  # fmt: skip


def sentences(n: int) -> list[str]:
    """``n`` varied sentences (4 to about 30 tokens), the same every run."""
    rng = np.random.default_rng(0)
    pick = lambda words: words[rng.integers(len(words))]  # noqa: E731
    return [f"{pick(SUBJECTS)} {pick(VERBS)} {pick(OBJECTS)}{pick(TAILS)}." for _ in range(n)]


def reference_embedder(folder, tokenizer):
    """transformers' Flax BERT + mean pooling, jitted; batches padded to their longest."""
    from tokenizers import Tokenizer
    from transformers import FlaxBertModel

    tokenizer = Tokenizer.from_str(tokenizer.to_str())
    tokenizer.no_padding()  # the model's tokenizer.json pads every text to 128 tokens
    tokenizer.enable_truncation(128)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = FlaxBertModel.from_pretrained(str(folder), from_pt=True)

    @jax.jit
    def embed(params, ids, mask):
        hidden = model.module.apply({"params": params}, ids, mask, jnp.zeros_like(ids),
                                    jnp.broadcast_to(jnp.arange(ids.shape[1]), ids.shape),
                                    None, deterministic=True)[0]  # fmt: skip
        weights = mask[..., None].astype(jnp.float32)
        mean = (hidden * weights).sum(1) / jnp.maximum(weights.sum(1), 1e-9)
        return mean / jnp.linalg.norm(mean, axis=-1, keepdims=True)

    def batches(texts):
        for start in range(0, len(texts), BATCH):
            encodings = tokenizer.encode_batch(texts[start : start + BATCH])
            width = max(len(e.ids) for e in encodings)
            ids = np.zeros((len(encodings), width), np.int32)
            mask = np.zeros_like(ids)
            for row, e in enumerate(encodings):
                ids[row, : len(e.ids)] = e.ids
                mask[row, : len(e.ids)] = e.attention_mask
            yield ids, mask

    def run(texts):
        return np.concatenate([np.asarray(embed(model.params, *b)) for b in batches(texts)])

    def flops(texts):
        """XLA's count of floating-point operations over every batch of ``texts``."""
        by_shape, total = {}, 0.0  # each shape compiled once more, for its cost analysis
        for ids, mask in batches(texts):
            if ids.shape not in by_shape:
                by_shape[ids.shape] = cost(embed.lower(model.params, ids, mask).compile())
            total += by_shape[ids.shape]
        return total

    run.flops = flops
    return run


def cost(compiled) -> float:
    """The flops of a compiled program (XLA's cost analysis)."""
    analysis = compiled.cost_analysis()
    return float((analysis[0] if isinstance(analysis, list) else analysis)["flops"])


def kino_flops(task, program, texts) -> float:
    """The flops of the compiled shapes kino runs ``texts``' batches in (all compiled)."""
    total = 0.0
    for start in range(0, len(texts), BATCH):
        counts = [
            sum(task.tokenizer.encode(t).attention_mask) for t in texts[start : start + BATCH]
        ]
        shape = program.shape_for(len(counts), longest=max(counts), tokens=sum(counts))
        total += cost(program.compiled[shape])
    return total


def timed(fn):
    return timed_both(fn)[0]


def timed_both(fn):
    """Wall-clock and process CPU seconds of ``fn()`` (CPU time is less moved by other load)."""
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--sentences", type=int, default=1024)
    args = parser.parse_args()

    folder = bundled_minilm()
    minilm = load(folder)
    texts = sentences(args.sentences)
    lengths = [sum(minilm.tokenizer.encode(t).attention_mask) for t in texts]
    print(f"{len(texts)} sentences, {min(lengths)}-{max(lengths)} tokens "
          f"(median {statistics.median(lengths)}), batches of {BATCH}, jax {jax.__version__} "
          f"on {jax.devices()[0].platform}")  # fmt: skip

    task = text_embedding(minilm, batch_size=BATCH, sequence_lengths=LENGTHS)
    reference = reference_embedder(folder, minilm.tokenizer)
    start = time.perf_counter()
    program = task.program(jax.devices()[0])  # each batch size at the longest length
    eager = time.perf_counter() - start
    ours = np.stack(task.run(texts))  # the other shapes compile in the background meanwhile
    first = time.perf_counter() - start
    program.wait()
    print(
        f"kino: first run {first:.1f} s ({len(task.buckets)} batch sizes compiled up front in "
        f"{eager:.1f} s); all {len(program.compiled)} shapes compiled after "
        f"{time.perf_counter() - start:.1f} s"
    )
    ours = np.stack(task.run(texts))
    start = time.perf_counter()
    theirs = reference(texts)  # compiles each batch's padded shape
    print(f"reference: first run (compiling) {time.perf_counter() - start:.1f} s")
    print(f"largest difference of the embeddings: {np.abs(ours - theirs).max():.2e}")

    kino_times, reference_times = [], []
    for rep in range(args.reps):
        pair = [("kino", lambda: task.run(texts)), ("reference", lambda: reference(texts))]
        for name, fn in pair if rep % 2 == 0 else pair[::-1]:
            (kino_times if name == "kino" else reference_times).append(timed_both(fn))
    kino_rate = len(texts) / statistics.median(t for t, _ in kino_times)
    reference_rate = len(texts) / statistics.median(t for t, _ in reference_times)
    cpu_ratio = statistics.median(c for _, c in reference_times) / statistics.median(
        c for _, c in kino_times
    )
    print("kino s (wall/cpu):", " ".join(f"{t:.2f}/{c:.2f}" for t, c in kino_times))
    print("reference s (wall/cpu):", " ".join(f"{t:.2f}/{c:.2f}" for t, c in reference_times))
    print(f"embeddings, CPU time per sentence: reference / kino = {cpu_ratio:.2f}x")

    ours_flops, theirs_flops = kino_flops(task, program, texts), reference.flops(texts)
    print(f"compiled flops for the {len(texts)} sentences: kino {ours_flops / 1e9:.0f} G, "
          f"reference {theirs_flops / 1e9:.0f} G: reference / kino = "
          f"{theirs_flops / ours_flops:.2f}x (load-independent; context)")  # fmt: skip

    loads = [timed(lambda: load(folder)) for _ in range(args.reps)]
    print("load s:", " ".join(f"{t:.2f}" for t in loads))
    print(f"load time of all-MiniLM-L6-v2 from local files: median {statistics.median(loads):.2f} s"
          " (target <= 2 s)")  # fmt: skip
    print(
        f"embeddings: kino {kino_rate:.0f} sentences/s, reference {reference_rate:.0f} "
        f"sentences/s: ratio {kino_rate / reference_rate:.2f}x (target >= 1.0x)"
    )


if __name__ == "__main__":
    main()
