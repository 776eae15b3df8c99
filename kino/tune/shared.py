"""One study shared by several processes through a database (the scale-out of kino.tune).

``shared(storage, study_name, n_trials)`` creates the study in the database with its
budget: ``n_trials`` trials queued up front. Each worker process calls
``join(objective, storage=..., study_name=...)`` (or runs ``python -m kino.tune.worker``):
it takes queued trials one at a time (the database hands each to one worker only) until
none is left and no other worker's trial is still running, so the study ends with
exactly ``n_trials`` trials whichever workers ran them. A worker records a heartbeat
while its trial runs; when a worker dies mid-trial, the next worker to look marks that
trial failed and queues a retry with the same parameters (Optuna's
``RetryHeartbeatStaleTrialCallback``), which takes its place in the budget. The
:class:`~kino.tune.Study` that ``shared`` returns runs nothing: it follows the database,
so its widget shows every worker's trials.

>>> import kino, tempfile, pathlib
>>> url = f"sqlite:///{pathlib.Path(tempfile.mkdtemp()) / 'study.db'}"
>>> study = kino.tune.shared(url, "demo", n_trials=4)
>>> study.done, study.trials["state"].to_list()
(False, ['waiting', 'waiting', 'waiting', 'waiting'])
>>> worker = kino.tune.join(lambda t: t.suggest_float("x", 0, 1), storage=url, study_name="demo")
>>> study.done, study.trials["state"].to_list()
(True, ['complete', 'complete', 'complete', 'complete'])
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

from kino.contracts import check_bool, check_int, check_str, fail
from kino.tune._optuna import optuna
from kino.tune.study import Study, _direction, _pruner, _runner, _sampler, check_catch
from kino.tune.trial import Trial

#: The study user attribute that holds a shared study's budget (its trials).
BUDGET_ATTR = "kino.tune.trials"
#: The study user attribute that tells every worker to stop (set by a follower's Stop).
STOP_ATTR = "kino.tune.stop"
#: Seconds between a worker's heartbeats; a trial silent for twice as long is failed.
HEARTBEAT = 10
#: Times a trial whose worker died is retried before it stays failed.
MAX_RETRY = 3


class SharedStudy(Study):
    """A study in a database that several processes work on (made by :func:`shared`,
    which follows it, or :func:`join`, which runs its queued trials in this process).

    >>> import kino
    >>> s = kino.tune.shared("sqlite://", "demo", n_trials=2)
    >>> s.budget, s.done
    (2, False)
    """

    def __init__(
        self,
        study: Any,
        objective: Callable[[Trial], Any] | None,
        *,
        monitor: str | None = None,
        catch: tuple[type[BaseException], ...] = (),
        heartbeat: int = HEARTBEAT,
    ) -> None:
        budget = study.user_attrs.get(BUDGET_ATTR)
        if budget is None:
            raise ValueError(
                f"kino.tune: the study {study.study_name!r} has no budget: create it with "
                "kino.tune.shared(storage, study_name, n_trials) before workers join it"
            )
        super().__init__(
            study, objective, n_trials=None, timeout=None, monitor=monitor, catch=catch
        )
        self.budget = int(budget)
        self._heartbeat = heartbeat

    def _optimize(self) -> None:
        from kino.tune.pool import PoolEmpty

        while not self._stop.is_set() and not self._stopped_by_follower():
            try:
                self.optuna.optimize(
                    self._trial,
                    catch=self._catch,
                    callbacks=[self._after_trial],
                    gc_after_trial=False,
                )
                return  # stopped
            except PoolEmpty:
                state = optuna().trial.TrialState
                if self._trials_in(state.WAITING):  # a retry was queued meanwhile
                    continue
                if not self._trials_in(state.RUNNING):
                    return
                # Another worker's trial still runs: wait for it to end, or to go silent
                # (optimize fails a silent trial and queues its retry before asking).
                self._stop.wait(self._heartbeat)

    def _after_trial(self, study: Any, trial: Any) -> None:
        if self._stopped_by_follower():
            self._stop.set()
        super()._after_trial(study, trial)

    def _stopped_by_follower(self) -> bool:
        return bool(self.optuna.user_attrs.get(STOP_ATTR))

    def _trials_in(self, *states: Any) -> bool:
        return bool(self.optuna.get_trials(deepcopy=False, states=states))

    def _unfinished(self) -> bool:
        state = optuna().trial.TrialState
        if self._stopped_by_follower():
            return self._trials_in(state.RUNNING)
        return self._trials_in(state.RUNNING, state.WAITING)

    def stop(self) -> None:
        """A worker: stop after its running trial. A follower (the widget's Stop): tell
        every worker to stop after its running trial; the queued trials stay unrun.

        >>> import kino
        >>> s = kino.tune.shared("sqlite://", "demo", n_trials=2)
        >>> s.done, s.stop(), s.done
        (False, None, True)
        """
        super().stop()
        if self._objective is None:
            self.optuna.set_user_attr(STOP_ATTR, True)

    @property
    def done(self) -> bool:
        """For a follower (no objective): whether every queued trial has ended (or, once
        stopped, every running one); for a worker: whether it has stopped working."""
        if self._objective is None:
            return not self._unfinished()
        return super().done


def _storage(url: str, heartbeat: int | None, func: str) -> Any:
    from kino.tune.pool import PoolStorage

    check_str(url, func=func, argument="storage", allowed="a database URL")
    o = optuna()
    with warnings.catch_warnings():  # heartbeats are an experimental Optuna feature
        warnings.simplefilter("ignore", o.exceptions.ExperimentalWarning)
        if heartbeat is None:
            return PoolStorage(url)
        retry = o.storages.RetryHeartbeatStaleTrialCallback(max_retry=MAX_RETRY)
        return PoolStorage(
            url,
            heartbeat_interval=heartbeat,
            grace_period=2 * heartbeat,
            heartbeat_stale_trial_callback=retry,
        )


def shared(
    storage: str,
    study_name: str,
    n_trials: int,
    *,
    direction: str | None = None,
    monitor: str | None = None,
) -> SharedStudy:
    """Create a study that worker processes share through ``storage`` (a database URL,
    e.g. ``"postgresql+psycopg://user@host/db"``) with a budget of ``n_trials`` queued
    trials; returns a study that follows it (shown as the live widget). An existing
    shared study of that name and budget is followed as it is.

    >>> import kino
    >>> kino.tune.shared("sqlite://", "demo", n_trials=3, monitor="validation_accuracy").direction
    'maximize'
    >>> kino.tune.shared("sqlite://", "demo", n_trials=0)
    Traceback (most recent call last):
    ...
    ValueError: kino.tune.shared: 'n_trials' must be an int >= 1, got 0
    """
    func = "kino.tune.shared"
    check_str(study_name, func=func, argument="study_name")
    n_trials = check_int(n_trials, func=func, argument="n_trials", min=1)
    check_str(monitor, func=func, argument="monitor", allowed="a metric name", allow_none=True)
    o = optuna()
    store = _storage(storage, None, func)
    try:
        study = o.create_study(
            storage=store, study_name=study_name, direction=_direction(direction, monitor)
        )
    except o.exceptions.DuplicatedStudyError:
        study = o.load_study(study_name=study_name, storage=store)
        budget = study.user_attrs.get(BUDGET_ATTR)
        if budget != n_trials:
            fail(func, "n_trials", f"the existing study's budget ({budget})", n_trials, ValueError)
        return SharedStudy(study, None, monitor=monitor)
    for _ in range(n_trials):
        study.enqueue_trial({})
    study.set_user_attr(BUDGET_ATTR, n_trials)  # last: workers join a complete budget
    return SharedStudy(study, None, monitor=monitor)


def join(
    objective: Any,
    train_fn: Callable[[dict[str, Any], Trial], Any] | None = None,
    *,
    storage: str,
    study_name: str,
    sampler: Any = "tpe",
    pruner: Any = "median",
    space: Any = None,
    monitor: str | None = None,
    seed: int | None = None,
    heartbeat: int = HEARTBEAT,
    background: bool = False,
    catch: tuple[type[BaseException], ...] = (),
) -> SharedStudy:
    """Work on a study made by :func:`shared`: run its queued trials in this process
    until none is left and no other worker's trial runs; returns the study. The
    objective, ``train_fn``, ``space``, ``sampler``, ``pruner`` and ``monitor`` are as
    in :func:`kino.tune.tune` (give each worker its own ``seed``, or none). A trial
    whose worker stops sending its heartbeat (every ``heartbeat`` seconds) for twice
    that long is marked failed and retried (up to ``MAX_RETRY`` times).

    >>> import kino
    >>> kino.tune.join(lambda t: 0.0, storage="sqlite://", study_name="nowhere")
    Traceback (most recent call last):
    ...
    KeyError: "kino.tune.join: no study 'nowhere' in the storage; create it with \
kino.tune.shared(storage, study_name, n_trials)"
    """
    func = "kino.tune.join"
    run, space = _runner(objective, train_fn, space, func)
    check_str(study_name, func=func, argument="study_name")
    seed = check_int(seed, func=func, argument="seed", min=0, allow_none=True)
    heartbeat = check_int(heartbeat, func=func, argument="heartbeat", min=1)
    check_str(monitor, func=func, argument="monitor", allowed="a metric name", allow_none=True)
    check_bool(background, func=func, argument="background")
    check_catch(catch, func)
    o = optuna()
    try:
        study = o.load_study(
            study_name=study_name,
            storage=_storage(storage, heartbeat, func),
            sampler=_sampler(sampler, space, seed),
            pruner=_pruner(pruner),
        )
    except KeyError:
        raise KeyError(
            f"{func}: no study {study_name!r} in the storage; create it with "
            "kino.tune.shared(storage, study_name, n_trials)"
        ) from None
    handle = SharedStudy(study, run, monitor=monitor, catch=catch, heartbeat=heartbeat)
    return handle.start(background=background)
