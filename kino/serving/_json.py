"""Answers as JSON-ready values, for the HTTP endpoints (uvicorn and Ray)."""

from __future__ import annotations

from typing import Any


def plain(value: Any) -> Any:
    """An answer as JSON-ready values (arrays become lists, numpy scalars numbers).

    >>> import numpy as np
    >>> plain({"p": np.float32(0.5), "v": np.arange(2)})
    {'p': 0.5, 'v': [0, 1]}
    """
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if hasattr(value, "tolist"):
        return value.tolist()
    return value
