"""kino.serving: batched inference from a notebook to an HTTP endpoint and onto Ray Serve.

Elixir's Nx.Serving, plus what it lacks: a bounded queue, per-request deadlines,
cancellation. One spec (:class:`Serving`), three runners with the same answers:

- inline: ``serving.run(requests)``;
- in-process: ``server = serving.start(partitions=..., max_queue=..., timeout=...)``, then
  ``server.predict(x)``, ``await server.apredict(x)``, ``server.predict_many(xs)``;
- Ray Serve: ``ray_deployment(serving, ...)`` (the ``ray`` extra).

``http(server, path=..., port=...)`` puts a server behind a JSON endpoint (the
``serving`` extra: Starlette on uvicorn). A server displays as a live monitor.

>>> import numpy as np
>>> from kino import serving
>>> spec = serving.Serving(lambda x: x.argmax(-1), batch_size=4, example=np.zeros(3))
>>> server = spec.start()
>>> int(server.predict([0.1, 0.7, 0.2]))
1
>>> server.stop()
"""

from kino._lazy import lazy_exports

__all__ = [
    "DeadlineExceeded",
    "InvalidInput",
    "Overloaded",
    "Server",
    "ServerStopped",
    "Serving",
    "http",
    "ray_deployment",
]

__getattr__ = lazy_exports(
    __name__,
    {
        "DeadlineExceeded": ".errors:DeadlineExceeded",
        "InvalidInput": ".errors:InvalidInput",
        "Overloaded": ".errors:Overloaded",
        "ServerStopped": ".errors:ServerStopped",
        "Server": ".server:Server",
        "Serving": ".spec:Serving",
        "http": ".endpoint:http",
        "ray_deployment": ".ray_serve:ray_deployment",
    },
)
