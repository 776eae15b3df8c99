"""The examples in kino.train's docstrings run."""

import doctest
import importlib

import pytest

MODULES = [
    "kino.train.callbacks",
    "kino.train.checkpoint",
    "kino.train.data",
    "kino.train.evaluator",
    "kino.train.events",
    "kino.train.loop",
    "kino.train.losses",
    "kino.train.metrics",
    "kino.train.optim",
    "kino.train.run",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
