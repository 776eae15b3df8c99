"""The smart-cell widget: a form whose state (its attributes) stands for code.

A smart cell (Livebook's name) is a form in one notebook cell and the code it stands for
in the cell below it. This module is the kernel's half: a :class:`SmartCell` subclass
says which fields its form has (:meth:`SmartCell.form`) and which code a set of
attributes stands for (:meth:`SmartCell.generate`); the widget keeps ``attrs``,
``fields``, ``code`` and ``error`` in step. kino's JupyterLab plugin
(``labextension/src/plugin/smart-cells.ts``) writes ``code`` into the cell below and
keeps ``attrs`` in the form cell's metadata; where there is no plugin the widget shows
the code with a copy button.

Field schemas are plain JSON dicts the front end draws (``labextension/src/widgets/smart/``):

- every field: ``name`` (its key in the attributes), ``label``, ``type``, optional
  ``help`` and ``when`` (``{"other_field": [values]}``: shown only when that sibling
  field holds one of the values);
- ``"text"``: ``placeholder``; ``"number"``: ``min``, ``max``, ``step``, ``integer``;
  ``"select"``: ``options``, a list of ``[value, label]`` pairs; ``"checkbox"``;
  ``"list"``: ``fields`` (the schema of one item, a dict of its own attributes),
  ``item`` (a new item's attributes) and ``add_label``;
  ``"upload"`` (top-level fields only, not inside a list): ``accept`` (e.g.
  ``".csv,.parquet"``): the view sends the chosen file
  (at most ``MAX_UPLOAD_BYTES``, 200 MB) and the kernel writes it to
  ``uploads/<sanitised name>`` in its working directory and sets that relative path
  (``"uploads/sales.csv"``) as the field's attribute.

Inside a list, a field's ``when`` names a sibling field of the same item.

Added to the contract after the first commit (the other engineers may rely on them):

- ``SmartCell(**attrs)`` refuses an attribute name that :meth:`SmartCell.defaults` does
  not have (a ``TypeError`` naming it and the allowed ones);
- a cell whose :meth:`SmartCell.form`, :meth:`SmartCell.generate` or
  :meth:`SmartCell.preview` raises something other than :class:`AttrError` shows
  ``"<Type>: <message>"`` in ``error`` (``error_field`` empty) instead of a traceback;
- :meth:`SmartCell.preview`'s object is shown under the form, in the same output
  (``cell.preview_frame``, a ``kino.frame``), refreshed on each good refresh;
- every open smart cell is refreshed after each cell the kernel runs (IPython's
  ``post_run_cell``), so lists read from the namespace (frames, columns) stay current;
  that refresh (``refresh(keep_preview=True)``) redraws the preview only when the code
  or the fields changed.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

import ipywidgets
import traitlets

from kino.contracts import fail
from kino.ui.base import KinoWidget, styled
from kino.ui.layout import Frame
from kino.ui.smart import live
from kino.ui.smart.upload import MAX_UPLOAD_BYTES, Uploads


class AttrError(ValueError):
    """A bad attribute: names the field (``"x"``, or ``"steps.2.column"`` inside a list)
    and says what is allowed. The form shows it beside the field; no code is written.

    >>> str(AttrError("x", "pick a column of df"))
    'x: pick a column of df'
    """

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class SmartCell(KinoWidget, bundle="smartcell"):
    """Base class of the smart cells: a form whose attributes generate code.

    Subclasses set ``kind`` (its name under ``kino.smart``), ``title`` and ``version``
    and implement :meth:`defaults`, :meth:`form` and :meth:`generate`; :meth:`preview`
    is optional.

    >>> class Greeting(SmartCell):
    ...     kind, title = "greeting", "Greeting"
    ...     def defaults(self):
    ...         return {"name": "world"}
    ...     def form(self, attrs):
    ...         return [{"name": "name", "label": "Name", "type": "text"}]
    ...     def generate(self, attrs):
    ...         return f"print({'Hello, ' + attrs['name']!r})"
    >>> cell = Greeting()
    >>> cell.code
    "print('Hello, world')"
    >>> cell.attrs = {"name": "kino"}
    >>> cell.code
    "print('Hello, kino')"
    """

    kind: ClassVar[str] = ""
    title: ClassVar[str] = ""
    version: ClassVar[int] = 1

    attrs = traitlets.Dict().tag(sync=True)
    fields = traitlets.List().tag(sync=True)
    code = traitlets.Unicode("").tag(sync=True)
    error = traitlets.Unicode("").tag(sync=True)
    error_field = traitlets.Unicode("").tag(sync=True)
    smart_kind = traitlets.Unicode("").tag(sync=True)
    smart_version = traitlets.Int(1).tag(sync=True)
    smart_title = traitlets.Unicode("").tag(sync=True)

    max_upload_bytes = traitlets.Int(MAX_UPLOAD_BYTES, read_only=True).tag(sync=True)

    def __init__(self, **attrs: Any) -> None:
        defaults = self.defaults()
        unknown = sorted(set(attrs) - set(defaults))
        if unknown:
            allowed = ", ".join(repr(name) for name in defaults) or "none"
            fail(
                type(self).__name__,
                unknown[0],
                f"one of its attributes ({allowed})",
                attrs[unknown[0]],
            )
        self.preview_frame: Frame | None = Frame() if self._has_preview() else None
        self._box: ipywidgets.VBox | None = None
        self._preview_shown_for: str | None = None
        self._uploads = Uploads()
        super().__init__(smart_kind=self.kind, smart_version=self.version, smart_title=self.title)
        self.on_msg(self._on_message)
        self.attrs = {**defaults, **attrs}
        live.track(self)

    # -- what a subclass writes -------------------------------------------------------
    def defaults(self) -> dict[str, Any]:
        """The attributes of a new cell."""
        return {}

    def form(self, attrs: dict[str, Any]) -> list[dict[str, Any]]:
        """The form's fields for these attributes (may read the kernel's namespace)."""
        raise NotImplementedError

    def generate(self, attrs: dict[str, Any]) -> str:
        """The code these attributes stand for; raises :class:`AttrError` on a bad one."""
        raise NotImplementedError

    def preview(self, attrs: dict[str, Any]) -> Any | None:
        """An optional live preview of the code's result (a chart, a table), or None."""
        return None

    @classmethod
    def migrate(cls, attrs: dict[str, Any], version: int) -> dict[str, Any]:
        """Attributes saved by an older ``version`` of this cell, brought up to date."""
        if version != cls.version:
            raise AttrError("version", f"{cls.kind} has no migration from version {version}")
        return attrs

    # -- the loop -----------------------------------------------------------------
    @traitlets.observe("attrs")
    def _attrs_changed(self, change: dict[str, Any]) -> None:
        self.refresh()

    def refresh(self, *, keep_preview: bool = False) -> None:
        """Recompute fields, code, error and the preview from ``attrs`` (also after a
        cell runs: the form may list the kernel's frames and columns).

        ``keep_preview=True`` (after a cell runs) keeps the preview shown when neither
        the code nor the fields changed, so running unrelated cells redraws no chart.
        """
        attrs = dict(self.attrs)
        with self.hold_sync():
            try:
                self.fields = self.form(attrs)
                code = self.generate(attrs)
            except AttrError as bad:
                # The last good code stays: a bad attribute never writes broken code.
                self.error, self.error_field = bad.message, bad.field
                return
            except Exception as exc:  # a cell's bug is a message in the form, not a traceback
                self.error, self.error_field = _message(exc), ""
                return
            self.code, self.error, self.error_field = code, "", ""
            shown_for = json.dumps([code, self.fields], sort_keys=True, default=repr)
            if not (keep_preview and shown_for == self._preview_shown_for):
                self._preview_shown_for = shown_for
                self._refresh_preview(attrs)

    def _has_preview(self) -> bool:
        return type(self).preview is not SmartCell.preview

    def _refresh_preview(self, attrs: dict[str, Any]) -> None:
        if self.preview_frame is None:
            return
        try:
            shown = self.preview(attrs)
        except AttrError as bad:
            self.error, self.error_field = bad.message, bad.field
            return
        except Exception as exc:
            self.error, self.error_field = f"Preview failed: {_message(exc)}", ""
            return
        if shown is None:
            self.preview_frame.clear()
        else:
            self.preview_frame.render(shown)

    # -- display: the form, and its preview under it, in one output ------------------
    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        if self.preview_frame is None:
            return super()._repr_mimebundle_(**kwargs)
        if self._box is None:
            self._box = styled(ipywidgets.VBox([self, self.preview_frame]), "kino-smartcell-box")
        return self._box._repr_mimebundle_(**kwargs)

    # -- uploads: the view sends a file in chunks --------------------------------------
    def _on_message(self, _widget: Any, content: Any, buffers: list[Any]) -> None:
        if not isinstance(content, dict) or content.get("type") != "upload":
            return
        field = str(content.get("field", ""))
        if not any(f.get("name") == field and f.get("type") == "upload" for f in self.fields):
            self.error, self.error_field = "this form has no such upload field", field
            return
        try:
            path = self._uploads.chunk(
                field,
                str(content.get("name", "")),
                offset=int(content.get("offset", 0)),
                total=int(content.get("total", 0)),
                data=bytes(buffers[0]) if buffers else b"",
                limit=self.max_upload_bytes,
            )
        except (ValueError, OSError) as bad:
            self.error, self.error_field = str(bad), field
            return
        if path is not None:
            self.attrs = {**self.attrs, field: path}

    def close(self) -> None:
        """Close the form and its preview (a closed cell is no longer refreshed)."""
        box, frame = getattr(self, "_box", None), getattr(self, "preview_frame", None)
        if box is not None:
            box.close()
        if frame is not None:
            frame.clear()
            frame.close()
        super().close()


def _message(exc: BaseException) -> str:
    """How an unexpected error reads in the form: its type and message, no traceback."""
    text = str(exc).strip() or "(no message)"
    return f"{type(exc).__name__}: {text}"
