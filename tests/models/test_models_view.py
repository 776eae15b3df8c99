"""The text tasks' widget without a kernel, and kino.inspect of a loaded model."""

from __future__ import annotations

import ipywidgets
import numpy as np
import pytest

import kino
from kino.models import fill_mask, load, text_classification, text_embedding, view
from kino.models.view_text import MAX_ROWS, TextTaskView


def labels_shown(box):
    """The label texts of the answer's rows, as the page shows them."""
    (answer,) = box.answer.children[1:]
    return [line.children[0].value for line in answer.children[1:]]


def heading(box):
    """The title above the answer's rows."""
    (answer,) = box.answer.children[1:]
    return answer.children[0].value


def test_a_classifier_shows_every_label_with_a_bar_of_its_score(tiny, comm_log):
    model = load(tiny("bert", labels=["NEGATIVE", "POSITIVE"]))
    task = text_classification(model, sequence_lengths=16)
    box = view(task, text="i love this movie")
    expected = task.run(["i love this movie"])[0]
    assert labels_shown(box) == [p["label"] for p in expected]
    (answer,) = box.answer.children[1:]
    bars = [line.children[1] for line in answer.children[1:]]
    assert [b.value for b in bars] == pytest.approx([p["score"] for p in expected], abs=1e-6)
    assert answer.children[1].children[2].value == f"{expected[0]['score']:.3f}"


def test_a_submit_runs_the_task_on_the_typed_text(tiny, comm_log):
    task = text_classification(load(tiny("distilbert", labels=["NO", "YES"])), sequence_lengths=16)
    box = TextTaskView(task)
    assert box.rows == [] and len(box.answer.children) == 1  # nothing asked yet
    box.input.update("this film was awful")
    assert box.form.submit()
    assert [r["label"] for r in box.rows] == [
        p["label"] for p in task.run(["this film was awful"])[0]
    ]


def test_embeddings_list_the_nearest_texts_of_the_corpus(tiny, comm_log):
    task = text_embedding(load(tiny("bert")), sequence_lengths=16)
    corpus = ["the cat sat on the mat", "paris is the capital of france", "i love this film"]
    box = view(task, corpus=corpus, top_k=2)
    rows = box.ask("the cat sat on the mat")
    assert len(rows) == 2 and rows[0]["label"] == "the cat sat on the mat"
    assert rows[0]["score"] == pytest.approx(1.0, abs=1e-5)
    vectors = np.stack(task.run(corpus))
    query = task.run(["the cat sat on the mat"])[0]
    second = corpus[int(np.argsort(-(vectors @ query))[1])]
    assert labels_shown(box) == ["the cat sat on the mat", second]


def test_without_a_corpus_the_texts_asked_before_are_searched(tiny, comm_log):
    task = text_embedding(load(tiny("bert")), sequence_lengths=16)
    box = view(task)
    assert box.ask("the cat sat") == []
    assert heading(box) == "No texts yet"
    rows = box.ask("the dog sat")
    assert [r["label"] for r in rows] == ["the cat sat"]
    assert heading(box) == "Nearest of 1 text"
    box.ask("the bird sat")
    assert heading(box) == "Nearest of 2 texts"


def test_fill_mask_shows_the_words_and_a_refused_text_shows_why(tiny, comm_log):
    task = fill_mask(load(tiny("bert", head="masked")), top_k=4, sequence_lengths=16)
    box = view(task, text="the [MASK] sat on the mat")
    assert labels_shown(box) == [p["token"] for p in task.run(["the [MASK] sat on the mat"])[0]]
    assert box.ask("no mask at all") == []
    (message,) = box.answer.children[1:]
    assert isinstance(message, ipywidgets.Label)
    assert message.value == "a text must hold [MASK] once, this one has 0"


def test_user_text_reaches_the_page_as_text_only(tiny, comm_log):
    task = text_embedding(load(tiny("bert")), sequence_lengths=16)
    hostile = "<img src=x onerror=alert(1)>"
    box = view(task, corpus=[hostile])
    box.ask("the cat")
    (answer,) = box.answer.children[1:]
    name = answer.children[1].children[0]
    assert type(name) is ipywidgets.Label and name.value == hostile
    assert not [w for w in _walk(box) if isinstance(w, ipywidgets.HTML) and hostile in w.value]


def _walk(widget):
    yield widget
    for child in getattr(widget, "children", ()):
        yield from _walk(child)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"top_k": 0}, rf"'top_k' must be an int from 1 to {MAX_ROWS}"),
        ({"corpus": "one text"}, r"'corpus' must be a list of str"),
        ({"text": 3}, r"'text' must be a str"),
    ],
)
def test_bad_view_arguments_are_refused(tiny, options, message):
    task = text_embedding(load(tiny("bert")), sequence_lengths=16)
    with pytest.raises((TypeError, ValueError), match=message):
        view(task, **options)
    with pytest.raises(TypeError, match=r"'task' must be a text task"):
        view(lambda x: x)


def test_a_task_displays_as_its_view(tiny, comm_log):
    task = text_classification(load(tiny("bert", labels=["A", "B"])), sequence_lengths=16)
    bundle = task._repr_mimebundle_()
    data = bundle[0] if isinstance(bundle, tuple) else bundle
    assert "application/vnd.jupyter.widget-view+json" in data


def test_kino_inspect_shows_a_loaded_models_parameter_tree(tiny, comm_log):
    model = load(tiny("bert", head="masked"))
    inspector = kino.inspect(model)
    rows = {row["path"]: row for row in inspector.tree["rows"]}
    query = rows["module/bert/encoder/layer/0/attention/self/query/kernel"]
    assert query["shape"] == [16, 16] and query["dtype"] == "float32"
    params = sum(int(np.prod(x.shape)) for x in __import__("jax").tree.leaves(model.module))
    assert inspector.tree["totals"]["params"] == params
