"""Tiny data and models shared by the kino.train tests (one shape: compiled programs are reused)."""

import numpy as np
from flax import nnx

N, FEATURES, CLASSES, BATCH = 48, 4, 3, 16


def blobs(n=N, seed=0):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, CLASSES, n).astype("int32")
    centers = rng.normal(size=(CLASSES, FEATURES)) * 3
    x = (centers[labels] + rng.normal(size=(n, FEATURES))).astype("float32")
    return x, labels


def mlp(seed=0, dropout=0.0):
    rngs = nnx.Rngs(seed)
    layers = [nnx.Linear(FEATURES, 8, rngs=rngs), nnx.relu]
    if dropout:
        layers.append(nnx.Dropout(dropout, rngs=rngs))
    layers.append(nnx.Linear(8, CLASSES, rngs=rngs))
    return nnx.Sequential(*layers)
