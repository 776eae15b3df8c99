"""kino.models' modules share helpers through public names only (no ``from x import _y``)."""

from __future__ import annotations

import ast
from pathlib import Path

import kino.models

PACKAGE = Path(kino.models.__file__).parent


def private_imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text())
    return [
        f"{path.name}: from {node.module} import {alias.name}"
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("kino.")
        for alias in node.names
        if alias.name.startswith("_") and not alias.name.startswith("__")
    ]


def test_no_module_imports_another_modules_private_names():
    modules = sorted(PACKAGE.glob("*.py"))
    assert len(modules) > 10
    found = [line for path in modules for line in private_imports(path)]
    assert found == []


def test_the_check_sees_a_private_import(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("from kino.models.view_text import _bars\nfrom kino.x import __all__\n")
    assert private_imports(sample) == ["sample.py: from kino.models.view_text import _bars"]
