"""Names a package exports but imports only when first used (PEP 562).

``import kino`` stays light: the table's polars, the inspector's jax and the
chart's Vega-Lite helpers load when a notebook first touches them.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from kino._extras import explain


def lazy_exports(package: str, exports: dict[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` that imports ``exports[name]`` on first use.

    ``exports`` maps a name to ``"module:attribute"`` (that attribute of the module)
    or to ``"module"`` (the module itself); a leading dot is relative to ``package``.
    A name whose library belongs to a pip extra that is not installed raises
    ``kino._extras.MissingExtra``, which names the extra to install.

    >>> getattr_ = lazy_exports("kino", {"dumps": "json:dumps", "decoder": "json.decoder"})
    >>> getattr_("dumps").__name__, getattr_("decoder").__name__
    ('dumps', 'json.decoder')
    """

    def __getattr__(name: str) -> Any:
        where = exports.get(name)
        if where is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module, _, attribute = where.partition(":")
        try:
            target = importlib.import_module(module, package)
            value = getattr(target, attribute) if attribute else target
        except ModuleNotFoundError as error:
            raise explain(f"{package}.{name}", error) from error
        globals_ = importlib.import_module(package).__dict__
        globals_[name] = value  # later lookups skip __getattr__
        return value

    __getattr__.exports = dict(exports)  # read by tests/test_architecture.py
    return __getattr__
