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
  ``item`` (a new item's attributes) and ``add_label``.
"""

from __future__ import annotations

from typing import Any, ClassVar

import traitlets

from kino.ui.base import KinoWidget


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

    def __init__(self, **attrs: Any) -> None:
        super().__init__(smart_kind=self.kind, smart_version=self.version, smart_title=self.title)
        self.attrs = {**self.defaults(), **attrs}

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

    def refresh(self) -> None:
        """Recompute fields, code and error from ``attrs`` (also after a cell runs)."""
        attrs = dict(self.attrs)
        with self.hold_sync():
            self.fields = self.form(attrs)
            try:
                code = self.generate(attrs)
            except AttrError as bad:
                # The last good code stays: a bad attribute never writes broken code.
                self.error, self.error_field = bad.message, bad.field
            else:
                self.code, self.error, self.error_field = code, "", ""
