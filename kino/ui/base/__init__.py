"""What every kino widget is built on: the bundled-module widget, the kit's look and events."""

from kino.ui.base.events import Event, EventSource, listen
from kino.ui.base.kit import ClosesParts, KitStyle, kit_style, styled
from kino.ui.base.widget import FrontEndNotBuiltWarning, KinoWidget, bundle_path

__all__ = [
    "ClosesParts",
    "Event",
    "EventSource",
    "FrontEndNotBuiltWarning",
    "KinoWidget",
    "KitStyle",
    "bundle_path",
    "kit_style",
    "listen",
    "styled",
]
