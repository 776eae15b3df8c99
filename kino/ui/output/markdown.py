"""``kino.markdown``: Markdown rendered safely (Kino.Markdown)."""

from __future__ import annotations

import traitlets

from kino.contracts import check_bool, check_str
from kino.ui.base import KinoWidget


def _require_text(value: object) -> str:
    return check_str(value, func="kino.markdown", argument="text", allowed="a str of Markdown")


class Markdown(KinoWidget, bundle="markdown"):
    """Markdown text rendered in the browser (``kino.markdown``).

    Raw HTML inside the text is shown as text, never executed, and links are
    limited to safe schemes, so user-supplied strings can be displayed as they are.

    ``safe=True`` is for untrusted text: no image is fetched (a remote image would
    tell its host who reads the page; it shows its alt text instead) and links keep
    only http(s) and relative targets. ``safe=None`` (the default) turns it on when
    the page is a Voila dashboard, where anyone may be shown the text.

    >>> import kino
    >>> md = kino.markdown("**Accuracy:** 97%")
    >>> md.update("**Accuracy:** 98%")
    >>> kino.markdown("![pixel](http://example.com/p.png)", safe=True).safe
    True
    """

    value = traitlets.Unicode("").tag(sync=True)
    #: Safe mode for untrusted text: True, False, or None (on in Voila, off elsewhere).
    safe = traitlets.Bool(None, allow_none=True).tag(sync=True)

    def __init__(self, text: str = "", *, safe: bool | None = None) -> None:
        if safe is not None:
            safe = check_bool(safe, func="kino.markdown", argument="safe")
        super().__init__(value=_require_text(text), safe=safe)

    def update(self, text: str) -> None:
        """Replace the shown Markdown.

        >>> md = Markdown("# Loading")
        >>> md.update("# Done")
        >>> md.value
        '# Done'
        """
        self.value = _require_text(text)
