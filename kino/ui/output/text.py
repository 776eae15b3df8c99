"""Plain text: ``kino.text`` (Kino.Text), with an optional terminal look for ANSI colours."""

from __future__ import annotations

import traitlets

from kino.contracts import check_str
from kino.ui.base import KinoWidget


class Text(KinoWidget, bundle="text"):
    """Plain text (``kino.text``), shown as text (never HTML); ``terminal=True`` renders
    it as a terminal with ANSI colours. ``.update(text)``, ``.append(text)``, ``.clear()``.

    >>> import kino
    >>> status = kino.text("Loading data…")
    >>> status.update("Ready")
    >>> kino.text("\\x1b[32mOK\\x1b[0m 3 tests", terminal=True).terminal
    True
    """

    value = traitlets.Unicode("").tag(sync=True)
    terminal = traitlets.Bool(False).tag(sync=True)

    def __init__(self, text: str = "", *, terminal: bool = False) -> None:
        super().__init__(
            value=check_str(text, func="kino.text", argument="text"), terminal=bool(terminal)
        )

    def update(self, text: str) -> None:
        """Replace the shown text.

        >>> t = Text("Loading")
        >>> t.update("Done")
        >>> t.value
        'Done'
        """
        self.value = check_str(text, func="kino.text", argument="text")

    def append(self, text: str) -> None:
        """Add text at the end (a stream of log lines).

        >>> t = Text("a")
        >>> t.append("b")
        >>> t.value
        'ab'
        """
        self.value = self.value + check_str(text, func="kino.text", argument="text")

    def clear(self) -> None:
        """Show nothing."""
        self.value = ""
