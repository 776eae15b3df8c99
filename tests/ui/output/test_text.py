"""kino.text."""

from __future__ import annotations

import pytest

import kino
from kino.ui.output import Text


def test_text_update_append_clear():
    t = kino.text("a", terminal=True)
    t.append("\x1b[31mred\x1b[0m")
    assert t.value == "a\x1b[31mred\x1b[0m" and t.terminal
    t.update("b")
    t.clear()
    assert t.value == ""


def test_bad_text_arguments():
    with pytest.raises(TypeError, match="'text'"):
        kino.text(3)


def test_text_is_the_class_itself():
    assert kino.text is Text
    assert kino.text("x", terminal=True).terminal
