"""The array and model inspector; jax loads on first use.

Importing the family registers a one-line summary as the rich display of jax
arrays, used once ``kino.enable()`` (or ``%load_ext kino``) is on.
"""

from typing import Any

from kino._lazy import lazy_exports
from kino.display import register_display

__all__ = ["ArraySummary", "Inspector", "inspect"]

__getattr__ = lazy_exports(
    __name__,
    {
        "ArraySummary": ".widget:ArraySummary",
        "Inspector": ".widget:Inspector",
        "inspect": ".widget:inspect",
    },
)


def _show(array: Any) -> Any:
    from kino.ui.inspect.widget import ArraySummary

    return ArraySummary(array)


register_display("jax.Array", _show)
# An array's own class, for a kino.enable() that runs before jax is imported: a name
# registered then only matches a class whose module and name are exactly these.
register_display("jaxlib._jax.ArrayImpl", _show)
