"""The widget kit, one folder per widget family (mirrored in ``labextension/src/widgets/``).

- ``base``: what every widget is built on (the bundled-module widget, the kit's look, events).
- ``input``: inputs, forms, buttons and intervals (Kino.Input, Kino.Control).
- ``layout``: frames, tabs and grids (Kino.Frame, Kino.Layout).
- ``output``: text, markdown, images, trees and downloads.
- ``live``: live charts and the training dashboard (Kino.VegaLite).
- ``table``: the polars table viewer (Kino.DataTable).
- ``inspect``: the array and model inspector.

Each family's ``__init__`` is its public surface; the other modules of a family are
its internals. Families that need heavy libraries (polars, jax, altair) import them
on first use.
"""
