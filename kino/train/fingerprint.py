"""Cache keys for compiled programs: what a function computes, not which object it is.

A re-run notebook cell builds new objects for the same computation: a new
``optax.adam(1e-3)`` (a tuple of fresh closures), a new loss function, a new
penalty. :func:`fingerprint` turns such a value into a hashable key made of what
the traced program depends on: a function's code, the values it closes over,
its defaults and the module globals it reads; a tuple's type and items; a
number's value. Two values with equal fingerprints trace to the same program,
so the program cache (:mod:`kino.train.prepare`) hits. Anything it cannot look
inside (an arbitrary object, a large array) stands for itself, by identity,
which can only cost a compilation, never reuse a wrong program.
"""

from __future__ import annotations

import functools
import types
from typing import Any

import numpy as np

MAX_ARRAY_ELEMENTS = 4096
"""Arrays up to this size are keyed by value (a closed-over constant); larger ones by identity."""

_SCALARS = (type(None), bool, int, float, complex, str, bytes)


class _Same:
    """A key part that matches only the very same object (kept alive by the key)."""

    __slots__ = ("obj",)

    def __init__(self, obj):
        self.obj = obj

    def __eq__(self, other):
        return isinstance(other, _Same) and other.obj is self.obj

    def __hash__(self):
        return id(self.obj)


def fingerprint(value: Any) -> Any:
    """A hashable key equal for values that compute the same thing.

    Example:
        >>> import optax
        >>> fingerprint(optax.adam(1e-3)) == fingerprint(optax.adam(1e-3))
        True
        >>> fingerprint(optax.adam(1e-3)) == fingerprint(optax.adam(1e-2))
        False
        >>> fingerprint(optax.adam(1e-3)) == fingerprint(optax.sgd(1e-3))
        False
    """
    return _fp(value, {})


def _fp(v: Any, seen: dict) -> Any:
    if isinstance(v, _SCALARS):
        return (type(v).__name__, v)
    if isinstance(v, types.ModuleType):
        return ("module", v.__name__)
    if isinstance(v, type | types.BuiltinFunctionType | np.dtype):
        return v
    key = id(v)
    if key in seen:  # a cycle (a recursive closure): refer to the first visit
        return ("seen", seen[key])
    seen[key] = len(seen)
    if isinstance(v, types.FunctionType):
        return _function(v, seen)
    if isinstance(v, functools.partial):
        return ("partial", _fp(v.func, seen), _fp(v.args, seen), _fp(v.keywords, seen))
    if isinstance(v, types.MethodType):
        return ("method", _fp(v.__func__, seen), _Same(v.__self__))
    if isinstance(v, tuple | list):
        return (type(v), tuple(_fp(i, seen) for i in v))
    if isinstance(v, dict):
        return (type(v), tuple((_fp(k, seen), _fp(i, seen)) for k, i in v.items()))
    if isinstance(v, np.generic):
        return ("scalar", v.dtype, v.item())
    if hasattr(v, "shape") and hasattr(v, "dtype") and _small(v):
        try:
            a = np.asarray(v)
        except Exception:  # array-like in name only (a ShapeDtypeStruct, a tracer)
            return _Same(v)
        if a.dtype != object:
            return ("array", type(v).__name__, a.shape, a.dtype, a.tobytes())
    return _Same(v)


def _small(v) -> bool:
    try:
        return int(np.prod(v.shape)) <= MAX_ARRAY_ELEMENTS
    except TypeError:
        return False


def _function(f: types.FunctionType, seen: dict) -> tuple:
    code = f.__code__
    cells = tuple(_fp(_cell(c), seen) for c in f.__closure__ or ())
    glob = f.__globals__
    used = tuple(
        (name, _global(glob[name], seen)) for name in sorted(_global_names(code)) if name in glob
    )
    return (
        "function",
        code,
        cells,
        _fp(f.__defaults__, seen),
        _fp(f.__kwdefaults__, seen),
        used,
    )


def _global(g, seen: dict):
    # a module-level function or class is a stable object: itself (a redefinition misses)
    if callable(g) and not isinstance(g, functools.partial):
        return _Same(g)
    return _fp(g, seen)


def _cell(cell):
    try:
        return cell.cell_contents
    except ValueError:  # an empty cell (a name assigned after the closure was made)
        return None


def _global_names(code: types.CodeType) -> set[str]:
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _global_names(const)
    return names
