"""``kino.serving.ray_deployment``: the same serving spec as a Ray Serve deployment.

Each replica compiles the spec's buckets for its own device when it starts, and
batches with Ray's ``@serve.batch`` (``batch_size`` and ``batch_timeout`` of the spec);
Ray's ``max_ongoing_requests`` and ``max_queued_requests`` bound what a replica takes
and what waits for it. Requests are checked and pre-processed one by one before they
join a batch, as in the in-process server, so a bad request fails alone; an error in
the function fails its batch; post-processing runs per request.

Call it through a handle (``handle.remote(x)`` or ``handle.predict.remote(x)``) or over
HTTP: a POST of JSON answers JSON, 422 with ``{"error": ...}`` for a request that
fails validation, 500 for a failure in the model. Needs the ``ray`` extra.

Example (a Ray cluster, or a local one that ``serve.run`` starts)::

    from ray import serve
    handle = serve.run(kino.serving.ray_deployment(digits, num_replicas=4), route_prefix="/digits")
    handle.remote(x_test[0]).result()        # 7
    httpx.post("http://127.0.0.1:8000/digits", json=x_test[0].tolist()).json()

>>> import numpy as np
>>> from kino.serving import Serving
>>> app = ray_deployment(Serving(abs, example=np.zeros(())), name="absolute")
>>> type(app).__name__
'Application'
"""

from __future__ import annotations

import json
from collections import Counter
from typing import TYPE_CHECKING, Any

from kino._extras import load
from kino.contracts import check_int, check_str, fail
from kino.serving._json import plain
from kino.serving.errors import InvalidInput

if TYPE_CHECKING:
    from kino.serving.spec import Serving


def ray_deployment(
    serving: Serving,
    *,
    name: str = "kino-serving",
    num_replicas: int = 1,
    max_ongoing_requests: int | None = None,
    max_queued_requests: int = -1,
    ray_actor_options: dict[str, Any] | None = None,
) -> Any:
    """A Ray Serve application (``serve.run`` it) serving ``serving`` on ``num_replicas``.

    ``max_ongoing_requests`` (default ``2 * batch_size``) is what one replica works on at
    once, ``max_queued_requests`` (``-1``: no bound) what may wait for a replica; beyond
    it Ray refuses the request (503 over HTTP, ``BackPressureError`` through a handle).

    >>> import numpy as np
    >>> from kino.serving import Serving
    >>> ray_deployment(Serving(abs, example=np.zeros(())), num_replicas=0)
    Traceback (most recent call last):
    ...
    ValueError: kino.serving.ray_deployment: 'num_replicas' must be an int >= 1, got 0
    """
    from kino.serving.spec import Serving

    func = "kino.serving.ray_deployment"
    if not isinstance(serving, Serving):
        fail(func, "serving", "a kino.serving.Serving", serving)
    if serving.signature is None:
        raise InvalidInput(f"{func}: the serving has no signature yet: pass example= to Serving")
    check_str(name, func=func, argument="name")
    num_replicas = check_int(num_replicas, func=func, argument="num_replicas", min=1)
    if max_ongoing_requests is None:
        max_ongoing_requests = 2 * serving.batch_size
    max_ongoing_requests = check_int(
        max_ongoing_requests, func=func, argument="max_ongoing_requests", min=1
    )
    max_queued_requests = check_int(
        max_queued_requests, func=func, argument="max_queued_requests", min=-1
    )
    serve = load("ray.serve", func)

    @serve.deployment(
        name=name,
        num_replicas=num_replicas,
        max_ongoing_requests=max_ongoing_requests,
        max_queued_requests=max_queued_requests,
        ray_actor_options=ray_actor_options or {"num_cpus": 0},
    )
    class KinoServing:
        """One replica: the spec's programs compiled on its device, Ray batching in front."""

        def __init__(self, spec: Serving) -> None:
            import jax

            self.spec = spec
            self.program = spec.program(jax.devices()[0])
            self.sizes: Counter[int] = Counter()

        @serve.batch(max_batch_size=serving.batch_size, batch_wait_timeout_s=serving.batch_timeout)
        async def _batch(self, rows: list[list[Any]]) -> list[Any]:
            self.sizes[len(rows)] += 1
            return self.program(rows)

        async def predict(self, request: Any) -> Any:
            """The answer to one request (checked and pre-processed here, then batched)."""
            row = self.spec.prepare(request, func=f"{name}.predict")
            return self.spec.finish(await self._batch(row))

        def batch_sizes(self) -> dict[int, int]:
            """How many batches of each size this replica ran."""
            return dict(sorted(self.sizes.items()))

        async def __call__(self, request: Any) -> Any:
            from starlette.requests import Request
            from starlette.responses import JSONResponse

            if not isinstance(request, Request):
                return await self.predict(request)
            where = f"POST {request.url.path}"
            try:
                value = json.loads(await request.body())
            except ValueError as error:
                return JSONResponse({"error": f"{where}: the body is not JSON ({error})"}, 422)
            try:
                row = self.spec.prepare(value, func=where)
            except InvalidInput as error:
                return JSONResponse({"error": str(error)}, 422)
            try:
                answer = self.spec.finish(await self._batch(row))
            except Exception as error:  # the model or post-processing failed on this request
                return JSONResponse({"error": f"{type(error).__name__}: {error}"}, 500)
            return JSONResponse(plain(answer))

    return KinoServing.bind(serving)
