"""Pytrees and flax.nnx modules as rows of a collapsible tree, for ``kino.inspect``.

A tree becomes a flat list of rows in depth-first order: internal nodes carry
the totals of their subtree, leaves their shape, dtype, parameter count and
bytes. NaN and infinity counts of every leaf come from one jitted call.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import jax
import numpy as np

from kino.ui.inspect.stats import nonfinite_counts

TREE_MAX_ROWS = 5000
"""At most this many rows (nodes and leaves) are sent to the browser."""


def is_nnx_module(obj: Any) -> bool:
    """Whether ``obj`` is a flax.nnx module (flax is imported only if loaded).

    >>> is_nnx_module({"w": 1})
    False
    """
    import sys

    nnx = sys.modules.get("flax.nnx")
    return nnx is not None and isinstance(obj, nnx.Module)


def _key_name(key: Any) -> str:
    """One path component as text: dict key, sequence index or attribute name."""
    for attr in ("key", "idx", "name"):
        if hasattr(key, attr):
            return str(getattr(key, attr))
    return str(key)


def is_array(value: Any) -> bool:
    """True for jax and numpy arrays (and numpy scalars).

    >>> is_array(np.zeros(2)), is_array(3.0)
    (True, False)
    """
    return isinstance(value, (jax.Array, np.ndarray, np.generic))


def _is_key_array(value: Any) -> bool:
    return isinstance(value, jax.Array) and jax.dtypes.issubdtype(value.dtype, jax.dtypes.prng_key)


@dataclass
class Leaf:
    """One leaf of the inspected tree."""

    path: tuple[str, ...]
    value: Any
    type: str
    is_param: bool


@dataclass
class Tree:
    """Rows for the front end and the leaves they point to."""

    rows: list[dict[str, Any]]
    leaves: list[Leaf]
    totals: dict[str, Any]
    truncated: int = 0
    title: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def _nnx_leaves(module: Any) -> tuple[list[Leaf], dict[tuple[str, ...], str]]:
    from flax import nnx

    node_types: dict[tuple[str, ...], str] = {}
    for path, node in nnx.iter_graph(module):
        if isinstance(node, (nnx.Module, nnx.Pytree)) or type(node).__name__ in (
            "List",
            "Dict",
            "Sequential",
        ):
            node_types[tuple(str(p) for p in path)] = type(node).__name__
    leaves = []
    for path, var in nnx.to_flat_state(nnx.state(module)):
        value = var.get_value() if hasattr(var, "get_value") else var
        leaves.append(
            Leaf(
                path=tuple(str(p) for p in path),
                value=value,
                type=type(var).__name__,
                is_param=isinstance(var, nnx.Param),
            )
        )
    return leaves, node_types


def _pytree_leaves(tree: Any) -> list[Leaf]:
    flat, _ = jax.tree_util.tree_flatten_with_path(tree)
    return [
        Leaf(
            path=tuple(_key_name(k) for k in path),
            value=value,
            type=type(value).__name__,
            is_param=is_array(value),
        )
        for path, value in flat
    ]


def _format_scalar(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def build_tree(obj: Any) -> Tree:
    """Rows of a flax.nnx module or any pytree with array leaves.

    Each row: ``id``, ``parent`` (row id or -1), ``depth``, ``name``, ``path``,
    ``node`` (True for internal nodes), ``type``, ``shape``, ``dtype``, ``params``,
    ``bytes``, ``leaves``, ``nan``, ``inf``, ``leaf`` (index of the leaf, or -1),
    and ``value`` (text, for leaves that are not arrays).

    >>> t = build_tree({"w": np.ones((2, 3)), "b": np.zeros(3)})
    >>> t.totals["params"], [r["name"] for r in t.rows]
    (9, ['b', 'w'])
    """
    if is_nnx_module(obj):
        leaves, node_types = _nnx_leaves(obj)
        title = type(obj).__name__
    else:
        leaves, node_types = _pytree_leaves(obj), {}
        title = type(obj).__name__
    if not leaves:
        raise TypeError(
            f"kino.inspect: {type(obj).__name__} has no leaves to show; pass a jax or "
            "numpy array, a flax.nnx module, or a pytree (dict, list, tuple) of arrays"
        )
    numeric = [
        i
        for i, leaf in enumerate(leaves)
        if is_array(leaf.value)
        and not _is_key_array(leaf.value)
        and np.issubdtype(np.dtype(leaf.value.dtype), np.inexact)
        and leaf.value.size > 0
    ]
    counts = dict(
        zip(
            numeric,
            nonfinite_counts([jax.numpy.asarray(leaves[i].value) for i in numeric]),
            strict=True,
        )
    )

    rows: list[dict[str, Any]] = []
    node_rows: dict[tuple[str, ...], dict[str, Any]] = {}

    def node_for(path: tuple[str, ...]) -> dict[str, Any] | None:
        if not path:
            return None
        if path in node_rows:
            return node_rows[path]
        parent = node_for(path[:-1])
        row = {
            "id": len(rows),
            "parent": parent["id"] if parent else -1,
            "depth": len(path) - 1,
            "name": path[-1],
            "path": "/".join(path),
            "node": True,
            "type": node_types.get(path, ""),
            "shape": None,
            "dtype": "",
            "params": 0,
            "bytes": 0,
            "leaves": 0,
            "nan": 0,
            "inf": 0,
            "leaf": -1,
            "value": None,
        }
        rows.append(row)
        node_rows[path] = row
        return row

    totals = {"params": 0, "bytes": 0, "leaves": len(leaves), "nan": 0, "inf": 0, "types": {}}
    for i, leaf in enumerate(leaves):
        parent = node_for(leaf.path[:-1])
        value = leaf.value
        array = is_array(value)
        if array:
            shape = [int(d) for d in np.shape(value)]
            size = math.prod(shape)
            dtype = str(value.dtype)
            nbytes = int(getattr(value, "nbytes", 0))
        else:
            shape, size, dtype, nbytes = None, 0, "", 0
        params = size if (leaf.is_param and array and not _is_key_array(value)) else 0
        nan, inf = counts.get(i, (0, 0))
        row = {
            "id": len(rows),
            "parent": parent["id"] if parent else -1,
            "depth": len(leaf.path) - 1,
            "name": leaf.path[-1] if leaf.path else "(root)",
            "path": "/".join(leaf.path),
            "node": False,
            "type": leaf.type,
            "shape": shape,
            "dtype": dtype,
            "params": params,
            "bytes": nbytes,
            "leaves": 1,
            "nan": nan,
            "inf": inf,
            "leaf": i if array and not _is_key_array(value) else -1,
            "value": None if array else _format_scalar(value),
        }
        rows.append(row)
        totals["params"] += params
        totals["bytes"] += nbytes
        totals["nan"] += nan
        totals["inf"] += inf
        totals["types"][leaf.type] = totals["types"].get(leaf.type, 0) + params
        ancestor = parent
        while ancestor is not None:
            for key, amount in (
                ("params", params),
                ("bytes", nbytes),
                ("leaves", 1),
                ("nan", nan),
                ("inf", inf),
            ):
                ancestor[key] += amount
            ancestor = rows[ancestor["parent"]] if ancestor["parent"] >= 0 else None

    truncated = max(0, len(rows) - TREE_MAX_ROWS)
    return Tree(
        rows=rows[:TREE_MAX_ROWS], leaves=leaves, totals=totals, truncated=truncated, title=title
    )
