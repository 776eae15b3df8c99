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
