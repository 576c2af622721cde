"""CMOR-style CF series in every calendar and step, appended slice by slice, exactly.

Each file is one slice; the archive must read back equal to ``xr.open_mfdataset`` of
the files: every variable (bounds, scalar coordinates, packed int16, 1e20 fill values)
bit for bit, time labels equal in every calendar, attributes and encodings kept.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from tests.cfdata import CALENDARS, STEPS, differences, write_series
from zarrlake.append import append
from zarrlake.errors import InvalidInputError

CASES = [(calendar, step) for calendar in CALENDARS for step in STEPS]


@pytest.mark.parametrize(("calendar", "step"), CASES)
def test_append_slice_by_slice_is_exact(tmp_path: Path, calendar: str, step: str) -> None:
    files = write_series(tmp_path / "in", calendar, step, 3, 2)
    target = str(tmp_path / "out.zarr")
    for path in files:  # one run per slice, as a daily job does
        append([path], target)
    assert differences(target, files) == []


@pytest.mark.parametrize("calendar", ["noleap", "360_day", "all_leap", "julian", "standard"])
def test_sub_daily_slices_keep_their_hours(tmp_path: Path, calendar: str) -> None:
    """Four one-step 6-hourly slices read back at 00/06/12/18 h, not on four days."""
    times = xr.date_range("2000-01-01", periods=4, freq="6h", calendar=calendar, use_cftime=True)
    slices = [
        xr.Dataset(
            {"v": (("time", "x"), np.full((1, 2), i, "f4"))},
            coords={"time": times[i : i + 1], "x": [0, 1]},
        )
        for i in range(4)
    ]
    target = str(tmp_path / "out.zarr")
    append(slices, target, append_step="6h")
    coder = xr.coders.CFDatetimeCoder(use_cftime=True)
    with xr.open_zarr(target, decode_times=coder) as stored:
        assert [t.hour for t in stored.time.values] == [0, 6, 12, 18]
        assert {t.day for t in stored.time.values} == {1}


@pytest.mark.parametrize("calendar", ["noleap", "360_day", "standard"])
def test_a_label_the_units_cannot_hold_is_refused(tmp_path: Path, calendar: str) -> None:
    """A daily archive stored as integer days refuses a 12:00 slice (it would round)."""
    days = xr.date_range("2000-01-01", periods=2, freq="D", calendar=calendar, use_cftime=True)
    first = xr.Dataset({"v": (("time",), np.zeros(2, "f4"))}, coords={"time": days})
    first.time.encoding = {"units": "days since 2000-01-01", "calendar": calendar, "dtype": "int32"}
    target = str(tmp_path / "out.zarr")
    append([first], target, append_step="1D")
    cftime = calendar != "standard"  # standard times decode to datetime64
    noon = xr.date_range("2000-01-03 12:00", periods=1, calendar=calendar, use_cftime=cftime)
    late = xr.Dataset({"v": (("time",), np.ones(1, "f4"))}, coords={"time": noon})
    with pytest.raises(InvalidInputError, match="cannot be stored exactly as int32 'days since"):
        append([late], target)
    with xr.open_zarr(target, decode_times=False) as stored:
        assert stored.time.values.tolist() == [0, 1]


def _floats(i: int, values: np.ndarray) -> xr.Dataset:
    return xr.Dataset(
        {"v": (("time", "x"), values.reshape(1, -1))},
        coords={"time": [np.datetime64("2000-01-01", "ns") + np.timedelta64(i, "D")], "x": [0, 1]},
    )


def test_lossy_casts_are_refused_unless_a_dtype_is_named(tmp_path: Path) -> None:
    target = str(tmp_path / "out.zarr")
    append([_floats(0, np.array([1.5, 2.0], "f4"))], target)
    exact = np.array([0.25, 4.0], "f8")  # float64 values float32 holds exactly: no loss
    append([_floats(1, exact)], target)
    lossy = np.array([0.1, 1e-50], "f8")
    with pytest.raises(
        InvalidInputError,
        match="'v' of dtype float64 cannot be stored as the target's float32 without loss",
    ):
        append([_floats(2, lossy)], target)
    big = xr.Dataset(
        {"v": (("time", "x"), np.array([[16_777_217, 1]], "i4"))},
        coords={"time": [np.datetime64("2000-01-03", "ns")], "x": [0, 1]},
    )
    with pytest.raises(InvalidInputError, match="int32 cannot be stored as the target's float32"):
        append([big], target)
    append([_floats(2, lossy)], target, variables={"v": {"encoding": {"dtype": "float32"}}})
    with xr.open_zarr(target) as stored:
        assert stored.sizes["time"] == 3
        assert stored.v.values[2, 0] == np.float32(0.1)
