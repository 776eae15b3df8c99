"""``kino.models.load``: a pretrained model by hub name or local path, ready to run.

Reads the directory (``config.json``, ``model.safetensors``, ``tokenizer.json`` or
``preprocessor_config.json``), picks the architecture from ``model_type``, builds the
flax.nnx module without random initialisation (``nnx.eval_shape``) and assigns the
checkpoint's tensors to it, checked by name and shape.

>>> import tempfile
>>> from kino.models.testing import write_tiny
>>> folder = write_tiny("bert", tempfile.mkdtemp())
>>> model = load(folder)
>>> type(model.module).__name__, model.config["model_type"], model.tokenizer is not None
('BertModel', 'bert', True)
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kino.models.checkpoint import read_config, read_tensors
from kino.models.errors import import_optional
from kino.models.registry import architecture
from kino.models.weights import check_dtype, load_weights

if TYPE_CHECKING:
    from kino.models.images import ImageFeaturizer

TOKENIZER = "tokenizer.json"
PREPROCESSOR = "preprocessor_config.json"

#: Checkpoint buffers that are not weights (position ids, attention masks, batch counts).
BUFFERS = ("*position_ids", "*.attn.bias", "*.attn.masked_bias", "*num_batches_tracked")


@dataclass(eq=False)
class Pretrained:
    """A loaded model: the flax.nnx module, its config, tokenizer or featurizer, labels.

    A pytree whose one child is the module's weights (a nested dict of arrays), so
    ``kino.inspect(model)`` shows the parameter tree and ``jax.tree`` functions (a
    cast, a sum) reach the weights.

    >>> import tempfile
    >>> from kino.models.testing import write_tiny
    >>> model = load(write_tiny("bert", tempfile.mkdtemp(), labels=["NEGATIVE", "POSITIVE"]))
    >>> model.labels, model.architecture
    ({0: 'NEGATIVE', 1: 'POSITIVE'}, 'BertForSequenceClassification')
    >>> import kino
    >>> kino.inspect(model).tree["totals"]["params"]
    6418
    """

    module: Any
    config: dict[str, Any]
    name: str
    tokenizer: Any = None
    featurizer: ImageFeaturizer | None = None
    labels: dict[int, str] = field(default_factory=dict)

    @property
    def architecture(self) -> str:
        """The checkpoint's class name (``config["architectures"][0]``), e.g. ``BertModel``.

        >>> Pretrained(None, {"architectures": ["GPT2LMHeadModel"]}, "gpt2").architecture
        'GPT2LMHeadModel'
        """
        return (self.config.get("architectures") or [""])[0]

    def __repr__(self) -> str:
        return (
            f"Pretrained({self.name!r}, {self.architecture or self.config.get('model_type')}, "
            f"tokenizer={self.tokenizer is not None}, featurizer={self.featurizer is not None})"
        )


def _children(model: Pretrained) -> tuple[tuple[tuple[Any, Any], ...], Pretrained]:
    import jax
    from flax import nnx

    weights = nnx.to_pure_dict(nnx.state(model.module))  # arrays, as kino.inspect shows them
    return ((jax.tree_util.GetAttrKey("module"), weights),), model


def _rebuild(model: Pretrained, children: Any) -> Pretrained:
    from flax import nnx

    graphdef, state = nnx.split(model.module)
    nnx.replace_by_pure_dict(state, children[0])
    return dataclasses.replace(model, module=nnx.merge(graphdef, state))


def _register() -> None:
    import jax

    jax.tree_util.register_pytree_with_keys(
        Pretrained, _children, _rebuild, lambda m: ((_children(m)[0][0][1],), m)
    )


_register()


def align_names(tensors: dict[str, Any], names: set[str]) -> dict[str, Any]:
    """``tensors`` renamed to the architecture's names when they differ by a leading prefix.

    Checkpoints of one model are saved both bare (``embeddings.…``, a ``BertModel``) and
    prefixed (``bert.embeddings.…``, from a model with a head); either fits either.

    >>> sorted(align_names({"bert.pooler.w": 1, "cls.w": 2}, {"pooler.w"}))
    ['cls.w', 'pooler.w']
    >>> sorted(align_names({"pooler.w": 1}, {"bert.pooler.w", "classifier.w"}))
    ['bert.pooler.w']
    """
    best, hits = tensors, len(names & tensors.keys())
    prefixes = {n.split(".", 1)[0] + "." for n in [*tensors, *names] if "." in n}
    for prefix in sorted(prefixes):
        stripped = {n.removeprefix(prefix): t for n, t in tensors.items()}
        added = {prefix + n: t for n, t in tensors.items()}
        for candidate in (stripped, added):
            found = len(names & candidate.keys())
            if found > hits:
                best, hits = candidate, found
    return best


def from_folder(
    folder: str | Path, *, dtype: Any = "float32", name: str | None = None
) -> Pretrained:
    """Load a model directory already on disk (``load`` resolves hub names first).

    >>> import tempfile
    >>> from kino.models.testing import write_tiny
    >>> model = from_folder(write_tiny("bert", tempfile.mkdtemp()), dtype="bfloat16")
    >>> model.module.pooler.dense.kernel.dtype
    dtype(bfloat16)
    """
    func = "kino.models.load"
    dtype = check_dtype(dtype, func=func)
    folder = Path(folder)
    config = read_config(folder, func=func)
    port = architecture(config["model_type"], func=func)
    nnx = import_optional("flax.nnx", func=func)
    module = nnx.eval_shape(lambda: port.build(config, dtype=dtype, rngs=nnx.Rngs(0)))
    targets = port.weight_targets(config, module)
    tensors = align_names(read_tensors(folder, func=func), set(targets))
    ignore = (*BUFFERS, *getattr(port, "IGNORED", ()))
    load_weights(module, tensors, targets, dtype=dtype, ignore=ignore)
    if _still_abstract(module):  # state no checkpoint holds (e.g. rng keys): build it for real
        module = port.build(config, dtype=dtype, rngs=nnx.Rngs(0))
        load_weights(module, tensors, targets, dtype=dtype, ignore=ignore)
    labels = {int(k): v for k, v in (config.get("id2label") or {}).items()}
    tokenizer = None
    if (folder / TOKENIZER).is_file():
        tokenizers = import_optional("tokenizers", func=func)
        tokenizer = tokenizers.Tokenizer.from_file(str(folder / TOKENIZER))
    featurizer = None
    if (folder / PREPROCESSOR).is_file():
        from kino.models.images import ImageFeaturizer

        featurizer = ImageFeaturizer.from_file(folder / PREPROCESSOR)
    return Pretrained(module, config, name or str(folder), tokenizer, featurizer, labels)


def _still_abstract(module: Any) -> bool:
    import jax
    from flax import nnx

    return any(
        isinstance(node, nnx.Variable) and isinstance(node.get_value(), jax.ShapeDtypeStruct)
        for _, node in nnx.iter_graph(module)
    )


def load(name_or_path: str | Path, *, dtype: Any = "float32") -> Pretrained:
    """A pretrained model by local directory or Hugging Face hub name (Bumblebee's ``load_model``).

    A name that is not a local directory is fetched through ``huggingface_hub``
    (its cache, ``HF_HUB_OFFLINE``, its progress bar). ``dtype`` is float32, bfloat16
    or float16.

    >>> import tempfile
    >>> from kino.models.testing import write_tiny
    >>> load(write_tiny("bert", tempfile.mkdtemp()), dtype="float16").module.pooler.dense.bias.dtype
    dtype('float16')
    >>> load(".", dtype="int4")
    Traceback (most recent call last):
    ...
    ValueError: kino.models.load: 'dtype' must be one of float32, bfloat16, float16, got str: 'int4'
    """
    from kino.models.hub import resolve

    dtype = check_dtype(dtype, func="kino.models.load")
    folder = resolve(name_or_path, func="kino.models.load")
    return from_folder(folder, dtype=dtype, name=str(name_or_path))
