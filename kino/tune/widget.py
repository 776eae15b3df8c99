"""The live study widget, built from kino's public widgets (charts, table, text, button).

It follows a :class:`~kino.tune.Study` (Optuna's storage, not a list of ours): a timer
thread reads the trials every ``interval`` seconds, or at once when the study's
callback pokes it after a trial, so nothing is drawn on the trial's thread. It shows
the objective per trial with the best so far, the parameters in parallel coordinates
(each axis from the lowest to the highest value tried, log parameters in the exponent),
the trials table, and the parameters' importances once the study ends; Stop ends the
study after the running trial (halting its training at the next epoch).

>>> import kino
>>> study = kino.tune(lambda t: t.suggest_float("x", 0, 4) ** 2, n_trials=5, seed=0)
>>> view = StudyView(study, interval=60)
>>> view.refresh()["complete"], view.table.total_rows, view.stop.button.disabled
(5, 5, True)
>>> view.close()
"""

from __future__ import annotations

import logging
import math
import threading
from typing import TYPE_CHECKING, Any

from kino.contracts import check_number
from kino.ui.input import button
from kino.ui.layout import grid
from kino.ui.live import chart
from kino.ui.output import text
from kino.ui.table import table

if TYPE_CHECKING:
    from kino.tune.study import Study

log = logging.getLogger("kino")

#: Trials the charts show (the newest); the table pages through all of them.
MAX_SHOWN = 1000
#: The shortest refresh interval (seconds).
MIN_INTERVAL = 0.1


class StudyView:
    """The live view of one study; made by ``study.widget`` (a study shows as it).

    >>> import kino
    >>> s = kino.tune(lambda t: t.suggest_int("n", 0, 9), n_trials=3, seed=0)
    >>> v = StudyView(s, interval=60); _ = v.refresh(); v.summary.value.startswith("3 trials")
    True
    >>> v.close()
    """

    def __init__(self, study: Study, *, interval: float = 0.5) -> None:
        import altair as alt

        from kino.tune.frame import trials_frame

        self.interval = float(
            check_number(
                interval, func="kino.tune.StudyView", argument="interval", min=MIN_INTERVAL
            )
        )
        self.study = study
        self.summary = text("starting…")
        self.stop = button("Stop")
        self.stop.on_click(self._stop_clicked)
        trial = alt.X("trial:Q", title="trial", axis=alt.Axis(tickMinStep=1))
        objective = alt.Y(
            "value:Q",
            title=study.direction.replace("imize", "imized") + " value",
            scale=alt.Scale(zero=False),
        )
        points = (
            alt.Chart()
            .mark_point(filled=True, size=50)
            .encode(
                trial,
                objective,
                alt.Color(
                    "state:N",
                    title=None,
                    scale=alt.Scale(domain=["complete", "pruned"], range=["#4c78a8", "#bab0ac"]),
                ),
                tooltip=["trial:Q", "value:Q", "state:N"],
            )
        )
        best = (
            alt.Chart()
            .mark_line(color="#f58518", interpolate="step-after")
            .encode(trial, alt.Y("best:Q"))
        )
        self.objective = chart(
            alt.layer(points, best, data=alt.Data(name="trials")).properties(
                title="objective per trial · best so far", height=220
            )
        )
        self.parallel = chart(
            alt.Chart(alt.Data(name="lines"))
            .mark_line(opacity=0.7)
            .encode(
                alt.X("param:N", title=None, sort=None, axis=alt.Axis(labelAngle=0)),
                alt.Y(
                    "position:Q",
                    title=None,
                    scale=alt.Scale(domain=[0, 1]),
                    axis=alt.Axis(values=[0, 1], labelExpr="datum.value ? 'high' : 'low'"),
                ),
                alt.Color("value:Q", title="value", scale=alt.Scale(scheme="viridis")),
                alt.Detail("trial:N"),
                tooltip=["trial:Q", "param:N", "shown:N", "value:Q"],
            )
            .properties(title="parameters of complete trials", height=220)
        )
        self.importances = chart(
            alt.Chart(alt.Data(name="importances"))
            .mark_bar()
            .encode(
                alt.X(
                    "importance:Q",
                    title="share of the objective's variation",
                    scale=alt.Scale(domain=[0, 1]),
                    axis=alt.Axis(format="%", tickCount=5),
                ),
                alt.Y("param:N", title=None, sort="-x"),
                tooltip=["param:N", "importance:Q"],
            )
            .properties(title="parameter importances (when the study ends)", height=120)
        )
        self.table = table(trials_frame([]), name="trials")
        self.widget = grid(
            [
                grid([self.summary, self.stop], columns=2, gap=8),
                grid([self.objective, self.parallel], columns=2),
                self.table,
                self.importances,
            ],
            boxed=True,
        )
        self._seen: tuple[Any, ...] | None = None
        self._closed = threading.Event()
        self._poke = threading.Event()
        study.subscribe(lambda _study: self._poke.set())
        self._thread = threading.Thread(target=self._tick, name="kino-tune-view", daemon=True)
        self._thread.start()

    def _stop_clicked(self) -> None:
        self.study.stop()
        self.stop.disable()
        self.summary.update(self.summary.value + " · stopping after this trial")

    def refresh(self) -> dict[str, int]:
        """Redraw from the study's trials if they changed; returns the counts by state."""
        from kino.tune.frame import trials_frame

        done = self.study.done  # before the trials: a study that has ended has stored them all
        trials = self.study.optuna.get_trials(deepcopy=False)
        seen = (done, *((t.number, t.state, len(t.intermediate_values)) for t in trials))
        counts = _counts(trials)
        if seen == self._seen:
            return counts
        self._seen = seen
        shown = trials[-MAX_SHOWN:]
        maximize = self.study.direction == "maximize"
        self.objective.replace(_objective_rows(shown, maximize))
        self.parallel.replace(_parallel_rows(shown, self.study))
        self.table.update(trials_frame(trials))
        if done:
            self.stop.disable()
            try:
                importances = self.study.importances()
            except (RuntimeError, ValueError) as error:  # e.g. every trial tied
                log.warning("kino.tune: no parameter importances: %s", error)
                importances = {}
            bars = [{"param": k, "importance": v} for k, v in importances.items()]
            self.importances.replace(bars)
        self.summary.update(_summary(counts, self.study))
        return counts

    def _tick(self) -> None:
        while not self._closed.is_set():
            self._poke.wait(self.interval)
            self._poke.clear()
            if self._closed.is_set():
                return
            ended = self.study.done  # read before the trials, so the last draw has them all
            try:
                self.refresh()
            except Exception:  # a storage hiccup: keep following, say so in the log
                log.exception("kino.tune: the study view could not refresh")
                continue
            if ended:
                return

    def close(self) -> None:
        """Stop following the study (the widgets keep what they show)."""
        self._closed.set()
        self._poke.set()
        if self._thread is not threading.current_thread():
            self._thread.join()

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)


def _counts(trials: list[Any]) -> dict[str, int]:
    counts = {"complete": 0, "pruned": 0, "fail": 0, "running": 0, "waiting": 0}
    for t in trials:
        counts[t.state.name.lower()] = counts.get(t.state.name.lower(), 0) + 1
    return counts


def _objective_rows(trials: list[Any], maximize: bool) -> list[dict[str, Any]]:
    """One row per complete or pruned trial: its value and the best complete value so far.

    >>> from types import SimpleNamespace as T
    >>> from optuna.trial import TrialState as S
    >>> rows = _objective_rows([T(number=0, state=S.COMPLETE, value=2.0, intermediate_values={}),
    ...                         T(number=1, state=S.PRUNED, value=None, intermediate_values={1: 1}),
    ...                         T(number=2, state=S.COMPLETE, value=1.0, intermediate_values={})],
    ...                        maximize=False)
    >>> [(r["trial"], r["value"], r["best"]) for r in rows]
    [(0, 2.0, 2.0), (1, 1.0, 2.0), (2, 1.0, 1.0)]
    """
    rows, best = [], None
    for t in trials:
        state = t.state.name.lower()
        if state == "complete" and t.value is not None and math.isfinite(t.value):
            value = float(t.value)
            better = best is None or (value > best if maximize else value < best)
            best = value if better else best
        elif state == "pruned" and t.intermediate_values:
            value = float(t.intermediate_values[max(t.intermediate_values)])
        else:
            continue
        rows.append({"trial": t.number, "value": value, "state": state, "best": best})
    return rows


def _parallel_rows(trials: list[Any], study: Study) -> list[dict[str, Any]]:
    """Long rows (trial, param, position in 0..1, shown value, objective) of complete trials."""
    done = [t for t in trials if t.state.name == "COMPLETE" and t.value is not None]
    if not done:
        return []
    names: dict[str, None] = {}
    for t in done:
        names.update(dict.fromkeys(t.params))
    rows = []
    for name in names:
        positions = _positions(name, [t.params.get(name) for t in done], done[0].distributions)
        for t, position in zip(done, positions, strict=True):
            if position is not None:
                shown = t.params[name]
                shown = f"{shown:.3g}" if isinstance(shown, float) else str(shown)
                rows.append(
                    {
                        "trial": t.number,
                        "param": name,
                        "position": position,
                        "shown": shown,
                        "value": float(t.value),
                    }
                )
    return rows


def _positions(name: str, values: list[Any], distributions: dict[str, Any]) -> list[float | None]:
    """Each value's place on its axis: numbers between the lowest and highest tried (in
    the exponent for a log parameter), choices spread evenly in their declared order.

    >>> from optuna.distributions import FloatDistribution as F, CategoricalDistribution as C
    >>> _positions("lr", [1e-3, 1e-1, 1e-2], {"lr": F(1e-4, 1.0, log=True)})
    [0.0, 1.0, 0.5]
    >>> _positions("act", ["gelu", "relu"], {"act": C(("relu", "tanh", "gelu"))})
    [1.0, 0.0]
    """
    dist = distributions.get(name)
    choices = getattr(dist, "choices", None)
    if choices is not None:
        last = max(len(choices) - 1, 1)
        return [None if v not in choices else choices.index(v) / last for v in values]
    log = bool(getattr(dist, "log", False))
    nums = [None if v is None else (math.log10(v) if log else float(v)) for v in values]
    present = [n for n in nums if n is not None]
    lo, hi = min(present), max(present)
    return [None if n is None else (0.5 if hi == lo else (n - lo) / (hi - lo)) for n in nums]


def _summary(counts: dict[str, int], study: Study) -> str:
    total = sum(counts.values())
    parts = [f"{total} trials", f"{counts['complete']} complete", f"{counts['pruned']} pruned"]
    if counts["fail"]:
        parts.append(f"{counts['fail']} failed")
    if counts["complete"]:
        best = study.best_trial
        parts.append(f"best {best.value:.4g} (trial {best.number})")
    if study.done:
        parts.append("stopped" if study.stop_requested else "finished")
    else:
        parts.append("running")
    return " · ".join(parts)
