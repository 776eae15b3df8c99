"""kino.smart._namespace: the polars frames in the user's namespace, their columns and
dtypes; frames appear and disappear; a LazyFrame's data is never collected."""

from __future__ import annotations

import sys

import polars as pl
import pytest

from kino.smart._namespace import frames, lookup, user_namespace
from kino.ui.smart import AttrError


def test_outside_ipython_the_namespace_is_mains_globals():
    assert user_namespace() is vars(sys.modules["__main__"])


def test_frames_appear_and_disappear_with_the_namespace(notebook, monkeypatch):
    assert "sales_smart_ns" not in frames()
    notebook(sales_smart_ns=pl.DataFrame({"region": ["n"], "amount": [1.5]}))
    assert frames()["sales_smart_ns"] == [("region", "String"), ("amount", "Float64")]
    monkeypatch.delattr(sys.modules["__main__"], "sales_smart_ns")
    assert "sales_smart_ns" not in frames()


def test_only_public_polars_frames_are_listed_sorted_by_name():
    space = {
        "zeta": pl.DataFrame({"a": [1]}),
        "alpha": pl.LazyFrame({"d": ["2024-01-01"]}).with_columns(pl.col("d").str.to_date()),
        "_hidden": pl.DataFrame({"a": [1]}),
        "a_dict": {"a": [1]},
        "a_series": pl.Series("a", [1]),
    }
    assert frames(space) == {"alpha": [("d", "Date")], "zeta": [("a", "Int64")]}


def test_a_lazy_frames_schema_is_read_without_collecting_it():
    calls = []

    def expensive(frame):
        calls.append(frame.height)
        return frame

    lazy = pl.LazyFrame({"a": [1, 2]}).map_batches(expensive, schema={"a": pl.Int64})
    assert frames({"lazy": lazy}) == {"lazy": [("a", "Int64")]}
    assert calls == []
    lazy.collect()  # the probe works: collecting does call it
    assert calls == [2]


def test_a_lazy_frame_whose_schema_fails_is_left_out(tmp_path):
    path = tmp_path / "gone.csv"
    path.write_text("a\n1\n")
    scan = pl.scan_csv(path)
    path.unlink()
    assert frames({"scan": scan, "ok": pl.DataFrame({"b": [1]})}) == {"ok": [("b", "Int64")]}


def test_without_polars_loaded_nothing_is_listed_and_nothing_fails(monkeypatch):
    monkeypatch.delitem(sys.modules, "polars")
    assert frames({"df": object()}) == {}
    with pytest.raises(AttrError, match="none yet"):
        lookup("df", "source", {"df": object()})


def test_lookup_names_the_field_and_the_frames_there_are():
    space = {"df": pl.DataFrame({"a": [1]}), "other": 3, "_p": pl.DataFrame()}
    assert lookup("df", "source", space) is space["df"]
    for name in ("other", "_p", "missing", ""):
        with pytest.raises(AttrError) as raised:
            lookup(name, "source", space)
        assert raised.value.field == "source"
        assert "(frames: df)" in raised.value.message


def test_the_data_cells_public_names_are_their_classes_even_after_their_modules_load():
    import kino
    from kino.smart import _chart_builder, _data_source, _data_transform

    assert kino.smart.chart_builder is _chart_builder.ChartBuilder
    assert kino.smart.data_transform is _data_transform.DataTransform
    assert kino.smart.data_source is _data_source.DataSource
    for cell in (kino.smart.chart_builder, kino.smart.data_transform, kino.smart.data_source):
        assert kino.smart.CELLS[cell.kind].endswith(f":{cell.__name__}")


def test_inside_ipython_the_forms_follow_the_cells_that_run(shell, comm_log):
    from kino.smart._chart_builder import ChartBuilder
    from kino.smart._data_transform import DataTransform

    assert user_namespace() is shell.user_ns
    shell.run_cell("import polars as pl\nsales_ns = pl.DataFrame({'region': ['n'], 'amount': [1]})")
    chart, transform = ChartBuilder(source="sales_ns", x="region"), DataTransform()
    sources = transform.fields[0]
    assert ["sales_ns", "sales_ns (2 columns)"] in sources["options"]
    assert chart.error == "" and "alt.Chart(sales_ns)" in chart.code
    shell.run_cell("sales_ns = sales_ns.with_columns(share=pl.col('amount') / 2)")
    assert [value for value, _ in field(chart, "x")["options"]] == ["", "region", "amount", "share"]
    shell.run_cell("del sales_ns")
    assert chart.error_field == "source" and "no polars frame named 'sales_ns'" in chart.error
    assert "sales_ns" not in [value for value, _ in transform.fields[0]["options"]]
    chart.close()
    transform.close()


def field(cell, name):
    """The form field called ``name``."""
    return next(f for f in cell.fields if f["name"] == name)
