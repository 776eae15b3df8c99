"""kino.serving.http: a real uvicorn endpoint called by httpx (64 concurrent connections),
with 422 / 503 / 504 / 500 answers carrying an error body."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import httpx
import numpy as np
import pytest

import kino.serving
from kino._extras import MissingExtra
from kino.serving import Serving, http, ray_deployment
from tests.conftest import budget
from tests.serving.stress import FAIL_BATCH, FAIL_PRE, SPEC


@pytest.fixture
def endpoints():
    made = []
    yield made
    for endpoint in made:
        endpoint.stop()
        endpoint.server.stop(drain=False)  # after the held fixture released its worker


def test_64_concurrent_connections_each_get_their_own_answer(endpoints):
    endpoint = http(SPEC.start(), path="/rows")
    endpoints.append(endpoint)
    n = 320

    async def main():
        limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
        async with httpx.AsyncClient(limits=limits, timeout=budget(120)) as client:
            gate = asyncio.Semaphore(64)

            async def one(i):
                async with gate:
                    return await client.post(endpoint.url, json=[i, 0])

            return await asyncio.gather(*(one(i) for i in range(n)))

    replies = asyncio.run(main())
    assert [r.status_code for r in replies] == [200] * n
    assert [r.json() for r in replies] == list(range(n))
    sizes = endpoint.server.stats.snapshot(0)["batch_sizes"]
    assert sum(size * k for size, k in sizes.items()) == n
    assert max(sizes) > 1  # concurrent connections were batched


def test_input_that_fails_validation_gets_422_with_the_reason(endpoints):
    shaped = Serving(lambda x: x, example=np.zeros(3, np.float32))
    endpoint = http(shaped.start(), path="/shaped")
    endpoints.append(endpoint)
    wrong = httpx.post(endpoint.url, json=[1, 2])
    assert wrong.status_code == 422
    assert wrong.json() == {
        "error": "POST /shaped: 'x' must be a row of shape (3,) float32, got list: shape (2,) int64"
    }
    not_json = httpx.post(endpoint.url, content=b"{nope")
    assert not_json.status_code == 422
    assert not_json.json()["error"].startswith("POST /shaped: the body is not JSON")
    assert httpx.post(endpoint.url, json=[1, 2, 3]).json() == [1.0, 2.0, 3.0]
    assert httpx.get(endpoint.url).status_code == 405


def test_preprocessing_and_model_failures(endpoints):
    endpoint = http(SPEC.start())
    endpoints.append(endpoint)
    bad = httpx.post(endpoint.url, json=[7, FAIL_PRE])
    assert bad.status_code == 422
    assert "request 7 is malformed" in bad.json()["error"]
    failed = httpx.post(endpoint.url, json=[8, FAIL_BATCH])
    assert failed.status_code == 500
    assert "injected failure in the model" in failed.json()["error"]
    assert httpx.post(endpoint.url, json=[9, 0]).json() == 9


def test_overloaded_is_503_and_a_deadline_is_504(endpoints, held):
    h = held(max_queue=1, timeout=0.05)
    endpoint = http(h.server)
    endpoints.append(endpoint)

    async def two():
        async with httpx.AsyncClient(timeout=budget(60)) as client:
            first = asyncio.ensure_future(client.post(endpoint.url, json=[1, 0]))
            while h.server.queue_depth < 1:  # the first request waits in the queue
                await asyncio.sleep(0.001)
            second = await client.post(endpoint.url, json=[2, 0])
            return await first, second

    late, refused = asyncio.run(two())
    assert refused.status_code == 503 and refused.headers["retry-after"] == "1"
    assert "the queue is full" in refused.json()["error"]
    assert late.status_code == 504
    assert "deadline of 0.05 s" in late.json()["error"]


def test_stop_closes_the_port_and_leaves_the_server_running(endpoints):
    server = SPEC.start()
    endpoint = http(server)
    endpoints.append(endpoint)
    assert httpx.post(endpoint.url, json=[1, 0]).json() == 1
    endpoint.stop()
    assert not endpoint.running
    with pytest.raises(httpx.ConnectError):
        httpx.post(endpoint.url, json=[1, 0], timeout=budget(10))
    assert server.predict((2, 0)) == 2


def test_bad_arguments_are_refused_at_the_call():
    with pytest.raises(TypeError, match=r"http: 'server' must be a running server"):
        http(SPEC)
    server = SPEC.start()
    try:
        with pytest.raises(ValueError, match=r"'path' must be a URL path starting with /"):
            http(server, path="predict")
        with pytest.raises(ValueError, match=r"'port' must be an int from 0 to 65535"):
            http(server, port=70000)
    finally:
        server.stop()


@pytest.mark.parametrize(
    ("hidden", "make", "feature", "extra"),
    [
        ("uvicorn", lambda server: http(server), "kino.serving.http", "serving"),
        ("ray", lambda server: ray_deployment(SPEC), "kino.serving.ray_deployment", "ray"),
    ],
)
def test_a_missing_library_names_its_extra_through_kinos_one_loader(
    monkeypatch, hidden, make, feature, extra
):
    # kino.serving imports optional libraries with kino._extras.load (no copy of its own).
    for name in [m for m in sys.modules if m == hidden or m.startswith(f"{hidden}.")]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, hidden, None)
    server = SPEC.start()
    try:
        with pytest.raises(MissingExtra) as caught:
            make(server)
    finally:
        server.stop()
    assert str(caught.value) == (
        f"{feature} needs the {extra!r} extra:"
        f" pip install 'jupyter-kino[{extra}]' ({hidden} is not installed)"
    )
    assert not (Path(kino.serving.__file__).parent / "_extras.py").exists()


def test_the_endpoint_stops_when_the_interpreter_exits_without_stop():
    # A kernel shut down with an endpoint still serving: the process exits promptly (an
    # open keep-alive connection does not hold it), and the endpoint was stopped on the
    # way out, before the interpreter's last exit hook (registered first, so run last).
    script = textwrap.dedent(
        """
        import atexit, socket
        import httpx, numpy as np
        from kino.serving import Serving, http

        def after_the_endpoint_stopped():
            try:
                socket.create_connection(("127.0.0.1", endpoint.port), timeout=5).close()
                print("still listening", flush=True)
            except OSError:
                print("port closed" if not endpoint.running else "thread alive", flush=True)

        atexit.register(after_the_endpoint_stopped)
        server = Serving(lambda x: x * 2, example=np.zeros(2, np.float32)).start()
        endpoint = http(server, path="/double")
        client = httpx.Client()  # left open: a keep-alive connection at exit
        print(endpoint.port, client.post(endpoint.url, json=[1, 2]).json(), flush=True)
        """
    )
    process = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        out, err = process.communicate(timeout=budget(120))
    finally:
        process.kill()
    assert process.returncode == 0, err[-3000:]
    first, verdict = out.splitlines()
    port, answer = first.split(" ", 1)
    assert answer == "[2.0, 4.0]"
    assert verdict == "port closed"
    with pytest.raises(OSError):  # and nothing listens there after the process is gone
        socket.create_connection(("127.0.0.1", int(port)), timeout=budget(10)).close()
