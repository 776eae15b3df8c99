"""A Python model of the browser side of kino's data streams (labextension _vegalive.ts).

Tests feed it the recorded comm messages and compare what a page would show
with what Python holds.
"""

from __future__ import annotations

import copy
from array import array
from typing import Any


def decode_block(block: dict[str, Any], buffers: list[bytes]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = [{} for _ in range(block["n"])]
    for col in block["columns"]:
        if col["kind"] == "f64":
            raw = col["buffer"]
            data = array("d")
            data.frombytes(buffers[raw] if isinstance(raw, int) else raw)
            values = list(data)
        else:
            values = col["values"]
        for row, value in zip(rows, values, strict=True):
            row[col["name"]] = value
    return rows


def put_buffers(state: dict[str, Any], paths: list[list[Any]], buffers: list[bytes]) -> dict:
    """Put binary buffers back into a state dict (what ipywidgets' JS does)."""
    state = copy.deepcopy(state)
    for path, buf in zip(paths, buffers, strict=True):
        node = state
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = buf
    return state


class Page:
    """What one page holds after applying a widget's messages in order."""

    def __init__(self, trait: str = "_data") -> None:
        self.trait = trait
        self.seq = -1
        self.data: dict[str, list[dict[str, Any]]] = {}
        self.gaps = 0

    def load(self, snapshot: dict[str, Any]) -> None:
        self.seq = snapshot["seq"]
        self.data = {name: decode_block(b, []) for name, b in snapshot["datasets"].items()}

    def feed(self, messages: list[Any]) -> Page:
        for m in messages:
            if m.method == "update" and self.trait in m.state:
                snap = put_buffers(m.state, m.data.get("buffer_paths", []), m.buffers)
                if snap[self.trait].get("seq", -1) > self.seq:
                    self.load(snap[self.trait])
            elif m.method == "custom" and m.content.get("type") == "ops":
                content = m.content
                if content["seq"] <= self.seq:
                    continue
                if content["seq"] != self.seq + 1:
                    self.gaps += 1
                    continue
                self.seq = content["seq"]
                for op in content["ops"]:
                    rows = self.data.setdefault(op["dataset"], [])
                    del rows[: max(len(rows) - op["keep"], 0)]
                    rows.extend(decode_block(op["rows"], m.buffers))
        return self
