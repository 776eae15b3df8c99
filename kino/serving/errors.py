"""What a caller of a server gets when its request is not answered with a result.

Each is raised at the caller (``predict``) or set on its future (``apredict``),
never swallowed: every accepted request gets exactly one answer.

>>> raise Overloaded("kino.serving: the queue is full (64 waiting); try again later")
Traceback (most recent call last):
...
kino.serving.errors.Overloaded: kino.serving: the queue is full (64 waiting); try again later
"""

from __future__ import annotations


class Overloaded(RuntimeError):
    """The server's queue is full: the request was refused at once, never queued.

    >>> issubclass(Overloaded, RuntimeError)
    True
    """


class DeadlineExceeded(TimeoutError):
    """The request's deadline passed before its answer was ready (it names the deadline).

    >>> isinstance(DeadlineExceeded("deadline of 0.5 s passed"), TimeoutError)
    True
    """


class ServerStopped(RuntimeError):
    """The server was stopped: it refused the request, or rejected it from its queue.

    >>> str(ServerStopped("kino.serving: the server is stopped"))
    'kino.serving: the server is stopped'
    """


class InvalidInput(ValueError):
    """A request does not fit the serving's signature (or its pre-processing refused it).

    >>> issubclass(InvalidInput, ValueError)
    True
    """
