"""kino.serving.ray_deployment against a real local Ray instance and Ray Serve: the same
answers as the inline runner, batched by Ray, over a handle and over HTTP (422 with an error
body), and Ray's max_queued_requests refusing what does not fit. One Ray start for the file."""

from __future__ import annotations

import socket
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import numpy as np
import pytest

from kino.serving import Serving, ray_deployment
from tests.conftest import budget
from tests.serving.stress import FAIL_BATCH, FAIL_PRE, SPEC

pytestmark = pytest.mark.ray


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def serve_port(tmp_path_factory):
    import ray
    from ray import serve

    port = free_port()
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        configure_logging=False,
        namespace="kino-serving-tests",
        _temp_dir=str(tmp_path_factory.mktemp("ray")),
    )
    try:
        serve.start(http_options={"host": "127.0.0.1", "port": port})
        yield port
    finally:
        serve.shutdown()
        ray.shutdown()


def test_the_same_answers_as_inline_over_a_handle_and_http(serve_port):
    from ray import serve

    handle = serve.run(
        ray_deployment(SPEC, name="rows", max_ongoing_requests=64),
        name="rows",
        route_prefix="/rows",
    )
    requests = [(i, 0) for i in range(96)]
    inline = SPEC.run(requests)
    assert inline == list(range(96))
    responses = [handle.predict.remote(r) for r in requests]
    assert [r.result(timeout_s=budget(120)) for r in responses] == inline
    sizes = handle.batch_sizes.remote().result(timeout_s=budget(60))
    assert sum(size * n for size, n in sizes.items()) == 96
    assert max(sizes) > 1, sizes  # Ray's @serve.batch gathered concurrent requests

    url = f"http://127.0.0.1:{serve_port}/rows"
    with ThreadPoolExecutor(16) as pool:
        limit = budget(120)
        replies = list(pool.map(lambda r: httpx.post(url, json=list(r), timeout=limit), requests))
    assert [r.json() for r in replies] == inline
    bad = httpx.post(url, json=[1, FAIL_PRE], timeout=budget(60))
    assert bad.status_code == 422
    assert "request 1 is malformed" in bad.json()["error"]
    failed = httpx.post(url, json=[2, FAIL_BATCH], timeout=budget(60))
    assert failed.status_code == 500 and "injected failure" in failed.json()["error"]
    serve.delete("rows")


def test_max_queued_requests_refuses_what_does_not_fit(serve_port, tmp_path):
    from ray import serve
    from ray.serve.exceptions import BackPressureError

    gate = tmp_path / "open"

    def wait_for_gate(row):
        while not gate.exists():  # the replica runs in another process: a file is the gate
            time.sleep(0.01)
        return float(row)

    slow = Serving(lambda x: x, batch_size=1, example=np.zeros(()), postprocess=wait_for_gate)
    handle = serve.run(
        ray_deployment(slow, name="held", max_ongoing_requests=1, max_queued_requests=1),
        name="held",
        route_prefix="/held",
    )
    responses = [handle.remote(float(i)) for i in range(6)]
    outcome = {}
    deadline = time.monotonic() + budget(120)
    while len(outcome) < 4:  # the refusals come back while the first request is held
        assert time.monotonic() < deadline, outcome
        for i, response in enumerate(responses):
            if i in outcome:
                continue
            try:
                response.result(timeout_s=0.05)
            except BackPressureError as error:
                outcome[i] = error
            except TimeoutError:
                pass
    gate.touch()
    answered = sorted(float(r.result(timeout_s=budget(120))) for i, r in enumerate(responses)
                      if i not in outcome)  # fmt: skip
    # at most one ongoing and one queued: the rest refused at once, each with an answer
    assert 1 <= len(answered) <= 2 and len(answered) + len(outcome) == 6, (answered, outcome)
    assert set(answered) <= {float(i) for i in range(6)}
    assert all("max_queued_requests" in str(e) or "queue" in str(e) for e in outcome.values())
    serve.delete("held")
