"""``kino.markdown``: Markdown rendered safely (Kino.Markdown)."""

from __future__ import annotations

import traitlets

from kino.contracts import check_str
from kino.ui.base import KinoWidget


def _require_text(value: object) -> str:
    return check_str(value, func="kino.markdown", argument="text", allowed="a str of Markdown")


class Markdown(KinoWidget, bundle="markdown"):
    """Markdown text rendered in the browser (``kino.markdown``).

    Raw HTML inside the text is shown as text, never executed, and links are
    limited to safe schemes, so user-supplied strings can be displayed as they are.

    >>> import kino
    >>> md = kino.markdown("**Accuracy:** 97%")
    >>> md.update("**Accuracy:** 98%")
    """

    value = traitlets.Unicode("").tag(sync=True)

    def __init__(self, text: str = "") -> None:
        super().__init__(value=_require_text(text))

    def update(self, text: str) -> None:
        """Replace the shown Markdown.

        >>> md = Markdown("# Loading")
        >>> md.update("# Done")
        >>> md.value
        '# Done'
        """
        self.value = _require_text(text)
