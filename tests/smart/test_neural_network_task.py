"""The "Neural network task" smart cell: its code loads a model, builds the task's serving
and shows its input widget; run here against kino.models.testing's tiny checkpoints."""

from __future__ import annotations

import ast
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kino.smart._neural_network_task import TASKS, NeuralNetworkTask
from kino.ui.smart import AttrError
from tests.smart.test_code import ruff_format


def _run(code: str) -> dict:
    namespace = {"__name__": "__smart__"}
    exec(compile(code, "<neural_network_task>", "exec"), namespace)
    return namespace


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    from kino.models.testing import write_tiny

    root = tmp_path_factory.mktemp("models")
    return {
        "bert": write_tiny("bert", root / "bert"),
        "classify": write_tiny("bert", root / "classify", labels=["NEGATIVE", "POSITIVE"]),
        "masked": write_tiny("distilbert", root / "masked", head="masked"),
    }


def _last_value(code: str, namespace: dict):
    """What the cell shows: its last line, evaluated after the cell ran."""
    return eval(code.strip().splitlines()[-1], namespace)


def test_text_embedding_from_a_folder_embeds_and_searches(tiny, comm_log):
    cell = NeuralNetworkTask(
        model="other", model_name=str(tiny["bert"]), sequence_length=16, text="the cat sat"
    )
    assert cell.error == ""
    ns = _run(cell.code)
    vectors = ns["task"].run(["the cat sat on the mat", "paris is a city"])
    assert [np.asarray(v).shape for v in vectors] == [(16,), (16,)]
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)
    box = _last_value(cell.code, ns)  # models.view(task, text=...): the query box
    # The first text was asked at once; with no corpus, it is what later queries search.
    assert [row["label"] for row in box.ask("a cat on a mat")] == ["the cat sat"]


def test_text_classification_answers_the_models_labels(tiny, comm_log):
    cell = NeuralNetworkTask(
        task="text_classification",
        model="other",
        model_name=str(tiny["classify"]),
        model_variable="sentiment",
        task_variable="classify",
        top_k=2,
        sequence_length=16,
        text="i love this film !",
    )
    ns = _run(cell.code)
    (answer,) = ns["classify"].run(["this movie is awful"])
    assert sorted(a["label"] for a in answer) == ["NEGATIVE", "POSITIVE"]
    assert sum(a["score"] for a in answer) == pytest.approx(1.0, rel=1e-5)
    box = _last_value(cell.code, ns)
    assert sorted(row["label"] for row in box.rows) == ["NEGATIVE", "POSITIVE"]


def test_fill_mask_answers_top_k_words(tiny, comm_log):
    cell = NeuralNetworkTask(
        task="fill_mask",
        model="other",
        model_name=str(tiny["masked"]),
        top_k=4,
        sequence_length=16,
        text="the [MASK] sat on the mat .",
    )
    ns = _run(cell.code)
    (answer,) = ns["task"].run(["paris is the [MASK] of france ."])
    assert len(answer) == 4
    assert len(_last_value(cell.code, ns).rows) == 4


def test_the_suggested_embedding_model_is_the_installed_minilm_and_runs_offline(comm_log):
    cell = NeuralNetworkTask(text="how to bake bread")
    assert "models.load(bundled_minilm())" in cell.code
    (option,) = [f for f in cell.fields if f["name"] == "model"]
    assert option["options"][0] == ["suggested", "all-MiniLM-L6-v2 (offline)"]
    assert "works offline" in option["help"]
    ns = _run(cell.code)
    (vector,) = ns["task"].run(["knead the dough"])
    assert np.asarray(vector).shape == (384,)
    assert _last_value(cell.code, ns).input.value == "how to bake bread"


def test_without_the_minilm_package_the_suggestion_is_the_hub_copy(comm_log, monkeypatch):
    from kino.smart import _neural_network_task

    monkeypatch.setattr(_neural_network_task, "BUNDLED", ("text_embedding", "kino_no_such_pkg"))
    cell = NeuralNetworkTask()
    assert 'models.load("sentence-transformers/all-MiniLM-L6-v2")' in cell.code
    (option,) = [f for f in cell.fields if f["name"] == "model"]
    assert option["options"][0] == ["suggested", "all-MiniLM-L6-v2 (download)"]
    assert "Downloads 90 MB" in option["help"]


def test_other_tasks_suggest_hub_models_that_say_they_download(comm_log):
    cell = NeuralNetworkTask(task="image_classification")
    assert 'models.load("microsoft/resnet-50")' in cell.code
    assert cell.code.strip().splitlines()[-1] == "task"  # displays as its image upload
    (option,) = [f for f in cell.fields if f["name"] == "model"]
    assert option["options"][0] == ["suggested", "ResNet-50 (download)"]
    assert option["help"].startswith("Downloads 100 MB from the Hugging Face hub")
    generate = NeuralNetworkTask(task="text_generation", max_new_tokens=5)
    assert "models.text_generation(model, max_new_tokens=5, batch_size=8)" in generate.code


def test_a_missing_models_extra_is_a_message_in_the_form(comm_log, monkeypatch):
    from kino import _extras

    cell = NeuralNetworkTask()
    before = cell.code
    monkeypatch.setitem(_extras.EXTRAS, "models", ("safetensors", "kino_no_such_module"))
    cell.attrs = {**cell.attrs, "batch_size": 4}
    assert cell.error_field == "task"
    assert "needs the 'models' extra: pip install 'jupyter-kino[models]'" in cell.error
    assert cell.code == before


def test_a_hostile_model_name_and_text_stay_strings(comm_log):
    hostile = '"); import os; os.system("echo hacked"); #'
    cell = NeuralNetworkTask(
        task="text_classification", model="other", model_name=hostile, text=hostile + "'''"
    )
    tree = ast.parse(cell.code)
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call)]
    strings = [a.value for c in calls for a in c.args if isinstance(a, ast.Constant)]
    texts = [k.value.value for c in calls for k in c.keywords if k.arg == "text"]
    assert strings == [hostile] and texts == [hostile + "'''"]
    assert not any(isinstance(n, ast.Import) and n.names[0].name == "os" for n in ast.walk(tree))


BAD = [
    ({"task": "translation"}, "task"),
    ({"task": ["text_embedding"]}, "task"),
    ({"model": "mine"}, "model"),
    ({"model": "other", "model_name": "  "}, "model_name"),
    ({"model_variable": "my model"}, "model_variable"),
    ({"task_variable": "lambda"}, "task_variable"),
    ({"task_variable": "model"}, "task_variable"),
    ({"model_variable": "models"}, "model_variable"),
    ({"batch_size": 0}, "batch_size"),
    ({"sequence_length": 1.5}, "sequence_length"),
    ({"task": "fill_mask", "top_k": 0}, "top_k"),
    ({"task": "text_generation", "max_new_tokens": -1}, "max_new_tokens"),
    ({"task": "fill_mask", "text": "no mask here"}, "text"),
    ({"text": 3}, "text"),
]


@pytest.mark.parametrize(("attrs", "field"), BAD)
def test_a_bad_attribute_names_its_field_and_keeps_the_last_code(attrs, field, comm_log):
    cell = NeuralNetworkTask()
    with pytest.raises(AttrError) as raised:
        cell.generate({**cell.attrs, **attrs})
    assert raised.value.field == field
    before = cell.code
    cell.attrs = {**cell.attrs, **attrs}
    assert (cell.error_field, cell.code) == (field, before)


def test_kino_smart_neural_network_task_is_the_cell():
    import kino
    import kino.smart._neural_network_task  # imported, as the kernel would have

    assert kino.smart.neural_network_task is NeuralNetworkTask


NAME = st.from_regex(r"[a-z][a-z0-9_]{0,12}", fullmatch=True).filter(
    lambda n: (
        n not in {"models", "bundled_minilm", "as", "if", "in", "is", "or", "and", "def"}
        and n not in {"del", "for", "not", "try"}
    )
)


@st.composite
def valid_attrs(draw):
    task = draw(st.sampled_from(list(TASKS)))
    model_variable, task_variable = draw(st.lists(NAME, min_size=2, max_size=2, unique=True))
    text = draw(st.text(max_size=40))
    if task == "fill_mask":
        text = text.replace("[MASK]", "") + " [MASK]"
    return {
        "task": task,
        "model": draw(st.sampled_from(["suggested", "other"])),
        "model_name": draw(st.text(min_size=1, max_size=60).filter(str.strip)),
        "model_variable": model_variable,
        "task_variable": task_variable,
        "batch_size": draw(st.integers(1, 1024)),
        "sequence_length": draw(st.integers(1, 4096)),
        "top_k": draw(st.integers(1, 100)),
        "max_new_tokens": draw(st.integers(1, 1024)),
        "text": text,
    }


@settings(max_examples=40, deadline=None)
@given(valid_attrs())
def test_valid_attributes_give_formatted_code_that_round_trips(attrs):
    cell = NeuralNetworkTask.__new__(NeuralNetworkTask)  # generate() only
    code = cell.generate(attrs)
    ast.parse(code)
    formatted = ruff_format(code)
    typed = (attrs["model_name"], attrs["text"])
    if all(s.isascii() and s.isprintable() and "\\" not in s for s in typed):
        assert formatted == code + "\n", code  # (ruff may re-escape unusual characters)
    assert cell.generate(json.loads(json.dumps(attrs))) == code
