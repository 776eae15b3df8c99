"""kino.table in a real JupyterLab: sorting, filtering, XSS safety, wide frames, themes."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from tests.browser.harness import (
    after_image_requests,
    lab_command,
    run_notebook,
    screenshot,
    set_theme,
    write_notebook,
)

PEOPLE = (
    "import polars as pl, kino\n"
    "df = pl.DataFrame({\n"
    "    'name': [f'person {i}' for i in range(1000)],\n"
    "    'age': [(i * 37) % 90 for i in range(1000)],\n"
    "    'score': [((i * 7919) % 1000) / 10 for i in range(1000)],\n"
    "    'team': pl.Series(['red', 'blue', 'green', 'gold'] * 250, dtype=pl.Categorical),\n"
    "    'joined': pl.date_range(pl.date(2020, 1, 1), pl.date(2022, 9, 26), eager=True),\n"
    "})\n"
    "t = kino.table(df, name='people', page_size=10)\n"
    "t"
)

ZOO = """
import datetime as dt, decimal, polars as pl, kino
zoo = pl.DataFrame({
    "int": [1, None, -3, 40],
    "float": [1.5, float("nan"), float("inf"), -0.25],
    "bool": [True, False, None, True],
    "text": ["short", "a much longer piece of text that will be cut in the cell", None, "z"],
    "category": pl.Series(["x", "y", "x", None], dtype=pl.Categorical),
    "date": [dt.date(2024, 1, 1), None, dt.date(2020, 2, 29), dt.date(1999, 12, 31)],
    "datetime": pl.Series([dt.datetime(2024, 1, 1, 12), None, dt.datetime(2020, 2, 29),
                           dt.datetime(2021, 6, 1, 8, 30)]).dt.replace_time_zone("Europe/Paris"),
    "duration": [dt.timedelta(days=1, seconds=5), None, dt.timedelta(microseconds=3),
                 dt.timedelta(hours=2)],
    "decimal": pl.Series([decimal.Decimal("1.23"), None, decimal.Decimal("-100.5"),
                          decimal.Decimal("7")], dtype=pl.Decimal(10, 2)),
    "binary": [b"hello", None, b"", b"x" * 3000],
    "list": [[1, 2], [], None, [3]],
    "struct": [{"a": 1, "b": "x"}, None, {"a": 2, "b": None}, {"a": 3, "b": "z"}],
    "null": [None, None, None, None],
})
kino.table(zoo, name="every dtype")
"""

CELL = (
    "([row, col]) => document.querySelector("
    "`.kino-table tr[data-row='${row}'] td[data-col='${col}']`)?.textContent"
)


def first_column_values(page, col: int) -> list[str]:
    return page.evaluate(
        "(col) => Array.from(document.querySelector('.kino-table')"
        ".querySelectorAll(`tbody td[data-col='${col}']`))"
        ".map(td => td.textContent)",
        col,
    )


def wait_idle(page) -> None:
    page.wait_for_function(
        "() => document.querySelector('.kino-table') && "
        "!document.querySelector('.kino-table').classList.contains('kt-busy')"
    )


def people() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "age": [(i * 37) % 90 for i in range(1000)],
            "score": [((i * 7919) % 1000) / 10 for i in range(1000)],
        }
    )


def test_clicking_a_header_sorts_the_1000_rows(lab, page):
    write_notebook(lab, "table-sort.ipynb", [PEOPLE, "t  # a second view of the same table"])
    run_notebook(page, lab, "table-sort.ipynb")
    table = page.locator(".kino-table").first
    table.locator("tbody tr[data-row]").first.wait_for()
    assert table.locator("tbody tr[data-row]").count() == 10
    header = table.locator("th[data-column='2'] .kt-label")
    header.click()
    expected = people().sort("score", maintain_order=True)["score"].head(10).to_list()
    page.wait_for_function(
        "(want) => { const got = Array.from(document.querySelector('.kino-table')"
        ".querySelectorAll(\"tbody td[data-col='2']\")).map(td => Number(td.textContent));"
        " return JSON.stringify(got) === JSON.stringify(want); }",
        arg=expected,
    )
    assert table.locator("th[data-column='2']").get_attribute("aria-sort") == "ascending"
    header.click()  # second click: descending
    top = people().sort("score", descending=True, maintain_order=True)["score"].head(10).to_list()
    page.wait_for_function(
        "(want) => { const got = Array.from(document.querySelector('.kino-table')"
        ".querySelectorAll(\"tbody td[data-col='2']\")).map(td => Number(td.textContent));"
        " return JSON.stringify(got) === JSON.stringify(want); }",
        arg=top,
    )
    # paging keeps the sort
    table.locator("button[title='Next page']").click()
    page.wait_for_function(
        "() => document.querySelector('.kino-table .kt-page-input').value === '2'"
    )
    wait_idle(page)
    second = people().sort("score", descending=True, maintain_order=True)["score"][10:20]
    assert [float(v) for v in first_column_values(page, 2)] == second.to_list()
    # the second view shows the same page of the same sort
    page.wait_for_function(
        "() => document.querySelectorAll('.kino-table .kt-page-input')[1]?.value === '2'"
    )
    other = page.locator(".kino-table").nth(1)
    assert other.locator("th[data-column='2']").get_attribute("aria-sort") == "descending"
    shown = other.locator("tbody td[data-col='2']").all_inner_texts()
    assert [float(v) for v in shown] == second.to_list()
    screenshot(page, "table-sorted", ".kino-table")
    assert page.locator(".kino-table").count() == 2


def test_a_filter_narrows_the_rows(lab, page):
    write_notebook(lab, "table-filter.ipynb", [PEOPLE])
    run_notebook(page, lab, "table-filter.ipynb")
    page.locator(".kino-table tbody tr[data-row]").first.wait_for()
    # the summaries arrived: the age column shows a histogram
    page.locator(".kino-table th[data-column='1'] svg.kt-hist").wait_for()
    page.locator(".kino-table th[data-column='1'] .kt-filter-btn").click()
    popover = page.locator(".kino-table .kt-pop.kt-filter")
    popover.locator("input[aria-label='Minimum']").fill("10")
    popover.locator("input[aria-label='Maximum']").fill("19")
    popover.locator("button", has_text="Apply").click()
    expected = people().filter(pl.col("age").is_between(10, 19)).height
    page.wait_for_function(
        "(n) => document.querySelector('.kino-table .kt-count').textContent"
        " === `${n} of 1,000 rows`",
        arg=expected,
    )
    wait_idle(page)
    ages = [int(v) for v in first_column_values(page, 1)]
    assert ages and all(10 <= a <= 19 for a in ages)
    assert page.locator(".kino-table .kt-chip").count() == 1
    # search combines with the filter (a quoted phrase is one term)
    page.locator(".kino-table .kt-search").fill('"person 1"')
    page.wait_for_function(
        "() => !document.querySelector('.kino-table .kt-count').textContent.startsWith('"
        f"{expected} ')"
    )
    wait_idle(page)
    names = first_column_values(page, 0)
    assert names and all("person 1" in n for n in names)
    screenshot(page, "table-filtered", ".kino-table")
    # removing the chip brings the rows back (the search stays)
    page.locator(".kino-table .kt-chip-x").click()
    page.wait_for_function("() => document.querySelectorAll('.kino-table .kt-chip').length === 0")


def test_xss_cell_and_column_name_render_as_text(lab, page):
    payload = "<img src=x onerror='window.__kinoXss = true'>"
    write_notebook(
        lab,
        "table-xss.ipynb",
        [
            "import polars as pl, kino\n"
            f"kino.table(pl.DataFrame({{{payload!r}: [{payload!r}, 'ok'], 'b': [1, 2]}}),"
            f" name={payload!r})"
        ],
    )
    run_notebook(page, lab, "table-xss.ipynb")
    table = page.locator(".kino-table")
    table.locator("tbody tr[data-row]").first.wait_for()
    after_image_requests(page, "x")
    assert page.evaluate(CELL, [0, 0]) == payload
    assert table.locator(".kt-name").first.inner_text() == payload
    assert table.locator(".kt-title").inner_text() == payload
    assert table.locator("img").count() == 0
    assert page.evaluate("() => window.__kinoXss === undefined")
    # the expanded detail of the cell is text too
    table.locator("td[data-col='0']").first.click()
    assert table.locator(".kt-detail pre").inner_text() == payload
    assert table.locator("img").count() == 0
    screenshot(page, "table-xss", ".kino-table")


def test_a_300_column_frame_scrolls_without_rendering_every_column(lab, page):
    write_notebook(
        lab,
        "table-wide.ipynb",
        [
            "import polars as pl, kino\n"
            "wide = pl.DataFrame({f'col_{j:03d}': [i * j for i in range(40)]\n"
            "                     for j in range(320)})\n"
            "kino.table(wide, name='320 columns')"
        ],
    )
    run_notebook(page, lab, "table-wide.ipynb")
    table = page.locator(".kino-table")
    table.locator("tbody tr[data-row]").first.wait_for()
    headers = table.locator("th.kt-th").count()
    assert 0 < headers < 60, headers
    assert table.locator("th[data-column='319']").count() == 0
    scroller = table.locator(".kt-scroll")
    scroller.evaluate("el => { el.scrollLeft = el.scrollWidth; }")
    table.locator("th[data-column='319']").wait_for()
    assert table.locator("th[data-column='0']").count() == 0
    assert table.locator("th.kt-th").count() < 60
    assert page.evaluate(CELL, [19, 319]) == str(19 * 319)
    # the last column is really in view, right of the sticky row header
    box = table.locator("th[data-column='319']").bounding_box()
    frame = scroller.bounding_box()
    assert box and frame and box["x"] + box["width"] <= frame["x"] + frame["width"] + 1
    screenshot(page, "table-wide-scrolled", ".kino-table")
    scroller.evaluate("el => { el.scrollLeft = el.scrollWidth / 2; }")
    table.locator("th[data-column='160']").wait_for()


def test_every_dtype_in_light_and_dark_themes(lab, page):
    write_notebook(lab, "table-zoo.ipynb", [ZOO])
    run_notebook(page, lab, "table-zoo.ipynb")
    table = page.locator(".kino-table")
    table.locator("tbody tr[data-row]").first.wait_for()
    table.locator("svg.kt-hist").first.wait_for()
    assert page.evaluate(CELL, [1, 1]) == "NaN"
    assert page.evaluate(CELL, [2, 1]) == "inf"
    assert page.evaluate(CELL, [0, 6]) == "2024-01-01 12:00:00 CET"
    assert page.evaluate(CELL, [3, 4]) == "null"
    screenshot(page, "table-dtypes-light", ".kino-table")
    # the right end: binary sizes, lists, structs, the null column
    table.locator(".kt-scroll").evaluate("el => { el.scrollLeft = el.scrollWidth; }")
    table.locator("tr[data-row='0'] td[data-col='12']").wait_for()
    assert page.evaluate(CELL, [1, 12]) == "null"
    assert page.evaluate(CELL, [0, 10]) == "[1,2]"
    assert page.evaluate(CELL, [3, 9]) == "2.9 KB"
    screenshot(page, "table-dtypes-light-right", ".kino-table")
    # a struct cell expands into pretty JSON
    table.locator("tr[data-row='0'] td[data-col='11']").click()
    assert '"a": 1' in table.locator(".kt-detail pre").inner_text()
    page.keyboard.press("Escape")
    set_theme(page, "dark")
    background = page.evaluate(
        "() => getComputedStyle(document.querySelector('.kino-table thead th')).backgroundColor"
    )
    channels = [int(x) for x in background[background.index("(") + 1 : -1].split(",")[:3]]
    assert sum(channels) / 3 < 110, background  # a dark header in the dark theme
    screenshot(page, "table-dtypes-dark", ".kino-table")
    set_theme(page, "light")


def test_selection_and_export_reach_python(lab, page):
    write_notebook(
        lab,
        "table-select.ipynb",
        [PEOPLE],
    )
    run_notebook(page, lab, "table-select.ipynb")
    table = page.locator(".kino-table")
    table.locator("tbody tr[data-row]").first.wait_for()
    table.locator("tr[data-row='3'] input.kt-check").check()
    table.locator("tr[data-row='5'] input.kt-check").check()
    page.wait_for_function(
        "() => document.querySelector('.kino-table .kt-foot-info')"
        ".textContent.includes('2 selected')"
    )
    with page.expect_download() as download_info:
        table.locator(".kt-export").click()
        table.locator(".kt-menu button[data-format='csv']").click()
    download = download_info.value
    assert download.suggested_filename == "people.csv"
    content = Path(download.path()).read_text(encoding="utf-8").splitlines()
    assert content[0] == "name,age,score,team,joined" and len(content) == 1001


PENGUINS = "import kino\nt = kino.table(kino.datasets.penguins(), name='penguins')\nt"


def test_penguins_at_1600px_with_the_sidebar_show_whole_headers_and_pages(lab, page):
    """Issue 17 item 9: 8 columns at 1,600 px with the file browser open: no header cut,
    a 20-row page without an inner scroller, and "Biscoe female" matching each word."""
    page.set_viewport_size({"width": 1600, "height": 1000})
    write_notebook(lab, "table-penguins.ipynb", [PENGUINS])
    run_notebook(page, lab, "table-penguins.ipynb")
    lab_command(page, "filebrowser:activate")
    page.locator(".jp-FileBrowser").first.wait_for(state="visible")
    table = page.locator(".kino-table").first
    table.locator("tbody tr[data-row]").first.wait_for()
    wait_idle(page)
    assert table.locator("tbody tr[data-row]").count() == 20
    names = table.locator("thead .kt-name")
    page.wait_for_function(
        "() => document.querySelectorAll('.kino-table thead .kt-name').length === 8"
    )
    cut = page.evaluate(
        "() => [...document.querySelectorAll('.kino-table thead .kt-name')]"
        ".filter((n) => n.scrollWidth > n.clientWidth).map((n) => n.textContent)"
    )
    assert cut == [], f"headers cut: {cut}"
    assert names.nth(3).text_content() == "bill_depth_mm"
    label = table.locator("thead th[data-column='3'] .kt-label")
    assert label.get_attribute("title").startswith("bill_depth_mm\n"), "the full name on hover"
    sizes = page.evaluate(
        "() => { const s = document.querySelector('.kino-table .kt-scroll');"
        " return [s.scrollHeight, s.clientHeight]; }"
    )
    assert sizes[0] <= sizes[1] + 1, f"the 20-row page scrolls inside the table: {sizes}"
    screenshot(page, "table-penguins-1600", ".kino-table")

    table.locator(".kt-search").fill("Biscoe female")
    page.wait_for_function(
        "() => document.querySelector('.kino-table .kt-count')?.textContent === '80 of 344 rows'"
    )
    wait_idle(page)
    islands = table.locator("tbody td[data-col='1']").all_inner_texts()
    sexes = table.locator("tbody td[data-col='6']").all_inner_texts()
    assert set(islands) == {"Biscoe"} and set(sexes) == {"female"} and len(islands) == 20
    screenshot(page, "table-penguins-search", ".kino-table")
