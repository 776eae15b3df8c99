"""Atomic orbax checkpoints, one directory per epoch, keeping the best.

Each checkpoint is ``<directory>/epoch_000007``, written by orbax to a
temporary directory and renamed into place only when complete, so a process
killed mid-write leaves the previous checkpoints loadable; unfinished
temporary directories are ignored (and removed by the next save). A removed
checkpoint is first renamed out of the naming pattern, then deleted, so it is
never seen half-deleted. ``keep`` checkpoints are kept: the best by the monitor
(or the newest ones without a monitor), plus always the newest one, which resume reads.

Every checkpoint records the run that wrote it (:func:`run_record`: a fingerprint of
the model's graph and state shapes, the loss, the metrics, the optimizer and the
seed). A run refuses a directory that holds another run's checkpoints unless told
to overwrite them (:meth:`CheckpointStore.begin`), and ``resume=`` refuses to load
them, so two runs never mix their epochs in one directory.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import orbax.checkpoint as ocp

from kino.contracts import check_bool, check_choice, check_int, check_str, fail

PATTERN = re.compile(r"^epoch_(\d{6})$")
META = "kino/metadata"
"""The JSON metadata (epoch, metrics, loop counters) inside each checkpoint directory."""
PROBE_PREFIX = ".kino-write-check-"
"""The file ``check_writable`` writes and removes (each process its own, at once)."""


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

    def __init__(
        self,
        directory,
        keep: int = 3,
        monitor: str | None = None,
        mode: str = "min",
        *,
        overwrite: bool = False,
        func: str = "train.CheckpointStore",
    ):
        if not isinstance(directory, str | os.PathLike):
            fail(func, "directory", "a path (str or os.PathLike)", directory)
        self.keep = check_int(keep, func=func, argument="keep", min=1)
        self.directory = Path(directory).absolute()
        self.monitor = check_str(
            monitor, func=func, argument="monitor", allowed="a metric name or None", allow_none=True
        )
        self.mode = check_choice(mode, ("min", "max"), func=func, argument="mode")
        self.overwrite = check_bool(overwrite, func=func, argument="overwrite")
        self.run: dict | None = None
        """The record of the run writing here (:func:`run_record`), stored in each checkpoint."""
        self._replace: set[int] | None = None  # epochs to keep when replacing, after a save

    def check_writable(self, func: str = "train.CheckpointStore") -> None:
        """Create the directory and write a probe file in it; raise ``OSError`` naming both.

        Example:
            >>> import tempfile
            >>> CheckpointStore(tempfile.mkdtemp()).check_writable()
        """
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            fd, probe = tempfile.mkstemp(prefix=PROBE_PREFIX, dir=self.directory)
            os.close(fd)
            os.remove(probe)
        except OSError as exc:
            where = str(self.directory)
            at = f" ({exc.filename})" if exc.filename and str(exc.filename) != where else ""
            raise type(exc)(
                f"{func}: cannot write checkpoints to {where!r}: {exc.strerror or exc}{at}"
            ) from exc

    def metadata(self, epoch: int) -> dict:
        """The JSON metadata of the checkpoint of ``epoch`` (epoch, step, metrics, run, ...)."""
        return json.loads((_path(self.directory, epoch) / META).read_text())

    def writer(self, epoch: int) -> dict | None:
        """The record of the run that wrote ``epoch`` (``None`` for checkpoints older than it)."""
        return self.metadata(epoch).get("run")

    def begin(self, run: dict, *, resuming: bool, func: str = "train.Trainer.run") -> None:
        """Get ready for ``run`` (a :func:`run_record`) to write here, before its first step.

        The directory must be writable. A fresh run needs it empty, and a resumed one
        may find only its own checkpoints there; otherwise, with ``overwrite=True`` the
        checkpoints found are removed once this run has written its first one (so a run
        that fails before that loses nothing), and without it this raises
        ``FileExistsError`` saying what is there and what to do.
        """
        self.check_writable(func)
        self.run = run
        self._replace = None
        # Another process of a jax.distributed run may be probing the same directory now.
        entries = sorted(
            p.name for p in self.directory.iterdir() if not p.name.startswith(PROBE_PREFIX)
        )
        epochs = self.epochs()
        ours = {e for e in epochs if resuming and (self.writer(e) or {}).get("id") == run["id"]}
        blocking = [e for e in epochs if e not in ours] if resuming else entries
        if not blocking:
            return
        if self.overwrite:
            self._replace = ours
            return
        where = str(self.directory)
        if epochs:
            found = f"checkpoints of epochs {_ranges([e for e in epochs if e not in ours])}"
            writers = {describe_run(self.writer(e)) for e in epochs if e not in ours}
            found += " written by " + "; ".join(sorted(writers))
        else:
            shown = ", ".join(entries[:3]) + (", ..." if len(entries) > 3 else "")
            found = f"{len(entries)} entries ({shown})"
        raise FileExistsError(
            f"{func}: the checkpoint directory {where!r} is not empty: it holds {found}, "
            f"and this run is {describe_run(run)}. Pass overwrite=True to loop.checkpoint(...) "
            f"to replace them, resume={where!r} to continue the run that wrote them, "
            "or choose another directory"
        )

    def epochs(self) -> list[int]:
        """Epochs with a complete checkpoint, oldest first."""
        if not self.directory.is_dir():
            return []
        found: list[int] = []
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
        if self.run is not None:
            meta["run"] = self.run
        target = _path(self.directory, epoch)
        if jax.process_index() == 0 and target.exists():
            self._delete(target)
        # Under jax.distributed every process saves together: none starts writing before
        # process 0 has cleared the way (an old folder of this epoch, stale partial writes).
        _sync_processes("kino.train checkpoint: cleared")
        with ocp.Checkpointer(ocp.CompositeCheckpointHandler()) as ckptr:
            ckptr.save(
                target,
                args=ocp.args.Composite(
                    arrays=ocp.args.StandardSave(leaves),
                    kino=ocp.args.JsonSave(meta),
                ),
            )
        if self._replace is not None:  # overwrite=True: the other checkpoints go now
            keep = self._replace | {int(epoch)}
            self._replace = None
            if jax.process_index() == 0:
                for e in self.epochs():
                    if e not in keep:
                        self._delete(_path(self.directory, e))
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
        """Higher is better: the monitored value (negated for mode "min"), else the epoch."""
        if self.monitor is None:
            return float(epoch)  # newest is best, whatever the mode
        meta = self.metadata(epoch)
        value = meta.get("metrics", {}).get(self.monitor, float("nan"))
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


def _sync_processes(name: str) -> None:
    if jax.process_count() > 1:
        from jax.experimental import multihost_utils

        multihost_utils.sync_global_devices(name)


def _ranges(epochs: list[int]) -> str:
    return ", ".join(str(e) for e in epochs[:6]) + (", ..." if len(epochs) > 6 else "")


def run_record(
    model, loss: str, metrics: list[str], optimizer: str, seed: int, extra: dict | None = None
) -> dict:
    """What identifies a run's configuration, with ``id``: a digest of all of it.

    ``model`` is an ``nnx.Module``: its graph (module types by path) and the shape and
    dtype of every state variable enter the digest; the record shows a short summary.

    Example:
        >>> from flax import nnx
        >>> a = run_record(nnx.Linear(2, 1, rngs=nnx.Rngs(0)), "mse", [], "sgd(0.01)", 0)
        >>> b = run_record(nnx.Linear(2, 1, rngs=nnx.Rngs(1)), "mse", [], "sgd(0.01)", 7)
        >>> a["model"], a["id"] == b["id"], sorted(k for k in a if a[k] != b[k])
        ('Linear, 2 arrays, 3 values', False, ['id', 'seed'])
    """
    from flax import nnx

    graph = [
        (".".join(map(str, path)), type(node).__qualname__)
        for path, node in nnx.iter_graph(model)
        if isinstance(node, nnx.Module)
    ]
    state = nnx.state(model)
    shapes = []
    for path, leaf in jax.tree_util.tree_flatten_with_path(state)[0]:
        shapes.append(
            (jax.tree_util.keystr(path), list(np.shape(leaf)), str(getattr(leaf, "dtype", "")))
        )
    params = jax.tree.leaves(nnx.state(model, nnx.Param))
    size = sum(int(np.prod(np.shape(p))) for p in params)
    record = {
        "model": f"{type(model).__qualname__}, {len(params)} arrays, {size} values",
        "loss": loss,
        "metrics": list(metrics),
        "optimizer": optimizer,
        "seed": int(seed),
        **(extra or {}),
    }
    full = dict(record, graph=sorted(graph), shapes=sorted(shapes))
    digest = hashlib.sha256(json.dumps(full, sort_keys=True, default=str).encode()).hexdigest()
    return {"id": digest[:12], **record}


def describe_run(run: dict | None) -> str:
    """One line naming a run record (``run 1a2b3c4d5e6f (model ..., seed 0)``)."""
    if not run:
        return "an unidentified run (a checkpoint written before runs were recorded)"
    parts = [f"{k} {_shown(v)}" for k, v in run.items() if k != "id"]
    return f"run {run.get('id')} ({', '.join(parts)})"


def differences(a: dict | None, b: dict | None) -> str:
    """Which fields of two run records differ: ``seed 0 vs 7``."""
    a, b = a or {}, b or {}
    keys = [k for k in {**a, **b} if k != "id" and a.get(k) != b.get(k)]
    if not keys:
        return "the model's graph or state shapes"
    return "; ".join(f"{k} {_shown(a.get(k))} vs {_shown(b.get(k))}" for k in keys)


def _shown(value) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(map(str, value)) + "]"
    return str(value)
