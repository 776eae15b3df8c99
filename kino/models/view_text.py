"""The text tasks' widget: a text box and its answer (score bars, or nearest neighbours).

Built from kino's form and frame and ipywidgets' labels and progress bars; every text
a user types reaches the page through ``ipywidgets.Label`` (text, never HTML). A
``TextTask`` displays as this view; ``view(task, corpus=[...])`` searches a collection.

>>> import tempfile
>>> from kino.models import load, text_classification
>>> from kino.models.testing import write_tiny
>>> model = load(write_tiny("bert", tempfile.mkdtemp(), labels=["NEGATIVE", "POSITIVE"]))
>>> box = view(text_classification(model, sequence_lengths=16), text="i love it")
>>> [row["label"] for row in box.rows]
['NEGATIVE', 'POSITIVE']
"""

from __future__ import annotations

from typing import Any

import ipywidgets
import numpy as np

from kino.contracts import check_int, check_str, fail
from kino.models.view_bars import score_bars
from kino.serving.errors import InvalidInput
from kino.ui.base import ClosesParts
from kino.ui.input import Form, TextInput
from kino.ui.layout import Frame

#: At most this many neighbours (or labels, or tokens) are drawn.
MAX_ROWS = 20

_BUTTONS = {
    "text_classification": "Classify",
    "text_embedding": "Search",
    "fill_mask": "Fill in",
}


class TextTaskView(ClosesParts, ipywidgets.VBox):
    """A text box whose submits run ``task`` and draw its answer below it.

    ``rows`` holds the last answer as drawn: ``{"label", "score"}`` per row (a label,
    a token, or a neighbour's text with its cosine similarity).

    >>> import tempfile
    >>> from kino.models import load, text_embedding
    >>> from kino.models.testing import write_tiny
    >>> task = text_embedding(load(write_tiny("bert", tempfile.mkdtemp())), sequence_lengths=16)
    >>> box = TextTaskView(task, corpus=["the cat sat", "a dog", "paris is a city"], top_k=2)
    >>> len(box.ask("the cat sat on the mat")), box.rows[0]["label"]
    (2, 'the cat sat')
    """

    def __init__(
        self,
        task: Any,
        *,
        text: str = "",
        corpus: list[str] | None = None,
        top_k: int = 5,
    ) -> None:
        func = "kino.models.view"
        kind = getattr(task, "task", None)
        if kind not in _BUTTONS:
            fail(func, "task", "a text task (kino.models.text_classification, ...)", task)
        check_str(text, func=func, argument="text")
        self.top_k = check_int(top_k, func=func, argument="top_k", min=1, max=MAX_ROWS)
        self.task = task
        self.rows: list[dict[str, Any]] = []
        self._corpus: list[str] = []
        self._vectors = np.zeros((0, 0), np.float32)
        if corpus is not None:
            if not isinstance(corpus, (list, tuple)) or not all(isinstance(t, str) for t in corpus):
                fail(func, "corpus", "a list of str", corpus)
            if kind != "text_embedding":
                fail(func, "corpus", "None for a task other than text_embedding", corpus)
            self._corpus = list(corpus)
            self._vectors = np.stack(task.run(self._corpus)) if corpus else self._vectors
        self._searches_history = corpus is None
        placeholder = "A text with [MASK] in it" if kind == "fill_mask" else "Type a text"
        self.input = TextInput("Text", text, placeholder=placeholder)
        self.form = Form(text=self.input, submit=_BUTTONS[kind])
        self.answer = Frame()
        self.form.on_submit(lambda values: self.ask(values["text"]))
        super().__init__([self.form, self.answer])
        self.add_class("kino-models-text")
        if text:
            self.ask(text)

    def ask(self, text: str) -> list[dict[str, Any]]:
        """Run the task on ``text``, draw the answer, and return its rows.

        A text the task refuses (a fill-mask text without the mask token) shows the
        reason instead of an answer.
        """
        try:
            answer = self.task.run([text])[0]
        except InvalidInput as error:
            self.rows = []
            reason = str(error.__cause__ or error)  # the task's own words, not the wrapper's
            message = ipywidgets.Label(reason.partition(": ")[2] or reason)
            message.add_class("kino-models-error")
            self.answer.render(message)
            return self.rows
        if self.task.task == "text_embedding":
            n = len(self._corpus)  # the texts searched, before this one joins them
            self.rows = self._neighbours(text, np.asarray(answer, np.float32))
            title = f"Nearest of {n} text{'s' * (n != 1)}" if n else "No texts yet"
        elif self.task.task == "fill_mask":
            self.rows = [{"label": p["token"], "score": p["score"]} for p in answer]
            title = "Likeliest words"
        else:
            self.rows = [dict(p) for p in answer[:MAX_ROWS]]
            title = "Labels"
        self.answer.render(score_bars(title, self.rows))
        return self.rows

    def _neighbours(self, text: str, vector: np.ndarray) -> list[dict[str, Any]]:
        rows = []
        if self._corpus:
            scores = self._vectors @ vector
            order = np.argsort(-scores, kind="stable")[: self.top_k]
            rows = [{"label": self._corpus[i], "score": float(scores[i])} for i in order]
        if self._searches_history and text not in self._corpus:
            self._corpus.append(text)
            stacked = vector[None] if not len(self._vectors) else [*self._vectors, vector]
            self._vectors = np.stack(stacked)
        return rows


def view(task: Any, **options: Any) -> TextTaskView:
    """A text task's widget (``TextTaskView``): what a ``TextTask`` displays as.

    >>> import tempfile
    >>> from kino.models import fill_mask, load
    >>> from kino.models.testing import write_tiny
    >>> fill = fill_mask(load(write_tiny("bert", tempfile.mkdtemp(), head="masked")),
    ...                  top_k=3, sequence_lengths=16)
    >>> len(view(fill, text="the [MASK] sat .").rows)
    3
    """
    return TextTaskView(task, **options)
