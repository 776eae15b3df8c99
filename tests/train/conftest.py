"""Fixtures of the kino.train tests."""

import pytest

from tests.train.tiny import blobs


@pytest.fixture
def data():
    return blobs()


@pytest.fixture
def val_data():
    return blobs(24, seed=1)
