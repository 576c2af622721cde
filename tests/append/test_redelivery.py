"""Re-delivered slices are compared with what is stored; gaps in a regular axis are said.

A slice whose labels are all in the target is skipped only when its values are what is
stored (packed variables by their codes); other values are an error naming the labels
and the difference, or with ``on_existing: replace`` a transactional replacement of
those steps. Structure is checked for every slice, re-delivered or not.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from tests.append.slices import make_slice
from tests.cfdata import write_series
from tests.txn.helpers import snapshot
from zarrlake.append import append
from zarrlake.errors import InvalidInputError
from zarrlake.storage import open_store


def test_an_identical_slice_is_skipped(tmp_path: Path) -> None:
    target = str(tmp_path / "a.zarr")
    append([make_slice(0), make_slice(1)], target)
    result = append([make_slice(1)], target)
    assert [r.status for r in result.slices] == ["skipped"]
    assert "same values" in result.slices[0].reason


def test_different_values_are_an_error_and_change_nothing(tmp_path: Path) -> None:
    target = str(tmp_path / "a.zarr")
    append([make_slice(0), make_slice(1)], target)
    before = snapshot(open_store(target, mode="r"), private=True)
    changed = make_slice(1)
    changed["temp"] = changed.temp + 0.5
    with pytest.raises(
        InvalidInputError,
        match=r"already in the target with other values: 'temp': 30 of 30 value\(s\) differ "
        r"\(largest difference 0.5\)",
    ):
        append([changed], target)
    assert snapshot(open_store(target, mode="r"), private=True) == before


def test_replace_rewrites_those_steps_in_one_transaction(tmp_path: Path) -> None:
    target = str(tmp_path / "a.zarr")
    append([make_slice(i) for i in range(3)], target)
    changed = make_slice(1)
    changed["temp"] = changed.temp * 0 - 1
    result = append([changed], target, on_existing="replace")
    assert [r.status for r in result.slices] == ["replaced"]
    assert result.replaced == 1
    with xr.open_zarr(target) as stored:
        assert stored.sizes["time"] == 3
        assert (stored.temp.isel(time=1).values == -1).all()
        np.testing.assert_array_equal(stored.temp.isel(time=2).values, make_slice(2).temp[0])


def test_a_re_delivered_slice_with_another_grid_is_an_error(tmp_path: Path) -> None:
    target = str(tmp_path / "a.zarr")
    append([make_slice(0)], target)
    other = make_slice(0).assign_coords(x=make_slice(0).x + 100)
    with pytest.raises(InvalidInputError, match="coordinate 'x' differs"):
        append([other], target)


def test_packed_cmor_files_re_delivered_are_skipped(tmp_path: Path) -> None:
    files = write_series(tmp_path / "in", "360_day", "1D", 2, 2)
    target = str(tmp_path / "a.zarr")
    append(files, target)
    again = append(files, target)
    assert [r.status for r in again.slices] == ["skipped", "skipped"]


def test_same_labels_other_data_is_not_silently_dropped(tmp_path: Path) -> None:
    """Files whose time labels repeat (NEMO's time_counter = 0) are refused, not skipped."""
    target = str(tmp_path / "a.zarr")
    append([make_slice(0)], target)
    second = make_slice(5).assign_coords(time=make_slice(0).time)
    with pytest.raises(InvalidInputError, match="other values"):
        append([second], target)


def test_a_gap_in_a_regular_axis_is_a_warning(tmp_path: Path) -> None:
    target = str(tmp_path / "a.zarr")
    result = append([make_slice(0), make_slice(1), make_slice(2), make_slice(5)], target)
    assert [r.warning for r in result.slices[:3]] == ["", "", ""]
    assert result.slices[3].warning == (
        "leaves a gap in 'time': the target's step is 1 hour, so the next label would be "
        "2026-01-01T03:00, but the slice starts at 2026-01-01T05:00"
    )
    assert result.slices[3].status == "appended"


def test_a_gap_with_append_step_is_an_error_in_units_people_read(tmp_path: Path) -> None:
    target = str(tmp_path / "a.zarr")
    append([make_slice(0)], target, append_step="1h")
    with pytest.raises(InvalidInputError, match="must be 1 hour; found 3 hours"):
        append([make_slice(3)], target, append_step="1h")


def test_values_equal_to_the_fill_value_are_stored(tmp_path: Path) -> None:
    """A time axis starting at its reference (0) and an all-zero slice are written chunks."""
    from zarrlake.meta._info import inspect_store

    target = str(tmp_path / "a.zarr")
    zeros = xr.Dataset(
        {"v": (("time",), np.zeros(1, "f4"))},
        coords={"time": [np.datetime64("2000-01-01", "ns")]},
    )
    zeros.v.encoding["_FillValue"] = np.float32(0)
    append([zeros], target)
    info = inspect_store(target)
    written = {c.path: (c.chunks_written, c.chunks_total) for c in info.root.children}
    assert written == {"time": (1, 1), "v": (1, 1)}


def test_packed_values_that_changed_are_an_error(tmp_path: Path) -> None:
    files = write_series(tmp_path / "in", "noleap", "1D", 1, 2)
    target = str(tmp_path / "a.zarr")
    append(files, target)
    coder = xr.coders.CFDatetimeCoder(use_cftime=True)
    with xr.open_dataset(files[0], decode_times=coder) as source:
        changed = source.load()
    changed["psl"] = changed.psl + 10.0  # 40 codes of 0.25 Pa
    with pytest.raises(InvalidInputError, match="'psl': 46 of 48 value"):
        append([changed], target)
