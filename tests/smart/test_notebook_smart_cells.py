"""notebooks/11-smart-cells.ipynb: each form cell's code cell holds exactly the code its
attributes generate today, with the metadata kino's JupyterLab plugin writes.

The notebook is written by this module (so the hashes and links are right):
``.venv/bin/python -m tests.smart.test_notebook_smart_cells`` rewrites it after a smart
cell's code changes; the test below fails until then.
"""

from __future__ import annotations

import ast
import hashlib
import itertools
from pathlib import Path
from typing import Any

import nbformat
from ipykernel.ipkernel import IPythonKernel

from tests.smart.test_code import ruff_format

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "11-smart-cells.ipynb"
REWRITE = "rewrite it: .venv/bin/python -m tests.smart.test_notebook_smart_cells"
FORM_KEY, CODE_KEY = "kino_smart_cell", "kino_smart_code"  # smart-bridge.ts's metadata keys


def _classes() -> dict[str, type]:
    import kino.smart

    return {kind: getattr(kino.smart, kind) for kind in kino.smart.CELLS}


def _form_attrs(source: str) -> tuple[str, dict[str, Any]]:
    """The kind and keyword arguments of a form cell's ``kino.smart.<kind>(...)``."""
    (statement,) = ast.parse(source).body
    call = statement.value
    assert ast.unparse(call.func).startswith("kino.smart."), source
    assert not call.args, "a form cell passes its attributes by name"
    kind = call.func.attr
    return kind, {k.arg: ast.literal_eval(k.value) for k in call.keywords}


def _generate(kind: str, attrs: dict[str, Any], namespace: dict[str, Any], monkeypatch) -> str:
    """The code ``attrs`` stand for, reading frames from ``namespace`` as a kernel would."""
    from kino.smart import _namespace

    monkeypatch.setattr(_namespace, "user_namespace", lambda: namespace)
    cls = _classes()[kind]
    return cls.__new__(cls).generate(attrs)


def test_every_code_cell_is_what_its_form_generates_and_is_linked(monkeypatch):
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    cells = nb.cells
    namespace: dict[str, Any] = {"__name__": "__notebook__"}
    forms = 0
    for i, cell in enumerate(cells):
        meta = cell.metadata.get(FORM_KEY)
        if meta is None:
            if CODE_KEY in cell.metadata or cell.cell_type != "code":
                continue
            if forms < 3:  # the imports; past the data cells nothing reads the namespace
                exec(compile(cell.source, f"cell {i}", "exec"), namespace)
            continue
        forms += 1
        kind, kwargs = _form_attrs(cell.source)
        defaults = _classes()[kind].__new__(_classes()[kind]).defaults()
        assert meta["kind"] == kind and meta["version"] == _classes()[kind].version
        assert meta["attrs"] == {**defaults, **kwargs}, "metadata keeps the form's attributes"
        code_cell = cells[i + 1]
        assert code_cell.cell_type == "code"
        assert meta["code_cell"] == code_cell.id
        assert code_cell.metadata[CODE_KEY] == {"form_cell": cell.id}
        expected = _generate(kind, meta["attrs"], namespace, monkeypatch)
        assert code_cell.source == expected, f"{kind}'s code changed: {REWRITE}"
        assert meta["code_sha256"] == hashlib.sha256(expected.encode()).hexdigest()
        if kind in ("data_source", "data_transform", "chart_builder"):
            exec(compile(code_cell.source, f"cell {i + 1}", "exec"), namespace)
    assert forms == 5, "the notebook shows all five smart cells"


# -- writing the notebook -----------------------------------------------------------


def _smart(kind: str, namespace: dict[str, Any], **kwargs: Any) -> list[Any]:
    """A form cell calling ``kino.smart.<kind>(**kwargs)`` and its code cell."""
    from kino.smart import _namespace

    cls = _classes()[kind]
    attrs = {**cls.__new__(cls).defaults(), **kwargs}
    saved = _namespace.user_namespace
    _namespace.user_namespace = lambda: namespace
    try:
        code = cls.__new__(cls).generate(attrs)
    finally:
        _namespace.user_namespace = saved
    args = ", ".join(f"{k}={v!r}" for k, v in kwargs.items())
    form = nbformat.v4.new_code_cell(ruff_format(f"kino.smart.{kind}({args})").rstrip("\n"))
    linked = nbformat.v4.new_code_cell(code)
    if kind in ("data_source", "data_transform", "chart_builder"):  # later forms read them
        exec(compile(code, kind, "exec"), namespace)
    return [form, linked]


def _link(cells: list[Any], prefix: str) -> None:
    """Give every cell a stable id, then the smart cells' metadata naming each other."""
    for n, cell in enumerate(cells):
        cell.id = f"{prefix}-{n:02d}"
    for form, code in itertools.pairwise(cells):
        if form.cell_type == "code" and form.source.startswith("kino.smart."):
            kind, kwargs = _form_attrs(form.source)
            cls = _classes()[kind]
            form.metadata[FORM_KEY] = {
                "kind": kind,
                "version": cls.version,
                "attrs": {**cls.__new__(cls).defaults(), **kwargs},
                "code_sha256": hashlib.sha256(code.source.encode()).hexdigest(),
                "code_cell": code.id,
            }
            code.metadata[CODE_KEY] = {"form_cell": form.id}


def write() -> None:
    """Write notebooks/11-smart-cells.ipynb from the texts in notebook_text.py."""
    from tests.smart import notebook_text as text

    md = nbformat.v4.new_markdown_cell
    code = nbformat.v4.new_code_cell
    namespace: dict[str, Any] = {}
    exec(text.IMPORTS, namespace)
    cells = [md(text.INTRO), code(text.IMPORTS), md(text.DATA_SOURCE)]
    cells += _smart("data_source", namespace, source="dataset", variable="penguins")
    cells.append(md(text.TRANSFORM))
    cells += _smart("data_transform", namespace, **text.TRANSFORM_ATTRS)
    cells.append(md(text.CHART))
    cells += _smart("chart_builder", namespace, **text.CHART_ATTRS)
    cells += [md(text.ARRAYS), code(text.ARRAYS_CODE)]
    exec(text.ARRAYS_CODE, namespace)
    cells.append(md(text.TRAIN))
    cells += _smart("train_model", namespace, **text.TRAIN_ATTRS)
    cells += [md(text.WAIT), code(text.WAIT_CODE), md(text.TASK)]
    cells += _smart("neural_network_task", namespace, **text.TASK_ATTRS)
    cells += [code(text.TASK_CODE), md(text.PLAIN), md(text.SUMMARY)]
    _link(cells, "11-smart-cells")
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata = {
        "kernelspec": {
            "display_name": "Python 3 (ipykernel)",
            "language": "python",
            "name": "python3",
        },
        # the kernel's own, so JupyterLab finds nothing to change (and to mark dirty) on open
        "language_info": dict(IPythonKernel.language_info),
    }
    nbformat.validate(nb)
    nbformat.write(nb, NOTEBOOK)


if __name__ == "__main__":
    write()
