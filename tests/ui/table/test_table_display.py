"""kino.enable() / %load_ext kino: polars frames display as kino.table."""

from __future__ import annotations

import polars as pl
import pytest
from IPython.core.interactiveshell import InteractiveShell

import kino
from kino import display

WIDGET = "application/vnd.jupyter.widget-view+json"


@pytest.fixture
def shell():
    ip = InteractiveShell.instance()
    yield ip
    display.disable()


def formats(shell, obj) -> list[str]:
    data, _ = shell.display_formatter.format(obj)
    return list(data)


def test_enable_shows_dataframes_and_lazyframes_as_tables(shell):
    df = pl.DataFrame({"a": [1, 2]})
    assert WIDGET not in formats(shell, df)
    assert kino.enable(shell) is True
    assert WIDGET in formats(shell, df)
    assert WIDGET in formats(shell, df.lazy())
    kino.disable()
    assert WIDGET not in formats(shell, df)


def test_load_ext_kino_enables_and_unload_restores(shell):
    shell.run_line_magic("load_ext", "kino")
    try:
        assert WIDGET in formats(shell, pl.DataFrame({"a": [1]}))
    finally:
        shell.run_line_magic("unload_ext", "kino")
    assert WIDGET not in formats(shell, pl.DataFrame({"a": [1]}))


def test_register_display_is_one_call_and_applies_while_enabled(shell):
    class Thing:
        pass

    kino.enable(shell)
    kino.register_display(Thing, lambda obj: kino.markdown("a thing"))
    try:
        assert WIDGET in formats(shell, Thing())
        assert Thing in display.registered_displays()
    finally:
        display.unregister_display(Thing)
    assert WIDGET not in formats(shell, Thing())


def test_registered_before_enable_applies_on_enable(shell):
    class Other:
        pass

    kino.register_display(f"{Other.__module__}.Other", lambda obj: kino.markdown("other"))
    try:
        assert WIDGET not in formats(shell, Other())
        kino.enable(shell)
        assert WIDGET in formats(shell, Other())
    finally:
        display.unregister_display(f"{Other.__module__}.Other")


def test_enable_outside_ipython_is_a_no_op(monkeypatch):
    import IPython

    monkeypatch.setattr(IPython, "get_ipython", lambda: None)
    assert kino.enable() is False


@pytest.mark.parametrize(
    ("args", "error", "match"),
    [
        ((3, print), TypeError, "'type_or_name' must be a class"),
        (("NoDots", print), ValueError, "dotted name"),
        ((int, "not callable"), TypeError, "'factory' must be callable"),
    ],
)
def test_register_display_checks_its_arguments(args, error, match):
    with pytest.raises(error, match=match):
        kino.register_display(*args)
