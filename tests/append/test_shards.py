"""Appending to sharded arrays (Zarr format 3): each append rewrites the shards it touches."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
import zarr

from tests.append.slices import make_slice
from tests.conftest import StoreTarget
from tests.txn.helpers import snapshot
from zarrlake.append import append
from zarrlake.errors import InvalidInputError
from zarrlake.storage import open_store, run_sync
from zarrlake.storage.listing import alist_keys

SHARDED = {
    "*": {"encoding": {"chunks": [2, 5, 3], "shards": [6, 5, 6]}},
    "time": {"encoding": {"chunks": [4], "shards": [8]}},
}


def test_slices_land_in_shards_and_read_back_equal(store_target: StoreTarget) -> None:
    result = append(
        [make_slice(i) for i in range(14)],
        store_target.url,
        target_storage_options=store_target.storage_options,
        variables=SHARDED,
    )
    assert result.length == 14
    store = store_target.open("r")
    temp = zarr.open_array(store, path="temp", mode="r")
    assert temp.chunks == (2, 5, 3) and temp.shards == (6, 5, 6)
    assert zarr.open_array(store, path="time", mode="r").shards == (8,)
    # 14 steps in shards of 6: three objects, the whole of x in each
    keys = [k for k in run_sync(alist_keys(store, "temp")) if not k.endswith("zarr.json")]
    assert len(keys) == 3
    expected = make_slice(0, 14)
    np.testing.assert_array_equal(temp[:], expected["temp"].values)
    ds = xr.open_zarr(store, consolidated=True)
    np.testing.assert_array_equal(ds["temp"].values, expected["temp"].values)
    np.testing.assert_array_equal(ds["time"].values, expected["time"].values)
    assert ds["temp"].encoding["shards"] == (6, 5, 6)


def test_a_failed_append_leaves_the_sharded_target_unchanged(tmp_path) -> None:
    target = str(tmp_path / "out.zarr")
    append([make_slice(i) for i in range(4)], target, variables=SHARDED)
    before = snapshot(open_store(target, mode="r"))
    bad = make_slice(4).isel(x=slice(0, 4))  # a wrong grid: refused, shard 0 untouched
    with pytest.raises(InvalidInputError):
        append(bad, target)
    assert snapshot(open_store(target, mode="r")) == before


@pytest.mark.parametrize(
    ("shards", "match"),
    [
        ([5, 5, 6], r"shard size 5 along 'time' is not a multiple of its chunk \(2\)"),
        ([6, 5], r"shards \[6, 5\] has 2 entries for 3 dims"),
    ],
)
def test_bad_shards_are_refused_before_writing(tmp_path, shards, match) -> None:
    target = tmp_path / "out.zarr"
    with pytest.raises(InvalidInputError, match=match):
        append(
            make_slice(0),
            str(target),
            variables={"temp": {"encoding": {"chunks": [2, 5, 3], "shards": shards}}},
        )
    assert not target.exists()


def test_shards_need_format_3(tmp_path) -> None:
    with pytest.raises(InvalidInputError, match="Zarr format 3") as info:
        append(make_slice(0), str(tmp_path / "out.zarr"), zarr_format=2, variables=SHARDED)
    assert info.value.subject is not None and "shards" in info.value.subject
