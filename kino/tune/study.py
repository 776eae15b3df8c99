"""``kino.tune``: run an Optuna study over an objective or a form and a training function.

The study lives in Optuna's storage (in memory by default, or any storage URL passed
through), so anything that follows it, the study widget included, reads the trials
from there and not from a list of ours. ``background=True`` runs it on a thread and
returns at once; ``Study.stop()`` (the widget's Stop button) ends it after the
current trial, halting that trial's training at its next epoch when it uses
``Trial.prune_on``.

>>> import kino
>>> study = kino.tune(lambda t: (t.suggest_float("x", -2, 2) - 1) ** 2, n_trials=20, seed=0)
>>> len(study.trials), round(study.best_params["x"], 1)
(20, 1.0)
"""

from __future__ import annotations

import logging
import numbers
import threading
from collections.abc import Callable, Mapping
from typing import Any

from kino.contracts import (
    check_bool,
    check_callable,
    check_choice,
    check_int,
    check_number,
    check_str,
    fail,
)
from kino.tune._optuna import optuna
from kino.tune.space import Space, check_space, grid, suggest
from kino.tune.trial import Trial

log = logging.getLogger("kino")

SAMPLERS = ("tpe", "random", "grid")
PRUNERS = ("median", "percentile", "hyperband", "none")
DIRECTIONS = ("minimize", "maximize")
#: Trials a study runs when ``n_trials`` is not given (a grid runs every point).
DEFAULT_TRIALS = 20
#: Metrics that improve upwards (a ``monitor`` named so makes the study maximize).
MAXIMIZE = ("accuracy", "precision", "recall", "f1", "roc_auc", "r2")


class Study:
    """A running or finished study: ``optuna`` is Optuna's study (its storage holds
    every trial), ``trials`` a polars frame of them, ``best_params``/``best_value``,
    ``importances()``, ``stop()``, ``wait()``; shown in a notebook as the study widget.

    >>> import kino
    >>> s = kino.tune(lambda t: t.suggest_int("n", 0, 3), sampler="grid", direction="maximize",
    ...               space={"n": kino.tune.Int(0, 3)})
    >>> s.best_value, s.trials["state"].to_list()
    (3.0, ['complete', 'complete', 'complete', 'complete'])
    """

    def __init__(
        self,
        study: Any,
        objective: Callable[[Trial], Any],
        *,
        n_trials: int | None,
        timeout: float | None,
        monitor: str | None,
        catch: tuple[type[BaseException], ...],
    ) -> None:
        self.optuna = study
        self.monitor = monitor
        self.n_trials = n_trials
        self.error: BaseException | None = None
        self._objective = objective
        self._timeout = timeout
        self._catch = catch
        self._stop = threading.Event()
        self._done = threading.Event()
        self._ended = False
        self._listeners: list[Callable[[Study], Any]] = []
        self._thread: threading.Thread | None = None
        self._widget: Any = None

    # -- running -----------------------------------------------------------------------
    def _run(self) -> None:
        try:
            self._optimize()
        except BaseException as error:  # kept for wait(), which re-raises it
            self.error = error
        finally:
            self._ended = True  # done, for the listeners; wait() returns once they heard it
            self._notify()
            self._done.set()

    def _optimize(self) -> None:
        self.optuna.optimize(
            self._trial,
            n_trials=self.n_trials,
            timeout=self._timeout,
            catch=self._catch,
            callbacks=[self._after_trial],
            gc_after_trial=False,
        )

    def _trial(self, raw: Any) -> float:
        o = optuna()
        trial = Trial(raw, self.monitor, self._stop.is_set)
        value = self._objective(trial)
        if _is_result(value):
            result, value = value, None
            halted = trial.halted and result.status in ("halted", "pruned")
            if not halted:
                value = self._value_of(result, trial.monitor or self.monitor)
            del result  # a pruned trial keeps nothing of its run
            if halted:
                raw.set_user_attr("halted", "stopped" if trial.stopped else "pruned")
                raise o.TrialPruned(f"pruned at epoch {trial.pruned_at}")
        scalar = isinstance(value, numbers.Real) or (
            hasattr(value, "__float__") and getattr(value, "shape", None) == ()
        )  # numpy and jax scalars too
        if isinstance(value, bool) or not scalar:
            raise TypeError(
                "kino.tune: the objective must return a number or a kino.train Result, "
                f"got {type(value).__name__}: {value!r:.80}"
            )
        return float(value)

    def _value_of(self, result: Any, monitor: str | None) -> float:
        if result.status == "failed" and result.error is not None:
            raise result.error
        if monitor is None:
            raise ValueError(
                "kino.tune: the objective returned a kino.train Result; pass monitor= "
                "(e.g. monitor='validation_accuracy') to say which metric is the objective"
            )
        if monitor not in result.history.columns:
            raise KeyError(
                f"kino.tune: the run's history has no {monitor!r} (it has {result.history.columns})"
            )
        column = result.history[monitor].drop_nulls().drop_nans()
        if column.len() == 0:
            return float("nan")
        maximize = self.optuna.direction == optuna().study.StudyDirection.MAXIMIZE
        return float(column.max() if maximize else column.min())

    def _after_trial(self, study: Any, _trial: Any) -> None:
        if self._stop.is_set():
            study.stop()
        self._notify()

    def _notify(self) -> None:
        for listener in list(self._listeners):
            try:
                listener(self)
            except Exception:  # a broken view must not end the study
                log.exception("kino.tune: a study listener raised")

    def start(self, background: bool = False) -> Study:
        """Run the trials, on this thread or (``background=True``) on a new one."""
        if background:
            self._thread = threading.Thread(target=self._run, name="kino-tune", daemon=True)
            self._thread.start()
        else:
            self._run()
            self._raise()
        return self

    def _raise(self) -> None:
        if self.error is not None:
            raise self.error

    def wait(self, timeout: float | None = None) -> Study:
        """Block until the study ends (re-raising an error that ended it); returns it.

        >>> import kino
        >>> kino.tune(lambda t: t.suggest_float("x", 0, 1), n_trials=3, background=True).wait().done
        True
        """
        if not self._done.wait(timeout):
            raise TimeoutError(f"kino.tune: the study did not end within {timeout} s")
        self._raise()
        return self

    def stop(self) -> None:
        """End the study after the trial that runs now (thread-safe); a trial whose
        training uses ``Trial.prune_on`` halts at its next epoch and is recorded pruned."""
        self._stop.set()

    @property
    def stop_requested(self) -> bool:
        """Whether :meth:`stop` was called."""
        return self._stop.is_set()

    @property
    def done(self) -> bool:
        """Whether the study has ended (finished, stopped or failed)."""
        return self._ended

    def subscribe(self, fn: Callable[[Study], Any]) -> Callable[[Study], Any]:
        """Call ``fn(study)`` after each trial and when the study ends, on the study's
        thread: keep it short (the widget only pokes its own timer thread)."""
        self._listeners.append(check_callable(fn, func="kino.tune.Study.subscribe"))
        return fn

    # -- reading -----------------------------------------------------------------------
    @property
    def name(self) -> str:
        """The study's name in its storage."""
        return self.optuna.study_name

    @property
    def direction(self) -> str:
        """ "minimize" or "maximize"."""
        return self.optuna.direction.name.lower()

    @property
    def trials(self) -> Any:
        """Every trial so far as a polars frame: number, state, value, epochs (reported),
        seconds, then one column per parameter."""
        from kino.tune.frame import trials_frame

        return trials_frame(self.optuna.get_trials(deepcopy=False))

    @property
    def best_params(self) -> dict[str, Any]:
        """The parameters of the best complete trial."""
        return self.optuna.best_params

    @property
    def best_value(self) -> float:
        """The objective of the best complete trial."""
        return self.optuna.best_value

    @property
    def best_trial(self) -> Any:
        """Optuna's ``FrozenTrial`` of the best complete trial."""
        return self.optuna.best_trial

    def importances(self) -> dict[str, float]:
        """How much each parameter explains the objective (Optuna's default evaluator),
        largest first; empty until two trials are complete or with one parameter."""
        o = optuna()
        done = self.optuna.get_trials(deepcopy=False, states=(o.trial.TrialState.COMPLETE,))
        params = {name for t in done for name in t.params}
        if len(done) < 2 or len(params) < 2:
            return {name: 1.0 for name in params} if len(done) >= 2 else {}
        return dict(o.importance.get_param_importances(self.optuna))

    @property
    def widget(self) -> Any:
        """The live study widget (made on first use; it follows this study)."""
        if self._widget is None:
            from kino.tune.widget import StudyView

            self._widget = StudyView(self)
        return self._widget

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)

    def __repr__(self) -> str:
        state = "done" if self.done else "running"
        return f"Study(name={self.name!r}, direction={self.direction!r}, {state})"


def _is_result(value: object) -> bool:
    return hasattr(value, "history") and hasattr(value, "status") and hasattr(value, "state")


def _sampler(sampler: Any, space: Space | None, seed: int | None) -> Any:
    o = optuna()
    if isinstance(sampler, o.samplers.BaseSampler):
        return sampler
    if not isinstance(sampler, str) or sampler not in SAMPLERS:
        fail("kino.tune", "sampler", "'tpe', 'random', 'grid' or an optuna sampler", sampler)
    if sampler == "grid":
        if space is None:
            raise ValueError(
                "kino.tune: sampler='grid' needs the values to visit: pass a form or space="
            )
        return o.samplers.GridSampler(dict(grid(space)), seed=seed)
    if sampler == "random":
        return o.samplers.RandomSampler(seed=seed)
    return o.samplers.TPESampler(seed=seed)


def _pruner(pruner: Any) -> Any:
    o = optuna()
    if isinstance(pruner, o.pruners.BasePruner):
        return pruner
    check_choice(pruner, PRUNERS, func="kino.tune", argument="pruner")
    return {
        "median": lambda: o.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=1),
        "percentile": lambda: o.pruners.PercentilePruner(25.0, n_startup_trials=5),
        "hyperband": lambda: o.pruners.HyperbandPruner(),
        "none": lambda: o.pruners.NopPruner(),
    }[pruner]()


def _direction(direction: str | None, monitor: str | None) -> str:
    if direction is None:
        base = (monitor or "").removeprefix("validation_")
        return "maximize" if base in MAXIMIZE else "minimize"
    return check_choice(direction, DIRECTIONS, func="kino.tune", argument="direction")


def tune(
    objective: Any,
    train_fn: Callable[[dict[str, Any], Trial], Any] | None = None,
    *,
    n_trials: int | None = None,
    sampler: Any = "tpe",
    direction: str | None = None,
    monitor: str | None = None,
    pruner: Any = "median",
    space: Any = None,
    storage: Any = None,
    study_name: str | None = None,
    seed: int | None = None,
    timeout: float | None = None,
    background: bool = False,
    catch: tuple[type[BaseException], ...] = (),
) -> Study:
    """Search hyperparameters with Optuna; returns the :class:`Study`.

    Either ``kino.tune(objective)``, an Optuna-style ``objective(trial)`` that returns
    the value (or a ``kino.train`` Result; with ``space=`` the drawn values are
    ``trial.params``), or ``kino.tune(form, train_fn)``: the space comes from the form's
    inputs (``kino.tune.from_form``; a ``{name: Float | Int | Categorical}`` dict works
    too) and ``train_fn(params, trial)`` trains with ``params`` (a dict by name). A
    Result's value is its best ``monitor`` over epochs. ``sampler``: "tpe" (Bayesian),
    "random", "grid" (the space's grid, ``kino.tune.grid``) or an Optuna sampler;
    ``pruner``: "median", "percentile", "hyperband", "none" or an Optuna pruner.
    ``direction`` defaults to "maximize" for an accuracy-like ``monitor``, else
    "minimize". ``storage`` and ``study_name`` go to ``optuna.create_study`` (an
    existing study is continued). ``timeout``: seconds after which no trial starts.

    >>> import kino
    >>> form = kino.form(x=kino.input.range("x", -3.0, 3.0), n=kino.input.range("n", 1, 4))
    >>> study = kino.tune(form, lambda p, trial: p["x"] ** 2 + p["n"], n_trials=30, seed=1)
    >>> sorted(study.best_params), study.best_value < 1.5
    (['n', 'x'], True)
    >>> kino.tune(form, n_trials=3)
    Traceback (most recent call last):
    ...
    TypeError: kino.tune: 'train_fn' must be fn(params, trial) when the first argument \
is a form, got None
    """
    o = optuna()
    func = "kino.tune"
    run, space = _runner(objective, train_fn, space, func)
    if n_trials is None and sampler != "grid":
        n_trials = DEFAULT_TRIALS
    n_trials = check_int(n_trials, func=func, argument="n_trials", min=1, allow_none=True)
    seed = check_int(seed, func=func, argument="seed", min=0, allow_none=True)
    check_str(monitor, func=func, argument="monitor", allowed="a metric name", allow_none=True)
    check_str(study_name, func=func, argument="study_name", allow_none=True)
    check_bool(background, func=func, argument="background")
    check_number(timeout, func=func, argument="timeout", min=0, allow_none=True)
    check_catch(catch, func)
    study = o.create_study(
        storage=storage,
        sampler=_sampler(sampler, space, seed),
        pruner=_pruner(pruner),
        study_name=study_name,
        direction=_direction(direction, monitor),
        load_if_exists=study_name is not None,
    )
    handle = Study(study, run, n_trials=n_trials, timeout=timeout, monitor=monitor, catch=catch)
    return handle.start(background=background)


def check_catch(catch: Any, func: str) -> tuple[type[BaseException], ...]:
    """``catch`` if it is a tuple of exception classes, else a TypeError naming ``func``.

    >>> check_catch((ValueError,), "kino.tune")
    (<class 'ValueError'>,)
    """
    if not isinstance(catch, tuple) or not all(
        isinstance(c, type) and issubclass(c, BaseException) for c in catch
    ):
        fail(func, "catch", "a tuple of exception classes", catch)
    return catch


def _runner(
    objective: Any, train_fn: Callable[..., Any] | None, space: Any, func: str
) -> tuple[Callable[[Trial], Any], Space | None]:
    """The function each trial runs, and the space (from ``space=``, a form or a dict)."""
    if space is not None:
        space = check_space(space, func)
    if train_fn is None:
        if not callable(objective) or _is_form(objective):
            if _is_form(objective):
                fail(func, "train_fn", "fn(params, trial) when the first argument is a form", None)
            fail(func, "objective", "fn(trial) -> value, or a kino.form with train_fn", objective)
        user = objective

        def run(trial: Trial) -> Any:
            if space is not None:
                suggest(trial.optuna, space)
            return user(trial)
    else:
        check_callable(train_fn, func=func, argument="train_fn")
        if space is not None:
            raise ValueError(
                "kino.tune: with train_fn, the first argument is the space; drop space="
            )
        if not (_is_form(objective) or isinstance(objective, Mapping)):
            fail(func, "objective", "a kino.form or a space dict when train_fn is given", objective)
        space = check_space(objective, func)
        searched = space

        def run(trial: Trial) -> Any:
            return train_fn(suggest(trial.optuna, searched), trial)

    return run, space


def _is_form(value: object) -> bool:
    from kino.ui.input import Form

    return isinstance(value, Form)
