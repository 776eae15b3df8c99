"""The activations a Hugging Face config names (``hidden_act``, ``activation_function``).

One table for every port: ``gelu`` is the exact (erf) form, ``gelu_new`` and
``gelu_pytorch_tanh`` the tanh approximation, as PyTorch's ``transformers`` has them.

>>> float(activation("relu", func="kino.models.bert", argument="hidden_act")(-1.0))
0.0
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp

#: Config names → activation (the order an error message lists them in).
ACTIVATIONS: dict[str, Callable[[jax.Array], jax.Array]] = {
    "gelu_new": lambda x: jax.nn.gelu(x, approximate=True),
    "gelu_pytorch_tanh": lambda x: jax.nn.gelu(x, approximate=True),
    "gelu": lambda x: jax.nn.gelu(x, approximate=False),
    "relu": jax.nn.relu,
    "silu": jax.nn.silu,
    "swish": jax.nn.silu,
    "tanh": jnp.tanh,
}


def activation(name: str, *, func: str, argument: str) -> Callable[[jax.Array], jax.Array]:
    """The activation ``name`` (a config's ``argument``), or a ``ValueError`` naming the known ones.

    >>> activation("mish", func="kino.models.resnet", argument="hidden_act")
    Traceback (most recent call last):
    ...
    ValueError: kino.models.resnet: 'hidden_act' must be one of gelu_new, gelu_pytorch_tanh, gelu, relu, silu, swish, tanh, got str: 'mish'
    """  # noqa: E501
    from kino.contracts import check_choice

    return ACTIVATIONS[check_choice(name, ACTIVATIONS, func=func, argument=argument)]
