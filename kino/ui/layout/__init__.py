"""Layout boxes: frames, tabs and grids (Kino.Frame, Kino.Layout)."""

from kino.ui.layout.boxes import MAX_GRID_COLUMNS, Frame, as_widget, frame, grid, tabs

__all__ = ["MAX_GRID_COLUMNS", "Frame", "as_widget", "frame", "grid", "tabs"]
