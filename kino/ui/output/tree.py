"""Nested data as a collapsible tree: ``kino.tree`` (Kino.Tree)."""

from __future__ import annotations

import dataclasses
import logging
import sys
from collections.abc import Mapping
from typing import Any

import traitlets

from kino.contracts import check_int
from kino.ui.base import KinoWidget

log = logging.getLogger("kino")

#: Nodes ``kino.tree`` sends at most; deeper or wider data is cut with "… n more".
MAX_TREE_NODES = 2000
#: Children shown per node of ``kino.tree``.
MAX_TREE_CHILDREN = 100
#: Levels of nesting ``kino.tree`` shows; deeper containers are shown collapsed to "…".
MAX_TREE_DEPTH = 64
#: Characters of a leaf's value shown by ``kino.tree``.
MAX_TREE_VALUE_CHARS = 120


class Tree(KinoWidget, bundle="tree"):
    """A collapsible view of nested dicts, lists, dataclasses and jax pytrees
    (``kino.tree``); arrays show dtype and shape. ``open_depth`` levels start expanded.

    >>> import kino
    >>> t = kino.tree({"model": {"w": [1, 2]}, "lr": 0.001})
    >>> t.node["c"][1]
    {'k': 'lr', 't': 'float', 'v': '0.001'}
    """

    node = traitlets.Dict(allow_none=True).tag(sync=True)
    open_depth = traitlets.Int(1).tag(sync=True)

    def __init__(self, obj: Any, *, open_depth: int = 1) -> None:
        open_depth = check_int(open_depth, func="kino.tree", argument="open_depth", min=0)
        super().__init__(node=tree_node(obj), open_depth=open_depth)

    def update(self, obj: Any) -> None:
        """Show another object."""
        self.node = tree_node(obj)


def _short(text: str) -> str:
    return text if len(text) <= MAX_TREE_VALUE_CHARS else text[: MAX_TREE_VALUE_CHARS - 1] + "…"


def _children(obj: Any) -> list[tuple[str, Any]] | None:
    """(key label, child) pairs of a container or pytree node, None for a leaf."""
    if isinstance(obj, Mapping):
        return [(k if isinstance(k, str) else repr(k), v) for k, v in obj.items()]
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):
        return list(zip(obj._fields, obj, strict=True))
    if isinstance(obj, (list, tuple)):
        return [(f"[{i}]", v) for i, v in enumerate(obj)]
    if isinstance(obj, (set, frozenset)):
        return [("·", v) for v in sorted(obj, key=repr)]
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return [(f.name, getattr(obj, f.name)) for f in dataclasses.fields(obj)]
    if "flax.nnx" in sys.modules:
        from flax import nnx

        if isinstance(obj, nnx.Module):
            return _children(nnx.state(obj))
    if "jax" in sys.modules and not hasattr(obj, "shape"):
        import jax

        try:
            flat, _ = jax.tree_util.tree_flatten_with_path(obj, is_leaf=lambda x: x is not obj)
        except Exception:
            return None
        if len(flat) == 1 and flat[0][0] == ():
            return None
        return [(jax.tree_util.keystr(path).lstrip("."), child) for path, child in flat]
    return None


def _leaf(obj: Any) -> tuple[str, str]:
    if hasattr(obj, "shape") and hasattr(obj, "dtype"):
        shape = ",".join(str(d) for d in obj.shape)
        kind = f"{obj.dtype}[{shape}]"
        import numpy as np

        size = int(np.prod(obj.shape)) if obj.shape else 1
        if size <= 8:
            try:
                text = np.array2string(np.asarray(obj), separator=", ", max_line_width=10**6)
            except (TypeError, ValueError):  # e.g. PRNG key arrays have no numpy form
                return kind, ""
            return kind, _short(" ".join(text.split()))
        return kind, ""
    if isinstance(obj, str):
        return "str", _short(repr(obj))
    return type(obj).__name__, _short(repr(obj))


def tree_node(obj: Any) -> dict[str, Any]:
    """The bounded JSON node tree ``kino.tree`` sends to the browser."""
    budget = [MAX_TREE_NODES]

    def walk(o: Any, key: str | None, ancestors: tuple[int, ...]) -> dict[str, Any]:
        budget[0] -= 1
        node: dict[str, Any] = {} if key is None else {"k": key}
        if id(o) in ancestors:
            node["t"] = "cycle"
            return node
        kids = _children(o)
        if kids is not None and len(ancestors) >= MAX_TREE_DEPTH:
            node["t"], node["v"] = f"{type(o).__name__} ({len(kids)})", "…"
            return node
        if kids is None:
            node["t"], value = _leaf(o)
            if value:
                node["v"] = value
            return node
        node["t"] = f"{type(o).__name__} ({len(kids)})"
        node["c"] = []
        for i, (k, child) in enumerate(kids):
            if i >= MAX_TREE_CHILDREN or budget[0] <= 0:
                node["more"] = len(kids) - i
                break
            node["c"].append(walk(child, k, (*ancestors, id(o))))
        return node

    return walk(obj, None, ())
