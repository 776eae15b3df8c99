"""kino.tree: nested data, pytrees, limits and cycles."""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

import jax.numpy as jnp
import pytest

import kino
from kino.ui.output import MAX_TREE_NODES, Tree
from kino.ui.output.tree import MAX_TREE_CHILDREN, MAX_TREE_DEPTH, tree_node


class Point(NamedTuple):
    x: int
    y: int


@dataclasses.dataclass
class Config:
    name: str
    point: Point


def test_tree_nested_python_data():
    node = tree_node({"config": Config("run", Point(1, 2)), "layers": [1, 2], "tags": {"b", "a"}})
    assert node["t"] == "dict (3)"
    config = node["c"][0]
    assert config["k"] == "config" and config["t"] == "Config (2)"
    assert config["c"][0] == {"k": "name", "t": "str", "v": "'run'"}
    assert config["c"][1]["c"][1] == {"k": "y", "t": "int", "v": "2"}
    assert [c["k"] for c in node["c"][1]["c"]] == ["[0]", "[1]"]
    assert [c["v"] for c in node["c"][2]["c"]] == ["'a'", "'b'"]


def test_tree_jax_pytree_and_arrays():
    from flax import nnx

    model = nnx.Linear(3, 2, rngs=nnx.Rngs(0))
    state = nnx.state(model)
    node = tree_node(state)
    text = repr(node)
    assert "float32[3,2]" in text and "float32[2]" in text
    whole = tree_node(nnx.Sequential(model, nnx.Dropout(0.5, rngs=nnx.Rngs(1))))
    assert whole["t"] == "Sequential (1)" and "float32[3,2]" in repr(whole)
    assert "key<fry>[]" in repr(whole)  # PRNG keys are shown by dtype, without values
    small = tree_node({"w": jnp.ones(2)})
    assert small["c"][0]["t"] == "float32[2]" and small["c"][0]["v"] == "[1., 1.]"


def test_tree_limits_and_cycles():
    wide = tree_node(list(range(MAX_TREE_CHILDREN + 50)))
    assert len(wide["c"]) == MAX_TREE_CHILDREN and wide["more"] == 50
    deep: list = []
    cur = deep
    for _ in range(MAX_TREE_NODES * 2):
        nxt: list = []
        cur.append(nxt)
        cur = nxt
    node, depth = tree_node(deep), 0
    while node.get("c"):
        node, depth = node["c"][0], depth + 1
    assert depth == MAX_TREE_DEPTH and node["v"] == "…"
    loop: dict = {}
    loop["self"] = loop
    assert tree_node(loop)["c"][0]["t"] == "cycle"
    big = tree_node([[i] * 50 for i in range(100)])
    count = 0
    stack = [big]
    while stack:
        n = stack.pop()
        count += 1
        stack += n.get("c", [])
    assert count <= MAX_TREE_NODES + MAX_TREE_CHILDREN


def test_tree_widget_update():
    t = kino.tree({"a": 1}, open_depth=2)
    t.update([1])
    assert t.node["t"] == "list (1)" and t.open_depth == 2


def test_bad_tree_arguments():
    with pytest.raises(ValueError, match="'open_depth'"):
        kino.tree([], open_depth=-1)


def test_tree_is_the_class_itself():
    assert kino.tree is Tree
