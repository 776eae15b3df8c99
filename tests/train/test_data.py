import jax.numpy as jnp
import numpy as np
import polars as pl
import pytest

from kino import train
from kino.train.data import HostSource
from kino.train.feed import source
from kino.train.resident import DeviceSource
from kino.train.sharding import Placement
from kino.train.steps import Program


def test_batches_cover_every_example_once_per_epoch_and_reshuffle():
    x = np.arange(10, dtype="float32")[:, None]
    b = train.batches(x, np.arange(10), batch_size=4, seed=3)
    assert len(b) == 3
    seen = np.concatenate([yb for _, yb in b])
    assert sorted(seen) == list(range(10))
    assert not np.array_equal(b.order(1), b.order(2))
    np.testing.assert_array_equal(b.order(2), train.batches(x, np.arange(10), seed=3).order(2))
    assert [len(yb) for _, yb in train.batches(x, np.arange(10), 4, drop_remainder=True)] == [4, 4]


def test_a_short_resident_batch_repeats_its_rows_with_weight_zero():
    program = Program(None, None, None, [], None, None, Placement())
    x = jnp.arange(20.0).reshape(10, 2)
    y = jnp.arange(10)
    order = jnp.asarray([3, 1, 4, 0, 5, 9, 2, 6, 8, 7])
    xb, yb, w = program._draw(x, y, order, 2, batch=4, width=6)  # the third batch: 2 rows
    np.testing.assert_array_equal(yb, [8, 7, 8, 7, 8, 7])
    np.testing.assert_array_equal(xb[:, 0], [16, 14, 16, 14, 16, 14])
    np.testing.assert_array_equal(w, [1, 1, 0, 0, 0, 0])
    _, yb, w = program._draw(x, y, order, 0, batch=4, width=6)
    np.testing.assert_array_equal(yb, [3, 1, 4, 0, 3, 1])
    np.testing.assert_array_equal(w, [1, 1, 1, 1, 0, 0])


def test_polars_and_jax_inputs():
    df = pl.DataFrame({"a": [1.0, 2.0, 3.0], "b": [4.0, 5.0, 6.0]})
    b = train.batches(df, pl.Series([0, 1, 0]), batch_size=2, shuffle=False)
    xb, yb = next(iter(b))
    np.testing.assert_array_equal(xb, [[1, 4], [2, 5]])
    np.testing.assert_array_equal(yb, [0, 1])
    b = train.batches(jnp.ones((5, 2)), jnp.zeros(5), batch_size=2)
    assert isinstance(source(b, Placement(), 1), DeviceSource)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        (
            {"batch_size": 0},
            ValueError,
            r"^train\.batches: 'batch_size' must be an int >= 1, got 0$",
        ),
        (
            {"batch_size": -3},
            ValueError,
            r"train\.batches: 'batch_size' must be an int >= 1, got -3",
        ),
        (
            {"batch_size": 2.5},
            TypeError,
            r"train\.batches: 'batch_size' must be an int >= 1, got 2\.5",
        ),
        ({"x": np.zeros((0, 2)), "y": np.zeros(0)}, ValueError, "data is empty"),
        ({"y": np.zeros(4)}, ValueError, "different numbers of examples"),
        ({"x": "abc"}, TypeError, r"train\.batches: 'x' must be a numpy/jax array.*got str: 'abc'"),
    ],
)
def test_bad_batches(kwargs, error, message):
    args = {"x": np.zeros((5, 2)), "y": np.zeros(5), "batch_size": 2} | kwargs
    with pytest.raises(error, match=message):
        train.batches(**args)


def test_iterables_of_batches_are_stacked_and_padded():
    batches = [
        (np.ones((3, 2)), np.ones(3)),
        (np.ones((3, 2)), np.ones(3)),
        (np.ones((2, 2)), np.ones(2)),
    ]
    src = source(batches, Placement(), 2)
    assert isinstance(src, HostSource)
    chunks = list(src.chunks(1, None, 2))
    assert [c.k for c in chunks] == [2, 1]
    np.testing.assert_array_equal(np.asarray(chunks[1].w), [[1, 1, 0]])


def test_empty_iterable_and_one_shot_iterator():
    with pytest.raises(ValueError, match="data is empty"):
        source([], Placement(), 1)
    gen = ((np.ones((2, 2)), np.ones(2)) for _ in range(3))
    with pytest.raises(TypeError, match="one-shot iterator"):
        source(gen, Placement(), 2)
    gen = ((np.ones((2, 2)), np.ones(2)) for _ in range(3))
    assert sum(c.k for c in source(gen, Placement(), 1).chunks(1, None, 8)) == 3
