"""A database storage whose study runs only the trials queued in it: a shared budget.

Optuna's ``study.ask()`` pops a waiting trial (atomically: a row lock in the database)
or creates a new one. A study that several processes share gets its budget as that
many waiting trials up front (:func:`kino.tune.shared`); its workers use this storage,
which refuses to create a trial that was not queued, so ``ask`` either takes one of
the budget's trials or raises :class:`PoolEmpty`. A retry that Optuna's heartbeat
queues for a trial whose worker died is queued too, so it takes that trial's place.

>>> storage = PoolStorage("sqlite://")
>>> import optuna
>>> study = optuna.create_study(storage=storage)
>>> study.enqueue_trial({"x": 1.0})
>>> study.ask().number
0
>>> study.ask()
Traceback (most recent call last):
...
kino.tune.pool.PoolEmpty: kino.tune: the shared study has no queued trial left
"""

from __future__ import annotations

from typing import Any

import optuna


class PoolEmpty(RuntimeError):
    """No queued trial is left: the worker has nothing more to run (for now).

    >>> str(PoolEmpty())
    'kino.tune: the shared study has no queued trial left'
    """

    def __init__(self) -> None:
        super().__init__("kino.tune: the shared study has no queued trial left")


class PoolStorage(optuna.storages.RDBStorage):
    """Optuna's ``RDBStorage`` (same arguments) that creates only queued trials.

    >>> PoolStorage("sqlite://").get_heartbeat_interval() is None
    True
    """

    # Both the storage and Optuna's cache over it create trials through this method.
    def _create_new_trial(self, study_id: int, template_trial: Any = None) -> Any:
        if template_trial is None:  # a fresh trial: not one of the budget's
            raise PoolEmpty
        return super()._create_new_trial(study_id, template_trial)
