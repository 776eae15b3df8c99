"""The table's front-end helpers under node: Arrow pages from Python decode, cells format.

The TypeScript is bundled with the project's esbuild (as the widget build does)
and run with node, so this checks the very code the browser runs, without a browser.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import textwrap
from pathlib import Path

import polars as pl
import pytest

import kino
from tests.conftest import budget

REPO = Path(__file__).resolve().parents[3]
LAB = REPO / "labextension"
FORMAT_TS = LAB / "src" / "widgets" / "table" / "_format.ts"


def run_ts(tmp_path: Path, source: str) -> object:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is required to build the front end (and to run this test)")
    entry = tmp_path / "entry.ts"
    entry.write_text(source)
    out = tmp_path / "entry.mjs"
    bundler = tmp_path / "bundle.mjs"
    bundler.write_text(
        textwrap.dedent(
            f"""
            import {{ build }} from {json.dumps(str(LAB / "node_modules/esbuild/lib/main.js"))};
            await build({{
              entryPoints: [{json.dumps(str(entry))}], bundle: true, platform: "node",
              format: "esm", outfile: {json.dumps(str(out))}, logLevel: "error",
              nodePaths: [{json.dumps(str(LAB / "node_modules"))}],
            }});
            """
        )
    )
    for command in ([node, str(bundler)], [node, str(out)]):
        result = subprocess.run(command, capture_output=True, text=True, timeout=budget(120))
        if result.returncode != 0:
            pytest.fail(f"{' '.join(command)} failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout)


def test_cell_formatting(tmp_path):
    got = run_ts(
        tmp_path,
        f"""
        import {{ cellText, formatFloat, formatBytes, formatCompact, prettyJson, columnWidth }}
          from {json.dumps(str(FORMAT_TS))};
        console.log(JSON.stringify({{
          floats: [1.5, 3, 0.1, NaN, Infinity, -Infinity, 1e-7, 1234567.25, 2e20, -0.000123]
            .map((v) => formatFloat(v)),
          single: formatFloat(0.10000000149011612, true),
          ints: [cellText(12345678901234567890n, "int"), cellText(7, "int")],
          nulls: [cellText(null, "text"), cellText(undefined, "float")],
          bools: [cellText(true, "bool"), cellText(false, "bool")],
          bytes: [formatBytes(5), formatBytes(2048), formatBytes(5n * 1024n * 1024n),
            cellText(5n, "binary")],
          compact: [formatCompact(12345), formatCompact(0.5), formatCompact(3),
            formatCompact(null)],
          json: prettyJson('{{"a":[1,2]}}'),
          cut: prettyJson('{{"a":[1,2…'),
          widths: [columnWidth("int", "x"), columnWidth("text", "a very long column name indeed")],
        }}));
        """,
    )
    assert got["floats"] == [
        "1.5",
        "3.0",
        "0.1",
        "NaN",
        "inf",
        "-inf",
        "1e-7",
        "1234567.25",
        "2e+20",
        "-0.000123",
    ]
    assert got["single"] == "0.1"
    assert got["ints"] == ["12345678901234567890", "7"]
    assert got["nulls"] == [None, None]
    assert got["bools"] == ["true", "false"]
    assert got["bytes"] == ["5 B", "2.0 KB", "5.0 MB", "5 B"]
    assert got["compact"] == ["12.3k", "0.5", "3", "–"]
    assert got["json"] == '{\n  "a": [\n    1,\n    2\n  ]\n}'
    assert got["cut"] == '{"a":[1,2…'
    assert got["widths"][0] == 96 and got["widths"][1] > 200


def test_pages_written_by_python_decode_with_apache_arrow(tmp_path):
    frame = pl.DataFrame(
        {
            "i": [1, None, -(2**62)],
            "f": [1.5, float("nan"), None],
            "s": ["<img src=x onerror=alert(1)>", "é", None],
            "c": pl.Series(["x", "y", None], dtype=pl.Categorical),
            "b": [b"abc", None, b""],
            "l": [[1], None, []],
        }
    )
    t = kino.table(frame)
    page = tmp_path / "page.arrow"
    page.write_bytes(t.page)
    got = run_ts(
        tmp_path,
        f"""
        import {{ tableFromIPC }} from "apache-arrow";
        import {{ readFileSync }} from "node:fs";
        import {{ cellText }} from {json.dumps(str(FORMAT_TS))};
        const kinds = {json.dumps([c["kind"] for c in t.columns])};
        const table = tableFromIPC(readFileSync({json.dumps(str(page))}));
        const rows = [];
        for (let r = 0; r < table.numRows; r++) {{
          rows.push([Number(table.getChild("row").get(r)),
            ...kinds.map((k, i) => cellText(table.getChild("c" + i).get(r), k))]);
        }}
        console.log(JSON.stringify(rows));
        """,
    )
    assert got == [
        [0, "1", "1.5", "<img src=x onerror=alert(1)>", "x", "3 B", "[1]"],
        [1, None, "NaN", "é", "y", None, None],
        [2, str(-(2**62)), None, None, None, "0 B", "[]"],
    ]
