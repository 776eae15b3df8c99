"""kino.serving: the spec, the inline runner and the in-process server (answers, batching,
compilation only at start, bad input, stop), with 8 CPU devices in a subprocess."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap
import threading

import jax
import numpy as np
import pytest

from kino.serving import InvalidInput, ServerStopped, Serving
from kino.serving.program import buckets
from tests.conftest import budget

BACKEND_COMPILE = "/jax/core/compile/backend_compile_duration"


def rows(n, offset=0):
    return [np.array([i + offset, -(i + offset)], np.float32) for i in range(n)]


def expected(row):
    return row * 3.0 + 1.0


def test_buckets_are_powers_of_two_then_the_batch_size():
    assert buckets(8) == (1, 2, 4, 8)
    assert buckets(20) == (1, 2, 4, 8, 16, 20)
    assert Serving(abs, batch_size=3).buckets == (1, 2, 3)


def test_bad_spec_arguments_are_refused_at_the_call():
    with pytest.raises(ValueError, match=r"Serving: 'batch_size' must be an int from 1"):
        Serving(abs, batch_size=0)
    with pytest.raises(TypeError, match=r"Serving: 'fn' must be callable, got str: 'model'"):
        Serving("model")
    with pytest.raises(TypeError, match=r"'postprocess' must be callable"):
        Serving(abs, postprocess=3)
    with pytest.raises(ValueError, match=r"'partitions' must be an int from 1 to"):
        Serving(abs, example=np.zeros(())).start(partitions=len(jax.devices()) + 1)


def test_inline_run_answers_every_request_in_order_without_padding(spec):
    for n in (1, 3, 8, 11):  # a partial bucket, a full one, more than one batch
        answers = spec.run(rows(n))
        assert len(answers) == n
        for row, answer in zip(rows(n), answers, strict=True):
            np.testing.assert_allclose(answer, expected(row))


def test_padding_never_reaches_an_answer():
    # An answer that depends on the whole batch would show padded rows: each row is
    # answered with its own value only, whatever bucket it ran in.
    seen = Serving(lambda x: x.sum(-1), batch_size=8, example=np.zeros(3, np.float32))
    answers = seen.run([np.full(3, i, np.float32) for i in range(1, 6)])  # bucket of 8
    assert [float(a) for a in answers] == [3.0, 6.0, 9.0, 12.0, 15.0]


def test_nnx_module_served_in_eval_mode_gives_the_models_answers():
    from flax import nnx

    model = nnx.Sequential(
        nnx.Linear(4, 8, rngs=nnx.Rngs(0)), nnx.Dropout(0.5, rngs=nnx.Rngs(1)), nnx.relu
    )
    serving = Serving(model, batch_size=4, example=np.zeros(4, np.float32))
    x = np.arange(12, dtype=np.float32).reshape(3, 4)
    model.eval()
    want = np.asarray(model(x))
    model.train()  # the caller's module is left as it is; serving runs a merged copy
    got = np.stack(serving.run(list(x)))
    np.testing.assert_allclose(got, want, rtol=1e-6)
    assert model.layers[1].deterministic is False


def test_the_three_local_runners_give_the_same_answers(spec, servers):
    requests = rows(13)
    inline = spec.run(requests)
    server = spec.start(partitions=1)
    servers.append(server)
    single = [server.predict(r) for r in requests]
    many = server.predict_many(requests)

    async def gather():
        return await asyncio.gather(*(server.apredict(r) for r in requests))

    awaited = asyncio.run(gather())
    for answers in (single, many, awaited):
        np.testing.assert_allclose(np.stack(answers), np.stack(inline))


def test_concurrent_callers_are_batched_and_each_gets_its_own_answer(spec, servers):
    server = spec.start()
    servers.append(server)
    results = {}
    barrier = threading.Barrier(32)

    def caller(i):
        barrier.wait()
        results[i] = server.predict(rows(1, offset=i)[0], timeout=budget(60))

    threads = [threading.Thread(target=caller, args=(i,)) for i in range(32)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for i in range(32):
        np.testing.assert_allclose(results[i], expected(rows(1, offset=i)[0]))
    sizes = server.stats.snapshot(0)["batch_sizes"]
    assert sum(size * n for size, n in sizes.items()) == 32
    assert max(sizes) > 1, sizes  # 32 callers at once were not answered one by one


def test_buckets_compile_at_start_and_never_under_load(servers):
    compiles = []

    def listener(event, duration, **kwargs):
        if event == BACKEND_COMPILE:
            compiles.append(threading.current_thread().name)

    jax.monitoring.register_event_duration_secs_listener(listener)
    try:
        serving = Serving(lambda x: x * 5.0 - 2.0, batch_size=16, example=np.zeros(3, np.float32))
        server = serving.start()
        servers.append(server)
        at_start = len(compiles)
        answers = server.predict_many([np.full(3, i, np.float32) for i in range(200)])
        for n in (1, 3, 5, 7, 16):  # every bucket, and sizes between them
            server.predict_many([np.ones(3, np.float32)] * n)
        under_load = len(compiles) - at_start
    finally:
        jax.monitoring.unregister_event_duration_listener(listener)
    assert at_start == len(serving.buckets) == 5
    assert under_load == 0
    assert [float(a[0]) for a in answers] == [i * 5.0 - 2.0 for i in range(200)]


def test_wrong_shape_or_dtype_names_the_expected_shape(spec, servers):
    server = spec.start()
    servers.append(server)
    with pytest.raises(
        InvalidInput,
        match=r"'x' must be a row of shape \(2,\) float32, got "
        r"ndarray: shape \(3,\) float32",
    ):
        server.predict(np.zeros(3, np.float32))
    with pytest.raises(InvalidInput, match=r"shape \(2,\) float32, got list: shape \(2,\) <U1"):
        server.predict(["a", "b"])
    with pytest.raises(InvalidInput, match=r"Serving.run: 'x' must be a row of shape \(2,\)"):
        spec.run([np.zeros((2, 2))])
    # the bad requests never reached a batch; the server still answers
    np.testing.assert_allclose(server.predict([1.0, 2.0]), [4.0, 7.0])
    assert server.stats.snapshot(0)["errors"] == {"invalid": 2}


def test_a_spec_without_an_example_refuses_to_start_and_says_what_to_do():
    with pytest.raises(InvalidInput, match="pass example="):
        Serving(abs).start()
    serving = Serving(lambda x: x + 1)
    assert [float(a) for a in serving.run([1.0, 2.0])] == [2.0, 3.0]
    server = serving.start()  # the first run fixed the signature
    try:
        assert float(server.predict(5.0)) == 6.0
    finally:
        server.stop()


def test_stop_drains_what_is_queued_then_refuses(spec):
    gate = threading.Event()
    slow = Serving(
        lambda x: x, batch_size=1, example=np.zeros(()), postprocess=lambda r: (gate.wait(), r)[1]
    )
    server = slow.start()
    futures = [server.submit(float(i)) for i in range(5)]
    stopper = threading.Thread(target=server.stop)
    stopper.start()
    while server.running:  # stop() has begun while every request still waits
        stopper.join(0.01)
    gate.set()
    stopper.join(budget(60))
    assert [float(f.result(timeout=budget(60))) for f in futures] == [0.0, 1.0, 2.0, 3.0, 4.0]
    with pytest.raises(ServerStopped, match=r"Server.predict: the server is stopped"):
        server.predict(1.0)


def test_stop_without_drain_rejects_each_queued_request_with_a_clear_answer():
    gate = threading.Event()
    started = threading.Event()

    def hold(row):
        started.set()
        gate.wait(budget(60))
        return row

    serving = Serving(lambda x: x, batch_size=1, example=np.zeros(()), postprocess=hold)
    server = serving.start()
    first = server.submit(0.0)
    assert started.wait(budget(60))  # the worker holds the first batch
    queued = [server.submit(float(i)) for i in range(1, 6)]
    stopper = threading.Thread(target=server.stop, kwargs={"drain": False})
    stopper.start()
    for future in queued:  # rejected while the worker still holds its batch
        error = future.exception(timeout=budget(60))
        assert isinstance(error, ServerStopped)
        assert "stop(drain=False) was called before it ran" in str(error)
    gate.set()
    stopper.join(budget(60))
    assert float(first.result(timeout=budget(60))) == 0.0  # a batch already computing finishes
    assert server.stats.snapshot(0)["errors"] == {"stopped": 5}


def test_eight_cpu_devices_one_worker_and_one_parameter_copy_each(tmp_path):
    script = textwrap.dedent(
        """
        import threading
        import jax, numpy as np
        from flax import nnx
        from kino.serving import Serving

        assert len(jax.devices()) == 8, jax.devices()
        model = nnx.Linear(4, 3, rngs=nnx.Rngs(0))
        serving = Serving(model, batch_size=4, batch_timeout=0.001,
                          example=np.zeros(4, np.float32))
        server = serving.start(partitions=8)
        homes = [{d for leaf in jax.tree.leaves(p.params) for d in leaf.devices()}
                 for p in server.programs]
        assert homes == [{d} for d in jax.devices()], homes
        x = np.random.default_rng(0).normal(size=(400, 4)).astype(np.float32)
        answers = [None] * len(x)
        def caller(k):
            for i in range(k, len(x), 16):
                answers[i] = server.predict(x[i], timeout=120)
        threads = [threading.Thread(target=caller, args=(k,)) for k in range(16)]
        [t.start() for t in threads]; [t.join() for t in threads]
        np.testing.assert_allclose(np.stack(answers), np.asarray(model(x)), rtol=1e-5,
                                   atol=1e-6)
        used = server.stats.snapshot(0)["batches_per_partition"]
        server.stop()
        print(len(used))
        """
    )
    env = dict(
        os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=8", JAX_PLATFORMS="cpu"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=budget(600)
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert int(out.stdout.split()[-1]) >= 2  # batches went to more than one partition


def test_the_server_examples_run_cleanly_where_an_event_loop_is_running():
    # A notebook cell runs inside the kernel's event loop, where asyncio.run is refused
    # (and leaves its coroutine never awaited): the examples must run there as written.
    import doctest
    import gc
    import warnings

    import kino.serving.server as module

    async def in_a_running_loop():
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = doctest.testmod(module, optionflags=doctest.ELLIPSIS, verbose=False)
            gc.collect()  # an abandoned coroutine warns when it is collected
        return result, [str(w.message) for w in caught]

    result, warned = asyncio.run(in_a_running_loop())
    assert result.attempted > 10
    assert result.failed == 0
    assert not [w for w in warned if "never awaited" in w], warned


def test_an_array_of_rows_is_served_whole_and_a_wrong_one_names_the_row_shape(spec, servers):
    server = spec.start()
    servers.append(server)
    block = np.stack(rows(20))
    answers = server.predict_many(block)  # 20 rows: batches of 8, 8 and 4
    np.testing.assert_allclose(np.stack(answers), expected(block))
    assert server.stats.snapshot(0)["batch_sizes"] == {4: 1, 8: 2}
    as_ints = server.predict_many(np.arange(6, dtype=np.int64).reshape(3, 2))  # converted
    np.testing.assert_allclose(np.stack(as_ints), np.arange(6).reshape(3, 2) * 3.0 + 1.0)
    with pytest.raises(InvalidInput, match=r"must be a row of shape \(2,\) float32, got ndarray"):
        server.predict_many(np.zeros((4, 3), np.float32))


def test_awaiting_callers_are_answered_with_one_loop_call_per_batch(spec, servers):
    server = spec.start()
    servers.append(server)
    calls = []

    async def main():
        loop = asyncio.get_running_loop()
        original = loop.call_soon_threadsafe

        def counting(callback, *args, **kwargs):
            calls.append(threading.current_thread().name)
            return original(callback, *args, **kwargs)

        loop.call_soon_threadsafe = counting
        return await asyncio.gather(*(server.apredict(r) for r in rows(40)))

    answers = asyncio.run(main())
    np.testing.assert_allclose(np.stack(answers), np.stack([expected(r) for r in rows(40)]))
    batches = sum(server.stats.snapshot(0)["batch_sizes"].values())
    assert batches < 40  # the awaiting callers were batched
    assert len(calls) == batches  # not one hand-over per request
    assert set(calls) == {"kino-serving-0"}
