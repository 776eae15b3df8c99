"""Optuna, imported when a study first needs it (``import kino.tune`` stays light).

>>> optuna().__name__
'optuna'
"""

from __future__ import annotations

import importlib
from types import ModuleType

from kino._extras import MissingExtra


def optuna() -> ModuleType:
    """The ``optuna`` module, or :class:`~kino._extras.MissingExtra` naming the 'tune' extra.

    >>> optuna().TrialPruned.__name__
    'TrialPruned'
    """
    try:
        module = importlib.import_module("optuna")
    except ModuleNotFoundError as error:
        raise MissingExtra("kino.tune", "tune", "optuna") from error
    module.logging.set_verbosity(module.logging.WARNING)  # one INFO line per trial otherwise
    return module
