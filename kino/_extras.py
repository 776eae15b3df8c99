"""The optional parts of kino and the pip extra that installs each one.

The base install holds what every widget needs (JupyterLab, anywidget, polars,
altair). Training, dashboards, chart export, the curated notebooks' data and
serving are extras; a feature that lacks its extra fails with an error that
names the extra and the pip command, not a bare ``No module named 'jax'``.
"""

from __future__ import annotations

import importlib
import importlib.util
from types import ModuleType

DISTRIBUTION = "jupyter-kino"

# extra -> the top-level modules it installs (pyproject.toml's optional-dependencies).
EXTRAS: dict[str, tuple[str, ...]] = {
    "train": ("jax", "jaxlib", "flax", "optax", "orbax"),
    "dashboards": ("voila",),
    "export": ("vl_convert",),
    "notebooks": ("sklearn", "palmerpenguins"),
    "serving": ("starlette", "uvicorn", "httpx"),
    "ray": ("ray",),
    "models": ("safetensors", "tokenizers", "huggingface_hub", "PIL"),
    "tune": ("optuna",),
}


class MissingExtra(ModuleNotFoundError):
    """A kino feature was used without the pip extra that installs its libraries.

    >>> error = MissingExtra("kino.train", "train", "jax")
    >>> str(error)
    "kino.train needs the 'train' extra: pip install 'jupyter-kino[train]' (jax is not installed)"
    >>> error.extra, error.name, isinstance(error, ImportError)
    ('train', 'jax', True)
    """

    def __init__(self, feature: str, extra: str, module: str) -> None:
        super().__init__(
            f"{feature} needs the {extra!r} extra: pip install '{DISTRIBUTION}[{extra}]'"
            f" ({module} is not installed)",
            name=module,
        )
        self.feature = feature
        self.extra = extra


def extra_of(module: str) -> str | None:
    """The extra that installs ``module`` (a dotted name is looked up by its top level).

    >>> extra_of("orbax.checkpoint"), extra_of("sklearn"), extra_of("json")
    ('train', 'notebooks', None)
    """
    top = module.partition(".")[0]
    return next((extra for extra, modules in EXTRAS.items() if top in modules), None)


def require(feature: str, extra: str) -> None:
    """Raise :class:`MissingExtra` unless every library of ``extra`` can be imported.

    Only looks the modules up (nothing is imported), so it is cheap to call first.

    >>> require("kino.chart.to_svg", "export")
    >>> require("kino.chart.to_svg", "gpu")
    Traceback (most recent call last):
    ...
    ValueError: require: 'extra' must be one of train, dashboards, ..., got str: 'gpu'
    """
    from kino.contracts import check_choice

    check_choice(extra, EXTRAS, func="require", argument="extra")
    for module in EXTRAS[extra]:
        if module == "jaxlib":
            continue  # installed with jax; looked up through it
        if importlib.util.find_spec(module) is None:
            raise MissingExtra(feature, extra, module)


def explain(feature: str, error: ModuleNotFoundError) -> ModuleNotFoundError:
    """``error`` as a :class:`MissingExtra` when the missing module belongs to an extra.

    A :class:`MissingExtra` raised deeper down is renamed after ``feature``, the
    name the user wrote. Any other import error comes back unchanged, so a broken
    install still shows its own cause.

    >>> str(explain("kino.train", ModuleNotFoundError("no jax", name="jax")))
    "kino.train needs the 'train' extra: pip install 'jupyter-kino[train]' (jax is not installed)"
    >>> explain("kino.train", ModuleNotFoundError("no foo", name="foo")).name
    'foo'
    """
    module = error.name or ""
    extra = error.extra if isinstance(error, MissingExtra) else extra_of(module)
    if extra is None:
        return error
    return MissingExtra(feature, extra, module)


def load(module: str, feature: str) -> ModuleType:
    """``import module`` for ``feature``, failing with :class:`MissingExtra` if its extra is absent.

    >>> load("json", "kino.chart.to_svg").__name__
    'json'
    >>> import sys; sys.modules["vl_convert"] = None  # as if vl-convert were not installed
    >>> load("vl_convert", "kino.chart.to_svg")
    Traceback (most recent call last):
    ...
    kino._extras.MissingExtra: kino.chart.to_svg needs the 'export' extra: \
pip install 'jupyter-kino[export]' (vl_convert is not installed)
    >>> del sys.modules["vl_convert"]
    """
    try:
        importlib.import_module(module.partition(".")[0])  # names the library, not a submodule
        return importlib.import_module(module)
    except ModuleNotFoundError as error:
        raise explain(feature, error) from error
