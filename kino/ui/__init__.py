"""kino's widget kit: one module per widget family (see DESIGN.md)."""
