"""``kino.markdown``: Markdown rendered safely (Kino.Markdown)."""

from __future__ import annotations

import traitlets

from kino.ui.base import KinoWidget


def _require_text(value: object, argument: str = "text") -> str:
    if not isinstance(value, str):
        raise TypeError(
            f"kino.markdown: {argument!r} must be a str of Markdown, "
            f"got {type(value).__name__}: {value!r:.60}"
        )
    return value


class Markdown(KinoWidget, bundle="markdown"):
    """Markdown text rendered in the browser.

    Raw HTML inside the text is shown as text, never executed, and links are
    limited to safe schemes, so user-supplied strings can be displayed as they are.
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


def markdown(text: str) -> Markdown:
    """Render Markdown text; raw HTML in it is shown as text.

    >>> import kino
    >>> md = kino.markdown("**Accuracy:** 97%")
    >>> md.update("**Accuracy:** 98%")
    """
    return Markdown(text)
