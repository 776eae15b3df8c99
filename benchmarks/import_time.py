"""How long ``import kino`` takes against ``import anywidget``, in fresh interpreters.

kino is built on anywidget, so ``import anywidget`` (which brings ipywidgets,
traitlets and comm) is the floor: the target is ``import kino`` within 1.5x of it.
Each measurement is a new interpreter that times the import with
``time.perf_counter`` around it (interpreter start-up excluded); the two imports
are interleaved, run ``--runs`` times each (5 by default), and the medians
compared. The ratio prints last.

Run: ``.venv/bin/python benchmarks/import_time.py [--runs N] [--importtime]``.
``--importtime`` also prints the slowest modules ``import kino`` loads
(``python -X importtime``, cumulative microseconds), to find what to make lazy.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TARGET = 1.5

CHILD = """
import time
start = time.perf_counter()
import {module}
print(time.perf_counter() - start)
"""


def time_import(module: str) -> float:
    """Seconds one fresh interpreter spends on ``import <module>``."""
    out = subprocess.run(
        [sys.executable, "-c", CHILD.format(module=module)],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
    )
    return float(out.stdout.strip().splitlines()[-1])


def slowest_imports(module: str, top: int = 15) -> list[tuple[int, str]]:
    """The ``top`` modules with the largest cumulative import time (microseconds)."""
    out = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"import {module}"],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
    )
    rows = []
    for line in out.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _self, cumulative, name = line.removeprefix("import time:").split("|")
        rows.append((int(cumulative), name.strip()))
    return sorted(rows, reverse=True)[:top]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--importtime", action="store_true")
    args = parser.parse_args()

    time_import("kino")  # warm the file-system cache and the .pyc files
    time_import("anywidget")
    times: dict[str, list[float]] = {"kino": [], "anywidget": []}
    for _ in range(args.runs):
        for module in ("anywidget", "kino"):
            times[module].append(time_import(module))
    medians = {m: statistics.median(t) for m, t in times.items()}
    for module, values in times.items():
        shown = ", ".join(f"{v:.3f}" for v in values)
        print(f"import {module:<9} median {medians[module]:.3f} s  ({shown})")
    if args.importtime:
        print("\nslowest modules under import kino (cumulative):")
        for micros, name in slowest_imports("kino"):
            print(f"  {micros / 1e6:7.3f} s  {name}")
    ratio = medians["kino"] / medians["anywidget"]
    verdict = "met" if ratio <= TARGET else "MISSED"
    print(f"\nimport kino / import anywidget = {ratio:.2f} (target <= {TARGET}): {verdict}")


if __name__ == "__main__":
    main()
