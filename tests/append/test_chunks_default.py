"""Default chunks of a new append target: the append coordinate is not one value per step."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import xarray as xr
import zarr

from tests.append.slices import make_slice
from zarrlake.append import append
from zarrlake.append._config import load_append_config
from zarrlake.append._encoding import creation_encoding


def _encoding(ds: xr.Dataset, **config: object) -> dict[str, dict]:
    encodings, _, _ = creation_encoding(ds, load_append_config(config), 3)
    return encodings


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_one_step_slices_do_not_chunk_time_by_one(tmp_path: Path, zarr_format: int) -> None:
    target = str(tmp_path / "archive.zarr")
    append([make_slice(i) for i in range(5)], target, zarr_format=zarr_format)
    group = zarr.open_group(target, mode="r")
    assert group["time"].chunks == (1024,)
    assert group["temp"].chunks == (1, 5, 6)  # data variables: one slice per chunk, as before
    ds = xr.open_zarr(target)
    assert ds.sizes["time"] == 5
    expected = np.datetime64("2026-01-01T00", "ns") + np.arange(5) * np.timedelta64(1, "h")
    np.testing.assert_array_equal(ds["time"].values, expected)
    np.testing.assert_array_equal(ds["temp"].values[:, 0, 0], np.arange(5) * 100)


def test_chunk_is_a_multiple_of_the_slice_length() -> None:
    chunks = _encoding(make_slice(0, steps=24))
    assert chunks["time"]["chunks"] == (1032,)  # 43 slices of 24 steps
    assert chunks["temp"]["chunks"] == (24, 5, 6)
    assert _encoding(make_slice(0, steps=2000))["time"]["chunks"] == (2000,)


def test_other_coordinates_and_per_step_variables() -> None:
    ds = make_slice(0).assign(count=("time", np.array([3], dtype="int32")))
    chunks = _encoding(ds)
    assert chunks["x"]["chunks"] == (6,) and chunks["y"]["chunks"] == (5,)  # whole dims
    assert chunks["count"]["chunks"] == (1024,)  # 1-D along the append dim too
    other = _encoding(make_slice(0).rename(time="step"), append_dim="step")
    assert other["step"]["chunks"] == (1024,)


def test_configured_chunks_win() -> None:
    config = {"variables": {"time": {"encoding": {"chunks": [1]}}}}
    assert _encoding(make_slice(0), **config)["time"]["chunks"] == (1,)
    config = {"variables": {"time": {"encoding": {"chunks": None}}}}
    assert _encoding(make_slice(0, steps=3), **config)["time"]["chunks"] == (3,)
    # '*' chunks of another rank do not reach the 1-D coordinate: it takes the default
    config = {"variables": {"*": {"encoding": {"chunks": [2, None, None]}}}}
    chunks = _encoding(make_slice(0, steps=2), **config)
    assert chunks["temp"]["chunks"] == (2, 5, 6)
    assert chunks["time"]["chunks"] == (1024,)
