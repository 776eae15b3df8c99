"""Layout and output: ``kino.frame``, ``tabs``, ``grid``, ``text``, ``image``,
``tree`` and ``download`` (Kino.Frame, Kino.Layout, Kino.Text, Kino.Image,
Kino.Tree, Kino.Download).

Frames, tabs and grids are ipywidgets boxes, so they can hold any widget; a
non-widget object is shown through its rich display. Updating a frame from a
background thread reaches the page: it only sets traits, which travel as comm
messages from any thread (unlike ``with output:`` capture).
"""

from __future__ import annotations

import dataclasses
import logging
import struct
import sys
import threading
import zlib
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import ipywidgets
import numpy as np
import traitlets

from kino.ui._kit import Text, as_widget, kit_style, styled
from kino.ui._widget import KinoWidget

log = logging.getLogger("kino")

#: Largest picture ``kino.image`` accepts, in pixels (height x width).
MAX_IMAGE_PIXELS = 4096 * 4096
#: Nodes ``kino.tree`` sends at most; deeper or wider data is cut with "… n more".
MAX_TREE_NODES = 2000
#: Children shown per node of ``kino.tree``.
MAX_TREE_CHILDREN = 100
#: Levels of nesting ``kino.tree`` shows; deeper containers are shown collapsed to "…".
MAX_TREE_DEPTH = 64
#: Characters of a leaf's value shown by ``kino.tree``.
MAX_TREE_VALUE_CHARS = 120
#: Largest content ``kino.download`` sends to the browser (bytes).
MAX_DOWNLOAD_BYTES = 256 * 1024 * 1024
MAX_GRID_COLUMNS = 12


# frame --------------------------------------------------------------------------
class Frame(ipywidgets.VBox):
    """A placeholder whose content is replaced or appended to (``kino.frame``)."""

    def __init__(self, placeholder: Any = None) -> None:
        self._lock = threading.Lock()
        self._items: list[ipywidgets.Widget] = []
        super().__init__([kit_style()])
        styled(self, "kino-frame")
        if placeholder is not None:
            self.render(placeholder)

    def _sync(self) -> None:
        self.children = (kit_style(), *self._items)

    def render(self, obj: Any) -> None:
        """Show ``obj`` instead of what the frame shows now (a widget, a str, or any
        object with a rich display: a chart, a DataFrame, a figure)."""
        widget = as_widget(obj)
        with self._lock:
            self._items = [widget]
            self._sync()

    update = render

    def append(self, obj: Any) -> None:
        """Show ``obj`` below what the frame shows."""
        widget = as_widget(obj)
        with self._lock:
            self._items.append(widget)
            self._sync()

    def clear(self) -> None:
        """Show nothing."""
        with self._lock:
            self._items = []
            self._sync()

    @property
    def items(self) -> list[ipywidgets.Widget]:
        """The widgets shown, top to bottom."""
        return list(self._items)


def frame(placeholder: Any = None) -> Frame:
    """A frame to render into, from the cell or from a background thread.

    >>> import kino
    >>> log = kino.frame()
    >>> log.append("epoch 1: loss 0.52")
    >>> log.append("epoch 2: loss 0.31")
    >>> [w.value for w in log.items]
    ['epoch 1: loss 0.52', 'epoch 2: loss 0.31']
    >>> log.render("done")
    >>> log.clear()
    """
    return Frame(placeholder)


# tabs and grid --------------------------------------------------------------------
def tabs(items: Mapping[str, Any] | Iterable[tuple[str, Any]]) -> ipywidgets.Tab:
    """Tabs, one per ``{title: content}`` entry (or ``(title, content)`` pair).

    >>> import kino
    >>> t = kino.tabs({"Loss": kino.text("0.31"), "Accuracy": kino.text("0.92")})
    >>> t.titles
    ('Loss', 'Accuracy')
    """
    pairs = list(items.items()) if isinstance(items, Mapping) else _pairs(items)
    if not pairs:
        raise ValueError("kino.tabs: 'items' must not be empty")
    for title, _ in pairs:
        if not isinstance(title, str):
            raise TypeError(f"kino.tabs: 'items' titles must be str, got {type(title).__name__}")
    tab = ipywidgets.Tab(children=[as_widget(obj) for _, obj in pairs])
    tab.titles = tuple(title for title, _ in pairs)
    styled(tab, "kino-tabs")
    return tab


def _pairs(items: object) -> list[tuple[str, Any]]:
    if isinstance(items, (str, bytes)) or not isinstance(items, Iterable):
        raise TypeError(
            f"kino.tabs: 'items' must be a {{title: content}} dict or a list of (title, content) "
            f"pairs, got {type(items).__name__}"
        )
    pairs = list(items)
    for p in pairs:
        if not (isinstance(p, tuple) and len(p) == 2):
            raise TypeError(
                f"kino.tabs: 'items' entries must be (title, content) pairs, got {p!r:.60}"
            )
    return pairs


def grid(
    items: Iterable[Any], columns: int = 1, *, boxed: bool = False, gap: int = 12
) -> ipywidgets.GridBox:
    """Lay ``items`` out in ``columns`` equal columns (row by row).

    >>> import kino
    >>> g = kino.grid([kino.text("a"), kino.text("b"), kino.text("c")], columns=2)
    >>> len(g.children)
    4
    """
    if isinstance(items, (str, bytes)) or not isinstance(items, Iterable):
        raise TypeError(f"kino.grid: 'items' must be a list, got {type(items).__name__}")
    if (
        isinstance(columns, bool)
        or not isinstance(columns, int)
        or not 1 <= columns <= MAX_GRID_COLUMNS
    ):
        raise ValueError(
            f"kino.grid: 'columns' must be an int from 1 to {MAX_GRID_COLUMNS}, got {columns!r}"
        )
    if isinstance(gap, bool) or not isinstance(gap, int) or gap < 0:
        raise ValueError(f"kino.grid: 'gap' must be an int >= 0 (pixels), got {gap!r}")
    widgets = [as_widget(obj) for obj in items]
    box = ipywidgets.GridBox(
        [kit_style(), *widgets],
        layout=ipywidgets.Layout(
            grid_template_columns=f"repeat({columns}, minmax(0, 1fr))", grid_gap=f"{gap}px"
        ),
    )
    styled(box, "kino-grid", *(["kino-boxed"] if boxed else []))
    return box


# text -----------------------------------------------------------------------------
def text(text: str, *, terminal: bool = False) -> Text:
    """Plain text, shown as text (never HTML); ``terminal=True`` renders it as a
    terminal with ANSI colours. ``.update(text)``, ``.append(text)``, ``.clear()``.

    >>> import kino
    >>> status = kino.text("Loading data…")
    >>> status.update("Ready")
    >>> kino.text("\\x1b[32mOK\\x1b[0m 3 tests", terminal=True).terminal
    True
    """
    return Text(text, terminal=terminal)


# image ------------------------------------------------------------------------------
_MAGIC = {
    b"\x89PNG\r\n\x1a\n": "png",
    b"\xff\xd8\xff": "jpeg",
    b"GIF87a": "gif",
    b"GIF89a": "gif",
}


def encode_png(pixels: np.ndarray) -> bytes:
    """PNG bytes of an HWC (or HW) uint8 array with 1, 3 or 4 channels.

    >>> encode_png(np.zeros((1, 1, 3), np.uint8))[:4]
    b'\\x89PNG'
    """
    if pixels.ndim == 2:
        pixels = pixels[:, :, None]
    h, w, c = pixels.shape
    color_type = {1: 0, 2: 4, 3: 2, 4: 6}[c]
    rows = np.concatenate([np.zeros((h, 1), np.uint8), pixels.reshape(h, w * c)], axis=1)

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return (
            struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", w, h, 8, color_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(np.ascontiguousarray(rows).tobytes(), 6))
        + chunk(b"IEND", b"")
    )


def to_uint8_image(array: Any, func: str = "kino.image") -> np.ndarray:
    """An HWC/HW array (numpy, jax, ...) as HWC uint8: floats must lie in [0, 1]."""
    try:
        pixels = np.asarray(array)
    except Exception as exc:
        raise TypeError(f"{func}: 'image' must be an array or PNG/JPEG bytes ({exc})") from None
    if pixels.ndim == 2:
        pixels = pixels[:, :, None]
    if pixels.ndim != 3 or pixels.shape[2] not in (1, 2, 3, 4):
        raise ValueError(
            f"{func}: 'image' must have shape (height, width) or (height, width, channels) "
            f"with 1, 3 or 4 channels, got {pixels.shape}"
        )
    if pixels.shape[0] * pixels.shape[1] == 0:
        raise ValueError(f"{func}: 'image' is empty: shape {pixels.shape}")
    if pixels.shape[0] * pixels.shape[1] > MAX_IMAGE_PIXELS:
        raise ValueError(
            f"{func}: 'image' has {pixels.shape[0] * pixels.shape[1]} pixels; "
            f"MAX_IMAGE_PIXELS is {MAX_IMAGE_PIXELS}"
        )
    if pixels.dtype == np.uint8:
        return pixels
    if pixels.dtype == np.bool_:
        return pixels.astype(np.uint8) * 255
    if np.issubdtype(pixels.dtype, np.integer):
        if pixels.min() < 0 or pixels.max() > 255:
            raise ValueError(f"{func}: integer 'image' values must lie in 0..255")
        return pixels.astype(np.uint8)
    if np.issubdtype(pixels.dtype, np.floating):
        pixels = pixels.astype(np.float32)
        if not np.isfinite(pixels).all():
            raise ValueError(f"{func}: float 'image' values must be finite (no NaN or inf)")
        if pixels.min() < 0.0 or pixels.max() > 1.0:
            raise ValueError(
                f"{func}: float 'image' values must lie in [0, 1], got "
                f"min {float(pixels.min()):.3g}, max {float(pixels.max()):.3g}"
            )
        return np.round(pixels * 255.0).astype(np.uint8)
    raise TypeError(f"{func}: 'image' dtype must be uint8, int or float, got {pixels.dtype}")


def _image_bytes(obj: Any) -> tuple[bytes, str]:
    if isinstance(obj, (bytes, bytearray, memoryview)):
        data = bytes(obj)
        for magic, fmt in _MAGIC.items():
            if data.startswith(magic):
                return data, fmt
        raise ValueError("kino.image: 'image' bytes must be a PNG, JPEG or GIF file")
    return encode_png(to_uint8_image(obj)), "png"


class Image(ipywidgets.Image):
    """A picture (``kino.image``); ``.update(new)`` replaces it."""

    def __init__(self, image: Any, *, width: int | None = None) -> None:
        data, fmt = _image_bytes(image)
        if width is not None and (
            isinstance(width, bool) or not isinstance(width, int) or width < 1
        ):
            raise ValueError(f"kino.image: 'width' must be a positive int of pixels, got {width!r}")
        super().__init__(value=data, format=fmt, width=str(width) if width else "")
        self.add_class("kino")
        self.add_class("kino-image")

    def update(self, image: Any) -> None:
        """Show another picture."""
        data, fmt = _image_bytes(image)
        with self.hold_sync():
            self.format = fmt
            self.value = data


def image(image: Any, *, width: int | None = None) -> Image:
    """Show a picture: a jax or numpy HWC (or HW) array, uint8 or float in [0, 1],
    or PNG/JPEG/GIF bytes. ``width`` scales it on the page (pixels stay sharp).

    >>> import numpy as np, kino
    >>> img = kino.image(np.zeros((28, 28)), width=112)
    >>> img.format
    'png'
    """
    return Image(image, width=width)


# tree -------------------------------------------------------------------------------
class Tree(KinoWidget, bundle="tree"):
    """A collapsible view of nested data (``kino.tree``)."""

    node = traitlets.Dict(allow_none=True).tag(sync=True)
    open_depth = traitlets.Int(1).tag(sync=True)

    def __init__(self, obj: Any, *, open_depth: int = 1) -> None:
        if isinstance(open_depth, bool) or not isinstance(open_depth, int) or open_depth < 0:
            raise ValueError(f"kino.tree: 'open_depth' must be an int >= 0, got {open_depth!r}")
        super().__init__(node=tree_node(obj), open_depth=open_depth)

    def update(self, obj: Any) -> None:
        """Show another object."""
        self.node = tree_node(obj)


def _short(text: str) -> str:
    return text if len(text) <= MAX_TREE_VALUE_CHARS else text[: MAX_TREE_VALUE_CHARS - 1] + "…"


def _children(obj: Any) -> list[tuple[str, Any]] | None:
    """(key label, child) pairs of a container or pytree node, None for a leaf."""
    if isinstance(obj, Mapping):
        return [(k if isinstance(k, str) else repr(k), v) for k, v in obj.items()]
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):
        return list(zip(obj._fields, obj, strict=True))
    if isinstance(obj, (list, tuple)):
        return [(f"[{i}]", v) for i, v in enumerate(obj)]
    if isinstance(obj, (set, frozenset)):
        return [("·", v) for v in sorted(obj, key=repr)]
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return [(f.name, getattr(obj, f.name)) for f in dataclasses.fields(obj)]
    if "flax.nnx" in sys.modules:
        from flax import nnx

        if isinstance(obj, nnx.Module):
            return _children(nnx.state(obj))
    if "jax" in sys.modules and not hasattr(obj, "shape"):
        import jax

        try:
            flat, _ = jax.tree_util.tree_flatten_with_path(obj, is_leaf=lambda x: x is not obj)
        except Exception:
            return None
        if len(flat) == 1 and flat[0][0] == ():
            return None
        return [(jax.tree_util.keystr(path).lstrip("."), child) for path, child in flat]
    return None


def _leaf(obj: Any) -> tuple[str, str]:
    if hasattr(obj, "shape") and hasattr(obj, "dtype"):
        shape = ",".join(str(d) for d in obj.shape)
        kind = f"{obj.dtype}[{shape}]"
        size = int(np.prod(obj.shape)) if obj.shape else 1
        if size <= 8:
            try:
                text = np.array2string(np.asarray(obj), separator=", ", max_line_width=10**6)
            except (TypeError, ValueError):  # e.g. PRNG key arrays have no numpy form
                return kind, ""
            return kind, _short(" ".join(text.split()))
        return kind, ""
    if isinstance(obj, str):
        return "str", _short(repr(obj))
    return type(obj).__name__, _short(repr(obj))


def tree_node(obj: Any) -> dict[str, Any]:
    """The bounded JSON node tree ``kino.tree`` sends to the browser."""
    budget = [MAX_TREE_NODES]

    def walk(o: Any, key: str | None, ancestors: tuple[int, ...]) -> dict[str, Any]:
        budget[0] -= 1
        node: dict[str, Any] = {} if key is None else {"k": key}
        if id(o) in ancestors:
            node["t"] = "cycle"
            return node
        kids = _children(o)
        if kids is not None and len(ancestors) >= MAX_TREE_DEPTH:
            node["t"], node["v"] = f"{type(o).__name__} ({len(kids)})", "…"
            return node
        if kids is None:
            node["t"], value = _leaf(o)
            if value:
                node["v"] = value
            return node
        node["t"] = f"{type(o).__name__} ({len(kids)})"
        node["c"] = []
        for i, (k, child) in enumerate(kids):
            if i >= MAX_TREE_CHILDREN or budget[0] <= 0:
                node["more"] = len(kids) - i
                break
            node["c"].append(walk(child, k, (*ancestors, id(o))))
        return node

    return walk(obj, None, ())


def tree(obj: Any, *, open_depth: int = 1) -> Tree:
    """A collapsible view of nested dicts, lists, dataclasses and jax pytrees
    (arrays show dtype and shape). ``open_depth`` levels start expanded.

    >>> import kino
    >>> t = kino.tree({"model": {"w": [1, 2]}, "lr": 0.001})
    >>> t.node["c"][1]
    {'k': 'lr', 't': 'float', 'v': '0.001'}
    """
    return Tree(obj, open_depth=open_depth)


# download -----------------------------------------------------------------------------
class Download(KinoWidget, bundle="download"):
    """A download button whose content is made when clicked (``kino.download``)."""

    filename = traitlets.Unicode("download").tag(sync=True)
    label = traitlets.Unicode("").tag(sync=True)
    mime = traitlets.Unicode("application/octet-stream").tag(sync=True)

    def __init__(
        self,
        content: bytes | str | Callable[[], bytes | str],
        *,
        filename: str = "download",
        label: str | None = None,
        mime: str | None = None,
    ) -> None:
        if not isinstance(content, (bytes, bytearray, memoryview, str)) and not callable(content):
            raise TypeError(
                "kino.download: 'content' must be bytes, a str, or a function returning them, "
                f"got {type(content).__name__}"
            )
        if not isinstance(filename, str) or not filename.strip() or "/" in filename:
            raise ValueError(
                f"kino.download: 'filename' must be a file name like 'data.csv', got {filename!r}"
            )
        if label is not None and not isinstance(label, str):
            raise TypeError(f"kino.download: 'label' must be a str, got {type(label).__name__}")
        self._content = content
        self.requests = 0
        super().__init__(filename=filename, label=label or "", mime=mime or _guess_mime(filename))
        self.on_msg(self._on_request)

    def content(self) -> bytes:
        """Make the content now (what a click does)."""
        made = self._content() if callable(self._content) else self._content
        if isinstance(made, str):
            made = made.encode("utf-8")
        if not isinstance(made, (bytes, bytearray, memoryview)):
            raise TypeError(
                "kino.download: the content function must return bytes or str, "
                f"got {type(made).__name__}"
            )
        made = bytes(made)
        if len(made) > MAX_DOWNLOAD_BYTES:
            raise ValueError(
                f"kino.download: content is {len(made)} bytes; "
                f"MAX_DOWNLOAD_BYTES is {MAX_DOWNLOAD_BYTES}"
            )
        return made

    def _on_request(self, _widget: Any, content: Any, _buffers: Any) -> None:
        if not isinstance(content, dict) or content.get("type") != "request":
            return
        self.requests += 1
        try:
            data = self.content()
        except Exception as exc:
            log.exception("kino.download: making the content failed")
            self.send({"type": "error", "message": f"Download failed: {type(exc).__name__}: {exc}"})
            return
        self.send({"type": "content", "filename": self.filename, "mime": self.mime}, [data])


def _guess_mime(filename: str) -> str:
    import mimetypes

    return mimetypes.guess_type(filename)[0] or "application/octet-stream"


def download(
    content: bytes | str | Callable[[], bytes | str],
    *,
    filename: str = "download",
    label: str | None = None,
    mime: str | None = None,
) -> Download:
    """A button that downloads ``content`` (bytes, str, or a function called only
    when the button is clicked) as ``filename``.

    >>> import kino
    >>> d = kino.download(lambda: "a,b\\n1,2\\n", filename="data.csv")
    >>> d.content()
    b'a,b\\n1,2\\n'
    """
    return Download(content, filename=filename, label=label, mime=mime)
