"""Imports of the optional libraries, each failing with the extra that installs it.

>>> need("json", "kino.serving.http", "serving").__name__
'json'
>>> need("no_such_module_here", "kino.serving.http", "serving")
Traceback (most recent call last):
...
kino._extras.MissingExtra: kino.serving.http needs the 'serving' extra: \
pip install 'jupyter-kino[serving]' (no_such_module_here is not installed)
"""

from __future__ import annotations

import importlib
from types import ModuleType

from kino._extras import MissingExtra


def need(module: str, func: str, extra: str) -> ModuleType:
    """``import module``, or kino's ``MissingExtra`` naming ``func`` and the extra to install."""
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as error:
        raise MissingExtra(func, extra, error.name or module) from error
