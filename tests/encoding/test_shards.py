"""Shard planning: whole chunks, bounded size, space before the growing series dim."""

from __future__ import annotations

import math

import pytest

from zarrlake.encoding import plan_shards, resolve_shards, step_selection
from zarrlake.errors import InvalidInputError

MIB = 2**20


def test_planned_shards_are_whole_chunks_within_the_target():
    shape, chunks = (3650, 721, 1440), (30, 90, 180)
    shards = plan_shards(shape, chunks, 4, series_axis=0, target_shard_bytes=128 * MIB)
    assert shards is not None
    assert all(s % c == 0 for s, c in zip(shards, chunks, strict=True))
    assert math.prod(shards) * 4 <= 128 * MIB
    # more than half the target is used: the object count really falls
    assert math.prod(shards) * 4 > 64 * MIB


def test_space_grows_before_the_series_dim():
    # chunks of 400,000 bytes; a map of 4 x 4 chunks (6.4 MB) fits the target: shards take
    # whole maps, and time what is left: 32 MiB // 6.4 MB = 5 chunks
    shards = plan_shards(
        (1000, 400, 400), (10, 100, 100), 4, series_axis=0, target_shard_bytes=32 * MIB
    )
    assert shards == (50, 400, 400)
    smaller = plan_shards(
        (1000, 400, 400), (10, 100, 100), 4, series_axis=0, target_shard_bytes=MIB
    )
    assert smaller == (10, 200, 100)  # space only, and never past the target


def test_series_dim_takes_what_space_cannot():
    shards = plan_shards((100_000, 10, 10), (10, 10, 10), 4, series_axis=0, target_shard_bytes=MIB)
    assert shards == (10 * (MIB // (10 * 10 * 10 * 4)), 10, 10)


def test_large_chunks_are_not_sharded():
    assert plan_shards((100, 721, 1440), (30, 721, 1440), 4, series_axis=0) is None
    # an array of one chunk has nothing to group
    assert plan_shards((10, 10), (10, 10), 4, target_shard_bytes=MIB) is None


def test_factors_never_exceed_the_chunk_count():
    shards = plan_shards((25, 25), (10, 10), 1, target_shard_bytes=MIB)
    assert shards == (30, 30)


def test_configured_shards_must_be_multiples_of_the_chunk():
    with pytest.raises(
        InvalidInputError, match=r"shard size 50 along 'lat' is not a multiple"
    ) as info:
        resolve_shards(("time", "lat"), (10, 20), {"lat": 50}, zarr_format=3, where="shards")
    assert info.value.subject == "shards.lat"
    assert "40 or 60" in (info.value.hint or "")
    assert resolve_shards(("time", "lat"), (10, 20), {"time": 40}, zarr_format=3, where="s") == (
        40,
        20,
    )
    assert resolve_shards(("time", "lat"), (10, 20), {"time": 10}, zarr_format=3, where="s") is None


def test_format_2_has_no_shards():
    with pytest.raises(InvalidInputError, match="Zarr format 3"):
        resolve_shards(("time",), (10,), {"time": 40}, zarr_format=2, where="shards")


def test_runs_of_steps_read_as_slices():
    import numpy as np

    assert step_selection(np.array([4, 5, 6])) == slice(4, 7)
    assert step_selection([0]) == slice(0, 1)
    gaps = np.array([1, 3])
    assert step_selection(gaps) is gaps
    backwards = np.array([3, 2])
    assert step_selection(backwards) is backwards
