"""One activation table for every port (kino.models.activations): same names, same functions."""

from __future__ import annotations

import jax
import numpy as np
import pytest
from flax import nnx

from kino.models import bert, distilbert, gpt2, resnet
from kino.models.activations import ACTIVATIONS
from tests.models import test_gpt2, test_resnet

BERT = {"vocab_size": 16, "hidden_size": 4, "num_hidden_layers": 1, "num_attention_heads": 1,
        "intermediate_size": 8}  # fmt: skip
DISTILBERT = {"vocab_size": 16, "dim": 4, "n_layers": 1, "n_heads": 1, "hidden_dim": 8}


def acts(module: nnx.Module) -> set:
    return {node.act for _, node in nnx.iter_graph(module) if hasattr(node, "act")} - {None}


@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_every_port_takes_every_name_in_the_table(name):
    rngs = nnx.Rngs(0)
    built = {
        "bert": bert.build({**BERT, "hidden_act": name}, dtype="float32", rngs=rngs),
        "distilbert": distilbert.build({**DISTILBERT, "activation": name}, dtype="float32",
                                       rngs=rngs),
        "gpt2": gpt2.build(test_gpt2.tiny_config(activation_function=name), dtype="float32",
                           rngs=rngs),
        "resnet": resnet.build(test_resnet.tiny_config("basic", hidden_act=name),
                               dtype="float32", rngs=rngs),
    }  # fmt: skip
    for port, module in built.items():
        assert acts(module) == {ACTIVATIONS[name]}, port


def test_gelu_is_exact_and_gelu_new_the_tanh_approximation():
    x = np.linspace(-3, 3, 13, dtype=np.float32)
    np.testing.assert_allclose(ACTIVATIONS["gelu"](x), jax.nn.gelu(x, approximate=False))
    np.testing.assert_allclose(ACTIVATIONS["gelu_new"](x), jax.nn.gelu(x, approximate=True))
    assert not np.allclose(ACTIVATIONS["gelu"](x), ACTIVATIONS["gelu_new"](x), atol=1e-6)
