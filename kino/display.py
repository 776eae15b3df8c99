"""Rich display of data objects in notebooks: ``kino.enable()`` and ``%load_ext kino``.

After ``kino.enable()``, IPython shows a polars DataFrame or LazyFrame as a
``kino.table`` instead of its text repr (and whatever other widget families
registered their types, e.g. jax arrays as ``kino.inspect``). ``kino.disable()``
restores the default displays.

A widget family registers its display in one line, at import time::

    register_display("jax.Array", lambda array: inspect(array))

The type may be a class or its dotted name (``"module.ClassName"``, as the
class's ``__module__`` spells it), so nothing is imported until an object of
that type is actually displayed.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable
from typing import Any

from kino.contracts import check_callable, fail

Factory = Callable[[Any], Any]

_registry: dict[type | str, Factory] = {}
_active: Any = None  # the IPython shell kino.enable() registered with


def _formatter(shell: Any) -> Any:
    return shell.display_formatter.mimebundle_formatter


def _printer(factory: Factory) -> Callable[[Any], Any]:
    def show(obj: Any) -> Any:
        widget = factory(obj)
        bundle = widget._repr_mimebundle_()
        # ipywidgets returns (data, metadata); IPython's mimebundle printers return data.
        return bundle[0] if isinstance(bundle, tuple) else bundle

    return show


def _install(shell: Any, key: type | str, factory: Factory) -> None:
    formatter = _formatter(shell)
    if isinstance(key, str):
        module, _, name = key.rpartition(".")
        loaded = getattr(sys.modules.get(module), name, None)
        if isinstance(loaded, type):
            # Already imported: register the class itself, so subclasses match too (a
            # deferred name only matches a class whose own module and name are those).
            formatter.for_type(loaded, _printer(factory))
        else:
            formatter.for_type_by_name(module, name, _printer(factory))
    else:
        formatter.for_type(key, _printer(factory))


def _uninstall(shell: Any, key: type | str) -> None:
    formatter = _formatter(shell)
    keys: list[Any] = [key]
    if isinstance(key, str):
        module, _, name = key.rpartition(".")
        keys.append(getattr(sys.modules.get(module), name, None))
    for k in keys:
        with contextlib.suppress(KeyError, TypeError):
            formatter.pop(k)


def register_display(type_or_name: type | str, factory: Factory) -> None:
    """Show objects of a type with a kino widget once ``kino.enable()`` is on.

    ``factory(obj)`` returns the widget. Registering again replaces the factory.

    >>> register_display("collections.OrderedDict", lambda d: d)
    >>> unregister_display("collections.OrderedDict")
    """
    allowed = "a class or a dotted name like 'polars.dataframe.frame.DataFrame'"
    if isinstance(type_or_name, str):
        if "." not in type_or_name:
            fail("register_display", "type_or_name", allowed, type_or_name, ValueError)
    elif not isinstance(type_or_name, type):
        fail("register_display", "type_or_name", allowed, type_or_name)
    check_callable(factory, func="register_display", argument="factory")
    _registry[type_or_name] = factory
    if _active is not None:
        _install(_active, type_or_name, factory)


def unregister_display(type_or_name: type | str) -> None:
    """Forget a display registered with :func:`register_display`.

    >>> register_display("fractions.Fraction", str)
    >>> unregister_display("fractions.Fraction")
    >>> "fractions.Fraction" in registered_displays()
    False
    """
    _registry.pop(type_or_name, None)
    if _active is not None:
        _uninstall(_active, type_or_name)


def registered_displays() -> dict[type | str, Factory]:
    """The registered types (or dotted names) and their widget factories.

    >>> import kino
    >>> "polars.dataframe.frame.DataFrame" in registered_displays()
    True
    """
    return dict(_registry)


def _shell(ipython: Any) -> Any:
    if ipython is not None:
        return ipython
    try:
        from IPython import get_ipython
    except ImportError:  # IPython absent: plain Python, nothing to enable
        return None
    return get_ipython()


def enable(ipython: Any = None) -> bool:
    """Display polars frames (and other registered types) as kino widgets.

    Returns False outside IPython, where there is nothing to enable.

    In a notebook every polars DataFrame then shows as ``kino.table``. Given a shell,
    it registers the displays with that shell's formatter:

    >>> from IPython.core.interactiveshell import InteractiveShell
    >>> import polars as pl, kino
    >>> shell = InteractiveShell.instance()
    >>> kino.enable(shell)
    True
    >>> data, _ = shell.display_formatter.format(pl.DataFrame({"x": [1]}))
    >>> "application/vnd.jupyter.widget-view+json" in data
    True
    >>> kino.disable()
    """
    global _active
    shell = _shell(ipython)
    if shell is None:
        return False
    if _active is not None and _active is not shell:
        disable()
    _active = shell
    for key, factory in _registry.items():
        _install(shell, key, factory)
    return True


def disable() -> None:
    """Restore IPython's default displays for every registered type.

    >>> import kino
    >>> kino.disable()  # a no-op when nothing was enabled
    """
    global _active
    if _active is None:
        return
    for key in _registry:
        _uninstall(_active, key)
    _active = None
