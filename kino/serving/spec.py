"""``kino.serving.Serving``: one spec of a batched model, run inline, in-process or on Ray.

The spec holds the batched function (a ``flax.nnx`` module, e.g. a model trained
with ``kino.train``, or any function of a batch such as a jitted one), the largest
batch and how long a batch waits to fill, and optional pre-processing (one
request to one row) and post-processing (one output row to one answer).

>>> import numpy as np
>>> double = Serving(lambda x: x * 2, batch_size=8, example=np.zeros(3, np.float32))
>>> double.buckets
(1, 2, 4, 8)
>>> [a.tolist() for a in double.run([[1, 2, 3], [4, 5, 6]])]
[[2.0, 4.0, 6.0], [8.0, 10.0, 12.0]]
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from kino.contracts import check_callable, check_int, check_number, fail
from kino.serving.errors import InvalidInput

if TYPE_CHECKING:
    import jax

    from kino.serving.program import Program
    from kino.serving.server import Server
    from kino.serving.signature import Signature

#: The largest ``batch_size`` a spec accepts (each bucket up to it is compiled).
MAX_BATCH_SIZE = 4096


class Serving:
    """A batched function served with ``batch_size`` and ``batch_timeout`` (Nx.Serving).

    ``fn`` takes a batch (a pytree of arrays with a leading batch axis) and returns one.
    ``example`` is one row after pre-processing (arrays, or a pytree of them): it fixes
    the shapes and dtypes every request must have, and the buckets (1, 2, 4, ...,
    ``batch_size`` rows) compiled when a server starts. Without it, the first
    ``run`` fixes them. ``preprocess(request) -> row`` and ``postprocess(row) -> answer``
    run per request, outside the compiled function.

    >>> import numpy as np
    >>> from flax import nnx
    >>> model = nnx.Linear(2, 1, rngs=nnx.Rngs(0))
    >>> serving = Serving(model, batch_size=4, example=np.zeros(2, np.float32),
    ...                   postprocess=lambda row: round(float(row[0]), 3))
    >>> serving.run([[0.0, 0.0]])
    [0.0]
    """

    def __init__(
        self,
        fn: Callable[[Any], Any],
        *,
        batch_size: int = 32,
        batch_timeout: float = 0.005,
        preprocess: Callable[[Any], Any] | None = None,
        postprocess: Callable[[Any], Any] | None = None,
        example: Any = None,
    ) -> None:
        func = "kino.serving.Serving"
        self.fn = check_callable(fn, func=func, argument="fn")
        self.batch_size = check_int(
            batch_size, func=func, argument="batch_size", min=1, max=MAX_BATCH_SIZE
        )
        self.batch_timeout = float(
            check_number(batch_timeout, func=func, argument="batch_timeout", min=0, max=60)
        )
        if preprocess is not None:
            check_callable(preprocess, func=func, argument="preprocess")
        if postprocess is not None:
            check_callable(postprocess, func=func, argument="postprocess")
        self.preprocess = preprocess
        self.postprocess = postprocess
        self._signature: Signature | None = None
        self._programs: dict[Any, Program] = {}
        self._lock = threading.Lock()
        if example is not None:
            from kino.serving.signature import Signature

            self._signature = Signature.of(example)

    @property
    def buckets(self) -> tuple[int, ...]:
        """The batch sizes compiled for each device: 1, 2, 4, ... up to ``batch_size``.

        >>> Serving(abs, batch_size=5).buckets
        (1, 2, 4, 5)
        """
        from kino.serving.program import buckets

        return buckets(self.batch_size)

    @property
    def signature(self) -> Signature | None:
        """The shapes and dtypes of a row, once known (from ``example`` or the first run).

        >>> import numpy as np
        >>> Serving(abs, example=np.zeros(4, np.float32)).signature.describe()
        'a row of shape (4,) float32'
        """
        return self._signature

    def prepare(self, request: Any, *, func: str = "Serving.run") -> list[Any]:
        """One request, pre-processed and checked: the row's leaves, or ``InvalidInput``.

        An exception in ``preprocess`` becomes ``InvalidInput`` for this request only.

        >>> import numpy as np
        >>> s = Serving(abs, example=np.zeros(2, np.float32), preprocess=lambda d: d["x"])
        >>> s.prepare({"x": [1, 2]})[0].tolist()
        [1.0, 2.0]
        >>> s.prepare({"y": 1})
        Traceback (most recent call last):
        ...
        kino.serving.errors.InvalidInput: Serving.run: preprocess refused the request: KeyError('x')
        """
        row = request
        if self.preprocess is not None:
            try:
                row = self.preprocess(request)
            except Exception as error:
                raise InvalidInput(f"{func}: preprocess refused the request: {error!r}") from error
        if self._signature is None:
            raise InvalidInput(
                f"{func}: the serving has no signature yet: pass example= (one row) to "
                "Serving, or call serving.run once"
            )
        return self._signature.check(row, func=func)

    def finish(self, output: Any) -> Any:
        """One output row as its answer (``postprocess`` applied, if any).

        >>> Serving(abs, postprocess=float).finish(2)
        2.0
        """
        return output if self.postprocess is None else self.postprocess(output)

    def run(self, requests: Sequence[Any]) -> list[Any]:
        """Answer ``requests`` inline, in batches of at most ``batch_size``, on the first device.

        The same answers as a server's (same buckets, same padding). Any error is raised.

        >>> import numpy as np
        >>> [float(a) for a in Serving(lambda x: x.sum(-1), batch_size=2).run([np.ones(3)] * 3)]
        [3.0, 3.0, 3.0]
        """
        if isinstance(requests, str) or not isinstance(requests, Sequence):
            fail("Serving.run", "requests", "a sequence of requests (a list)", requests)
        if not requests:
            return []
        if self._signature is None:
            from kino.serving.signature import Signature

            first = requests[0] if self.preprocess is None else self.preprocess(requests[0])
            self._signature = Signature.of(first)
        rows = [self.prepare(r, func="Serving.run") for r in requests]
        import jax

        program = self.program(jax.devices()[0])
        outputs: list[Any] = []
        for start in range(0, len(rows), self.batch_size):
            outputs += program(rows[start : start + self.batch_size])
        return [self.finish(o) for o in outputs]

    def program(self, device: jax.Device) -> Program:
        """The compiled buckets on ``device`` (compiled once, then reused by every runner).

        >>> import jax, numpy as np
        >>> s = Serving(abs, batch_size=2, example=np.zeros(()))
        >>> s.program(jax.devices()[0]) is s.program(jax.devices()[0])
        True
        """
        from kino.serving.program import Program

        if self._signature is None:
            raise InvalidInput(
                "Serving.program: the serving has no signature yet: pass example= (one row) "
                "to Serving, or call serving.run once"
            )
        with self._lock:
            if device not in self._programs:
                self._programs[device] = Program(self.fn, self._signature, self.buckets, device)
            return self._programs[device]

    def start(
        self,
        *,
        partitions: int | Sequence[jax.Device] = 1,
        max_queue: int = 1024,
        timeout: float | None = None,
    ) -> Server:
        """Start an in-process server: one worker per partition (device), a bounded queue.

        ``partitions`` is a number of devices (the first of ``jax.devices()``) or a list
        of devices; each worker holds its own copy of the parameters on its device. Every
        bucket is compiled here, before the first request. ``max_queue`` requests may
        wait (more are refused with ``Overloaded``); ``timeout`` is the default deadline
        of a request in seconds (``None``: no deadline).

        >>> import numpy as np
        >>> server = Serving(lambda x: x + 1, example=np.zeros(())).start(max_queue=8)
        >>> float(server.predict(1.0)), server.max_queue
        (2.0, 8)
        >>> server.stop()
        """
        import jax

        from kino.serving.server import Server

        func = "Serving.start"
        max_queue = check_int(max_queue, func=func, argument="max_queue", min=1)
        timeout = check_number(timeout, func=func, argument="timeout", min=0, allow_none=True)
        available = jax.devices()
        if isinstance(partitions, Sequence) and not isinstance(partitions, str):
            devices = list(partitions)
            if not devices or not all(isinstance(d, jax.Device) for d in devices):
                fail(func, "partitions", "an int or a non-empty list of jax devices", partitions)
        else:
            count = check_int(
                partitions, func=func, argument="partitions", min=1, max=len(available)
            )
            devices = available[:count]
        programs = [self.program(device) for device in devices]
        return Server(self, programs, max_queue=max_queue, timeout=timeout)

    def __getstate__(self) -> dict[str, Any]:
        """Pickled without its compiled programs (a Ray replica compiles its own).

        >>> import pickle, numpy as np
        >>> copy = pickle.loads(pickle.dumps(Serving(abs, example=np.zeros(2))))
        >>> copy.signature.describe(), copy._programs
        ('a row of shape (2,) float64', {})
        """
        state = dict(self.__dict__)
        state["_programs"] = {}
        del state["_lock"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        shape = self._signature.describe() if self._signature else "no signature yet"
        return (
            f"<kino.serving.Serving {getattr(self.fn, '__name__', type(self.fn).__name__)}: "
            f"batch_size={self.batch_size}, batch_timeout={self.batch_timeout}, {shape}>"
        )
