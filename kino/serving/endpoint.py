"""``kino.serving.http``: a server behind a JSON endpoint (Starlette on uvicorn).

The endpoint runs in a background thread of the kernel, on 127.0.0.1 unless told
otherwise, until ``.stop()`` or the end of the process (an ``atexit`` hook, so a
kernel shutdown stops it). A POST of JSON to ``path`` is one request: the JSON
value goes to the server (through the spec's ``preprocess``), the answer comes back
as JSON. Errors answer with ``{"error": message}``: 422 for input that fails
validation (bad JSON, a refused pre-processing, a wrong shape), 503 when the server
is overloaded or stopped, 504 when the request's deadline passed, 500 otherwise.

The seed's Phoenix endpoint, a sentiment model behind ``{"text": ...}``
(here a four-word bag of words stands in for the trained model):

>>> import httpx, numpy as np
>>> from kino.serving import Serving, http
>>> WORDS = ["good", "great", "bad", "awful"]
>>> def features(body):
...     words = body["text"].lower().split()
...     return np.array([words.count(w) for w in WORDS], np.float32)
>>> def answer(score):
...     return {"sentiment": "positive" if score >= 0 else "negative",
...             "confidence": round(float(abs(np.tanh(score))), 3)}
>>> sentiment = Serving(lambda x: x @ np.array([1.0, 1.0, -1.0, -1.0], np.float32),
...                     preprocess=features, postprocess=answer,
...                     example=np.zeros(4, np.float32))
>>> server = sentiment.start()
>>> endpoint = http(server, path="/sentiment")
>>> httpx.post(endpoint.url, json={"text": "a great good day"}).json()
{'sentiment': 'positive', 'confidence': 0.964}
>>> reply = httpx.post(endpoint.url, json={"txt": "no text"})
>>> reply.status_code, reply.json()["error"]
(422, "POST /sentiment: preprocess refused the request: KeyError('text')")
>>> endpoint.stop(); server.stop()
"""

from __future__ import annotations

import atexit
import json
import socket
import threading
import time
from typing import TYPE_CHECKING, Any

from kino._extras import load
from kino.contracts import check_int, check_str, fail
from kino.serving._json import plain
from kino.serving.errors import DeadlineExceeded, InvalidInput, Overloaded, ServerStopped

if TYPE_CHECKING:
    from kino.serving.server import Server

#: Seconds ``http`` waits for uvicorn to accept connections before giving up.
START_TIMEOUT = 60.0
#: The largest request body (bytes) the endpoint reads; a bigger one is refused with 413.
MAX_BODY_BYTES = 16 * 1024 * 1024


class Endpoint:
    """A running HTTP endpoint of a server: ``url``, ``stop()``.

    >>> import numpy as np
    >>> from kino.serving import Serving, http
    >>> server = Serving(lambda x: x, example=np.zeros(())).start()
    >>> endpoint = http(server, path="/echo")
    >>> endpoint.url.startswith("http://127.0.0.1:") and endpoint.url.endswith("/echo")
    True
    >>> endpoint.stop(); endpoint.running
    False
    >>> server.stop()
    """

    def __init__(self, server: Server, path: str, host: str, port: int) -> None:
        uvicorn = load("uvicorn", "kino.serving.http")
        self.server = server
        self.path = path
        self._socket = socket.create_server((host, port))
        self.host, self.port = self._socket.getsockname()[:2]
        config = uvicorn.Config(
            _app(server, path), log_level="warning", lifespan="off", access_log=False
        )
        self._uvicorn = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._uvicorn.run,
            kwargs={"sockets": [self._socket]},
            name=f"kino-serving-http-{self.port}",
            daemon=True,
        )
        self._thread.start()
        until = time.monotonic() + START_TIMEOUT
        while not self._uvicorn.started:
            if not self._thread.is_alive() or time.monotonic() > until:
                self.stop()
                raise RuntimeError(f"kino.serving.http: uvicorn did not start on {self.url}")
            self._thread.join(0.01)
        atexit.register(self.stop)

    @property
    def url(self) -> str:
        """Where to POST requests.

        >>> import numpy as np
        >>> from kino.serving import Serving, http
        >>> s = Serving(abs, example=np.zeros(())).start(); e = http(s, path="/abs")
        >>> e.url == f"http://127.0.0.1:{e.port}/abs"
        True
        >>> e.stop(); s.stop()
        """
        return f"http://{self.host}:{self.port}{self.path}"

    @property
    def running(self) -> bool:
        """Whether the endpoint still answers.

        >>> import numpy as np
        >>> from kino.serving import Serving, http
        >>> s = Serving(abs, example=np.zeros(())).start(); e = http(s)
        >>> e.running
        True
        >>> e.stop(); s.stop()
        """
        return self._thread.is_alive()

    def stop(self, timeout: float = 30.0) -> None:
        """Stop answering (open connections are finished first); the server keeps running.

        >>> import numpy as np
        >>> from kino.serving import Serving, http
        >>> s = Serving(abs, example=np.zeros(())).start(); e = http(s)
        >>> e.stop(); e.stop(); e.running
        False
        >>> s.stop()
        """
        atexit.unregister(self.stop)
        self._uvicorn.should_exit = True
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout)
        self._socket.close()

    def __repr__(self) -> str:
        return f"<kino.serving.http {'running' if self.running else 'stopped'} at {self.url}>"


def http(server: Server, *, path: str = "/predict", host: str = "127.0.0.1", port: int = 0):
    """Serve ``server`` at ``http://host:port/path`` (JSON in, JSON out) in the background.

    ``port=0`` picks a free port (read it from ``.url``). Needs the ``serving`` extra.

    >>> import httpx, numpy as np
    >>> from kino.serving import Serving, http
    >>> server = Serving(lambda x: x * 2, example=np.zeros(2, np.float32)).start()
    >>> endpoint = http(server)
    >>> httpx.post(endpoint.url, json=[1, 2]).json()
    [2.0, 4.0]
    >>> endpoint.stop(); server.stop()
    """
    from kino.serving.server import Server

    func = "kino.serving.http"
    if not isinstance(server, Server):
        fail(func, "server", "a running server (serving.start())", server)
    check_str(path, func=func, argument="path", allowed="a URL path starting with /")
    if not path.startswith("/"):
        fail(func, "path", "a URL path starting with /", path, ValueError)
    check_str(host, func=func, argument="host", allowed="a host name or IP address")
    port = check_int(port, func=func, argument="port", min=0, max=65535)
    return Endpoint(server, path, host, port)


def _app(server: Server, path: str) -> Any:
    """The Starlette application: one POST route at ``path``."""
    load("starlette", "kino.serving.http")
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    where = f"POST {path}"

    async def predict(request: Any) -> Any:
        body = await request.body()
        if len(body) > MAX_BODY_BYTES:
            return JSONResponse(
                {"error": f"{where}: the body is {len(body)} bytes, over {MAX_BODY_BYTES}"}, 413
            )
        try:
            value = json.loads(body)
        except ValueError as error:
            return JSONResponse({"error": f"{where}: the body is not JSON ({error})"}, 422)
        try:
            answer = await server._apredict(value, None, where)
        except InvalidInput as error:
            return JSONResponse({"error": str(error)}, 422)
        except (Overloaded, ServerStopped) as error:
            return JSONResponse({"error": str(error)}, 503, headers={"Retry-After": "1"})
        except DeadlineExceeded as error:
            return JSONResponse({"error": str(error)}, 504)
        except Exception as error:  # the model or post-processing failed on this request
            return JSONResponse({"error": f"{type(error).__name__}: {error}"}, 500)
        return JSONResponse(plain(answer))

    return Starlette(routes=[Route(path, predict, methods=["POST"])])
