"""The house rules of docs/architecture.md, checked on the source tree.

- Each widget family has one folder under ``kino/ui/`` and one of the same name under
  ``labextension/src/widgets/`` (and its unit tests under ``tests/ui/``).
- ``kino.train`` never imports ``kino.ui``.
- A family's modules other than its ``__init__`` are its internals: no module of
  ``kino/`` outside the family imports them.
- ``import kino`` loads none of the heavy libraries; they load on first use.
- The serving room: ``kino.serving`` reaches the widgets through a family's public names
  only, ``kino.train`` never imports it, and ``import kino`` (or ``kino.serving``) loads
  none of its optional libraries.
- The tuning room: ``kino.tune`` reaches the widgets through public names only, and
  ``kino.train`` never imports it.
- The models room: ``kino.models`` reaches the widgets through public names only,
  ``kino.train`` never imports it, and ``import kino`` loads none of its libraries.
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
UI = REPO / "kino" / "ui"
WIDGETS = REPO / "labextension" / "src" / "widgets"


def folders(path: Path) -> set[str]:
    return {p.name for p in path.iterdir() if p.is_dir() and not p.name.startswith("__")}


def imported_modules(path: Path) -> list[str]:
    """Every module a file imports, absolute (``from . import x`` resolved)."""
    package = ".".join(path.relative_to(REPO).with_suffix("").parts)
    if path.name != "__init__.py":
        package = package.rpartition(".")[0]
    else:
        package = package.removesuffix(".__init__")
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{parent}.{base}" if base else parent
            found.append(base)
            found += [f"{base}.{alias.name}" for alias in node.names]
    return found


def test_family_folders_match_one_to_one():
    families = folders(UI)
    assert families == folders(WIDGETS), "kino/ui/ and labextension/src/widgets/ differ"
    assert families - {"base"} <= folders(REPO / "tests" / "ui")
    assert {"input", "layout", "output", "live", "table", "inspect"} <= families


def test_no_loose_widget_files_outside_the_family_folders():
    assert not [p.name for p in WIDGETS.iterdir() if p.is_file()]
    loose = {p.name for p in UI.glob("*.py")}
    assert loose == {"__init__.py"}, loose


def test_train_never_imports_ui():
    for path in (REPO / "kino" / "train").rglob("*.py"):
        bad = [m for m in imported_modules(path) if m == "kino.ui" or m.startswith("kino.ui.")]
        assert not bad, f"{path.relative_to(REPO)} imports {bad}"


def test_no_module_outside_a_family_imports_its_internals():
    families = folders(UI)
    for path in (REPO / "kino").rglob("*.py"):
        parts = path.relative_to(REPO).parts
        own = parts[2] if len(parts) > 3 and parts[1] == "ui" else None
        for module in imported_modules(path):
            names = module.split(".")
            if len(names) > 3 and names[:2] == ["kino", "ui"] and names[2] in families:
                family, inner = names[2], names[3]
                if family != own and inner not in _public_names(family):
                    raise AssertionError(
                        f"{path.relative_to(REPO)} imports kino.ui.{family}.{inner}, an internal "
                        f"module of the {family} family; import from kino.ui.{family} instead"
                    )


def _public_names(family: str) -> set[str]:
    tree = ast.parse((UI / family / "__init__.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets
        ):
            return {elt.value for elt in node.value.elts if isinstance(elt, ast.Constant)}
    return set()


def loaded_by(statement: str, modules: tuple[str, ...]) -> list[str]:
    """Which of ``modules`` a fresh interpreter has loaded after running ``statement``."""
    code = f"import sys\n{statement}\nprint(','.join(m for m in {modules!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return [m for m in out.stdout.strip().split(",") if m]


def test_import_kino_loads_no_heavy_library():
    heavy = ("jax", "flax", "optax", "polars", "altair", "pyarrow", "orbax")
    assert loaded_by("import kino", heavy) == []


def test_heavy_parts_load_on_first_use():
    code = (
        "import sys, kino\n"
        "assert 'polars' not in sys.modules\n"
        "kino.table\n"
        "assert 'polars' in sys.modules\n"
        "assert 'jax' not in sys.modules\n"
        "kino.inspect\n"
        "assert 'jax' in sys.modules\n"
        "print(kino.table.__module__, kino.inspect.__module__)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["kino.ui.table.widget", "kino.ui.inspect.widget"]


def test_no_lazy_name_is_shadowed_by_a_submodule():
    # Importing a submodule sets it as an attribute of its package; a lazily exported
    # name spelled like a submodule would then be that module, not the export.
    import kino

    packages = [kino.__name__] + [
        info.name for info in pkgutil.walk_packages(kino.__path__, "kino.") if info.ispkg
    ]
    checked = 0
    for name in packages:
        package = importlib.import_module(name)
        exports = getattr(package.__dict__.get("__getattr__"), "exports", None)
        if not exports:
            continue
        submodules = {info.name for info in pkgutil.iter_modules(package.__path__)}
        for export, where in exports.items():
            checked += 1
            assert export not in submodules or ":" not in where, (
                f"{name}.{export} is exported lazily from {where!r}, but {name}.{export} is "
                "also a submodule: rename the module"
            )
    assert checked > 20


def ui_reached_by(room: str) -> set[str]:
    """The widget names ``kino.<room>`` imports, each checked to be a family's public name."""
    families, reached = folders(UI), set()
    for path in (REPO / "kino" / room).rglob("*.py"):
        for module in imported_modules(path):
            names = module.split(".")
            if names[:2] != ["kino", "ui"] or names[2:] in ([], *([f] for f in families)):
                continue  # not the widgets, or a family itself (kino.ui.<family>)
            public = len(names) == 4 and names[2] in families
            assert public and names[3] in _public_names(names[2]), (
                f"{path.relative_to(REPO)} imports {module}: kino.{room} reaches the widgets "
                "through a family's public names only (from kino.ui.<family> import <name>)"
            )
            reached.add(module)
    return reached


def test_serving_uses_the_ui_only_through_public_family_surfaces():
    assert ui_reached_by("serving"), "the serving monitor is built from kino.ui's public widgets"


def test_train_never_imports_serving():
    for path in (REPO / "kino" / "train").rglob("*.py"):
        bad = [m for m in imported_modules(path) if m.split(".")[:2] == ["kino", "serving"]]
        assert not bad, f"{path.relative_to(REPO)} imports {bad}"


def test_import_kino_loads_none_of_servings_optional_libraries():
    optional = ("starlette", "uvicorn", "httpx", "ray", "jax", "kino.serving.server")
    assert loaded_by("import kino, kino.serving", optional) == []


def test_train_never_imports_tune():
    for path in (REPO / "kino" / "train").rglob("*.py"):
        bad = [m for m in imported_modules(path) if m.split(".")[:2] == ["kino", "tune"]]
        assert not bad, f"{path.relative_to(REPO)} imports {bad}"


def test_tune_uses_the_ui_only_through_public_family_surfaces():
    assert {"kino.ui.live.chart", "kino.ui.table.table"} <= ui_reached_by("tune")


def test_train_never_imports_models():
    for path in (REPO / "kino" / "train").rglob("*.py"):
        bad = [m for m in imported_modules(path) if m.split(".")[:2] == ["kino", "models"]]
        assert not bad, f"{path.relative_to(REPO)} imports {bad}"


def test_models_use_the_ui_only_through_public_family_surfaces():
    assert {"kino.ui.input.Form", "kino.ui.layout.Frame"} <= ui_reached_by("models")


def test_import_kino_loads_none_of_the_models_libraries():
    optional = ("kino.models", "safetensors", "tokenizers", "huggingface_hub", "PIL", "jax")
    assert loaded_by("import kino", optional) == []
