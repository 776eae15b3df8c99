"""One device's compiled shapes of a text task: batch rows x sequence length x packed tokens.

A text task's batch (int32 ``[rows, 2, longest bucket]``, ids over mask) runs in the
smallest compiled shape that holds it: the batch-size bucket, the smallest
sequence-length bucket that holds its longest text and, for a packed task
(:mod:`kino.models.packing`), the smallest token bucket that holds its tokens. The host
reads the mask, so the choice costs no work on the device.

Nothing compiles while a request waits. On creation (when a server starts) each batch
size is compiled at the longest length with every token, a shape that holds any batch.
A batch whose best shape is not compiled yet runs in the best compiled one, and its own
shape is queued for a background thread to compile; later batches of that shape use it.
:meth:`TextProgram.wait` blocks until the queue is empty (benchmarks, tests).

>>> import jax, numpy as np
>>> fn = lambda params, ids, mask, tokens: ids.sum(1) + 0 * mask.sum(1)
>>> program = TextProgram(fn, None, (1, 2), (2, 4), jax.devices()[0], packed=False)
>>> sorted(program.compiled)
[(1, 4, None), (2, 4, None)]
>>> batch = np.array([[[5, 6, 0, 0], [1, 1, 0, 0]]], np.int32)
>>> program.run([[batch]]).rows(0, 1)[0].tolist(), program.wait(), sorted(program.compiled)
(11, None, [(1, 2, None), (1, 4, None), (2, 4, None)])
"""

from __future__ import annotations

import atexit
import bisect
import contextlib
import threading
import weakref
from collections.abc import Callable, Sequence
from typing import Any

import jax
import numpy as np
from jax.sharding import SingleDeviceSharding

from kino.models.packing import token_buckets
from kino.serving.program import Outputs

#: The structure of an output that is one array.
_ONE = jax.tree.structure(0)

# Programs whose background compiles must end before the interpreter does: XLA aborts
# the process ("terminate called ...") when a daemon thread is still compiling at exit.
_PROGRAMS: weakref.WeakSet[TextProgram] = weakref.WeakSet()


@atexit.register
def _finish_background_compiles() -> None:
    for program in list(_PROGRAMS):
        program.drop_queued()
        program.wait()


#: A compiled shape: (batch rows, sequence length, packed tokens or None when unpacked).
Shape = tuple[int, int, "int | None"]


class TextProgram:
    """A text task's compiled shapes on one device, with its own copy of the parameters.

    ``fn(params, ids, mask, tokens)`` answers a ``[rows, length]`` batch; ``tokens`` is
    the static packed size (``None`` unless ``packed``).

    >>> import jax
    >>> p = TextProgram(lambda params, i, m, t: i, None, (4,), (8, 16), jax.devices()[0],
    ...                 packed=True)
    >>> sorted(p.compiled), p.shape_for(4, longest=5, tokens=9)
    ([(4, 16, 64)], (4, 8, 12))
    """

    def __init__(
        self,
        fn: Callable[[Any, Any, Any, int | None], Any],
        params: Any,
        sizes: Sequence[int],
        lengths: Sequence[int],
        device: jax.Device,
        *,
        packed: bool,
    ) -> None:
        self.device = device
        self.sizes = tuple(sizes)
        self.lengths = tuple(lengths)
        self.packed = packed
        self._sharding = SingleDeviceSharding(device)
        self.params = jax.device_put(params, device)
        self._jitted = jax.jit(fn, static_argnums=3)
        self.compiled: dict[Shape, Any] = {}
        self._queued: set[Shape] = set()  # every shape ever queued (a failed one stays)
        self._waiting: list[Shape] = []
        self._lock = threading.Condition()
        self._worker: threading.Thread | None = None
        _PROGRAMS.add(self)
        for size in self.sizes:
            longest = self.lengths[-1]
            self._compile((size, longest, size * longest if packed else None))

    def shape_for(self, rows: int, *, longest: int, tokens: int) -> Shape:
        """The smallest shape for a batch of ``rows`` rows, compiled or not.

        >>> import jax
        >>> p = TextProgram(lambda params, i, m, t: i, None, (2,), (8,), jax.devices()[0],
        ...                 packed=False)
        >>> p.shape_for(1, longest=3, tokens=3)
        (2, 8, None)
        """
        size = self.sizes[bisect.bisect_left(self.sizes, rows)]
        length = self.lengths[min(bisect.bisect_left(self.lengths, longest), len(self.lengths) - 1)]
        if not self.packed:
            return (size, length, None)
        steps = token_buckets(size, length)
        return (size, length, steps[min(bisect.bisect_left(steps, tokens), len(steps) - 1)])

    def _compile(self, shape: Shape) -> None:
        size, length, tokens = shape
        spec = jax.ShapeDtypeStruct((size, length), np.int32, sharding=self._sharding)
        compiled = self._jitted.lower(self.params, spec, spec, tokens).compile()
        with self._lock:
            self.compiled[shape] = compiled

    def _best_compiled(self, want: Shape, *, longest: int, tokens: int) -> Shape:
        size = want[0]
        with self._lock:
            if want in self.compiled:
                return want
            if want not in self._queued:
                self._queued.add(want)
                self._waiting.append(want)
                if self._worker is None:
                    self._worker = threading.Thread(
                        target=self._compile_queued, name="kino-models-compile", daemon=True
                    )
                    self._worker.start()
            fits = [
                s
                for s in self.compiled
                if s[0] == size and s[1] >= longest and (s[2] is None or s[2] >= tokens)
            ]
        return min(fits, key=lambda s: (s[1] * size if s[2] is None else s[2], s[1]))

    def _compile_queued(self) -> None:
        """The background thread: compile queued shapes, then end (a new one starts later)."""
        while True:
            with self._lock:
                if not self._waiting:
                    self._worker = None
                    self._lock.notify_all()
                    return
                shape = self._waiting.pop(0)
            with contextlib.suppress(Exception):  # its batches keep running in a larger shape
                self._compile(shape)

    def drop_queued(self) -> None:
        """Forget shapes queued but not yet compiling (their batches keep a larger shape)."""
        with self._lock:
            self._waiting.clear()

    def wait(self) -> None:
        """Block until every queued shape is compiled (or failed; larger shapes then serve)."""
        with self._lock:
            self._lock.wait_for(lambda: self._worker is None)

    def __call__(self, rows: Sequence[list[np.ndarray]]) -> list[Any]:
        """Run checked rows (each a list of one ``[2, length]`` array); one output per row."""
        return self.run([[np.stack([row[0] for row in rows])]]).rows(0, len(rows))

    def run(self, blocks: Sequence[Sequence[np.ndarray]]) -> Outputs:
        """Run blocks of rows (each a list of one ``[rows, 2, length]`` array) as one batch.

        Rows added to fill the batch bucket are all padding (mask 0): they hold no
        tokens, their answers are never read, and a fully masked row makes no NaN.
        """
        batch = np.concatenate([block[0] for block in blocks])
        n = len(batch)
        counts = batch[:, 1].sum(axis=1)
        longest, tokens = int(counts.max()), int(counts.sum())
        want = self.shape_for(n, longest=longest, tokens=tokens)
        size, length, packed = self._best_compiled(want, longest=longest, tokens=tokens)
        ids = np.zeros((size, length), np.int32)
        mask = np.zeros((size, length), np.int32)
        ids[:n] = batch[:, 0, :length]
        mask[:n] = batch[:, 1, :length]
        out = self.compiled[(size, length, packed)](self.params, ids, mask)
        if isinstance(out, jax.Array):
            return Outputs([np.asarray(out)], _ONE)
        leaves, treedef = jax.tree.flatten(out)
        return Outputs([np.asarray(leaf) for leaf in leaves], treedef)
