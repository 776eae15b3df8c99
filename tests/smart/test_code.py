"""kino.smart._code: form values become literals that read back as themselves; names are
checked identifiers; hostile text never becomes code."""

from __future__ import annotations

import ast
import keyword

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kino.smart._code import identifier, imports, literal
from kino.ui.smart import AttrError

VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4)
    ),
    max_leaves=12,
)


@given(VALUES)
def test_a_literal_evaluates_to_the_value_it_was_made_from(value):
    assert ast.literal_eval(literal(value)) == value


@given(st.text())
def test_a_hostile_string_stays_a_string_in_code(text):
    namespace = {}
    exec(f"x = {literal(text)}", {"__builtins__": {}}, namespace)
    assert namespace == {"x": text}


@pytest.mark.parametrize("text", ['"); import os; #', "a'b\"c", "line\nbreak", "\\", "'''"])
def test_quotes_newlines_and_code_stay_data(text):
    tree = ast.parse(f"x = {literal(text)}")
    assert len(tree.body) == 1 and isinstance(tree.body[0].value, ast.Constant)
    assert tree.body[0].value.value == text


@pytest.mark.parametrize(
    ("value", "fragment"),
    [(float("nan"), "finite"), (float("inf"), "finite"), ([1, object()], "str, number")],
)
def test_values_that_are_not_literals_raise_an_attr_error_naming_the_field(value, fragment):
    with pytest.raises(AttrError) as raised:
        literal(value, "steps.1.value")
    assert raised.value.field == "steps.1.value"
    assert fragment in raised.value.message


@given(st.text())
def test_identifier_accepts_exactly_the_python_names(name):
    if name.isidentifier() and not keyword.iskeyword(name):
        assert identifier(name, "variable") == name
        ast.parse(f"{name} = 1")
    else:
        with pytest.raises(AttrError) as raised:
            identifier(name, "variable")
        assert raised.value.field == "variable"


@pytest.mark.parametrize("name", ["class", "1x", "a b", "", "os; import sys", None])
def test_identifier_refuses_keywords_and_non_names(name):
    with pytest.raises(AttrError, match=r"^variable: must"):
        identifier(name, "variable")


def test_imports_keep_first_order_and_drop_repeats_and_blanks():
    assert imports("import polars as pl", "", "import kino", "import polars as pl") == (
        "import polars as pl\nimport kino"
    )
