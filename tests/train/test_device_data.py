"""#19 item 1: data resident on the device, batches drawn by index inside the program, the
epoch's order made on the device from the seed; forced paths; what the run reports."""

import textwrap
import tracemalloc

import jax
import numpy as np
import pytest

from kino import train
from kino.train import resident
from kino.train.sharding import Placement
from tests.train.conftest import assert_matched, run_script
from tests.train.tiny import BATCH, blobs, mlp


def sparse(model=None):
    loop = train.trainer(model or mlp(), "sparse_categorical_cross_entropy", "adam", seed=3)
    return loop.metric("accuracy")


def params_of(result):
    return [np.asarray(a) for a in jax.tree.leaves(result.state.params)]


def test_device_and_host_paths_compute_the_same_losses_in_the_same_order():
    x, y = blobs(40)  # 40 = 2 full batches of 16 and a short one of 8
    batches = train.batches(x, y, batch_size=BATCH, shuffle=False)
    seen = {True: [], False: []}
    results = {}
    for on_device in (True, False):
        loop = sparse().validate(blobs(20, seed=1), batch_size=16)
        loop.handle("iteration_completed", lambda s, k=on_device: seen[k].append(s.metrics))
        results[on_device] = loop.run(
            batches, epochs=3, steps_per_dispatch=2, data_on_device=on_device
        )
    device, host = results[True], results[False]
    assert (device.data_on_device, host.data_on_device) == (True, False)
    assert len(seen[True]) == len(seen[False]) == 9
    for a, b in zip(seen[True], seen[False], strict=True):
        assert a == pytest.approx(b, rel=1e-5, abs=1e-6)
    for column in device.history.columns:
        np.testing.assert_allclose(device.history[column], host.history[column], rtol=1e-5)
    for a, b in zip(params_of(device), params_of(host), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_the_device_order_is_reproducible_reshuffled_each_epoch_and_a_permutation():
    b = train.batches(*blobs(), batch_size=BATCH, seed=11)
    src = resident.DeviceSource(b, Placement())
    one, two = np.asarray(src.order(1)), np.asarray(src.order(2))
    assert sorted(one) == list(range(len(one))) and not np.array_equal(one, two)
    again = resident.DeviceSource(train.batches(*blobs(), batch_size=BATCH, seed=11), src.placement)
    np.testing.assert_array_equal(np.asarray(again.order(2)), two)
    other = resident.DeviceSource(train.batches(*blobs(), batch_size=BATCH, seed=12), src.placement)
    assert not np.array_equal(np.asarray(other.order(2)), two)


def test_a_resumed_device_run_is_bitwise_the_uninterrupted_one(tmp_path):
    data = train.batches(*blobs(), batch_size=BATCH, seed=4)
    whole = sparse().run(data, epochs=4)
    assert whole.data_on_device is True
    first = sparse().checkpoint(tmp_path).run(data, epochs=2)
    rest = sparse().checkpoint(tmp_path).run(data, epochs=4, resume=tmp_path)
    for a, b in zip(params_of(whole), params_of(rest), strict=True):
        np.testing.assert_array_equal(a, b)
    assert rest.history.equals(whole.history) and first.history.equals(whole.history[:2])
    from_result = sparse().run(data, epochs=4, resume=first)
    for a, b in zip(params_of(whole), params_of(from_result), strict=True):
        np.testing.assert_array_equal(a, b)


def test_handlers_see_which_path_feeds_the_run():
    paths = []
    loop = sparse().handle("epoch_completed", lambda s: paths.append(s.data_on_device))
    loop.run(blobs(), epochs=1, batch_size=BATCH)
    loop.run(iter([blobs(16)]), epochs=1)  # a stream: only the host can feed it
    loop.run(blobs(), epochs=1, batch_size=BATCH, data_on_device=False)
    assert paths == [True, False, False]


def test_the_device_path_makes_no_host_copy_of_the_data_per_epoch():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(4096, 256)).astype("float32")  # 4 MiB
    y = rng.integers(0, 3, 4096).astype("int32")
    from flax import nnx

    model = nnx.Sequential(nnx.Linear(256, 3, rngs=nnx.Rngs(0)))
    loop = train.trainer(model, "sparse_categorical_cross_entropy", "sgd")
    data = train.batches(x, y, batch_size=256)
    loop.run(data, epochs=1)  # compile outside the measurement
    tracemalloc.start()
    try:
        result = loop.run(data, epochs=4)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.data_on_device is True
    assert peak < x.nbytes / 4, f"peak host allocation {peak} B against data of {x.nbytes} B"


def test_placing_the_data_is_finished_before_the_first_epoch():
    # the host-to-device copy is asynchronous: a copy still running slowed the first epoch
    x = np.ones((32_768, 512), "float32")  # 64 MiB: its copy takes a while on any machine
    src = resident.DeviceSource(train.batches(x, np.zeros(len(x), "int32")), Placement())
    assert src.x.is_ready() and src.y.is_ready()


def test_every_dispatch_reads_the_same_placed_arrays_and_sends_only_batch_numbers():
    x, y = blobs(480)  # 30 batches of 16: 15 dispatches of 2 per epoch
    data = train.batches(x, y, batch_size=BATCH, seed=2)
    loop = sparse()
    loop.run(data, epochs=1, steps_per_dispatch=2)  # the program exists now
    program = loop._program
    sent = []
    original = program.train_resident

    def spy(leaves, treedef, *args, **kwargs):
        sent.append(args)
        return original(leaves, treedef, *args, **kwargs)

    program.train_resident = spy
    try:
        result = loop.run(data, epochs=3, steps_per_dispatch=2)
    finally:
        program.train_resident = original
    assert result.data_on_device is True and len(sent) == 45
    placed = {id(a) for args in sent for a in args[:2]}
    assert len(placed) == 2, "x and y are placed once per run, never again per epoch"
    assert all(isinstance(a, jax.Array) for args in sent for a in args[:3])
    host = [a for args in sent for a in args if isinstance(a, np.ndarray)]
    assert host and max(a.nbytes for a in host) <= 2 * 4, "only a dispatch's batch numbers"


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        (
            {"data_on_device": "yes"},
            TypeError,
            "train.Trainer.run: 'data_on_device' must be True or False, got str: 'yes'",
        ),
        (
            {"device_budget": 0},
            ValueError,
            r"train.Trainer.run: 'device_budget' must be a fraction of free device memory "
            r"in \(0, 1\], got 0$",
        ),
        (
            {"device_budget": "half"},
            TypeError,
            "train.Trainer.run: 'device_budget' must be",
        ),
    ],
)
def test_bad_feed_arguments_fail_at_the_call(kwargs, error, message):
    with pytest.raises(error, match=message):
        sparse().run(blobs(), epochs=1, **kwargs)


def test_forcing_the_device_with_data_that_cannot_go_there_says_why(monkeypatch):
    stream = (b for b in [blobs(16)])
    with pytest.raises(
        TypeError,
        match=r"'data' must be train.batches\(x, y, \.\.\.\) or an "
        r"\(x, y\) pair of arrays when data_on_device=True, got generator",
    ):
        sparse().run(stream, epochs=1, data_on_device=True)
    monkeypatch.setattr(resident, "free_bytes", lambda device: 500)
    with pytest.raises(
        ValueError,
        match=r"data_on_device=True, but the data takes 960 bytes per "
        r"device and the device has 500 bytes free",
    ):
        sparse().run(blobs(), epochs=1, data_on_device=True)
    assert sparse().run(blobs(), epochs=1).data_on_device is False  # auto: the host feeds it


EIGHT_DEVICES = textwrap.dedent(
    """
    import jax, numpy as np
    from kino import train
    from tests.train.tiny import blobs, mlp

    assert len(jax.devices()) == 8, jax.devices()
    x, y = blobs(50)  # 50 rows: padded to 56 over 8 devices, the padding never drawn
    seen = {}

    def fit(devices, on_device, shuffle=False):
        loop = train.trainer(mlp(), "sparse_categorical_cross_entropy", "adam",
                             learning_rate=0.01, devices=devices)
        loop.metric("accuracy").validate(blobs(20, seed=1))
        loop.handle("started", lambda s: seen.setdefault("src", loop._run))
        data = train.batches(x, y, batch_size=12, shuffle=shuffle, seed=3)
        return loop.run(data, epochs=3, data_on_device=on_device)

    from kino.train.runner import Runner
    placed = []
    original = Runner._dispatch
    Runner._dispatch = lambda self, c: placed.append(self.src) or original(self, c)
    many = fit(None, True)
    src = placed[-1]
    assert many.data_on_device and src.on_device
    assert src.x.shape == (56, 4) and len(src.x.sharding.device_set) == 8
    assert {s.data.shape for s in src.x.addressable_shards} == {(7, 4)}, "split, not copied"
    one = fit(jax.devices()[:1], True)
    host = fit(None, False)
    assert many.state.step == one.state.step == host.state.step == 15
    for other in (one, host):
        for a, b in zip(jax.tree.leaves(many.state.params), jax.tree.leaves(other.state.params)):
            np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-4, atol=1e-5)
        for column in many.history.columns:
            np.testing.assert_allclose(many.history[column], other.history[column],
                                       rtol=1e-4, atol=1e-5)
    shuffled_many, shuffled_one = fit(None, True, True), fit(jax.devices()[:1], True, True)
    for column in shuffled_many.history.columns:  # the device order is the same on 8 and on 1
        np.testing.assert_allclose(shuffled_many.history[column], shuffled_one.history[column],
                                   rtol=1e-4, atol=1e-5)
    print("MATCH")
    """
)


def test_eight_cpu_devices_split_the_resident_data_and_match_one_device_and_the_host():
    assert_matched(run_script(EIGHT_DEVICES, devices=8, seconds=600))
