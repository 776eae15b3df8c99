"""The query engine of kino.table: pages agree with polars, whichever path answers them."""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kino.ui.table import query as table_query
from kino.ui.table.columns import describe_schema
from kino.ui.table.query import Pager, Query, QueryError, parse_query


def frame(n: int = 2000) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "a": [i % 7 if i % 11 else None for i in range(n)],
            "b": [float((i * 31) % 13) for i in range(n)],
            "s": [f"k{i % 5}" for i in range(n)],
        }
    )


def expected_rows(df: pl.DataFrame, q: Query, expr=None) -> list[int]:
    lf = df.with_row_index("row").lazy()
    if expr is not None:
        lf = lf.filter(expr)
    if q.sort:
        lf = lf.sort(
            [c for c, _ in q.sort],
            descending=[d for _, d in q.sort],
            nulls_last=True,
            maintain_order=True,
        )
    return lf.slice(q.offset, q.page_size).collect()["row"].to_list()


def page_rows(pager: Pager, q: Query) -> list[int]:
    return pager.page(q)[pager.row_id].to_list()


@pytest.mark.parametrize("topk", [0, 10**9])
def test_sorted_pages_match_polars_on_both_paths(monkeypatch, topk):
    monkeypatch.setattr(table_query, "TOPK_MAX_ROWS", topk)
    df = frame()
    pager = Pager(df, describe_schema(df.schema))
    for sort in [(("a", False),), (("a", True), ("b", False)), (("s", True), ("a", False))]:
        for page in (0, 1, 7, 99, 100):
            q = Query(page=page, page_size=20, sort=sort)
            assert page_rows(pager, q) == expected_rows(df, q), (sort, page)


def test_deep_pages_reuse_the_cached_order(monkeypatch):
    df = frame(50_000)
    pager = Pager(df, describe_schema(df.schema))
    q = Query(page=2000, page_size=20, sort=(("b", False),))
    first = page_rows(pager, q)
    assert pager._order is not None
    cached = pager._order
    calls = []
    real = pl.arg_sort_by
    monkeypatch.setattr(pl, "arg_sort_by", lambda *a, **k: calls.append(1) or real(*a, **k))
    for page in (2001, 0, 2499):
        q2 = Query(page=page, page_size=20, sort=(("b", False),))
        assert page_rows(pager, q2) == expected_rows(df, q2)
    assert calls == [] and pager._order is cached
    assert first == expected_rows(df, q)


def test_filter_rows_are_cached_per_filter():
    df = frame()
    cols = describe_schema(df.schema)
    pager = Pager(df, cols)
    q = parse_query({"filters": [{"column": "s", "op": "in", "values": ["k1"]}]}, cols)
    assert pager.count(q) == 400
    rows = pager._rows
    q2 = parse_query({"page": 3, "filters": [{"column": "s", "op": "in", "values": ["k1"]}]}, cols)
    assert pager.count(q2) == 400 and pager._rows is rows
    assert page_rows(pager, q2) == expected_rows(df, q2, pl.col("s") == "k1")


def test_lazy_frames_answer_the_same_as_eager():
    df = frame(500)
    cols = describe_schema(df.schema)
    eager, lazy = Pager(df, cols), Pager(df.lazy(), cols)
    raw = {
        "page": 2,
        "page_size": 15,
        "sort": [{"column": "b", "descending": True}],
        "filters": [{"column": "a", "op": "not_null"}],
        "search": "k3",
    }
    q = parse_query(raw, cols)
    assert page_rows(eager, q) == page_rows(lazy, q)
    assert eager.count(q) == lazy.count(q)
    assert eager.view(q).collect().equals(lazy.view(q).collect())


@settings(max_examples=40, deadline=None)
@given(
    values=st.lists(st.one_of(st.none(), st.integers(-3, 3)), min_size=0, max_size=60),
    descending=st.booleans(),
    page=st.integers(0, 8),
    size=st.integers(1, 9),
    topk=st.sampled_from([0, 10**9]),
    low=st.one_of(st.none(), st.integers(-3, 3)),
)
def test_any_page_equals_polars(values, descending, page, size, topk, low):
    df = pl.DataFrame(
        {"v": values, "w": list(range(len(values)))}, schema={"v": pl.Int64, "w": pl.Int64}
    )
    cols = describe_schema(df.schema)
    filters = [] if low is None else [{"column": "v", "op": "between", "min": low}]
    q = parse_query(
        {
            "page": page,
            "page_size": size,
            "sort": [{"column": "v", "descending": descending}],
            "filters": filters,
        },
        cols,
    )
    old = table_query.TOPK_MAX_ROWS
    table_query.TOPK_MAX_ROWS = topk
    try:
        got = page_rows(Pager(df, cols), q)
    finally:
        table_query.TOPK_MAX_ROWS = old
    expr = None if low is None else (pl.col("v") >= low).fill_null(False)
    assert got == expected_rows(df, q, expr)


def test_parse_query_round_trips_through_json():
    df = frame()
    cols = describe_schema(df.schema)
    raw = {
        "page": 1,
        "page_size": 30,
        "sort": [{"column": "a", "descending": True}],
        "filters": [
            {"column": "b", "op": "between", "min": 1.0, "max": None},
            {"column": "s", "op": "contains", "value": "k"},
            {"column": "s", "op": "in", "values": ["k1", None]},
            {"column": "a", "op": "is_null"},
        ],
        "search": "x",
    }
    q = parse_query(raw, cols)
    assert q.as_dict() == raw
    assert parse_query(q.as_dict(), cols) == q


@pytest.mark.parametrize(
    "raw",
    [
        [],
        {"sort": [{"column": "a"}, {"column": "a"}]},
        {"sort": "a"},
        {"sort": ["a"]},
        {"filters": [3]},
        {"page": 1.5},
        {"page": True},
        {"search": "x" * 1000},
        {"filters": [{"column": "s", "op": "in", "values": ["v"] * 5000}]},
    ],
)
def test_malformed_queries_raise_query_error(raw):
    df = frame(10)
    with pytest.raises(QueryError):
        parse_query(raw, describe_schema(df.schema))


def test_row_id_name_avoids_user_columns():
    df = pl.DataFrame({"__kino_row__": [5, 6]})
    pager = Pager(df, describe_schema(df.schema))
    page = pager.page(Query())
    assert pager.row_id != "__kino_row__"
    assert page["__kino_row__"].to_list() == [5, 6]
    assert page[pager.row_id].to_list() == [0, 1]


@pytest.mark.parametrize("lazy", [False, True])
def test_category_text_match_uses_the_distinct_values_and_agrees_with_a_scan(lazy):
    df = pl.DataFrame(
        {
            "cat": pl.Series(["Paris", "lima", None, "PARMA", "Oslo"] * 40, dtype=pl.Categorical),
            "enum": pl.Series(
                ["Lo", "hi", "lo", None, "hi"] * 40, dtype=pl.Enum(["Lo", "lo", "hi"])
            ),
        }
    )
    cols = describe_schema(df.schema)
    pager = Pager(df.lazy() if lazy else df, cols)
    for raw, needle, column in [
        ({"filters": [{"column": "cat", "op": "contains", "value": "par"}]}, "par", "cat"),
        ({"filters": [{"column": "enum", "op": "contains", "value": "LO"}]}, "lo", "enum"),
        ({"filters": [{"column": "cat", "op": "contains", "value": "zzz"}]}, "zzz", "cat"),
        ({"search": "LIM"}, "lim", "cat"),
    ]:
        q = parse_query(raw, cols)
        scan = df.filter(
            pl.col(column).cast(pl.String).str.to_lowercase().str.contains(needle, literal=True)
        )
        assert pager.count(q) == scan.height, raw
    assert pager.categories(cols[1]) == ["Lo", "lo", "hi"]
    assert (pager.categories(cols[0]) is None) == lazy


# search: each word across the columns ------------------------------------------------
def penguins_like() -> pl.DataFrame:
    islands, species, sexes = (
        ["Biscoe", "Dream", "Torgersen"],
        ["Adelie", "Gentoo"],
        ["female", "male"],
    )
    n = 120
    return pl.DataFrame(
        {
            "species": [species[i % 2] for i in range(n)],
            "island": pl.Series([islands[i % 3] for i in range(n)], dtype=pl.Categorical),
            "sex": [None if i % 11 == 0 else sexes[(i // 2) % 2] for i in range(n)],
            "body_mass_g": [3000 + 25 * i for i in range(n)],
        }
    )


def words_match(row: dict, text: str) -> bool:
    """The reference: every term occurs in some text cell or equals a number cell."""

    def cell_has(value: object, term: str) -> bool:
        if isinstance(value, str):
            return term.lower() in value.lower()
        try:
            return value is not None and float(term) == value
        except ValueError:
            return False

    terms = table_query.search_terms(text)
    return all(any(cell_has(v, t) for v in row.values()) for t in terms)


@pytest.mark.parametrize("lazy", [False, True])
def test_search_matches_each_word_across_columns(lazy):
    df = penguins_like()
    cols = describe_schema(df.schema)
    pager = Pager(df.lazy() if lazy else df, cols)
    q = parse_query({"search": "Biscoe female"}, cols)
    want = df.filter((pl.col("island") == "Biscoe") & (pl.col("sex") == "female"))
    assert want.height > 0 and pager.count(q) == want.height
    assert pager.count(parse_query({"search": "  biscoe   FEMALE  "}, cols)) == want.height
    # A word no row has empties the view; words may sit in any column, in any order.
    assert pager.count(parse_query({"search": "Biscoe penguin"}, cols)) == 0
    assert pager.count(parse_query({"search": "female Biscoe"}, cols)) == want.height
    # A quoted phrase is one term (no cell holds "Biscoe female").
    assert pager.count(parse_query({"search": '"Biscoe female"'}, cols)) == 0
    # A number term still matches a number cell, combined with a word.
    q = parse_query({"search": "3100 Biscoe"}, cols)
    assert (
        pager.count(q)
        == df.filter((pl.col("body_mass_g") == 3100) & (pl.col("island") == "Biscoe")).height
    )


WORDS = st.sampled_from(["Biscoe", "dream", "ADELIE", "gentoo", "male", "fem", "3000", "x", "o"])


@settings(max_examples=60, deadline=None)
@given(words=st.lists(WORDS, min_size=1, max_size=3))
def test_search_agrees_with_a_row_by_row_reference(words):
    df = penguins_like()
    cols = describe_schema(df.schema)
    text = " ".join(words)
    got = Pager(df, cols).count(parse_query({"search": text}, cols))
    assert got == sum(words_match(row, text) for row in df.iter_rows(named=True)), text
