"""Which kino module ports each Hugging Face ``model_type`` (imported on first use).

An architecture module (``kino/models/<arch>.py``) exposes ``MODEL_TYPES``,
``build(config, *, dtype, rngs)`` and ``weight_targets(config, module)``.

>>> architecture("bert").__name__
'kino.models.bert'
>>> architecture("llama")  # the message lists the known types: bert, distilbert, ...
Traceback (most recent call last):
...
kino.models.errors.UnknownArchitecture: kino.models: model_type 'llama' has no port in kino; ...
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

from kino.models.errors import UnknownArchitecture

#: ``config.json``'s ``model_type`` → the module (under ``kino.models``) that ports it.
ARCHITECTURES: dict[str, str] = {
    "bert": "bert",
    "distilbert": "distilbert",
    "resnet": "resnet",
    "gpt2": "gpt2",
}


def known() -> tuple[str, ...]:
    """The ``model_type`` values kino can load, sorted.

    >>> known()
    ('bert', 'distilbert', 'gpt2', 'resnet')
    """
    return tuple(sorted(ARCHITECTURES))


def architecture(model_type: str, *, func: str = "kino.models") -> ModuleType:
    """The module that ports ``model_type`` (imported now), or :class:`UnknownArchitecture`.

    >>> architecture("bert").MODEL_TYPES
    ('bert',)
    """
    name = ARCHITECTURES.get(model_type) if isinstance(model_type, str) else None
    if name is None:
        raise UnknownArchitecture(
            f"{func}: model_type {model_type!r} has no port in kino; known: {', '.join(known())}"
        )
    return importlib.import_module(f"kino.models.{name}")


def build_head(config: dict[str, Any], heads: dict[str, Any], *, dtype: Any, rngs: Any,
               func: str) -> Any:  # fmt: skip
    """The class of ``heads`` that ``config["architectures"][0]`` names (the first when none
    is named), built; any other name is refused with the known ones.

    >>> heads = {"Base": lambda config, dtype, rngs: ("base", dtype), "Head": None}
    >>> build_head({}, heads, dtype="float32", rngs=None, func="f")
    ('base', 'float32')
    >>> build_head({"architectures": ["Other"]}, heads, dtype="float32", rngs=None, func="f")
    Traceback (most recent call last):
    ...
    ValueError: f: 'architectures' must be one of Base, Head, got str: 'Other'
    """
    from kino.contracts import check_choice

    name = (config.get("architectures") or [next(iter(heads))])[0]
    check_choice(name, heads, func=func, argument="architectures")
    return heads[name](config, dtype=dtype, rngs=rngs)
