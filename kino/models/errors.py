"""The errors ``kino.models`` raises: bad checkpoints and unknown architectures.

>>> issubclass(WeightError, ValueError), issubclass(UnknownArchitecture, ValueError)
(True, True)
"""

from __future__ import annotations


class WeightError(ValueError):
    """A checkpoint's tensors do not fit the module: missing, extra or of the wrong shape.

    The message names every tensor involved and, for a mismatch, both shapes.

    >>> str(WeightError("bert: 'pooler.dense.weight' has shape (4, 4), the module wants (8, 8)"))
    "bert: 'pooler.dense.weight' has shape (4, 4), the module wants (8, 8)"
    """


class UnknownArchitecture(ValueError):
    """A ``config.json`` names a ``model_type`` (or architecture) kino has no port of.

    >>> raise UnknownArchitecture("kino.models.load: model_type 'llama' is not known")
    Traceback (most recent call last):
    ...
    kino.models.errors.UnknownArchitecture: kino.models.load: model_type 'llama' is not known
    """


def import_optional(module: str, *, func: str):
    """Import one of the ``models`` extra's libraries, or raise ``MissingExtra`` naming it.

    >>> import_optional("json", func="kino.models.load").__name__
    'json'
    >>> import_optional("no_such_library", func="kino.models.load")
    Traceback (most recent call last):
    ...
    kino._extras.MissingExtra: kino.models.load needs the 'models' extra: pip install ...
    """
    import importlib

    from kino._extras import MissingExtra

    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as error:
        raise MissingExtra(func, "models", error.name or module) from error
