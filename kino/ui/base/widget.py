"""The base every kino widget is built on: one bundled ES module per widget family.

Each widget class names its bundle (``bundle="markdown"``) and gets the module
``kino/static/markdown.js`` and, when the bundle has styles, ``markdown.css``.
Those files are produced by the front-end build (``make build``) with every
dependency inlined, so nothing is fetched from another host at run time.

The bundle's name travels as the synced ``_kino_bundle`` trait. A live widget
gets its module from the kernel, but kino's JupyterLab extension saves a
notebook with ``_esm`` replaced by a few lines that import the same module from
the extension's static folder, so a saved notebook carries no copy of any bundle.
"""

from __future__ import annotations

import functools
import warnings
from pathlib import Path
from typing import Any, ClassVar

import anywidget
import traitlets

STATIC_DIR = Path(__file__).resolve().parents[2] / "static"

_NOT_BUILT_ESM = """
export default {
  render({ el }) {
    const box = document.createElement("div");
    box.className = "kino-error";
    box.textContent = %r;
    el.appendChild(box);
  },
};
"""


class FrontEndNotBuiltWarning(UserWarning):
    """Raised when a widget is created before ``make build`` produced its bundle."""


@functools.cache
def _bundle_text(path: Path) -> str:
    """A built file's text, read once per process and shared by every class of its bundle.

    Classes get the text, not the path: anywidget turns a path into a watched file
    that holds a callback per widget instance, so no closed widget was ever freed.
    """
    return path.read_text(encoding="utf-8")


def bundle_path(bundle: str, suffix: str = ".js") -> Path:
    """Path of a built front-end file, e.g. ``bundle_path("markdown")``.

    >>> bundle_path("markdown").name
    'markdown.js'
    """
    return STATIC_DIR / f"{bundle}{suffix}"


class KinoWidget(anywidget.AnyWidget):
    """An anywidget whose front end is the bundled module ``kino/static/<bundle>.js``.

    Subclass with ``class Markdown(KinoWidget, bundle="markdown")``. When the
    front end has not been built, the widget shows a message saying how to build
    it (and Python warns once) instead of failing at import time.

    >>> class Gauge(KinoWidget, bundle="kit"):
    ...     pass
    >>> Gauge()._kino_bundle
    'kit'
    """

    _kino_built: ClassVar[bool] = True
    _kino_bundle_name: ClassVar[str] = ""
    _kino_bundle = traitlets.Unicode(read_only=True).tag(sync=True)

    @traitlets.default("_kino_bundle")
    def _default_kino_bundle(self) -> str:
        return self._kino_bundle_name

    def __init_subclass__(cls, bundle: str | None = None, **kwargs: Any) -> None:
        if bundle is not None:
            cls._kino_bundle_name = bundle
            js = bundle_path(bundle)
            css = bundle_path(bundle, ".css")
            if js.is_file():
                cls._esm = _bundle_text(js)
                cls._kino_built = True
            else:
                message = (
                    f"kino: the front end of the {bundle!r} widget is not built "
                    f"({js} is missing). Run `make build` in the kino checkout, or "
                    "reinstall with `pip install jupyter-kino`."
                )
                cls._esm = _NOT_BUILT_ESM % message
                cls._kino_built = False
            if css.is_file():
                cls._css = _bundle_text(css)
        super().__init_subclass__(**kwargs)

    def __init__(self, **kwargs: Any) -> None:
        if not self._kino_built:
            warnings.warn(
                f"kino: the {self._kino_bundle_name!r} widget's front end is not built; "
                "run `make build`.",
                FrontEndNotBuiltWarning,
                stacklevel=2,
            )
        super().__init__(**kwargs)
