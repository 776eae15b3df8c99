"""The "Train a model" smart cell: layers, loss, optimizer and data → ``kino.train`` code.

The code it writes is what notebooks 04 and 05 write by hand: an ``nnx.Sequential``
whose input sizes are read from the data's shape when the code runs, a
``train.trainer`` with its metrics, validation and early stopping, a
``kino.dashboard`` and ``loop.run(..., background=True)``; ``run.wait()`` in a later
cell gives the result.

>>> cell = TrainModel(x="x_train", y="y_train", epochs=3)
>>> print(cell.code.splitlines()[-2])
run = loop.run((x_fit, y_fit), epochs=3, batch_size=32, background=True)
>>> cell.attrs = {**cell.attrs, "layers": [{"kind": "dense", "units": 0}]}
>>> cell.error_field, cell.error
('layers.0.units', 'must be an int from 1 to 65536, got 0')
"""

from __future__ import annotations

import functools
from typing import Any

from kino.contracts import check_int, check_number
from kino.smart import _namespace
from kino.smart._code import LINE_WIDTH, call, identifier, literal
from kino.ui.smart import AttrError, SmartCell

#: Layer kinds → their label in the form.
LAYERS = {
    "dense": "Dense",
    "conv": "Convolution (2-D)",
    "dropout": "Dropout",
    "norm": "Normalization",
    "flatten": "Flatten",
}
#: Activations a dense or conv layer may end in ("none": its raw outputs, the logits).
ACTIVATIONS = ("none", "relu", "gelu", "silu", "tanh", "sigmoid", "softmax", "elu", "leaky_relu")
#: kino.train's loss names (``train.LOSSES``; a test keeps them equal).
LOSSES = {
    "sparse_categorical_cross_entropy": "Cross-entropy (class ids)",
    "categorical_cross_entropy": "Cross-entropy (one-hot)",
    "binary_cross_entropy": "Binary cross-entropy",
    "mean_squared_error": "Mean squared error",
    "mean_absolute_error": "Mean absolute error",
    "huber": "Huber",
    "log_cosh": "Log-cosh",
    "hinge": "Hinge",
    "kl_divergence": "KL divergence",
}
#: The optimizers offered (all in ``train.OPTIMIZERS``).
OPTIMIZERS = {
    "adam": "Adam",
    "adamw": "AdamW",
    "sgd": "SGD",
    "rmsprop": "RMSprop",
    "nadam": "Nadam",
    "adagrad": "Adagrad",
    "lion": "Lion",
}
#: Metrics with one number per epoch (``train.METRICS`` less the confusion matrix).
METRICS = {
    "accuracy": "Accuracy",
    "precision": "Precision",
    "recall": "Recall",
    "f1": "F1",
    "roc_auc": "ROC AUC",
    "mean_squared_error": "Mean squared error",
    "mean_absolute_error": "Mean absolute error",
    "r2": "R²",
}
NORMS = {"batch": "BatchNorm", "layer": "LayerNorm"}
VALIDATION = {"none": "None", "split": "Hold out a fraction", "data": "Named arrays"}
#: A new layer's attributes (every kind's settings; the kind picks which are used).
NEW_LAYER = {
    "kind": "dense",
    "units": 32,
    "activation": "relu",
    "features": 16,
    "kernel_size": 3,
    "rate": 0.2,
    "norm": "batch",
}
#: Names the generated code assigns (besides the model); the data may not use them.
_ASSIGNED = ("nnx", "kino", "train", "rngs", "flatten", "loop", "dashboard", "run")
_SPLIT = ("n_val", "x_fit", "y_fit", "x_val", "y_val")
_MAX_UNITS = 65536


class TrainModel(SmartCell):
    """Train a model: a form for the layers, loss, optimizer, metrics, epochs, validation
    and early stopping; its code builds the model and trains it with a dashboard.

    >>> code = TrainModel(layers=[{"kind": "dense", "units": 3, "activation": "none"}]).code
    >>> print(code[code.index("model ="):code.index("loop")])
    model = nnx.Sequential(
        nnx.Linear(x_train.shape[-1], 3, rngs=rngs),
    )
    <BLANKLINE>
    """

    kind, title, version = "train_model", "Train a model", 1

    def defaults(self) -> dict[str, Any]:
        """Two dense layers for ten classes, adam, accuracy and a 10% validation split."""
        return {
            "x": "x_train",
            "y": "y_train",
            "model": "model",
            "layers": [
                {**NEW_LAYER, "units": 64},
                {**NEW_LAYER, "units": 10, "activation": "none"},
            ],
            "loss": "sparse_categorical_cross_entropy",
            "optimizer": "adam",
            "learning_rate": 0.001,
            "metrics": [{"metric": "accuracy"}],
            "epochs": 10,
            "batch_size": 32,
            "validation": "split",
            "validation_split": 0.1,
            "validation_x": "x_val",
            "validation_y": "y_val",
            "early_stopping": False,
            "monitor": "validation_loss",
            "patience": 3,
        }

    def form(self, attrs: dict[str, Any]) -> list[dict[str, Any]]:
        """The fields; x, y and the validation arrays list the kernel's arrays."""
        early = {"early_stopping": [True]}
        data = {"validation": ["data"]}
        return [
            array_field("x", "Inputs (x)", attrs.get("x")),
            array_field("y", "Targets (y)", attrs.get("y")),
            {"name": "model", "label": "Model variable", "type": "text"},
            {
                "name": "layers",
                "label": "Layers",
                "type": "list",
                "fields": _layer_fields(),
                "item": dict(NEW_LAYER),
                "add_label": "Add layer",
                "help": "The last layer is a dense layer: its units are the model's outputs.",
            },
            _select("loss", "Loss", LOSSES),
            _select("optimizer", "Optimizer", OPTIMIZERS),
            {
                "name": "learning_rate",
                "label": "Learning rate",
                "type": "number",
                "min": 0,
                "step": 0.0001,
            },
            {
                "name": "metrics",
                "label": "Metrics",
                "type": "list",
                "fields": [_select("metric", "Metric", METRICS)],
                "item": {"metric": "accuracy"},
                "add_label": "Add metric",
            },
            _count("epochs", "Epochs"),
            _count("batch_size", "Batch size"),
            _select("validation", "Validation", VALIDATION),
            {
                "name": "validation_split",
                "label": "Fraction held out",
                "type": "number",
                "min": 0.01,
                "max": 0.5,
                "step": 0.05,
                "when": {"validation": ["split"]},
                "help": "The first rows of x and y are held out (shuffle them first if sorted).",
            },
            {
                **array_field("validation_x", "Validation x", attrs.get("validation_x")),
                "when": data,
            },
            {
                **array_field("validation_y", "Validation y", attrs.get("validation_y")),
                "when": data,
            },
            {"name": "early_stopping", "label": "Early stopping", "type": "checkbox"},
            {**_select("monitor", "Monitor", _monitors(attrs)), "when": early},
            {**_count("patience", "Patience (epochs)"), "when": early},
        ]

    def generate(self, attrs: dict[str, Any]) -> str:
        """The training code for ``attrs`` (AttrError names a bad field)."""
        return _Writer(attrs).code()

    def preview(self, attrs: dict[str, Any]) -> str | None:
        """One line under the form once x is in the kernel: the model's parameters and
        one example's shape in and out (a layer list that does not fit x says so here)."""
        x = _namespace.user_namespace().get(attrs["x"])
        shape = getattr(x, "shape", None)
        if not isinstance(shape, tuple) or len(shape) < 2:
            return None
        writer = _Writer(attrs)
        writer.code()
        name = attrs["x"]
        if writer.has_conv and len(shape) != 4:
            raise AttrError(
                "layers",
                f"convolutions need {name} shaped (examples, height, width, channels), got {shape}",
            )
        try:
            return summary(writer.model_code, attrs["model"], name, shape, str(x.dtype))
        except Exception as error:  # the layers do not fit this data: say so at the layers
            raise AttrError(
                "layers", f"do not fit {name} {shape}: {type(error).__name__}: {error}"
            ) from None


@functools.lru_cache(maxsize=64)  # refreshed after every cell run: trace each model once
def summary(model_code: str, model: str, x: str, shape: tuple[int, ...], dtype: str) -> str:
    """The parameters of the model ``model_code`` builds for data ``x`` of ``shape``, and
    one example's shape in and out, without computing anything (``nnx.eval_shape``).

    >>> code = "rngs = nnx.Rngs(0); m = nnx.Sequential(nnx.Linear(x.shape[-1], 3, rngs=rngs))"
    >>> summary(code, "m", "x", (100, 8), "float32")
    '27 parameters · one example (8,) → (3,)'
    """
    import jax
    import numpy as np
    from flax import nnx

    example = np.zeros((1, *shape[1:]), dtype)

    def build() -> nnx.Module:
        namespace: dict[str, Any] = {"nnx": nnx, x: example}
        exec(model_code, namespace)
        return namespace[model]

    abstract = nnx.eval_shape(build)
    graph, state = nnx.split(abstract)
    out = jax.eval_shape(lambda s: nnx.merge(graph, s)(example), state)
    params = sum(int(np.prod(p.shape)) for p in jax.tree.leaves(nnx.state(abstract, nnx.Param)))
    return f"{params:,} parameters · one example {shape[1:]} → {tuple(out.shape[1:])}"


def _select(name: str, label: str, values: Any) -> dict[str, Any]:
    options = values.items() if isinstance(values, dict) else ((v, v) for v in values)
    return {"name": name, "label": label, "type": "select", "options": [list(o) for o in options]}


def _count(name: str, label: str) -> dict[str, Any]:
    return {"name": name, "label": label, "type": "number", "min": 1, "step": 1, "integer": True}


def _layer_fields() -> list[dict[str, Any]]:
    def only(*kinds: str) -> dict[str, list[str]]:
        return {"kind": list(kinds)}

    return [
        _select("kind", "Layer", LAYERS),
        {**_count("units", "Units"), "when": only("dense")},
        {**_count("features", "Filters"), "when": only("conv")},
        {**_count("kernel_size", "Kernel size"), "when": only("conv")},
        {**_select("activation", "Activation", ACTIVATIONS), "when": only("dense", "conv")},
        {
            "name": "rate",
            "label": "Rate",
            "type": "number",
            "min": 0,
            "max": 0.95,
            "step": 0.05,
            "when": only("dropout"),
        },
        {**_select("norm", "Normalization", NORMS), "when": only("norm")},
    ]


def _monitors(attrs: dict[str, Any]) -> list[str]:
    """The history columns early stopping can watch: the loss and each metric."""
    names = ["loss"]
    for item in attrs.get("metrics") or []:
        metric = item.get("metric") if isinstance(item, dict) else None
        if metric in METRICS and metric not in names:
            names.append(metric)
    if attrs.get("validation", "none") != "none":
        names = [f"validation_{n}" for n in names] + names
    current = attrs.get("monitor")
    return names if current in names or not isinstance(current, str) else [*names, current]


def _choice(value: Any, allowed: Any, field: str) -> str:
    if not isinstance(value, str) or value not in allowed:
        raise AttrError(field, f"must be one of {', '.join(allowed)}, got {value!r}")
    return value


class _Writer:
    """Turns one set of attributes into code, checking each as it goes."""

    def __init__(self, attrs: dict[str, Any]) -> None:
        self.attrs = attrs
        self.needs_flatten = False
        self.has_conv = False

    def code(self) -> str:
        a = self.attrs
        validation = _choice(a.get("validation"), VALIDATION, "validation")
        reserved = _ASSIGNED + (_SPLIT if validation == "split" else ())
        x, y = self._name("x", reserved), self._name("y", reserved)
        if x == y:
            raise AttrError("y", "must be a different array from x")
        model = self._name("model", reserved)
        if model in (x, y):
            raise AttrError("model", f"must not replace the data {model!r}; pick another name")
        layers, outputs_probabilities = self._layers(x)
        loss = _choice(a.get("loss"), LOSSES, "loss")
        optimizer = _choice(a.get("optimizer"), OPTIMIZERS, "optimizer")
        rate = number(a.get("learning_rate"), "learning_rate", low=0, high=10, low_open=True)
        metrics = self._metrics()
        epochs = integer(a.get("epochs"), "epochs", 1, 100_000)
        batch_size = integer(a.get("batch_size"), "batch_size", 1, 1_000_000)

        lines = ["from flax import nnx", "", "import kino", "from kino import train", ""]
        fit = (x, y)
        if validation == "split":
            share = number(a.get("validation_split"), "validation_split", low=0, high=0.5)
            if share == 0:
                raise AttrError("validation_split", "must be more than 0 (or pick no validation)")
            percent = f"{share * 100:g}%"
            lines += [
                f"# The first {percent} of the rows are held out to validate on.",
                f"n_val = max(1, int(len({x}) * {literal(share)}))",
                f"x_fit, x_val = {x}[n_val:], {x}[:n_val]",
                f"y_fit, y_val = {y}[n_val:], {y}[:n_val]",
                "",
            ]
            fit, held = ("x_fit", "y_fit"), ("x_val", "y_val")
        elif validation == "data":
            held = (
                self._name("validation_x", reserved),
                self._name("validation_y", reserved),
            )
        start = len(lines)
        if self.needs_flatten:
            lines += ["", "def flatten(x):", "    return x.reshape(x.shape[0], -1)", "", ""]
        lines += ["rngs = nnx.Rngs(0)", f"{model} = nnx.Sequential("]
        lines += [f"    {layer}," for layer in layers]  # each already wrapped to fit
        lines += [")", ""]
        self.model_code = "\n".join(lines[start:])

        args = [model, literal(loss), literal(optimizer), f"learning_rate={literal(rate)}"]
        if outputs_probabilities:
            args.append("from_logits=False")
        chain = [f".metric({literal(m)})" for m in metrics]
        if validation != "none":
            chain.append(f".validate(({held[0]}, {held[1]}))")
        if a.get("early_stopping"):
            chain.append(self._early_stopping(validation, metrics))
        one_line = f"loop = train.trainer({', '.join(args)}){''.join(chain)}"
        in_parentheses = "    " + one_line.removeprefix("loop = ")
        if len(one_line) <= LINE_WIDTH:
            lines.append(one_line)
        elif len(chain) > 1 and len(in_parentheses) <= LINE_WIDTH:
            lines += ["loop = (", in_parentheses, ")"]
        elif len(chain) > 1:
            trainer = call("train.trainer", args, indent=4)
            lines += ["loop = (", f"    {trainer}", *(f"    {part}" for part in chain), ")"]
        else:  # one configuring call: its own line (ruff has no tidy way to split the pair)
            lines.append(call("loop = train.trainer", args, indent=0))
            lines += [f"loop{part}" for part in chain]
        run_args = [f"({fit[0]}, {fit[1]})", f"epochs={epochs}", f"batch_size={batch_size}"]
        lines += [
            "dashboard = kino.dashboard(loop)",
            call("run = loop.run", [*run_args, "background=True"], indent=0),
            "dashboard",
        ]
        return "\n".join(lines)

    def _name(self, field: str, reserved: tuple[str, ...]) -> str:
        name = identifier(self.attrs.get(field), field)
        if name in reserved:
            raise AttrError(field, f"{name!r} is a name this cell's code assigns; pick another")
        return name

    def _layers(self, x: str) -> tuple[list[str], bool]:
        """The Sequential's entries, and whether the model ends in probabilities.

        Sizes are tracked as code: a dense layer's input is the last one's units, the
        data's last axis, or a flattened conv output (height × width × filters; convs
        keep the size, padding "SAME").
        """
        items = self.attrs.get("layers")
        if not isinstance(items, list) or not items:
            raise AttrError("layers", "add at least one layer (the last one dense)")
        # The data's shape while the layers are read: flat features, or an image.
        image: tuple[str, str] | None = None  # (height × width as code, channels as code)
        size = f"{x}.shape[-1]"
        shaped = False  # whether a layer has fixed the data's kind yet
        out: list[str] = []
        last_activation = "none"
        for i, raw in enumerate(items):
            if not isinstance(raw, dict):
                raise AttrError(f"layers.{i}", f"must be a layer's settings, got {raw!r}")
            layer = {**NEW_LAYER, **raw}
            at = f"layers.{i}"
            kind = _choice(layer["kind"], LAYERS, f"{at}.kind")
            if kind in ("dense", "conv"):
                activation = _choice(layer["activation"], ACTIVATIONS, f"{at}.activation")
            if kind == "conv":
                self.has_conv = True
                if shaped and image is None:
                    raise AttrError(
                        f"{at}.kind",
                        "a convolution needs images (height, width, channels): "
                        "put convolutions before any dense or flatten layer",
                    )
                if image is None:
                    image = (f"{x}.shape[1] * {x}.shape[2]", f"{x}.shape[3]")
                features = integer(layer["features"], f"{at}.features", 1, _MAX_UNITS)
                k = integer(layer["kernel_size"], f"{at}.kernel_size", 1, 64)
                out.append(
                    call(
                        "nnx.Conv",
                        [
                            image[1],
                            str(features),
                            f"kernel_size=({k}, {k})",
                            'padding="SAME"',
                            "rngs=rngs",
                        ],
                        indent=4,
                        tail=1,
                    )
                )
                image = (image[0], str(features))
                size = str(features)
            elif kind == "dense":
                if image is not None:
                    raise AttrError(
                        f"{at}.kind", "a dense layer after convolutions needs a flatten layer first"
                    )
                units = integer(layer["units"], f"{at}.units", 1, _MAX_UNITS)
                out.append(call("nnx.Linear", [size, str(units), "rngs=rngs"], indent=4, tail=1))
                size = str(units)
            elif kind == "flatten":
                self.needs_flatten = True
                if image is not None:
                    size = f"{image[0]} * {image[1]}"
                elif not shaped:
                    size = f"{x}[0].size"
                image = None
                out.append("flatten")
            elif kind == "dropout":
                rate = number(layer["rate"], f"{at}.rate", low=0, high=1, high_open=True)
                out.append(f"nnx.Dropout({literal(rate)}, rngs=rngs)")
            else:
                norm = _choice(layer["norm"], NORMS, f"{at}.norm")
                channels = image[1] if image is not None else size
                out.append(f"nnx.{NORMS[norm]}({channels}, rngs=rngs)")
            shaped = shaped or kind in ("dense", "conv", "flatten")
            if kind in ("dense", "conv"):
                last_activation = activation
                if activation != "none":
                    out.append(f"nnx.{activation}")
        last = {**NEW_LAYER, **items[-1]}
        if last["kind"] != "dense":
            raise AttrError(
                f"layers.{len(items) - 1}.kind",
                "the last layer must be dense: its units are the model's outputs",
            )
        return out, last_activation in ("softmax", "sigmoid")

    def _metrics(self) -> list[str]:
        items = self.attrs.get("metrics")
        if items is None:
            return []
        if not isinstance(items, list):
            raise AttrError("metrics", f"must be a list of metrics, got {items!r}")
        names: list[str] = []
        for i, item in enumerate(items):
            metric = item.get("metric") if isinstance(item, dict) else item
            _choice(metric, METRICS, f"metrics.{i}.metric")
            if metric in names:
                raise AttrError(f"metrics.{i}.metric", f"{metric} is already in the list")
            names.append(metric)
        return names

    def _early_stopping(self, validation: str, metrics: list[str]) -> str:
        monitor = self.attrs.get("monitor")
        watched = ["loss", *metrics]
        allowed = watched + ([f"validation_{n}" for n in watched] if validation != "none" else [])
        if monitor not in allowed:
            raise AttrError("monitor", f"must be one of {', '.join(allowed)}, got {monitor!r}")
        patience = integer(self.attrs.get("patience"), "patience", 1, 10_000)
        return f".early_stopping({literal(monitor)}, patience={patience})"


def integer(value: Any, field: str, low: int, high: int) -> int:
    """A whole number from ``low`` to ``high`` (a form's ``3.0`` is 3), else AttrError.

    >>> integer(3.0, "epochs", 1, 10)
    3
    >>> integer(0, "epochs", 1, 10)
    Traceback (most recent call last):
    ...
    kino.ui.smart.cell.AttrError: epochs: must be an int from 1 to 10, got 0
    """
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    try:
        return check_int(value, func="", argument=field, min=low, max=high)
    except (TypeError, ValueError) as bad:
        raise AttrError(field, _reason(bad)) from None


def number(
    value: Any,
    field: str,
    *,
    low: float,
    high: float,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """A finite number in the range (``low_open``/``high_open``: excluding that end).

    >>> number(0.5, "rate", low=0, high=1, high_open=True)
    0.5
    >>> number(1, "rate", low=0, high=1, high_open=True)
    Traceback (most recent call last):
    ...
    kino.ui.smart.cell.AttrError: rate: must be at least 0 and less than 1, got 1
    """
    try:
        check_number(value, func="", argument=field)
    except (TypeError, ValueError) as bad:
        raise AttrError(field, _reason(bad)) from None
    if value < low or value > high or (low_open and value == low) or (high_open and value == high):
        above = f"more than {low}" if low_open else f"at least {low}"
        below = f"less than {high}" if high_open else f"at most {high}"
        raise AttrError(field, f"must be {above} and {below}, got {value!r}")
    return float(value) if isinstance(value, float) else value


def _reason(error: Exception) -> str:
    """kino.contracts' message without its ``func: 'arg' `` head."""
    return str(error).partition("' ")[2]


def array_field(
    name: str, label: str, current: Any, namespace: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A field naming a data array: a select of the kernel's arrays, or text when it has none.

    >>> array_field("x", "Inputs", "x_train", {})["type"]  # no arrays: type a name
    'text'
    """
    found = arrays(namespace)
    if not found:
        return {"name": name, "label": label, "type": "text", "placeholder": "a variable name"}
    options = [[n, f"{n}  {shape}"] for n, shape in found.items()]
    if isinstance(current, str) and current not in found:
        options.insert(0, [current, f"{current}  (not defined yet)"])
    return {"name": name, "label": label, "type": "select", "options": options}


def arrays(namespace: dict[str, Any] | None = None) -> dict[str, str]:
    """The numpy and JAX arrays of ``namespace`` (default: the kernel's), name → shape
    and dtype.

    >>> import numpy as np
    >>> arrays({"x": np.zeros((4, 2), "float32"), "n": 3, "_y": np.zeros(1)})
    {'x': '(4, 2) float32'}
    """
    found = {}
    names = _namespace.user_namespace() if namespace is None else namespace
    for name, value in list(names.items()):
        module = type(value).__module__.partition(".")[0]
        if name.startswith("_") or module not in ("numpy", "jax", "jaxlib"):
            continue
        shape = getattr(value, "shape", None)
        if isinstance(shape, tuple) and shape:
            found[name] = f"{shape} {value.dtype}"
    return found
