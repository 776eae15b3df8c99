"""Smart cells' widget: a form that stands for code (Livebook's smart cells).

:class:`SmartCell` is the base class; the smart cells themselves (train a model, a
neural network task, chart builder, data transformation, data source) live in
``kino.smart``. kino's JupyterLab plugin writes a smart cell's code into the cell below
it and keeps its attributes in the cell's metadata (docs/architecture.md).
"""

from kino.ui.smart.cell import AttrError, SmartCell
from kino.ui.smart.upload import MAX_UPLOAD_BYTES

__all__ = ["MAX_UPLOAD_BYTES", "AttrError", "SmartCell"]
