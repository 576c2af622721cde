"""CMOR-style CF series in every calendar and step, converted exactly.

For each calendar x step: ``convert run``, and ``create-template`` + parallel
``write-region`` (zarrio's workflow, in two processes), must read back equal to
``xr.open_mfdataset`` of the inputs: every variable (bounds, scalar coordinates,
packed int16, 1e20 fill values) bit for bit, time labels equal, attributes and CF
encodings kept.
"""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from tests.cfdata import (
    CALENDARS,
    STEPS,
    differences,
    open_inputs,
    time_cells,
    units_for,
    write_series,
)
from zarrlake.compat.zarrio import ZarrConverter
from zarrlake.convert import plan, run

CASES = [(calendar, step) for calendar in CALENDARS for step in STEPS]


@pytest.mark.parametrize(("calendar", "step"), CASES)
def test_convert_run_is_exact(tmp_path: Path, calendar: str, step: str) -> None:
    files = write_series(tmp_path / "in", calendar, step, 3, 4)
    result = run(files, str(tmp_path / "out.zarr"), workers=1)
    assert result.report.valid, result.report.issues
    assert differences(str(tmp_path / "out.zarr"), files) == []


def _write_region(args: tuple[str, str]) -> int:
    return ZarrConverter().write_region(*args).steps


@pytest.mark.parametrize(("calendar", "step"), CASES)
def test_template_and_parallel_regions_are_exact(tmp_path: Path, calendar: str, step: str) -> None:
    files = write_series(tmp_path / "in", calendar, step, 3, 4)
    target = str(tmp_path / "out.zarr")
    converter = ZarrConverter(chunking={"time": 2})  # files share no chunk with 4 steps
    if step == "1M":  # mid-month labels: no freq describes them; the union of the files
        converter.create_template(files, target)
    else:
        with xr.open_dataset(
            files[-1], decode_times=xr.coders.CFDatetimeCoder(use_cftime=True)
        ) as last:
            end = last.time.values[-1].isoformat()
        with xr.open_dataset(
            files[0], decode_times=xr.coders.CFDatetimeCoder(use_cftime=True)
        ) as first:
            start = first.time.values[0].isoformat()
        converter.create_template(
            files[1], target, global_start=start, global_end=end, freq={"1D": "D"}.get(step, step)
        )
    with multiprocessing.get_context("fork").Pool(2) as pool:
        assert sum(pool.map(_write_region, [(f, target) for f in files])) == 12
    assert differences(target, files) == []


def test_cmor_units_and_fill_values_are_kept(tmp_path: Path) -> None:
    files = write_series(tmp_path / "in", "noleap", "1D", 2, 3)
    run(files, str(tmp_path / "out.zarr"), workers=1)
    stored = xr.open_zarr(str(tmp_path / "out.zarr"), decode_times=False)
    assert stored.time.attrs["units"] == units_for("1D") == "days since 1850-01-01"
    assert stored.time.attrs["calendar"] == "noleap"
    assert stored.time.dtype == np.float64
    expected, _ = time_cells("noleap", "1D", 0, 6, units=units_for("1D"))
    np.testing.assert_array_equal(stored.time.values, expected)  # 54750.5, ...
    assert stored.tas.encoding["_FillValue"] == np.float32(1e20)
    assert stored.tas.encoding["missing_value"] == np.float32(1e20)
    assert stored.psl.encoding["dtype"] == np.int16
    assert stored.psl.encoding["scale_factor"] == 0.25
    assert float(stored.height) == 2.0


def test_excluded_bounds_leave_no_dangling_attribute(tmp_path: Path) -> None:
    files = write_series(tmp_path / "in", "360_day", "1D", 2, 3)
    result = plan(files, exclude=["time_bnds"])
    assert "bounds" not in result.axis_attrs
    assert any("time_bnds" in note for note in result.notes)
    run(files, str(tmp_path / "out.zarr"), {"exclude": ["time_bnds"]}, workers=1)
    with xr.open_zarr(str(tmp_path / "out.zarr"), decode_times=False) as stored:
        assert "time_bnds" not in stored.variables
        assert "bounds" not in stored.time.attrs


def test_include_keeps_coordinates_and_bounds(tmp_path: Path) -> None:
    files = write_series(tmp_path / "in", "noleap", "6h", 2, 3)
    result = plan(files, include=["tas"])
    assert set(result.variables) == {"tas", "time_bnds", "lat_bnds", "lon_bnds", "height"}


def test_unpack_on_request(tmp_path: Path) -> None:
    files = write_series(tmp_path / "in", "standard", "1D", 2, 3)
    run(files, str(tmp_path / "out.zarr"), {"unpack": ["psl"]}, workers=1)
    with xr.open_zarr(str(tmp_path / "out.zarr")) as stored, open_inputs(files) as src:
        assert stored.psl.encoding["dtype"] == np.float64
        assert "scale_factor" not in stored.psl.encoding
        np.testing.assert_array_equal(stored.psl.values, src.psl.values)
