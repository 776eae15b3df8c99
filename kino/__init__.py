"""kino: a Livebook-like kit for Jupyter.

Widgets for people who learn and train models in notebooks, and the JAX
training runtime they plug into. This module only re-exports the public API.
"""

from kino import datasets
from kino.ui import inputs as input
from kino.ui.chart import chart
from kino.ui.controls import button, interval, listen
from kino.ui.form import form
from kino.ui.layout import download, frame, grid, image, tabs, text, tree
from kino.ui.markdown import markdown

__version__ = "0.1.0"

__all__ = [
    "__version__",
    "button",
    "chart",
    "datasets",
    "download",
    "form",
    "frame",
    "grid",
    "image",
    "input",
    "interval",
    "listen",
    "markdown",
    "tabs",
    "text",
    "tree",
]


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    """Where JupyterLab finds kino's prebuilt extension (``jupyter labextension develop``)."""
    return [{"src": "labextension", "dest": "jupyter-kino"}]
