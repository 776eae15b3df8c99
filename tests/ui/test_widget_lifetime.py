"""A closed kino widget is freed: closing must not keep an old widget (and its data) alive."""

from __future__ import annotations

import gc
import weakref

import altair as alt
import numpy as np
import polars as pl
import pytest

import kino
import kino.ui.base


@pytest.mark.parametrize(
    "make",
    [
        lambda: kino.markdown("# Title"),
        lambda: kino.table(pl.DataFrame({"x": np.arange(1_000)})),
        lambda: kino.chart(alt.Chart().mark_line().encode(x="step:Q", y="loss:Q")),
        lambda: kino.inspect(np.ones((4, 4))),
        lambda: kino.button("Go"),
        lambda: kino.input.number("Learning rate", default=0.01),
        lambda: kino.form(lr=kino.input.number("Learning rate", default=0.01), submit="Go"),
    ],
    ids=["markdown", "table", "chart", "inspect", "button", "input", "form"],
)
def test_a_closed_widget_is_garbage_collected(comm_log, make):
    widget = make()
    alive = weakref.ref(widget)
    widget.close()
    del widget
    gc.collect()
    assert alive() is None, [type(r).__name__ for r in gc.get_referrers(alive())]


def test_closing_a_form_closes_what_it_made_but_not_the_shared_style(comm_log):
    field = kino.input.text("Name")
    form = kino.form(name=field, submit="Save")
    style = kino.ui.base.kit_style()
    form.close()
    assert field.comm is None and all(c.comm is None for c in field.children if c is not style)
    assert style.comm is not None  # every other kino widget on the page still uses it
