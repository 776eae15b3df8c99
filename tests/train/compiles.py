"""Counting XLA compilations (and Python traces) in the kino.train tests.

Counts are taken over a window that starts after the run compiled what it needs, so a
test gives the same answer whichever tests ran before it in the process (the program
cache is shared by every test: an absolute count of cached programs is not).
"""

import contextlib

from jax._src import monitoring

COMPILE_EVENT = "/jax/core/compile/backend_compile_duration"
TRACE_EVENT = "/jax/core/compile/jaxpr_trace_duration"


@contextlib.contextmanager
def compilations(watched=COMPILE_EVENT):
    """Count XLA compilations inside the block: ``with compilations() as n: ...; n[0]``.

    ``watched=TRACE_EVENT`` counts Python traces instead (jit, eval_shape)."""
    count = [0]

    def listen(event, duration, **kw):
        if event == watched:
            count[0] += 1

    monitoring.register_event_duration_secs_listener(listen)
    try:
        yield count
    finally:
        monitoring.unregister_event_duration_listener(listen)


def after_first_epoch(loop, watched=COMPILE_EVENT) -> tuple[list, contextlib.ExitStack]:
    """Attach a handler that starts counting when epoch 2 starts.

    Returns ``(counts, stack)``: run the loop inside ``with stack:``; ``counts`` gets one
    counter (a one-element list) when epoch 2 starts. Whatever the run needs was compiled
    in epoch 1 (or earlier, by another test), so any count here is the run's own
    recompilation.
    """
    counts: list = []
    stack = contextlib.ExitStack()

    def second_epoch(s):
        if s.epoch == 2:
            counts.append(stack.enter_context(compilations(watched)))

    loop.handle("epoch_started", second_epoch)
    return counts, stack
