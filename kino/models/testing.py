"""Tiny random models in the Hugging Face hub's file layout, for tests and examples.

:func:`write_tiny` writes ``config.json``, ``model.safetensors`` (PyTorch names and
layouts, as ``transformers`` saves them) and ``tokenizer.json`` (a WordPiece vocabulary
of a few words) into a folder, so loading is tested end to end without the network.

>>> import tempfile
>>> from pathlib import Path
>>> sorted(p.name for p in Path(write_tiny("bert", tempfile.mkdtemp())).iterdir())
['config.json', 'model.safetensors', 'tokenizer.json']
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

#: The tiny tokenizer's words (after the special tokens); every test sentence uses these.
_WORDS = "the a is was and not good bad great awful movie film cat dog sat on mat paris france"
WORDS = tuple(f"{_WORDS} capital of city . , ! ? i love hate it this".split())
SPECIAL = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")

TINY = {
    "bert": {
        "model_type": "bert",
        "hidden_size": 16,
        "num_hidden_layers": 2,
        "num_attention_heads": 2,
        "intermediate_size": 32,
        "max_position_embeddings": 64,
        "type_vocab_size": 2,
        "hidden_act": "gelu",
        "layer_norm_eps": 1e-12,
        "pad_token_id": 0,
    },
    "distilbert": {
        "model_type": "distilbert",
        "dim": 16,
        "n_layers": 2,
        "n_heads": 2,
        "hidden_dim": 32,
        "max_position_embeddings": 64,
        "activation": "gelu",
        "pad_token_id": 0,
    },
}

BASES = {"bert": "BertModel", "distilbert": "DistilBertModel"}
HEADS = {"classify": "ForSequenceClassification", "masked": "ForMaskedLM"}


def vocabulary() -> dict[str, int]:
    """The tiny tokenizer's vocabulary: special tokens, then :data:`WORDS`.

    >>> vocabulary()["[MASK]"], len(vocabulary()) == len(SPECIAL) + len(WORDS)
    (4, True)
    """
    return {token: i for i, token in enumerate((*SPECIAL, *WORDS))}


def write_tokenizer(folder: str | Path) -> Path:
    """A BERT-style WordPiece ``tokenizer.json`` over :func:`vocabulary`.

    >>> import tempfile
    >>> from tokenizers import Tokenizer
    >>> path = write_tokenizer(tempfile.mkdtemp())
    >>> Tokenizer.from_file(str(path)).encode("The cat sat.").tokens
    ['[CLS]', 'the', 'cat', 'sat', '.', '[SEP]']
    """
    from tokenizers import Tokenizer, normalizers, pre_tokenizers, processors
    from tokenizers.models import WordPiece

    tokenizer = Tokenizer(WordPiece(vocabulary(), unk_token="[UNK]"))
    tokenizer.add_special_tokens(list(SPECIAL))  # "[MASK]" in a text stays one token
    tokenizer.normalizer = normalizers.BertNormalizer(lowercase=True)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", 2), ("[SEP]", 3)],
    )
    path = Path(folder) / "tokenizer.json"
    tokenizer.save(str(path))
    return path


def tiny_config(
    model_type: str, head: str | None = None, labels: Sequence[str] | None = None
) -> dict[str, Any]:
    """A tiny config of ``model_type`` with ``head`` (``classify``, ``masked`` or the base).

    >>> tiny_config("bert", labels=["NEG", "POS"])["architectures"]
    ['BertForSequenceClassification']
    """
    if labels is not None and head is None:
        head = "classify"
    config = {**TINY[model_type], "vocab_size": len(vocabulary())}
    base = BASES[model_type]
    config["architectures"] = [base.replace("Model", HEADS[head]) if head else base]
    if labels is not None:
        config["id2label"] = {str(i): label for i, label in enumerate(labels)}
        config["label2id"] = {label: i for i, label in enumerate(labels)}
    return config


def random_tensors(config: dict[str, Any], seed: int = 0) -> dict[str, np.ndarray]:
    """Random float32 tensors under the checkpoint names and PyTorch layouts ``config`` needs.

    >>> tensors = random_tensors(tiny_config("bert"))
    >>> tensors["encoder.layer.0.attention.self.query.weight"].shape
    (16, 16)
    """
    from flax import nnx

    from kino.models.registry import architecture

    port = architecture(config["model_type"])
    module = nnx.eval_shape(lambda: port.build(config, dtype="float32", rngs=nnx.Rngs(0)))
    variables = {tuple(p): v for p, v in nnx.iter_graph(module) if isinstance(v, nnx.Variable)}
    rng = np.random.default_rng(seed)
    tensors = {}
    for name, target in port.weight_targets(config, module).items():
        shape = variables[tuple(target.path)].get_value().shape
        value = rng.normal(0, 0.5, shape).astype(np.float32)
        if target.transform is not None:  # the module's layout back to the checkpoint's
            value = _inverse(target.transform, shape, value)
        tensors[name] = value
    return tensors


def _inverse(transform: Any, shape: tuple[int, ...], value: np.ndarray) -> np.ndarray:
    from kino.models.weights import conv_kernel, transpose

    if transform is transpose:
        return transpose(value)
    if transform is conv_kernel:
        return np.ascontiguousarray(np.transpose(value, (3, 2, 0, 1)))
    raise ValueError(f"write_tiny: no inverse of {transform!r} for a tensor of shape {shape}")


def write_tiny(
    model_type: str,
    folder: str | Path,
    *,
    head: str | None = None,
    labels: Sequence[str] | None = None,
    seed: int = 0,
) -> Path:
    """Write a tiny random ``model_type`` model (and tokenizer) in the hub's layout.

    >>> import tempfile, json
    >>> folder = write_tiny("bert", tempfile.mkdtemp(), head="masked")
    >>> json.loads((folder / "config.json").read_text())["architectures"]
    ['BertForMaskedLM']
    """
    from safetensors.numpy import save_file

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    config = tiny_config(model_type, head, labels)
    (folder / "config.json").write_text(json.dumps(config, indent=2))
    save_file(random_tensors(config, seed), str(folder / "model.safetensors"), {"format": "pt"})
    write_tokenizer(folder)
    return folder
