"""The words, plain cells and smart-cell attributes of notebooks/11-smart-cells.ipynb
(written by test_notebook_smart_cells.py's ``write()``)."""

INTRO = """\
# Smart cells: forms that write code

Livebook, the notebook the Elixir article this path follows is written in, has **smart cells**: a
cell that shows a form (pick a file, a chart's axes, a model's layers) and holds the code that
form stands for. kino brings them to Jupyter.

A smart cell is two cells:

- the **form cell** calls `kino.smart.<kind>(...)`; its output is the form;
- the **code cell** directly below it holds the code. Each change in the form rewrites it at
  once, so what you see is always what runs.

The notebook itself stays plain, reproducible code. The form's settings are kept in the form
cell's metadata, with a fingerprint of the code it wrote, and the form comes back with its
values when the notebook is reopened, kernel running or not. Without kino's JupyterLab plugin
(in Voila, or a classic viewer) the form shows its code with a copy button instead.

Insert one with the command **Kino: Insert smart cell** (the command palette), from the Kino
section of the Launcher, or from the smart-cell menu in the notebook's toolbar.

Below, each smart cell is followed by the code it wrote. Change a field and watch the code cell
change; run both cells to see the result.
"""

IMPORTS = """\
import numpy as np

import kino"""

DATA_SOURCE = """\
## Reading data

The **Data source** cell reads a CSV or Parquet file (a path, or a file you upload) or one of
`kino.datasets` into a polars frame, in a variable you name. Here: the Palmer penguins, 344
penguins of three species measured on three islands.
"""

TRANSFORM = """\
## Shaping it

The **Data transformation** cell lists the frames in the kernel and their columns (the lists
refresh each time a cell runs). Its steps (filter, select, sort, group by and aggregate, derive
a column) become one chain of polars calls, previewed live under the form. Two penguins were not
measured at all: the filter drops them, and the selection keeps the species and three
measurements.
"""

TRANSFORM_ATTRS = {
    "source": "penguins",
    "steps": [
        {"kind": "filter", "column": "body_mass_g", "operator": "is not null"},
        {
            "kind": "select",
            "columns": ["species", "bill_length_mm", "flipper_length_mm", "body_mass_g"],
        },
    ],
    "variable": "measured",
}

CHART = """\
## Looking at it

The **Chart builder** cell writes altair code: a mark, and a column (with an optional
aggregation) for each of x, y, color and size. Heavier penguins have longer flippers, and the
three species sit in different places.
"""

CHART_ATTRS = {
    "source": "measured",
    "x": "flipper_length_mm",
    "y": "body_mass_g",
    "color": "species",
    "title": "Penguins: flipper length and body mass",
}

ARRAYS = """\
## From a frame to arrays

A network trains on arrays of numbers. This is an ordinary cell: smart cells and plain code mix
freely. The rows are shuffled (the file lists the species in order, and the training cell holds
out its first rows for validation), the measurements are scaled to a mean of 0 and a spread of
1, and each species becomes a number: 0, 1 or 2.
"""

ARRAYS_CODE = """\
features = ["bill_length_mm", "flipper_length_mm", "body_mass_g"]
shuffled = measured.sample(fraction=1.0, shuffle=True, seed=0)
x = shuffled.select(features).to_numpy().astype("float32")
x_train = (x - x.mean(axis=0)) / x.std(axis=0)
species = sorted(shuffled["species"].unique())
y_train = shuffled["species"].replace_strict(species, list(range(3))).to_numpy().astype("int32")
assert x_train.shape == (342, 3) and set(np.unique(y_train)) == {0, 1, 2}
species"""

TRAIN = """\
## Training a model

The **Train a model** cell builds a `flax.nnx` model from a list of layers (dense, convolution,
dropout, normalization, flatten) and trains it with `kino.train`: the loss, the optimizer and
its learning rate, the metrics, the epochs and batch size, a validation split or named arrays,
and early stopping. The sizes of the first layer come from the data's shape when the code runs,
so the same form works for any data. The training runs in the background, with its dashboard.
"""

TRAIN_ATTRS = {
    "layers": [
        {"kind": "dense", "units": 16, "activation": "relu"},
        {"kind": "dense", "units": 3, "activation": "none"},
    ],
    "learning_rate": 0.01,
    "epochs": 3,
    "batch_size": 16,
    "validation_split": 0.2,
}

WAIT = """\
`run.wait()` waits for the training to end and returns its result: three epochs of a small
network already tell most penguins apart.
"""

WAIT_CODE = """\
result = run.wait()
assert result.status == "completed", result.reason
assert result.history.height == 3
result.history"""

TASK = """\
## A pretrained model

The **Neural network task** cell loads a pretrained model from `kino.models` and serves it for a
task, with the task's input box (notebook 09 did this by hand). Text embedding's suggested model
is all-MiniLM-L6-v2, installed with kino's test tools, so it runs without network access; the
other tasks suggest models from the Hugging Face hub, and the form says that they download.
"""

TASK_ATTRS = {"model_variable": "minilm", "text": "a bird that cannot fly"}

TASK_CODE = """\
vectors = np.stack(task.run(["a penguin swims", "penguins dive for fish", "the bank raised rates"]))
similarity = vectors @ vectors[0]
assert similarity[1] > similarity[2]
similarity.round(3)"""

PLAIN = """\
## When you edit the code yourself

The code cell is yours too. Edit it by hand and the form notices: it stops rewriting the cell
and offers **Convert to plain code**, which removes the form cell and keeps your code as an
ordinary cell (or **Overwrite**, which puts the form's code back). A notebook never depends on
kino's forms to run: they are a faster way to write code, not a place where code hides.

Generated code quotes every name and text it takes from the form or the data: a column called
`"); import os; #` stays a column name, and a bad setting (0 units, a dropout rate of 1.5) is a
message beside its field, never broken code.
"""

SUMMARY = """\
## What we did

- Five smart cells wrote ordinary code into the cells below them: reading the penguins, shaping
  them, charting them, training a network on them, and serving a pretrained model.
- Their settings live in the notebook's metadata, so the forms come back when it is reopened.
- A plain cell sat between them, and any generated cell can become plain code.
"""
