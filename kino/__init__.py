"""kino: a Livebook-like kit for Jupyter.

Widgets for people who learn and train models in notebooks, and the JAX
training runtime they plug into. This module only re-exports the public API.
"""

from kino import datasets, train
from kino.display import disable, enable, register_display
from kino.ui import inputs as input
from kino.ui.chart import chart
from kino.ui.controls import button, interval, listen
from kino.ui.dashboard import dashboard
from kino.ui.form import form
from kino.ui.inspect import inspect
from kino.ui.layout import download, frame, grid, image, tabs, text, tree
from kino.ui.markdown import markdown
from kino.ui.table import table

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
    "register_display",
    "table",
    "tabs",
    "text",
    "train",
    "tree",
]


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    """Where JupyterLab finds kino's prebuilt extension (``jupyter labextension develop``)."""
    return [{"src": "labextension", "dest": "jupyter-kino"}]


def load_ipython_extension(ipython) -> None:
    """``%load_ext kino``: show polars frames (and other registered types) as kino widgets."""
    enable(ipython)


def unload_ipython_extension(ipython) -> None:
    """``%unload_ext kino``: restore IPython's default displays."""
    disable()
