import textwrap
from pathlib import Path

import jax
import numpy as np

from kino import train
from tests.train.conftest import run_script
from tests.train.tiny import BATCH, blobs, mlp


def dropout_loop():
    return train.trainer(
        mlp(seed=1, dropout=0.3), "sparse_categorical_cross_entropy", "adam", learning_rate=0.01
    )


def leaves(state):
    return [
        np.asarray(
            jax.random.key_data(a) if jax.dtypes.issubdtype(a.dtype, jax.dtypes.prng_key) else a
        )
        for a in jax.tree.leaves((state.params, state.rest, state.opt_state))
    ]


def test_resume_two_plus_three_epochs_equals_five(tmp_path):
    x, y = blobs()
    data = train.batches(x, y, batch_size=BATCH, seed=7)
    full = dropout_loop().metric("accuracy").run(data, epochs=5)
    first = dropout_loop().metric("accuracy").checkpoint(tmp_path / "ck").run(data, epochs=2)
    assert first.status == "completed"
    resumed_loop = dropout_loop().metric("accuracy")
    resumed = resumed_loop.run(data, epochs=5, resume=tmp_path / "ck")
    assert resumed.state.step == full.state.step == 15
    assert resumed.state.epoch == 5
    for a, b in zip(leaves(full.state), leaves(resumed.state), strict=True):
        np.testing.assert_array_equal(a, b)
    assert resumed.history.equals(full.history)


def test_keeps_the_best_by_monitor_plus_the_newest(tmp_path):
    x, y = blobs()
    vx, vy = blobs(24, seed=1)
    loop = train.trainer(mlp(), "sparse_categorical_cross_entropy", "sgd", learning_rate=0.5)
    loop.validate((vx, vy)).checkpoint(tmp_path, keep=3, monitor="validation_loss")
    saved = []
    loop.handle("checkpointed", lambda s: saved.append(s.checkpoint_path))
    result = loop.run(train.batches(x, y, batch_size=BATCH), epochs=6)
    assert [Path(p).name for p in saved] == [f"epoch_{e:06d}" for e in range(1, 7)]
    losses = dict(zip(result.history["epoch"], result.history["validation_loss"], strict=True))
    best3 = sorted(losses, key=losses.get)[:3]
    kept = train.CheckpointStore(tmp_path).epochs()
    assert kept == sorted(set(best3) | {6})
    best = loop.restore(tmp_path, monitor="validation_loss")
    assert best.epoch == best3[0]
    scores = train.evaluator(mlp(), "sparse_categorical_cross_entropy").run((vx, vy), best)
    assert np.isclose(scores["loss"], losses[best3[0]], rtol=1e-5)


KILLED_MID_WRITE = textwrap.dedent(
    """
    import os, signal, sys
    from orbax.checkpoint._src.path import atomicity
    from kino import train
    from tests.train.tiny import blobs, mlp

    finalize = atomicity.AtomicRenameTemporaryPath.finalize

    async def dying_finalize(self, *args, **kwargs):
        # the second checkpoint's data is written, the directory not yet renamed into place
        if self.get_final().name == "epoch_000002":
            os.kill(os.getpid(), signal.SIGKILL)
        return await finalize(self, *args, **kwargs)

    atomicity.AtomicRenameTemporaryPath.finalize = dying_finalize
    x, y = blobs()
    loop = train.trainer(mlp(), "sparse_categorical_cross_entropy", "adam").checkpoint(sys.argv[1])
    loop.run(train.batches(x, y, batch_size=16), epochs=3)
    """
)


def test_process_killed_while_writing_leaves_previous_checkpoint_loadable(tmp_path):
    ck = tmp_path / "ck"
    proc = run_script(KILLED_MID_WRITE, str(ck))
    assert proc.returncode == -9, proc.stderr[-2000:]
    names = sorted(p.name for p in ck.iterdir())
    assert "epoch_000001" in names
    assert any(n.startswith("epoch_000002") and n != "epoch_000002" for n in names), names
    assert train.CheckpointStore(ck).epochs() == [1]
    x, y = blobs()
    loop = train.trainer(mlp(), "sparse_categorical_cross_entropy", "adam").checkpoint(ck)
    state = loop.restore(ck)
    assert (state.epoch, state.step) == (1, 3)
    result = loop.run(train.batches(x, y, batch_size=16), epochs=2, resume=ck)
    assert result.status == "completed" and result.history["epoch"].to_list() == [1, 2]
    assert sorted(p.name for p in ck.iterdir()) == ["epoch_000001", "epoch_000002"]
