"""Checkpoint tensors assigned to a flax.nnx module's variables, by name, checked.

An architecture says where each checkpoint tensor goes (a :class:`Target`: a path into
``nnx.state(module)`` and an optional layout change, e.g. a transpose), and
:func:`load_weights` assigns them, refusing a checkpoint that does not fit with one
error that names every missing, unexpected or mis-shaped tensor.

>>> import numpy as np
>>> from flax import nnx
>>> layer = nnx.Linear(2, 3, rngs=nnx.Rngs(0))
>>> tensors = {"weight": np.ones((3, 2), np.float32), "bias": np.zeros(3, np.float32)}
>>> targets = {"weight": Target(("kernel",), transpose), "bias": Target(("bias",))}
>>> load_weights(layer, tensors, targets, dtype="float32")
>>> layer.kernel[...].shape, float(layer.kernel[...].sum())
((2, 3), 6.0)
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from kino.models.errors import WeightError

if TYPE_CHECKING:
    from flax import nnx

#: The dtypes a checkpoint can be loaded in (``dtype=``).
DTYPES = ("float32", "bfloat16", "float16")

#: How many names of one kind a :class:`WeightError` lists before it says "and N more".
MAX_LISTED = 12


@dataclass(frozen=True)
class Target:
    """Where one checkpoint tensor goes: a path into ``nnx.state(module)``, and a layout change.

    >>> import numpy as np
    >>> t = Target(("layers", 0, "kernel"), transpose)
    >>> t.dotted, t.apply(np.zeros((3, 2))).shape
    ('layers.0.kernel', (2, 3))
    """

    path: tuple[str | int, ...]
    transform: Callable[[np.ndarray], np.ndarray] | None = None

    @property
    def dotted(self) -> str:
        """The path as one dotted name, as messages show it.

        >>> Target(("encoder", "layers", 3, "bias")).dotted
        'encoder.layers.3.bias'
        """
        return ".".join(str(p) for p in self.path)

    def apply(self, tensor: np.ndarray) -> np.ndarray:
        """The tensor in the module's layout (``transform`` applied, if any).

        >>> import numpy as np
        >>> Target(("bias",)).apply(np.arange(2)).tolist()
        [0, 1]
        """
        return tensor if self.transform is None else self.transform(tensor)


def transpose(tensor: np.ndarray) -> np.ndarray:
    """A PyTorch ``nn.Linear`` weight ``[out, in]`` as an ``nnx.Linear`` kernel ``[in, out]``.

    >>> import numpy as np
    >>> transpose(np.zeros((3, 2))).shape
    (2, 3)
    """
    return np.ascontiguousarray(np.swapaxes(tensor, -1, -2))


def conv_kernel(tensor: np.ndarray) -> np.ndarray:
    """A PyTorch conv weight ``[out, in, kh, kw]`` as an ``nnx.Conv`` kernel ``[kh, kw, in, out]``.

    >>> import numpy as np
    >>> conv_kernel(np.zeros((8, 3, 7, 5))).shape
    (7, 5, 3, 8)
    """
    return np.ascontiguousarray(np.transpose(tensor, (2, 3, 1, 0)))


def check_dtype(dtype: Any, *, func: str) -> str:
    """``dtype`` as one of :data:`DTYPES` (a numpy or jax dtype is accepted by name).

    >>> import numpy as np
    >>> check_dtype(np.float16, func="kino.models.load")
    'float16'
    >>> check_dtype("int8", func="kino.models.load")
    Traceback (most recent call last):
    ...
    ValueError: kino.models.load: 'dtype' must be one of float32, bfloat16, float16, got str: 'int8'
    """
    from kino.contracts import check_choice

    name = dtype
    if not isinstance(dtype, str):
        try:
            name = np.dtype(dtype).name
        except TypeError:
            name = getattr(dtype, "__name__", dtype)
    if isinstance(name, str) and name in DTYPES:
        return name
    return check_choice(dtype, DTYPES, func=func, argument="dtype")


def _variables(module: nnx.Module) -> dict[tuple[Any, ...], nnx.Variable]:
    from flax import nnx

    return {
        tuple(path): node for path, node in nnx.iter_graph(module) if isinstance(node, nnx.Variable)
    }


def _listed(names: Collection[str]) -> str:
    shown = ", ".join(sorted(names)[:MAX_LISTED])
    more = len(names) - MAX_LISTED
    return shown + (f" and {more} more" if more > 0 else "")


def load_weights(
    module: nnx.Module,
    tensors: Mapping[str, np.ndarray],
    targets: Mapping[str, Target],
    *,
    dtype: Any,
    ignore: Collection[str] = (),
) -> None:
    """Assign ``tensors[name]`` to the variable ``targets[name]`` names, in ``dtype``.

    Nothing is assigned unless everything fits: a tensor of the wrong shape (both shapes
    named), a target with no tensor, a tensor with no target (unless a name or
    ``fnmatch`` pattern in ``ignore`` matches it, e.g. buffers like ``*.position_ids``)
    and a parameter no target reaches all raise one :class:`WeightError`. Floating
    tensors are cast to ``dtype``; integer ones keep theirs.

    >>> import numpy as np
    >>> from flax import nnx
    >>> layer = nnx.Linear(2, 3, rngs=nnx.Rngs(0))
    >>> targets = {"weight": Target(("kernel",), transpose), "bias": Target(("bias",))}
    >>> load_weights(layer, {"weight": np.ones((2, 2)), "bias": np.ones(3)}, targets,
    ...              dtype="float32")
    Traceback (most recent call last):
    ...
    kino.models.errors.WeightError: load_weights: the checkpoint does not fit Linear:
      'weight' has shape (2, 2) (as kernel: (2, 2)), the module's kernel has shape (2, 3)
    """
    import jax.numpy as jnp
    from flax import nnx

    dtype = check_dtype(dtype, func="load_weights")
    variables = _variables(module)
    problems: list[str] = []
    ready: list[tuple[nnx.Variable, Any]] = []

    missing = [name for name in targets if name not in tensors]
    unexpected = [
        name
        for name in tensors
        if name not in targets and not any(fnmatch.fnmatchcase(name, p) for p in ignore)
    ]
    for name, target in targets.items():
        variable = variables.get(tuple(target.path))
        if variable is None:
            problems.append(f"{name!r} goes to {target.dotted}, which the module does not have")
            continue
        if name not in tensors:
            continue
        tensor = np.asarray(tensors[name])
        value = target.apply(tensor)
        want = tuple(variable.get_value().shape)
        if tuple(value.shape) != want:
            leaf = str(target.path[-1])
            problems.append(
                f"{name!r} has shape {tuple(tensor.shape)} (as {leaf}: {tuple(value.shape)}), "
                f"the module's {target.dotted} has shape {want}"
            )
            continue
        kind = dtype if np.issubdtype(value.dtype, np.floating) or value.dtype.kind == "V" else None
        ready.append((variable, jnp.asarray(value, dtype=kind or value.dtype)))
    reached = {tuple(t.path) for t in targets.values()}
    unassigned = [
        ".".join(map(str, path))
        for path, variable in variables.items()
        if isinstance(variable, (nnx.Param, nnx.BatchStat)) and path not in reached
    ]
    if missing:
        problems.append(f"missing from the checkpoint: {_listed(missing)}")
    if unexpected:
        problems.append(f"in the checkpoint but not used by the module: {_listed(unexpected)}")
    if unassigned:
        problems.append(f"module parameters no checkpoint tensor reaches: {_listed(unassigned)}")
    if problems:
        raise WeightError(
            f"load_weights: the checkpoint does not fit {type(module).__name__}:\n  "
            + "\n  ".join(problems)
        )
    for variable, value in ready:
        variable.set_value(value)  # replaces the array: `variable[...] =` would keep its dtype


#: A flax leaf name → the PyTorch checkpoint's name for it.
TORCH_LEAVES = {
    "kernel": "weight",
    "embedding": "weight",
    "scale": "weight",
    "bias": "bias",
    "mean": "running_mean",
    "var": "running_var",
}


def mirrored(
    module: nnx.Module,
    *,
    prefix: str = "",
    torch_layout: bool = True,
    renamed: dict[str, str] | None = None,
) -> dict[str, Target]:
    """Targets for a module whose attribute names follow the PyTorch checkpoint's.

    ``encoder.layer[0].query.kernel`` is read from ``encoder.layer.0.query.weight``,
    transposed (a 2-D kernel, ``nn.Linear``) or reordered (a 4-D one, ``nn.Conv2d``);
    with ``torch_layout=False`` kernels are read as they are (GPT-2's ``Conv1D`` stores
    them as flax does). ``renamed`` maps a parent's dotted path to the checkpoint's
    (``{"classifier": "classifier.1"}`` for a layer inside an ``nn.Sequential``).

    >>> from flax import nnx
    >>> sorted(mirrored(nnx.Linear(2, 3, rngs=nnx.Rngs(0)), prefix="dense."))
    ['dense.bias', 'dense.weight']
    >>> class Head(nnx.Module):
    ...     def __init__(self):
    ...         self.classifier = nnx.Linear(2, 3, rngs=nnx.Rngs(0))
    >>> targets = mirrored(Head(), torch_layout=False, renamed={"classifier": "classifier.1"})
    >>> sorted(targets), targets["classifier.1.weight"].transform
    (['classifier.1.bias', 'classifier.1.weight'], None)
    """
    from flax import nnx

    renamed = renamed or {}
    targets = {}
    for path, variable in _variables(module).items():
        if not isinstance(variable, (nnx.Param, nnx.BatchStat)):
            continue
        leaf = str(path[-1])
        parents = ".".join(map(str, path[:-1]))
        parents = renamed.get(parents, parents)
        name = prefix + ".".join([p for p in (parents, TORCH_LEAVES.get(leaf, leaf)) if p])
        transform = None
        if leaf == "kernel" and torch_layout:
            rank = len(variable.get_value().shape)
            transform = transpose if rank == 2 else conv_kernel if rank == 4 else None
        targets[name] = Target(tuple(path), transform)
    return targets
