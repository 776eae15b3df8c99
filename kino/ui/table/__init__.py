"""The table viewer for polars frames (Kino.DataTable); polars loads on first use.

Importing the family registers it as the rich display of polars frames, used once
``kino.enable()`` (or ``%load_ext kino``) is on.
"""

from typing import Any

from kino._lazy import lazy_exports
from kino.display import register_display

__all__ = ["Table", "table"]

__getattr__ = lazy_exports(__name__, {"Table": ".widget:Table", "table": ".widget:table"})


def _show(frame: Any) -> Any:
    from kino.ui.table.widget import table

    return table(frame)


register_display("polars.dataframe.frame.DataFrame", _show)
register_display("polars.lazyframe.frame.LazyFrame", _show)
