"""kino: a Livebook-like kit for Jupyter.

Widgets for people who learn and train models in notebooks, and the JAX
training runtime they plug into. This module only re-exports the public API.
``import kino`` loads the light parts (inputs, forms, layout, output, charts); the
table (polars), the inspector (jax) and ``kino.train`` load on first use.

>>> import kino
>>> kino.markdown("**ready**").value
'**ready**'
"""

from kino import ui
from kino._lazy import lazy_exports
from kino.display import disable, enable, register_display
from kino.ui import input
from kino.ui import inspect as _inspect_family  # noqa: F401  (registers jax.Array's display)
from kino.ui import table as _table_family  # noqa: F401  (registers polars frames' display)
from kino.ui.base import listen
from kino.ui.input import button, form, interval
from kino.ui.layout import frame, grid, tabs
from kino.ui.live import chart, dashboard
from kino.ui.output import download, image, markdown, text, tree

__version__ = "0.1.0"

__all__ = [
    "__version__",
    "button",
    "chart",
    "dashboard",
    "datasets",
    "disable",
    "download",
    "enable",
    "form",
    "frame",
    "grid",
    "image",
    "input",
    "inspect",
    "interval",
    "listen",
    "markdown",
    "models",
    "register_display",
    "serving",
    "smart",
    "table",
    "tabs",
    "text",
    "train",
    "tree",
    "tune",
    "ui",
]

__getattr__ = lazy_exports(
    __name__,
    {
        "datasets": ".datasets",
        "inspect": ".ui.inspect:inspect",
        "models": ".models",
        "serving": ".serving",
        "smart": ".smart",
        "table": ".ui.table:table",
        "train": ".train",
        "tune": ".tune",
    },
)


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    """Where JupyterLab finds kino's prebuilt extension (``jupyter labextension develop``)."""
    return [{"src": "labextension", "dest": "jupyter-kino"}]


def load_ipython_extension(ipython) -> None:
    """``%load_ext kino``: show polars frames (and other registered types) as kino widgets."""
    enable(ipython)


def unload_ipython_extension(ipython) -> None:
    """``%unload_ext kino``: restore IPython's default displays."""
    disable()
