"""kino.models.load: hub-layout folders read back, and every way a checkpoint can be wrong."""

from __future__ import annotations

import json

import numpy as np
import pytest
from safetensors.numpy import load_file, save_file

import kino
import kino.models
from kino._extras import MissingExtra
from kino.models import Target, UnknownArchitecture, WeightError, load, load_weights
from kino.models.testing import random_tensors, tiny_config


def rewrite(folder, change):
    tensors = load_file(folder / "model.safetensors")
    change(tensors)
    save_file(tensors, folder / "model.safetensors", {"format": "pt"})


def test_a_tiny_bert_loads_with_its_weights_tokenizer_and_labels(tiny):
    folder = tiny("bert", labels=["NEGATIVE", "POSITIVE"])
    model = load(folder)
    assert type(model.module).__name__ == "BertForSequenceClassification"
    assert model.labels == {0: "NEGATIVE", 1: "POSITIVE"}
    assert model.tokenizer.encode("the cat").tokens == ["[CLS]", "the", "cat", "[SEP]"]
    assert model.featurizer is None and model.name == str(folder)
    saved = load_file(folder / "model.safetensors")
    query = model.module.bert.encoder.layer[1].attention.self.query
    np.testing.assert_array_equal(
        np.asarray(query.kernel[...]), saved["bert.encoder.layer.1.attention.self.query.weight"].T
    )
    np.testing.assert_array_equal(
        np.asarray(model.module.classifier.bias[...]), saved["classifier.bias"]
    )


def test_bare_and_prefixed_checkpoint_names_both_load(tiny):
    folder = tiny("bert")
    rewrite(folder, lambda t: t.update({f"bert.{k}": t.pop(k) for k in list(t)}))
    model = load(folder)
    saved = load_file(folder / "model.safetensors")
    np.testing.assert_array_equal(
        np.asarray(model.module.pooler.dense.bias[...]), saved["bert.pooler.dense.bias"]
    )


def test_a_mismatched_tensor_is_named_with_both_shapes(tiny):
    folder = tiny("bert")
    rewrite(folder, lambda t: t.update({"pooler.dense.weight": np.zeros((16, 12), np.float32)}))
    with pytest.raises(WeightError) as error:
        load(folder)
    message = str(error.value)
    assert "'pooler.dense.weight' has shape (16, 12)" in message
    assert "pooler.dense.kernel has shape (16, 16)" in message


def test_missing_and_unexpected_tensors_are_listed_by_name(tiny):
    folder = tiny("bert")

    def change(tensors):
        del tensors["encoder.layer.0.output.LayerNorm.bias"]
        tensors["encoder.layer.9.extra.weight"] = np.zeros(3, np.float32)
        tensors["embeddings.position_ids"] = np.arange(64)[None]  # a buffer: ignored

    rewrite(folder, change)
    with pytest.raises(WeightError) as error:
        load(folder)
    message = str(error.value)
    assert "missing from the checkpoint: encoder.layer.0.output.LayerNorm.bias" in message
    assert "not used by the module: encoder.layer.9.extra.weight" in message
    assert "position_ids" not in message


def test_a_module_parameter_no_tensor_reaches_is_named():
    from flax import nnx

    layer = nnx.Linear(2, 3, rngs=nnx.Rngs(0))
    with pytest.raises(WeightError, match="no checkpoint tensor reaches: bias"):
        load_weights(layer, {"w": np.ones((3, 2))}, {"w": Target(("kernel",))}, dtype="float32")
    np.testing.assert_array_equal(  # nothing was assigned
        np.asarray(layer.kernel[...]), np.asarray(nnx.Linear(2, 3, rngs=nnx.Rngs(0)).kernel[...])
    )


def test_an_unknown_model_type_is_named_with_the_known_ones(tiny):
    folder = tiny("bert")
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**config, "model_type": "llama"}))
    with pytest.raises(UnknownArchitecture) as error:
        load(folder)
    assert str(error.value) == (
        "kino.models.load: model_type 'llama' has no port in kino; "
        "known: bert, distilbert, gpt2, resnet"
    )


def test_an_unknown_head_is_named(tiny):
    folder = tiny("bert")
    config = json.loads((folder / "config.json").read_text())
    config["architectures"] = ["BertForQuestionAnswering"]
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(UnknownArchitecture, match="'BertForQuestionAnswering' has no port"):
        load(folder)


@pytest.mark.parametrize("dtype", ["float32", "bfloat16", "float16", np.float16])
def test_dtype_loads_every_parameter_in_it(tiny, dtype):
    import jax

    model = load(tiny("bert", head="masked"), dtype=dtype)
    leaves = jax.tree.leaves(__import__("flax").nnx.state(model.module))
    assert {str(leaf.dtype) for leaf in leaves} == {np.dtype(dtype).name if dtype is np.float16
                                                     else dtype}  # fmt: skip
    logits = model.module(np.array([[2, 5, 4, 3]]))
    assert str(logits.dtype) == (np.dtype(dtype).name if dtype is np.float16 else dtype)


@pytest.mark.parametrize("dtype", ["int8", 16, None])
def test_a_bad_dtype_is_refused_at_the_call(tiny, dtype):
    expected = r"kino\.models\.load: 'dtype' must be one of"
    with pytest.raises((TypeError, ValueError), match=expected):
        load(tiny("bert"), dtype=dtype)


def test_a_folder_without_weights_or_config_says_what_is_missing(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"has no config\.json"):
        load(tmp_path)
    (tmp_path / "config.json").write_text(json.dumps(tiny_config("bert")))
    (tmp_path / "pytorch_model.bin").write_bytes(b"")
    with pytest.raises(FileNotFoundError, match=r"reads safetensors only, not pytorch_model\.bin"):
        load(tmp_path)


def test_sharded_checkpoints_load_through_their_index(tmp_path):
    config = tiny_config("bert")
    tensors = random_tensors(config)
    names = sorted(tensors)
    half = len(names) // 2
    shards = {"model-00001-of-00002.safetensors": names[:half],
              "model-00002-of-00002.safetensors": names[half:]}  # fmt: skip
    for shard, keys in shards.items():
        save_file({k: tensors[k] for k in keys}, tmp_path / shard)
    index = {"weight_map": {k: s for s, keys in shards.items() for k in keys}}
    (tmp_path / "model.safetensors.index.json").write_text(json.dumps(index))
    (tmp_path / "config.json").write_text(json.dumps(config))
    model = load(tmp_path)
    np.testing.assert_array_equal(
        np.asarray(model.module.embeddings.word_embeddings.embedding[...]),
        tensors["embeddings.word_embeddings.weight"],
    )


def test_kino_models_is_a_lazy_export_whose_missing_libraries_name_the_extra():
    import subprocess
    import sys

    assert kino.models.load is load
    code = (
        "import sys\nsys.modules['safetensors'] = None\nimport kino\n"
        "from kino.models.checkpoint import read_tensors\n"
        "try:\n    read_tensors('.')\nexcept Exception as e:\n    print(type(e).__name__, e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert "needs the 'models' extra" not in out.stdout  # no weights here: the folder is named
    assert "has no model.safetensors" in out.stdout
    with pytest.raises(MissingExtra, match="'models' extra"):
        from kino.models.errors import import_optional

        import_optional("safetensors_not_installed", func="kino.models.load")


HUB_SCRIPT = """
import sys
import kino.models
try:
    model = kino.models.load(sys.argv[1])
    print("loaded", type(model.module).__name__, model.name)
except FileNotFoundError as error:
    print("error", error)
"""


def run_offline(name, cache):
    import os
    import subprocess
    import sys

    from tests.conftest import budget

    env = {**os.environ, "HF_HUB_CACHE": str(cache), "HF_HUB_OFFLINE": "1"}
    done = subprocess.run(
        [sys.executable, "-c", HUB_SCRIPT, name],
        env=env, capture_output=True, text=True, timeout=budget(300),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_a_hub_name_loads_from_the_huggingface_cache_offline(tiny, tmp_path):
    commit = "0123456789abcdef0123456789abcdef01234567"
    repo = tmp_path / "hub" / "models--kino-test--tiny-bert"
    snapshot = repo / "snapshots" / commit
    snapshot.parent.mkdir(parents=True)
    tiny("bert", labels=["NO", "YES"]).rename(snapshot)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    out = run_offline("kino-test/tiny-bert", tmp_path / "hub")
    assert out == "loaded BertForSequenceClassification kino-test/tiny-bert"


def test_a_hub_name_not_in_the_cache_offline_says_so(tmp_path):
    out = run_offline("kino-test/never-downloaded", tmp_path / "empty")
    assert out.startswith("error kino.models.load: 'kino-test/never-downloaded' is not in")
    assert "HF_HUB_OFFLINE" in out and str(tmp_path / "empty") in out


def test_a_path_that_does_not_exist_is_not_sent_to_the_hub(tmp_path):
    with pytest.raises(FileNotFoundError, match="is not a folder"):
        load(tmp_path / "missing")
    with pytest.raises(FileNotFoundError, match="is not a folder"):
        load("./missing/model")
    with pytest.raises(TypeError, match="'name_or_path' must be a hub name or a local folder"):
        load(3)
