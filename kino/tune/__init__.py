"""``kino.tune``: hyperparameter search on Optuna, from a form or an objective.

``kino.tune(...)`` (this module is callable: it is :func:`tune`) runs a study and
returns a :class:`Study`; in a notebook the study shows as a live widget (objective
per trial with the best so far, parallel coordinates, the trials table, importances,
a Stop button). ``Trial.prune_on(loop)`` lets Optuna's pruner halt a ``kino.train``
loop. Several processes share one study through a database: :func:`shared` makes it
with its budget, :func:`join` (or ``python -m kino.tune.worker``) runs its trials.
Optuna loads on first use; without it, :class:`~kino._extras.MissingExtra` names the
``tune`` extra.

>>> import kino
>>> study = kino.tune(lambda t: abs(t.suggest_int("n", 0, 9) - 4), n_trials=12, seed=0)
>>> study.direction, study.trials.height
('minimize', 12)
"""

from __future__ import annotations

import sys
import types
from typing import Any

from kino.tune.shared import SharedStudy, join, shared
from kino.tune.space import GRID_POINTS, Categorical, Float, Int, from_form, grid
from kino.tune.study import DEFAULT_TRIALS, SAMPLERS, Study, tune
from kino.tune.trial import Trial

__all__ = [
    "DEFAULT_TRIALS",
    "GRID_POINTS",
    "SAMPLERS",
    "Categorical",
    "Float",
    "Int",
    "SharedStudy",
    "Study",
    "Trial",
    "from_form",
    "grid",
    "join",
    "shared",
    "tune",
]


class _CallableModule(types.ModuleType):
    # kino.tune is both the package (kino.tune.Float, ...) and the function: a lazy
    # export of ".tune:tune" would be shadowed by this submodule once it is imported.
    def __call__(self, *args: Any, **kwargs: Any) -> Study:
        return tune(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
