"""``kino.inspect``: a tensor and model inspector (Nx tensor inspect, Axon.Display).

``kino.inspect(x)`` shows a jax or numpy array's shape, dtype, bytes, devices and
sharding, exact statistics computed on its device, a histogram, and a view of
its values (heatmap of a 2-d slice, line, image, table), downsampled on the
device so no more than ``MAX_PAYLOAD_BYTES`` reach the browser.
``kino.inspect(model)`` shows a flax.nnx module or any pytree as a collapsible
tree; ``kino.inspect(a, b)`` compares two arrays element-wise.

The current selection (shown axes, slider positions, reduction, leaf) lives in
synced traits, so a saved notebook reopens showing the same view; the front
end asks for a new view with a custom message.
"""

from __future__ import annotations

import html
import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import traitlets

from kino.contracts import check_choice, check_int
from kino.ui.base import KinoWidget
from kino.ui.inspect.columns import SCALES, default_scale, is_tabular
from kino.ui.inspect.stats import (
    HEATMAP_MAX_SIDE,
    MAX_PAYLOAD_BYTES,
    MODES,
    TABLE_MAX_ELEMENTS,
    array_stats,
    compare_stats,
    heatmap,
    image,
    is_image,
    kind_of,
    line,
    parts_of,
)
from kino.ui.inspect.tree import build_tree, is_array, is_nnx_module

__all__ = ["MAX_PAYLOAD_BYTES", "Inspector", "inspect", "summary_line"]

VIEWS = ("heatmap", "image", "line", "scalar", "empty")
"""The views of an array: which ones apply depends on its shape and dtype."""


def _as_jax(x: Any, argument: str = "x") -> jax.Array:
    """A jax array for ``x`` (numpy arrays and scalars are put on the default device)."""
    if isinstance(x, jax.Array):
        if jax.dtypes.issubdtype(x.dtype, jax.dtypes.prng_key):
            raise TypeError(
                f"kino.inspect: {argument!r} is an array of PRNG keys; inspect "
                "jax.random.key_data(keys) to see their raw bits"
            )
        kind_of(x.dtype)
        return x
    if isinstance(x, (np.ndarray, np.generic)):
        kind_of(x.dtype)
        return jnp.asarray(x)
    raise TypeError(
        f"kino.inspect: {argument!r} must be a jax or numpy array, a flax.nnx module or "
        f"a pytree of arrays, got {type(x).__name__}"
    )


def _format_bytes(n: int) -> str:
    """Bytes for people: ``_format_bytes(4_000_000) == '3.8 MiB'``."""
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} B"


def _sharding(x: jax.Array, host: bool) -> dict[str, Any]:
    """Devices, sharding description and which device holds which block."""
    if host:
        return {"devices": ["host (numpy)"], "kind": "numpy", "spec": "", "blocks": []}
    sharding = x.sharding
    devices = sorted(x.devices(), key=lambda d: d.id)
    blocks = []
    for device, index in sorted(
        sharding.devices_indices_map(x.shape).items(), key=lambda kv: kv[0].id
    ):
        start, stop = [], []
        for sl, n in zip(index, x.shape, strict=True):
            a, b, _ = sl.indices(n)
            start.append(a)
            stop.append(b)
        blocks.append({"device": f"{device.platform}:{device.id}", "start": start, "stop": stop})
    spec = getattr(sharding, "spec", None)
    return {
        "devices": [f"{d.platform}:{d.id}" for d in devices],
        "kind": type(sharding).__name__,
        "spec": "" if spec is None else str(spec),
        "blocks": blocks,
    }


def array_summary(x: Any) -> dict[str, Any]:
    """Shape, dtype, bytes, sharding and on-device statistics of an array.

    >>> s = array_summary(np.arange(6, dtype=np.int32).reshape(2, 3))
    >>> s["shape"], s["dtype"], s["bytes"], s["stats"]["parts"]["value"]["max"]
    ([2, 3], 'int32', 24, 5)
    """
    host = not isinstance(x, jax.Array)
    dtype = str(np.dtype(x.dtype))
    arr = _as_jax(x)
    note = ""
    if str(arr.dtype) != dtype:
        note = f"computed as {arr.dtype} (jax_enable_x64 is off)"
    return {
        "shape": [int(d) for d in arr.shape],
        "dtype": dtype,
        "kind": kind_of(arr.dtype),
        "bytes": int(np.dtype(x.dtype).itemsize * math.prod(arr.shape)),
        "size": int(arr.size),
        "note": note,
        "sharding": _sharding(arr, host),
        "stats": array_stats(arr),
        "parts": list(parts_of(arr.dtype)),
    }


def _fmt_num(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, str):
        return value
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, int):
        return str(value)
    return f"{value:.4g}"


def summary_line(x: Any) -> str:
    """One line describing an array: dtype[shape], bytes, device(s), statistics.

    >>> summary_line(np.array([1.0, np.nan, 3.0], np.float32))
    'float32[3] · 12 B · host (numpy) · min 1 · max 3 · mean 2 · std 1 · 1 NaN'
    """
    s = array_summary(x)
    devices = s["sharding"]["devices"]
    where = devices[0] if len(devices) == 1 else f"{len(devices)} devices"
    parts = [f"{s['dtype']}[{','.join(map(str, s['shape']))}]", _format_bytes(s["bytes"]), where]
    part = s["stats"]["parts"]["abs" if s["kind"] == "complex" else "value"]
    if s["size"]:
        prefix = "|x| " if s["kind"] == "complex" else ""
        for key in ("min", "max", "mean", "std"):
            parts.append(f"{prefix}{key} {_fmt_num(part[key])}")
        for key, label in (("nan", "NaN"), ("posinf", "+inf"), ("neginf", "-inf")):
            if part[key]:
                parts.append(f"{part[key]} {label}")
    else:
        parts.append("empty")
    return " · ".join(parts)


class ArraySummary:
    """The compact summary line that ``kino.enable()`` shows for a jax array.

    >>> ArraySummary(np.zeros(2, np.float32))
    float32[2] · 8 B · host (numpy) · min 0 · max 0 · mean 0 · std 0
    """

    def __init__(self, x: jax.Array) -> None:
        self.line = summary_line(x)

    def __repr__(self) -> str:
        return self.line

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        return {
            "text/plain": self.line,
            "text/html": (
                '<code class="kino-inspect-line" style="font-size:12px">'
                f"{html.escape(self.line)}</code>"
            ),
        }


def _format_value(value: Any, kind: str) -> str:
    if kind == "complex":
        c = complex(value)
        return f"{c.real:.4g}{c.imag:+.4g}j"
    if kind == "float":
        return f"{float(value):.6g}"
    if kind == "bool":
        return str(bool(value))
    return str(int(value))


class Inspector(KinoWidget, bundle="inspect"):
    """Inspect an array, a flax.nnx module or pytree, or compare two arrays.

    Statistics, histograms and downsampled views are computed on the device
    that holds the array; at most ``MAX_PAYLOAD_BYTES`` of view data reach the
    browser whatever the array's size. ``kino.inspect`` is this class.

    ``kind`` is ``"array"``, ``"tree"`` or ``"compare"``; ``selection`` holds
    the shown axes, slider positions (``index``), reduction ``mode``, complex
    ``part`` and ``view``; ``view`` and ``view_data`` hold the current view and
    its float32 (or RGBA) bytes, at most ``MAX_PAYLOAD_BYTES``.

    >>> import kino, jax.numpy as jnp
    >>> w = kino.inspect(jnp.arange(12.0).reshape(3, 4))
    >>> w.summary["stats"]["parts"]["value"]["max"]
    11.0
    >>> w.select(mode="maxabs")
    >>> kino.inspect(jnp.ones(3), jnp.array([1.0, 1.0, 1.5])).compare["max_abs"]
    0.5
    """

    kind = traitlets.Unicode("array").tag(sync=True)
    title = traitlets.Unicode("").tag(sync=True)
    summary = traitlets.Dict().tag(sync=True)
    selection = traitlets.Dict().tag(sync=True)
    view = traitlets.Dict().tag(sync=True)
    view_data = traitlets.Bytes(b"").tag(sync=True)
    tree = traitlets.Dict().tag(sync=True)
    selected_leaf = traitlets.Int(-1).tag(sync=True)
    leaf_summary = traitlets.Dict().tag(sync=True)
    compare = traitlets.Dict().tag(sync=True)
    error = traitlets.Unicode("").tag(sync=True)

    def __init__(self, x: Any, y: Any = None, /) -> None:
        self._array: jax.Array | None = None
        self._host: np.ndarray | None = None
        self._leaves: list[Any] = []
        super().__init__()
        self.on_msg(self._on_front_end_msg)
        if y is not None:
            self._set_compare(x, y)
            return
        if isinstance(x, (bool, int, float, complex)):
            x = np.asarray(x)
        if is_array(x):
            self.kind = "array"
            self._set_array(x)
        elif is_nnx_module(x) or isinstance(x, (dict, list, tuple)) or _is_pytree_node(x):
            self.kind = "tree"
            self._set_tree(x)
        else:
            raise TypeError(
                "kino.inspect: expected a jax or numpy array, a flax.nnx module or a pytree "
                "(dict, list, tuple, dataclass registered with jax) of arrays, "
                f"got {type(x).__name__}"
            )

    def _set_compare(self, x: Any, y: Any) -> None:
        a, b = _as_jax(x, "a"), _as_jax(y, "b")
        if a.shape != b.shape:
            raise ValueError(
                f"kino.inspect(a, b): the arrays must have the same shape, got "
                f"{tuple(a.shape)} and {tuple(b.shape)}"
            )
        diff = _difference(a, b)
        self.kind = "compare"
        self.title = "a − b"
        info = compare_stats(a, b)
        info["a"] = {"dtype": str(a.dtype), "shape": list(a.shape)}
        info["b"] = {"dtype": str(b.dtype), "shape": list(b.shape)}
        self.compare = info
        self._set_array(diff)

    # ------------------------------------------------------------ arrays
    def _set_array(self, x: Any) -> None:
        self._array = _as_jax(x)
        self._host = np.asarray(x) if self._array.size <= TABLE_MAX_ELEMENTS else None
        shape = self._array.shape
        views = self.available_views()
        self.summary = {**array_summary(x), "views": views}
        self.selection = {
            "axes": list(default_axes(shape)),
            "index": [0] * len(shape),
            "mode": "mean",
            "scale": default_scale(self._array),
            "part": parts_of(self._array.dtype)[0],
            "view": views[0],
        }
        self._render()

    def available_views(self) -> list[str]:
        """The views that apply to the inspected array, the default first.

        >>> inspect(np.zeros((4, 4, 3), np.uint8)).available_views()
        ['image', 'heatmap']
        """
        if self._array is None:
            return []
        shape = self._array.shape
        if self._array.size == 0:
            return ["empty"]
        if len(shape) == 0:
            return ["scalar"]
        if len(shape) == 1:
            return ["line"]
        if is_image(shape, self._array.dtype):
            return ["image", "heatmap"]
        return ["heatmap"]

    def select(
        self,
        *,
        axes: tuple[int, int] | list[int] | None = None,
        index: dict[int, int] | list[int] | None = None,
        mode: str | None = None,
        part: str | None = None,
        view: str | None = None,
        scale: str | None = None,
    ) -> None:
        """Change what the array view shows; the browser updates.

        ``axes``: the two axes shown as rows and columns of the heatmap;
        ``index``: position along the other axes (a list for every axis or
        ``{axis: position}``); ``mode``: ``"mean"`` or ``"maxabs"`` block
        reduction; ``part``: for complex arrays ``"abs"``, ``"angle"``,
        ``"real"`` or ``"imag"``; ``view``: one of :meth:`available_views`;
        ``scale``: ``"all"`` (one colour scale for the slice) or ``"columns"``
        (each column coloured from its own range: a table of features; the
        default for a table whose columns' ranges differ a hundredfold).

        >>> w = inspect(np.arange(24.0).reshape(2, 3, 4))
        >>> w.select(axes=(0, 2), index={1: 2})
        >>> w.selection["axes"], w.selection["index"]
        ([0, 2], [0, 2, 0])
        """
        if self._array is None:
            raise ValueError("kino.inspect: select() applies to an array inspector, not a tree")
        shape = self._array.shape
        ndim = len(shape)
        new = dict(self.selection)
        if axes is not None:
            if not isinstance(axes, (list, tuple)) or len(axes) != 2:
                raise ValueError(
                    f"kino.inspect: 'axes' must be two axes of the {ndim}-d array, got {axes!r}"
                )
            checked = []
            for i, a in enumerate(axes):
                a = check_int(a, func="kino.inspect", argument=f"axes[{i}]")
                if not -ndim <= a < ndim:
                    raise ValueError(
                        f"kino.inspect: axis {a} is out of range for the {ndim}-d array of "
                        f"shape {tuple(shape)}; 'axes' must be between 0 and {ndim - 1}"
                    )
                checked.append(a % ndim)
            if checked[0] == checked[1]:
                raise ValueError(
                    f"kino.inspect: 'axes' must be two different axes, got {list(axes)}"
                )
            new["axes"] = checked
        if index is not None:
            positions = list(new["index"])
            items = (
                index.items()
                if isinstance(index, dict)
                else enumerate(index)
                if isinstance(index, (list, tuple))
                else None
            )
            if items is None:
                raise TypeError(
                    "kino.inspect: 'index' must be a list with one position per axis or a "
                    f"dict {{axis: position}}, got {type(index).__name__}"
                )
            if isinstance(index, (list, tuple)) and len(index) != ndim:
                raise ValueError(
                    f"kino.inspect: 'index' must have {ndim} positions (one per axis), "
                    f"got {len(index)}"
                )
            for ax, pos in items:
                ax = check_int(ax, func="kino.inspect", argument="axis in index")
                pos = check_int(pos, func="kino.inspect", argument=f"index[{ax}]")
                if not 0 <= ax < ndim:
                    raise ValueError(
                        f"kino.inspect: axis {ax} in 'index' is out of range for the {ndim}-d "
                        f"array; axes are 0 to {ndim - 1}"
                    )
                if not -shape[ax] <= pos < shape[ax]:
                    raise ValueError(
                        f"kino.inspect: position {pos} is out of range for axis {ax} of "
                        f"length {shape[ax]}"
                    )
                positions[ax] = pos % shape[ax]
            new["index"] = positions
        if mode is not None:
            if mode not in MODES:
                raise ValueError(f"kino.inspect: 'mode' must be one of {list(MODES)}, got {mode!r}")
            new["mode"] = mode
        if scale is not None:
            new["scale"] = check_choice(scale, SCALES, func="kino.inspect", argument="scale")
        if part is not None:
            allowed = parts_of(self._array.dtype)
            if part not in allowed:
                raise ValueError(
                    f"kino.inspect: 'part' must be one of {list(allowed)} for "
                    f"{self._array.dtype} arrays, got {part!r}"
                )
            new["part"] = part
        if view is not None:
            allowed = self.available_views()
            if view not in allowed:
                raise ValueError(
                    f"kino.inspect: 'view' must be one of {allowed} for this array, got {view!r}"
                )
            new["view"] = view
        self.selection = new
        self._render()

    def _render(self) -> None:
        x = self._array
        assert x is not None
        sel = self.selection
        meta: dict[str, Any] = {
            "kind": sel["view"],
            "part": sel["part"],
            "scale": sel.get("scale", "all"),
            # the front end offers per-column colour for tables only
            "tabular": is_tabular(x.shape),
        }
        data = b""
        kind = kind_of(x.dtype)
        stats_part = self.summary["stats"]["parts"].get(sel["part"])
        signed = kind in ("float", "complex") or (
            kind == "int" and np.issubdtype(np.dtype(x.dtype), np.signedinteger)
        )
        if sel["part"] in ("angle", "real", "imag"):
            meta["signed"] = True
        elif stats_part is not None:
            lo = stats_part["min"]
            meta["signed"] = bool(signed and isinstance(lo, (int, float)) and lo < 0)
        else:
            meta["signed"] = False
        if sel["view"] == "heatmap":
            r, c = sel["axes"]
            data, info = heatmap(x, r, c, sel["index"], mode=sel["mode"], part=sel["part"])
            meta.update(info)
        elif sel["view"] == "image":
            data, info = image(x)
            meta.update(info)
        elif sel["view"] == "line":
            data, info = line(x, part=sel["part"])
            meta.update(info)
        meta["table"] = self._table(sel)
        assert len(data) <= MAX_PAYLOAD_BYTES
        self.error = ""
        with self.hold_sync():
            self.view = meta
            self.view_data = data

    def _table(self, sel: dict[str, Any]) -> list[list[str]] | None:
        """The values of the shown slice as text, for arrays of at most 400 elements."""
        if self._host is None or self._host.size == 0:
            return None
        kind = kind_of(self._host.dtype)
        a = self._host
        if a.ndim == 0:
            return [[_format_value(a.item(), kind)]]
        if a.ndim == 1:
            return [[_format_value(v, kind) for v in a]]
        r, c = sel["axes"]
        idx = tuple(slice(None) if ax in (r, c) else sel["index"][ax] for ax in range(a.ndim))
        s = a[idx]
        if r > c:
            s = s.T
        return [[_format_value(v, kind) for v in row] for row in s]

    # ------------------------------------------------------------ trees
    def _set_tree(self, obj: Any) -> None:
        tree = build_tree(obj)
        self._leaves = [leaf.value for leaf in tree.leaves]
        self.title = tree.title
        self.tree = {"rows": tree.rows, "totals": tree.totals, "truncated": tree.truncated}

    def select_leaf(self, leaf: int) -> None:
        """Show the statistics of leaf number ``leaf`` (the row's ``leaf`` field).

        >>> w = inspect({"w": np.ones((2, 2))})
        >>> w.select_leaf(0)
        >>> w.leaf_summary["stats"]["parts"]["value"]["mean"]
        1.0
        """
        leaf = check_int(leaf, func="kino.inspect", argument="leaf")
        if not 0 <= leaf < len(self._leaves) or not is_array(self._leaves[leaf]):
            raise ValueError(
                f"kino.inspect: 'leaf' must be the index of an array leaf, 0 to "
                f"{len(self._leaves) - 1}, got {leaf}"
            )
        summary = array_summary(self._leaves[leaf])
        path = next((r["path"] for r in self.tree.get("rows", []) if r["leaf"] == leaf), str(leaf))
        summary["path"] = path
        self.error = ""
        with self.hold_sync():
            self.selected_leaf = leaf
            self.leaf_summary = summary

    # ------------------------------------------------------------ front end
    def _on_front_end_msg(self, _widget: Any, content: Any, _buffers: Any) -> None:
        """Requests from the browser: ``{"type": "select", ...}`` or ``{"type": "leaf"}``."""
        try:
            if not isinstance(content, dict):
                raise TypeError(f"kino.inspect: unknown request {content!r}")
            request = content.get("type")
            if request == "select":
                self.select(
                    axes=content.get("axes"),
                    index=content.get("index"),
                    mode=content.get("mode"),
                    part=content.get("part"),
                    view=content.get("view"),
                    scale=content.get("scale"),
                )
            elif request == "leaf":
                self.select_leaf(content.get("leaf"))
            else:
                raise ValueError(
                    f"kino.inspect: unknown request type {request!r}; expected 'select' or 'leaf'"
                )
        except (TypeError, ValueError) as exc:
            self.error = str(exc)
            self.send({"type": "error", "message": str(exc)})


#: A trailing axis this long is a channel axis (grey, grey+alpha, RGB, RGBA), never a
#: heatmap column.
MAX_CHANNELS = 4


def default_axes(shape: tuple[int, ...] | list[int]) -> tuple[int, ...]:
    """The axes shown as the heatmap's rows and columns when an array is first inspected.

    Arrays are read channel-last (jax and flax's NHWC): a trailing axis of 1 to 4 is a
    channel, and so is a trailing axis after two equal spatial axes (feature maps),
    so the image's height and width are shown and the slider walks the channels.
    Otherwise the last two axes.

    >>> default_axes((16, 8, 8, 1)), default_axes((8, 8, 32)), default_axes((333, 4))
    ((1, 2), (0, 1), (0, 1))
    >>> default_axes((4, 100, 64)), default_axes((5,))
    ((1, 2), ())
    """
    nd = len(shape)
    if nd < 2:
        return ()
    if nd >= 3:
        channel_like = shape[-1] <= MAX_CHANNELS or (
            shape[-3] == shape[-2] and shape[-3] > 1 and shape[-1] != shape[-2]
        )
        if channel_like:
            return (nd - 3, nd - 2)
    return (nd - 2, nd - 1)


#: ``kino.inspect`` is the :class:`Inspector` class itself: one definition, one signature.
inspect = Inspector


def _is_pytree_node(x: Any) -> bool:
    leaves = jax.tree_util.tree_leaves(x)
    return not (len(leaves) == 1 and leaves[0] is x)


@jax.jit
def _difference(a: jax.Array, b: jax.Array) -> jax.Array:
    if a.dtype == jnp.bool_ and b.dtype == jnp.bool_:
        return a.astype(jnp.int8) - b.astype(jnp.int8)
    dtype = jnp.promote_types(a.dtype, b.dtype)
    if jnp.issubdtype(dtype, jnp.unsignedinteger):
        dtype = jnp.promote_types(dtype, jnp.int32)
    return a.astype(dtype) - b.astype(dtype)


assert HEATMAP_MAX_SIDE**2 * 4 <= MAX_PAYLOAD_BYTES
