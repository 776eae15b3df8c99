"""Fixtures of the serving tests: a small model spec and a server that is always stopped."""

from __future__ import annotations

import numpy as np
import pytest

from tests.serving.stress import Held


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "ray: starts a real local Ray instance and Ray Serve (slow, few tests)"
    )


def linear(x):
    """A row-wise function whose answer names its row: y = 3x + 1 (float32)."""
    return x * 3.0 + 1.0


@pytest.fixture
def servers():
    """Collects servers started by a test and stops each at the end (without draining)."""
    started = []
    yield started
    for server in started:
        server.stop(drain=False)


@pytest.fixture
def spec():
    from kino.serving import Serving

    return Serving(linear, batch_size=8, batch_timeout=0.002, example=np.zeros(2, np.float32))


@pytest.fixture
def held():
    """Make held servers (``held(**start)``); each is released and stopped at the end."""
    made = []

    def make(**start):
        made.append(Held(**start))
        return made[-1]

    yield make
    for h in made:
        h.release()
        h.server.stop(drain=False)
