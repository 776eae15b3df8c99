"""Imports of the optional libraries, each failing with the extra that installs it.

>>> need("json", "kino.serving.http", "serving").__name__
'json'
>>> need("no_such_module_here", "kino.serving.http", "serving")
Traceback (most recent call last):
...
ImportError: kino.serving.http needs the 'serving' extra: pip install 'jupyter-kino[serving]' \
(No module named 'no_such_module_here')
"""

from __future__ import annotations

import importlib
from types import ModuleType


def need(module: str, func: str, extra: str) -> ModuleType:
    """``import module``, or an ``ImportError`` naming ``func`` and the extra to install."""
    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise ImportError(
            f"{func} needs the {extra!r} extra: pip install 'jupyter-kino[{extra}]' ({error})"
        ) from error
