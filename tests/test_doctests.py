"""Every docstring example in every module of kino runs (collected over the package).

An example that cannot run here (it needs a browser, a kernel or the network) says
so in its own text and is marked ``# doctest: +SKIP``.
"""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import kino

MODULES = sorted(
    info.name
    for info in pkgutil.walk_packages(kino.__path__, prefix="kino.")
    if "static" not in info.name
)


def test_the_whole_package_is_collected():
    assert {"kino", "kino.contracts", "kino.train.loop", "kino.ui.table.query"} <= {
        "kino",
        *MODULES,
    }


@pytest.mark.parametrize("name", ["kino", *MODULES])
def test_docstring_examples_run(name, comm_log):
    module = importlib.import_module(name)
    result = doctest.testmod(
        module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False
    )
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in {name}"
