"""Optuna's trials as a polars frame, one row per trial (what the trials table shows).

>>> import optuna
>>> study = optuna.create_study()
>>> study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=2)
>>> trials_frame(study.trials).columns
['number', 'state', 'value', 'epochs', 'seconds', 'x']
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import polars as pl


def trials_frame(trials: Sequence[Any]) -> pl.DataFrame:
    """``number``, ``state`` (lower case), ``value``, ``epochs`` (intermediate values
    reported), ``seconds`` (None while running), then the parameters in first-seen order."""
    names: dict[str, None] = {}
    for t in trials:
        names.update(dict.fromkeys(t.params))
    columns: dict[str, list[Any]] = {
        "number": [t.number for t in trials],
        "state": [t.state.name.lower() for t in trials],
        "value": [_value(t) for t in trials],
        "epochs": [len(t.intermediate_values) for t in trials],
        "seconds": [t.duration.total_seconds() if t.duration is not None else None for t in trials],
    }
    for name in names:
        columns[name] = [_plain(t.params.get(name)) for t in trials]
    schema = {"number": pl.Int64, "state": pl.String, "value": pl.Float64,
              "epochs": pl.Int64, "seconds": pl.Float64}  # fmt: skip
    frame = pl.DataFrame({k: columns[k] for k in schema}, schema=schema)
    params = {}
    for name in names:
        try:
            params[name] = pl.Series(name, columns[name], strict=False)
        except (TypeError, pl.exceptions.PolarsError):  # mixed kinds: show them as text
            params[name] = pl.Series(name, [None if v is None else str(v) for v in columns[name]])
    return frame.with_columns(**params) if params else frame


def _value(trial: Any) -> float | None:
    if trial.value is not None:
        return float(trial.value)
    if trial.intermediate_values:  # a pruned trial: its last report
        return float(trial.intermediate_values[max(trial.intermediate_values)])
    return None


def _plain(value: Any) -> Any:
    return value
