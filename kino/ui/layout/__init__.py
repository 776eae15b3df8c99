"""Layout boxes: frames, tabs and grids (Kino.Frame, Kino.Layout).

``kino.frame`` is :class:`Frame` itself; ``kino.tabs`` and ``kino.grid`` are functions
that return plain ipywidgets boxes (no kino class repeats their signature).
"""

from kino.ui.layout.boxes import MAX_GRID_COLUMNS, Frame, as_widget, grid, tabs

# The public lowercase name: a plain alias of the class (never a second signature).
frame = Frame

__all__ = ["MAX_GRID_COLUMNS", "Frame", "as_widget", "frame", "grid", "tabs"]
