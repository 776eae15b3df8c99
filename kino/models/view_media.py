"""The image and generation tasks' widgets: an image upload with its labels and score bars,
and a prompt whose continuation streams in as its tokens are made.

Built from kino's file input, form, frame, image and text widgets and ipywidgets' labels
and progress bars (the same bars as the text tasks, ``kino.models.view_text``); labels
and generated text reach the page as text, never HTML. An ``ImageClassification`` task
displays as :class:`ImageClassifier`, a ``TextGeneration`` task as :class:`TextGenerator`.

>>> import numpy as np
>>> from kino.models import image_classification, resnet
>>> box = ImageClassifier(image_classification(resnet.example(), top_k=2))
>>> [row["label"] for row in box.classify(np.zeros((32, 32, 3), np.uint8))] == [
...     row["label"] for row in box.rows]
True
"""

from __future__ import annotations

import threading
import time
from typing import Any

import ipywidgets
import numpy as np

from kino.contracts import check_str, fail
from kino.models.images import as_picture
from kino.models.view_bars import score_bars
from kino.serving.errors import InvalidInput
from kino.ui.base import ClosesParts
from kino.ui.input import FileInput, Form, TextareaInput
from kino.ui.layout import Frame
from kino.ui.output import Image, Text

#: The preview of an uploaded picture is drawn this many pixels wide at most.
PREVIEW_WIDTH = 224
#: Streamed text is sent to the page at most this often (seconds): tokens made faster
#: than that travel together, under Jupyter's iopub message-rate limit.
STREAM_INTERVAL = 0.05


def _refusal(error: Exception) -> ipywidgets.Label:
    """A request the task refused, in the task's own words, as a quiet line of text."""
    # A task wraps its preprocess's error; that inner one names the argument.
    inner = error.__cause__ if isinstance(error, InvalidInput) else None
    reason = str(inner or error)
    message = ipywidgets.Label(reason.partition(": ")[2] or reason)
    message.add_class("kino-models-error")
    return message


class ImageClassifier(ClosesParts, ipywidgets.VBox):
    """An image upload whose picture runs an ``image_classification`` task; the picture
    and its labels with score bars appear below. ``rows`` holds the last answer.

    >>> from kino.models import image_classification, resnet
    >>> box = ImageClassifier(image_classification(resnet.example(), top_k=3))
    >>> box.rows, box.upload.accept
    ([], 'image/*')
    """

    def __init__(self, task: Any, *, image: Any = None) -> None:
        from kino.models.tasks_vision import ImageClassification

        if not isinstance(task, ImageClassification):
            fail("kino.models.ImageClassifier", "task", "an image_classification task", task)
        self.task = task
        self.rows: list[dict[str, Any]] = []
        self.upload = FileInput("Image", accept="image/*")
        self.preview = Frame()
        self.answer = Frame()
        self.answer.layout.min_width = "360px"  # room for a label, its bar and its score
        self.preview.layout.margin = "0 12px 0 0"
        self.upload.on_change(lambda file: None if file is None else self.classify(file.read()))
        result = ipywidgets.HBox([self.preview, self.answer])
        result.add_class("kino-models-media")
        super().__init__([self.upload, result])
        self.add_class("kino-models-image")
        if image is not None:
            self.classify(image)

    def classify(self, image: Any) -> list[dict[str, Any]]:
        """Show ``image`` and its labels (a picture the task cannot read shows why).

        Returns the rows drawn: ``{"label", "score"}`` from the likeliest down.
        """
        try:
            picture = as_picture(image)
            answer = self.task.run([picture])[0]
        except (InvalidInput, ValueError, TypeError) as error:
            self.rows = []
            self.preview.render(ipywidgets.Label(""))
            self.answer.render(_refusal(error))
            return self.rows
        self.rows = [dict(row) for row in answer]
        scale = min(1.0, PREVIEW_WIDTH / max(picture.size))
        width = max(1, round(picture.width * scale))
        self.preview.render(Image(np.asarray(picture), width=width))
        self.answer.render(score_bars("Labels", self.rows))
        return self.rows


class TextGenerator(ClosesParts, ipywidgets.VBox):
    """A prompt box whose submit runs a ``text_generation`` task; the continuation streams
    into the text below as its tokens are made (on a thread, so the kernel stays free).

    >>> from kino.models import gpt2, text_generation
    >>> box = TextGenerator(text_generation(gpt2.example(), max_new_tokens=3, batch_size=1))
    >>> text = box.generate("Hi")
    >>> box.output.value == text, box.status.value
    (True, '3 tokens')
    """

    def __init__(self, task: Any, *, prompt: str = "") -> None:
        from kino.models.tasks_generate import TextGeneration

        func = "kino.models.TextGenerator"
        if not isinstance(task, TextGeneration):
            fail(func, "task", "a text_generation task", task)
        check_str(prompt, func=func, argument="prompt")
        self.task = task
        self.prompt = TextareaInput("Prompt", prompt, placeholder="Start a text")
        self.form = Form(prompt=self.prompt, submit="Generate")
        self.output = Text("")
        self.output.add_class("kino-models-output")
        self.status = ipywidgets.Label("")
        self.status.add_class("kino-models-heading")
        self._thread: threading.Thread | None = None
        self.form.on_submit(lambda values: self.start(values["prompt"]))
        super().__init__([self.form, self.status, self.output])
        self.add_class("kino-models-generate")

    def start(self, prompt: str) -> threading.Thread:
        """Generate from ``prompt`` on a thread (the form is disabled until it ends)."""
        self.form.disable()
        self._thread = threading.Thread(target=self._run, args=(prompt,), daemon=True)
        self._thread.start()
        return self._thread

    def _run(self, prompt: str) -> None:
        try:
            self.generate(prompt)
        finally:
            self.form.enable()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the generation :meth:`start` began; whether it has ended."""
        if self._thread is not None:
            self._thread.join(timeout)
        return self._thread is None or not self._thread.is_alive()

    def generate(self, prompt: str) -> str:
        """Stream the continuation of ``prompt`` into the output; return all of it."""
        self.output.clear()
        self.status.value = "Generating…"
        made, pending, sent_at = "", "", time.monotonic()
        tokens = 0
        try:
            for piece, tokens in self.task.steps(prompt):
                made += piece
                pending += piece
                if time.monotonic() - sent_at >= STREAM_INTERVAL:
                    self.output.append(pending)
                    self.status.value = f"Generating… {tokens} tokens"
                    pending, sent_at = "", time.monotonic()
        except (InvalidInput, ValueError, TypeError) as error:
            self.status.value = _refusal(error).value
            return made
        if pending:
            self.output.append(pending)
        self.status.value = f"{tokens} token{'s' if tokens != 1 else ''}"
        return made
