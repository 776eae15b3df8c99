"""Atomic orbax checkpoints, one directory per epoch, keeping the best.

Each checkpoint is ``<directory>/epoch_000007``, written by orbax to a
temporary directory and renamed into place only when complete, so a process
killed mid-write leaves the previous checkpoints loadable; unfinished
temporary directories are ignored (and removed by the next save). A removed
checkpoint is first renamed out of the naming pattern, then deleted, so it is
never seen half-deleted. ``keep`` checkpoints are kept: the best by the monitor
(or the newest without one), plus always the newest one, which resume reads.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import orbax.checkpoint as ocp

from kino.contracts import check_int

PATTERN = re.compile(r"^epoch_(\d{6})$")
META = "kino/metadata"
"""The JSON metadata (epoch, metrics, loop counters) inside each checkpoint directory."""


def _path(directory: Path, epoch: int) -> Path:
    return directory / f"epoch_{epoch:06d}"


def _is_key(a) -> bool:
    return jax.dtypes.issubdtype(a.dtype, jax.dtypes.prng_key)


def _leaves(tree):
    leaves, treedef = jax.tree.flatten(tree)
    keys = {}
    out = {}
    for i, leaf in enumerate(leaves):
        if _is_key(leaf):
            keys[str(i)] = str(jax.random.key_impl(leaf))
            leaf = jax.random.key_data(leaf)
        out[f"{i:05d}"] = leaf
    return out, keys, treedef


class CheckpointStore:
    """Save and restore loop state under one directory.

    Example:
        >>> import tempfile, jax.numpy as jnp
        >>> store = CheckpointStore(tempfile.mkdtemp())
        >>> _ = store.save(1, {"w": jnp.ones(2)}, {"epoch": 1})
        >>> store.epochs()
        [1]
    """

    def __init__(self, directory, keep: int = 3, monitor: str | None = None, mode: str = "min"):
        self.keep = check_int(keep, func="train.CheckpointStore", argument="keep", min=1)
        self.directory = Path(directory).absolute()
        self.monitor = monitor
        self.mode = mode

    def epochs(self) -> list[int]:
        """Epochs with a complete checkpoint, oldest first."""
        if not self.directory.is_dir():
            return []
        found = []
        for p in self.directory.iterdir():
            m = PATTERN.match(p.name)
            if m and p.is_dir() and (p / META).is_file():
                found.append(int(m.group(1)))
        return sorted(found)

    def latest(self) -> int | None:
        e = self.epochs()
        return e[-1] if e else None

    def save(self, epoch: int, tree, meta: dict) -> Path:
        """Write ``tree`` (a pytree of arrays) and ``meta`` (JSON) for ``epoch`` atomically."""
        self.directory.mkdir(parents=True, exist_ok=True)
        self._remove_stale()
        leaves, keys, _ = _leaves(tree)
        meta = dict(meta, prng_keys=keys, epoch=int(epoch))
        target = _path(self.directory, epoch)
        if target.exists():
            self._delete(target)
        with ocp.Checkpointer(ocp.CompositeCheckpointHandler()) as ckptr:
            ckptr.save(
                target,
                args=ocp.args.Composite(
                    arrays=ocp.args.StandardSave(leaves),
                    kino=ocp.args.JsonSave(meta),
                ),
            )
        self._prune()
        return target

    def restore(self, like, epoch: int | None = None):
        """Load ``(tree, meta)``; ``like`` gives the structure, shapes and placement of the tree."""
        epoch = self.latest() if epoch is None else epoch
        if epoch is None or epoch not in self.epochs():
            raise FileNotFoundError(
                f"no complete checkpoint in {str(self.directory)!r} (epoch {epoch})"
            )
        like_leaves, _, treedef = _leaves(like)
        abstract = {
            k: jax.ShapeDtypeStruct(v.shape, v.dtype, sharding=getattr(v, "sharding", None))
            for k, v in like_leaves.items()
        }
        with ocp.Checkpointer(ocp.CompositeCheckpointHandler()) as ckptr:
            got = ckptr.restore(
                _path(self.directory, epoch),
                args=ocp.args.Composite(
                    arrays=ocp.args.StandardRestore(abstract),
                    kino=ocp.args.JsonRestore(),
                ),
            )
        meta = got["kino"]
        arrays = got["arrays"]
        if sorted(arrays) != sorted(like_leaves):
            raise ValueError(
                f"checkpoint {epoch} in {str(self.directory)!r} has {len(arrays)} arrays but this "
                f"model/optimizer has {len(like_leaves)}: it was written by a different model"
            )
        leaves = []
        for k in sorted(arrays):
            a = arrays[k]
            i = str(int(k))
            if i in meta.get("prng_keys", {}):
                a = jax.random.wrap_key_data(jnp.asarray(a), impl=meta["prng_keys"][i])
            leaves.append(a)
        return jax.tree.unflatten(treedef, leaves), meta

    def _score(self, epoch: int) -> float:
        meta = json.loads((_path(self.directory, epoch) / META).read_text()) if self.monitor else {}
        value = meta.get("metrics", {}).get(self.monitor, float("nan")) if self.monitor else epoch
        if value is None or np.isnan(value):
            return -np.inf
        return -value if self.mode == "min" else value

    def _prune(self) -> None:
        if jax.process_index() != 0:  # one process removes; orbax coordinated the write
            return
        epochs = self.epochs()
        if len(epochs) <= self.keep:
            return
        newest = epochs[-1]
        ranked = sorted(epochs, key=lambda e: (self._score(e), e), reverse=True)
        keep = set(ranked[: self.keep]) | {newest}
        for e in epochs:
            if e not in keep:
                self._delete(_path(self.directory, e))

    def best(self) -> int | None:
        """The epoch of the best checkpoint by the monitor (newest without a monitor)."""
        epochs = self.epochs()
        if not epochs:
            return None
        return max(epochs, key=lambda e: (self._score(e), e))

    def _delete(self, path: Path) -> None:
        doomed = path.with_name(path.name + ".deleting")
        path.rename(doomed)
        shutil.rmtree(doomed, ignore_errors=True)

    def _remove_stale(self) -> None:
        if jax.process_index() != 0:
            return
        for p in self.directory.iterdir():
            if p.is_dir() and not PATTERN.match(p.name) and p.name.startswith("epoch_"):
                shutil.rmtree(p, ignore_errors=True)
