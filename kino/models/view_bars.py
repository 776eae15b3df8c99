"""Labels with score bars: the answer of the classification tasks' widgets (text and image).

>>> score_bars("Labels", []).children[0].value
'Labels'
"""

from __future__ import annotations

from typing import Any

import ipywidgets


def score_bars(title: str, rows: list[dict[str, Any]]) -> ipywidgets.VBox:
    """``rows`` (``{"label", "score"}``, scores from 0 to 1) as labelled bars under ``title``.

    Labels are ``ipywidgets.Label`` text, never HTML.

    >>> box = score_bars("Labels", [{"label": "POSITIVE", "score": 0.998}])
    >>> [w.value for w in box.children[1].children if hasattr(w, "description")]
    ['POSITIVE', 0.998, '0.998']
    """
    heading = ipywidgets.Label(title, style={"font_weight": "bold"})
    heading.add_class("kino-models-heading")
    lines = [heading]
    for row in rows:
        name = ipywidgets.Label(row["label"], layout=ipywidgets.Layout(width="45%"))
        bar = ipywidgets.FloatProgress(
            value=max(0.0, min(1.0, row["score"])), min=0.0, max=1.0,
            layout=ipywidgets.Layout(width="40%", height="18px"),
        )  # fmt: skip
        score = ipywidgets.Label(
            f"{row['score']:.3f}", layout=ipywidgets.Layout(width="60px", margin="0 0 0 10px")
        )
        line = ipywidgets.HBox([name, bar, score], layout=ipywidgets.Layout(align_items="center"))
        line.add_class("kino-models-row")
        lines.append(line)
    box = ipywidgets.VBox(
        lines,
        layout=ipywidgets.Layout(
            max_width="760px", padding="6px 12px", margin="8px 0 0 0", border="1px solid #d0d7de"
        ),
    )
    box.add_class("kino-models-answer")
    return box
