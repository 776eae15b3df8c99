"""``python -m kino.tune.worker``: one worker process of a study shared through a database.

    python -m kino.tune.worker --storage postgresql+psycopg://user@host/db --study digits \\
        my_project.tuning:objective

imports ``objective`` from ``my_project.tuning`` (an Optuna-style ``objective(trial)``)
and runs :func:`kino.tune.join` until the study made by :func:`kino.tune.shared` has no
queued trial left. Start as many as you like, on as many machines as reach the database.

>>> import kino, tempfile, pathlib
>>> url = f"sqlite:///{pathlib.Path(tempfile.mkdtemp()) / 'study.db'}"
>>> study = kino.tune.shared(url, "demo", n_trials=3)
>>> main(["--storage", url, "--study", "demo", "builtins:id"])  # id(trial) stands in
0
>>> study.trials["state"].to_list()
['complete', 'complete', 'complete']
"""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Callable, Sequence
from typing import Any

from kino.tune.shared import HEARTBEAT, join
from kino.tune.study import SAMPLERS


def load(reference: str) -> Callable[..., Any]:
    """The object ``module:name`` names (``name`` may be dotted).

    >>> load("math:sqrt")(4.0)
    2.0
    >>> load("math")
    Traceback (most recent call last):
    ...
    ValueError: kino.tune.worker: 'objective' must be module:name, got str: 'math'
    """
    from kino.contracts import fail

    module, _, name = reference.partition(":")
    if not module or not name:
        fail("kino.tune.worker", "objective", "module:name", reference, ValueError)
    found: Any = importlib.import_module(module)
    for part in name.split("."):
        found = getattr(found, part)
    return found


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line and work on the study until it is done; returns 0."""
    parser = argparse.ArgumentParser(
        prog="python -m kino.tune.worker",
        description="Run the queued trials of a study made by kino.tune.shared.",
    )
    parser.add_argument("objective", help="module:function, an objective(trial)")
    parser.add_argument("--storage", required=True, help="the database URL")
    parser.add_argument("--study", required=True, help="the study's name")
    parser.add_argument("--sampler", default="tpe", choices=SAMPLERS)
    parser.add_argument("--seed", type=int, default=None, help="this worker's own seed")
    parser.add_argument(
        "--monitor", default=None, help="the metric a kino.train Result is valued at"
    )
    parser.add_argument(
        "--heartbeat", type=int, default=HEARTBEAT, help="seconds between heartbeats"
    )
    args = parser.parse_args(argv)
    join(
        load(args.objective),
        storage=args.storage,
        study_name=args.study,
        sampler=args.sampler,
        seed=args.seed,
        monitor=args.monitor,
        heartbeat=args.heartbeat,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
