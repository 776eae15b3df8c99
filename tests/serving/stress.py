"""Shared by the serving tests: a spec whose rows carry their own injected failures, and a
server whose worker is held inside a batch until released."""

from __future__ import annotations

import threading

import jax
import jax.numpy as jnp
import numpy as np

from kino.serving import Serving
from tests.conftest import budget

# A row is [id, flag]: flag 1 fails the row's post-processing, flag 2 fails its whole
# batch inside the compiled function (a host callback that raises), flag 3 fails its
# pre-processing. The answer is the row's id, so a wrong caller would see another id.
FAIL_POST, FAIL_BATCH, FAIL_PRE = 1, 2, 3


def _check_batch(batch):
    if (np.asarray(batch)[:, 1] == FAIL_BATCH).any():
        raise ValueError("injected failure in the model")
    return np.zeros((), np.float32)


def model(batch):
    return batch + jax.pure_callback(_check_batch, jax.ShapeDtypeStruct((), jnp.float32), batch)


def preprocess(request):
    ident, flag = request
    if flag == FAIL_PRE:
        raise ValueError(f"request {ident} is malformed")
    return np.array([ident, flag], np.float32)


def postprocess(row):
    if row[1] == FAIL_POST:
        raise RuntimeError(f"post-processing failed on {int(row[0])}")
    return int(row[0])


SPEC = Serving(
    model,
    batch_size=8,
    batch_timeout=0.001,
    preprocess=preprocess,
    postprocess=postprocess,
    example=np.zeros(2, np.float32),
)


class Held:
    """A server whose worker is held inside its first batch until ``release()``."""

    def __init__(self, **start):
        self.gate = threading.Event()
        self.busy = threading.Event()

        def hold(row):
            self.busy.set()
            assert self.gate.wait(budget(120))
            return postprocess(row)

        held = Serving(
            model, batch_size=4, batch_timeout=0.001, preprocess=preprocess,
            postprocess=hold, example=np.zeros(2, np.float32),
        )  # fmt: skip
        self.server = held.start(**start)
        # Its own deadline: a short server default (a test's subject) must not expire the
        # request that holds the worker before a loaded machine gets to run it.
        self.first = self.server.submit((0, 0), timeout=budget(120))
        assert self.busy.wait(budget(120))

    def release(self):
        self.gate.set()
