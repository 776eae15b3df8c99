"""environment.yml and binder/ parse, and install every runtime dependency pyproject.toml names
(the base install and every extra of ``jupyter-kino[all]``: the notebooks need them all)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
import tomllib
import yaml

ROOT = Path(__file__).resolve().parent.parent
ENVIRONMENTS = [ROOT / "environment.yml", ROOT / "binder" / "environment.yml"]


def canonical(name: str) -> str:
    """A package name as PEP 503 compares them (case, '-', '_' and '.' do not matter)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_name(spec: str) -> str:
    """``jax>=0.5`` -> ``jax``; ``python=3.11`` -> ``python`` (pip and conda spellings)."""
    return canonical(re.split(r"[\s<>=!~\[;]", spec.strip(), maxsplit=1)[0])


def runtime_dependencies() -> set[str]:
    """The base install and every extra that ``jupyter-kino[all]`` pulls in, expanded."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras, todo = project["optional-dependencies"], ["all"]
    specs = list(project["dependencies"])
    while todo:
        for spec in extras[todo.pop()]:
            if requirement_name(spec) == canonical(project["name"]):
                todo += re.search(r"\[(.*)\]", spec).group(1).split(",")
            else:
                specs.append(spec)
    names = {requirement_name(spec) for spec in specs}
    assert {"jax", "voila", "scikit-learn", "starlette"} <= names, names
    return names


def load(path: Path) -> tuple[dict, set[str], list[str]]:
    env = yaml.safe_load(path.read_text())
    conda = [d for d in env["dependencies"] if isinstance(d, str)]
    pip = [p for d in env["dependencies"] if isinstance(d, dict) for p in d.get("pip", [])]
    return env, {requirement_name(d) for d in conda}, pip


@pytest.mark.parametrize("path", ENVIRONMENTS, ids=["root", "binder"])
def test_environment_parses_and_uses_conda_forge(path):
    env, conda, _ = load(path)
    assert env["channels"][0] == "conda-forge"
    assert {"python", "nodejs", "pip", "jupyterlab"} <= conda


@pytest.mark.parametrize("path", ENVIRONMENTS, ids=["root", "binder"])
def test_environment_lists_every_runtime_dependency(path):
    _, conda, pip = load(path)
    listed = conda | {requirement_name(p) for p in pip if not p.startswith("-")}
    missing = runtime_dependencies() - listed
    assert not missing, f"{path.relative_to(ROOT)} lacks runtime dependencies: {sorted(missing)}"


def test_root_environment_installs_the_package_itself_with_pip():
    _, _, pip = load(ROOT / "environment.yml")
    assert "-e ." in pip or "." in pip


def test_binder_post_build_installs_the_package_and_stops_on_errors():
    post_build = ROOT / "binder" / "postBuild"
    lines = [line.strip() for line in post_build.read_text().splitlines()]
    assert lines[0].startswith("#!/bin/bash")
    flags = next(line for line in lines if line.startswith("set "))
    assert "e" in flags.split()[1], "postBuild must stop at the first failing command (set -e)"
    assert any(re.search(r"pip install\b.*\s\"?\.(\[all\])?\"?$", line) for line in lines)
    assert os.access(post_build, os.X_OK), "Binder runs postBuild only when it is executable"
