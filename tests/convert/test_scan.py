"""Inputs that do not fit together get clear errors, and the target stays unchanged."""

from __future__ import annotations

import os

import numpy as np
import pytest

from tests.convert.inputs import make_dataset, write_inputs
from zarrlake.convert import run
from zarrlake.convert._config import ConvertConfig
from zarrlake.convert._inputs import expand_inputs
from zarrlake.convert._scan import scan_inputs
from zarrlake.errors import InvalidInputError, NotFoundError


def _convert_fails(paths, target, match):
    with pytest.raises(InvalidInputError, match=match) as info:
        run(paths, target, workers=1)
    assert not os.path.exists(target), "a failed scan must not create the target"
    return info.value


def test_missing_variable_names_the_file(tmp_path):
    paths = write_inputs(tmp_path, 2, 3)
    odd = tmp_path / "odd.nc"
    make_dataset("2020-01-07", 3, variables=("t2m",)).to_netcdf(odd)
    error = _convert_fails([*paths, str(odd)], str(tmp_path / "out.zarr"), "lacks 'tp'")
    assert error.subject == str(odd)


def test_different_grid_names_the_coordinate(tmp_path):
    paths = write_inputs(tmp_path, 2, 3)
    odd = tmp_path / "odd.nc"
    ds = make_dataset("2020-01-07", 3)
    ds = ds.assign_coords(lat=ds.lat + 0.5)
    ds.to_netcdf(odd)
    _convert_fails([*paths, str(odd)], str(tmp_path / "out.zarr"), "coordinate 'lat' .*odd.nc")


def test_different_grid_size(tmp_path):
    paths = write_inputs(tmp_path, 2, 3)
    odd = tmp_path / "odd.nc"
    make_dataset("2020-01-07", 3, lat=7).to_netcdf(odd)
    _convert_fails([*paths, str(odd)], str(tmp_path / "out.zarr"), "different grid")


def test_overlapping_files_name_both(tmp_path):
    paths = write_inputs(tmp_path, 2, 3)
    odd = tmp_path / "odd.nc"
    make_dataset("2020-01-03", 3).to_netcdf(odd)  # overlaps in_000 on 2020-01-03
    error = _convert_fails([*paths, str(odd)], str(tmp_path / "out.zarr"), "2020-01-03")
    assert "in_000.nc" in str(error) and "odd.nc" in str(error)


def test_duplicate_times_within_a_file(tmp_path):
    ds = make_dataset("2020-01-01", 3)
    ds = ds.assign_coords(time=[ds.time.values[0]] * 3)
    path = tmp_path / "dup.nc"
    ds.to_netcdf(path)
    _convert_fails([str(path)], str(tmp_path / "out.zarr"), "twice in .*dup.nc")


def test_another_calendar(tmp_path):
    paths = write_inputs(tmp_path, 2, 3)
    odd = tmp_path / "odd.nc"
    make_dataset("2020-01-07", 3, calendar="noleap").to_netcdf(odd)
    _convert_fails([*paths, str(odd)], str(tmp_path / "out.zarr"), "calendar 'noleap'")


def test_one_calendar_other_than_standard_converts(tmp_path):
    paths = write_inputs(tmp_path, 3, 4, calendar="noleap", start="2021-02-25")
    result = run(paths, str(tmp_path / "out.zarr"), workers=1)
    assert result.report.valid, result.report.errors()()
    assert result.plan.axis.size == 12  # no 29 February in noleap


def test_missing_concat_dim(tmp_path):
    path = tmp_path / "flat.nc"
    make_dataset("2020-01-01", 2).isel(time=0).to_netcdf(path)
    _convert_fails([str(path)], str(tmp_path / "out.zarr"), "no dimension 'time'")


def test_corrupt_file_is_named(tmp_path):
    bad = tmp_path / "bad.nc"
    bad.write_bytes(b"CDF\x01 this is not a netcdf file")
    with pytest.raises(InvalidInputError, match="bad.nc cannot be read"):
        scan_inputs([str(bad)], ConvertConfig(retries=0))


def test_glob_matching_nothing(tmp_path):
    with pytest.raises(NotFoundError, match="no input file matches"):
        expand_inputs(str(tmp_path / "*.nc"))


def test_include_and_exclude(tmp_path):
    paths = write_inputs(tmp_path, 2, 3)
    scanned = scan_inputs(paths, ConvertConfig(exclude=["tp"]))
    assert list(scanned.variables) == ["t2m"]
    with pytest.raises(InvalidInputError, match="no variable 'nope'"):
        scan_inputs(paths, ConvertConfig(include=["nope"]))


def test_scan_reads_no_data_variables(tmp_path):
    paths = write_inputs(tmp_path, 2, 3)
    result = scan_inputs(paths, ConvertConfig())
    assert [f.path for f in result.files] == paths
    assert np.array_equal(result.labels, np.concatenate([f.labels for f in result.files]))
    assert result.input_bytes == sum(os.path.getsize(p) for p in paths)
