"""kino.smart._code: form values become literals that read back as themselves; names are
checked identifiers; hostile text never becomes code."""

from __future__ import annotations

import ast
import keyword
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kino.smart._code import LINE_WIDTH, call, chain, identifier, imports, literal, width
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


def test_imports_are_grouped_and_sorted_as_ruff_wants_them():
    block = imports("import polars as pl", "", "import kino", "import json", "import altair as alt")
    assert block == "import json\n\nimport altair as alt\nimport polars as pl\n\nimport kino"
    assert imports("import kino", "import kino") == "import kino"
    assert_formatted(f"{block}\n\nprint(json, alt, pl, kino)")


RUFF = Path(sys.executable).with_name("ruff")


def ruff_format(code: str) -> str:
    """``code`` as ``ruff format`` (this project's settings) writes it."""
    done = subprocess.run(
        [str(RUFF), "format", "--stdin-filename", "cell.py", "-"],
        input=code,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


def assert_formatted(code: str) -> None:
    """Generated code is as ruff formats it (the notebooks are linted) whenever its lines
    fit the line width; a longer one (a very long name or text) ruff breaks inside its
    expressions, which kino's layout does not attempt."""
    if max(width(line) for line in code.splitlines()) <= LINE_WIDTH:
        assert ruff_format(code) == code + "\n"
    sorted_imports = subprocess.run(
        [str(RUFF), "check", "--select", "I", "--stdin-filename", "cell.py", "-"],
        input=code + "\n",
        capture_output=True,
        text=True,
    )
    assert sorted_imports.returncode == 0, sorted_imports.stdout


@settings(max_examples=40, deadline=None)
@given(st.lists(st.text(max_size=12) | VALUES, min_size=1, max_size=6))
def test_literals_are_already_as_ruff_formats_them(values):
    code = "".join(f"x = {literal(value)}\n" for value in values)
    if all(width(line) <= LINE_WIDTH for line in code.splitlines()):
        assert ruff_format(code) == code


NAME = st.from_regex(r"[a-z_]{1,12}", fullmatch=True).filter(lambda n: not keyword.iskeyword(n))
ARGS = st.lists(st.text(st.characters(codec="ascii"), max_size=20).map(literal), max_size=4)


@settings(max_examples=40, deadline=None)
@given(NAME, st.lists(st.tuples(NAME, ARGS), max_size=5), st.integers(0, 3))
def test_calls_and_chains_are_laid_out_as_ruff_lays_them_out(base, calls, depth):
    code = (
        chain("result", base, calls)
        + "\n"
        + call("f" * (depth + 1), [a for _, a in calls for a in a])
        + "\n"
    )
    assert ruff_format(code) == code


@pytest.mark.parametrize("text", ["日本語" * 12, "e\u0301" * 40, "abc" * 20])
def test_wide_and_combining_characters_are_measured_as_ruff_measures_them(text):
    code = chain("result", "df", [("filter", [literal(text)]), ("sort", ['"a"'])])
    assert ruff_format(code + "\n") == code + "\n"
