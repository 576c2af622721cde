"""Region writes into a template: exact labels, explicit regions, packing ranges, verify."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from tests.convert.inputs import combined, make_dataset, write_inputs
from zarrlake.convert import ArchiveWriter, ReadOptions, verify
from zarrlake.convert._config import ConvertConfig
from zarrlake.convert._planner import build_plan
from zarrlake.convert._scan import scan_inputs
from zarrlake.convert._template import create_template_from_plan
from zarrlake.errors import InvalidInputError, NotFoundError, OutOfRangeError
from zarrlake.storage import open_store


def _template(tmp_path, paths, **config):
    settings = ConvertConfig(**{"chunks": {"time": 7}, **config})
    the_plan = build_plan(scan_inputs(paths, settings), settings)
    target = str(tmp_path / "out.zarr")
    create_template_from_plan(the_plan, open_store(target, mode="a"))
    return target


def _files(tmp_path, count=6, steps=5, **kwargs):
    return write_inputs(tmp_path / "in", count, steps, **kwargs)


def test_template_has_coordinates_and_no_data_chunks(tmp_path):
    paths = _files(tmp_path)
    target = _template(tmp_path, paths)
    root = tmp_path / "out.zarr"
    assert (root / "time" / "c").exists()
    assert not (root / "t2m" / "c").exists()
    ds = xr.open_zarr(target)
    assert ds.sizes["time"] == 30 and np.isnan(ds.t2m.values).all()


def test_files_in_any_order_fill_the_archive(tmp_path):
    paths = _files(tmp_path)
    target = _template(tmp_path, paths)
    writer = ArchiveWriter(target)
    for path in reversed(paths):
        stats = writer.write_file(path, ReadOptions())
        assert stats.steps == 5
    xr.testing.assert_equal(xr.open_zarr(target).t2m.load(), combined(paths).t2m)
    assert verify(target, paths, full=True).valid


@pytest.mark.parametrize("slab_bytes", [4 * 2**20, 1])
def test_a_chunk_from_several_files_is_read_in_slabs(tmp_path, monkeypatch, slab_bytes):
    import zarrlake.convert._blocks as blocks_module

    monkeypatch.setattr(blocks_module, "SLAB_BYTES", slab_bytes)  # 1: a step at a time
    paths = _files(tmp_path)  # 5-step files into 7-step chunks: most chunks span two
    target = str(tmp_path / "out.zarr")
    from zarrlake.convert import run

    result = run(paths, target, chunks={"time": 7}, workers=1)
    assert result.report is not None and result.report.valid, result.report.errors()
    xr.testing.assert_equal(xr.open_zarr(target).t2m.load(), combined(paths).t2m)
    assert verify(target, paths, full=True).valid


def test_label_not_on_the_grid_names_file_and_label(tmp_path):
    paths = _files(tmp_path, count=2)
    target = _template(tmp_path, paths)
    stray = tmp_path / "stray.nc"
    make_dataset("2021-06-01", 2).to_netcdf(stray)
    before = sorted(p.name for p in (tmp_path / "out.zarr" / "t2m").rglob("*"))
    with pytest.raises(InvalidInputError, match=r"label 2021-06-01.*stray.nc is not on"):
        ArchiveWriter(target).write_file(str(stray), ReadOptions())
    assert sorted(p.name for p in (tmp_path / "out.zarr" / "t2m").rglob("*")) == before


def test_explicit_region(tmp_path):
    paths = _files(tmp_path, count=2)
    target = _template(tmp_path, paths)
    writer = ArchiveWriter(target)
    writer.write_file(paths[1], ReadOptions(), region={"time": slice(0, 5)})
    out = xr.open_zarr(target)
    np.testing.assert_array_equal(out.t2m.values[:5], xr.open_dataset(paths[1]).t2m.values)
    with pytest.raises(InvalidInputError, match="covers 4 steps"):
        writer.write_file(paths[1], ReadOptions(), region={"time": slice(0, 4)})
    with pytest.raises(InvalidInputError, match="regions select steps"):
        writer.write_file(paths[1], ReadOptions(), region={"time": slice(0, 5), "lat": slice(0, 2)})


def test_value_outside_the_packing_range_names_file_and_variable(tmp_path):
    paths = _files(tmp_path, count=2)
    target = _template(tmp_path, paths, packing=True)
    hot = make_dataset("2020-01-06", 5, seed=1)
    hot["t2m"][2, 3, 4] = 400.0  # above valid_max 330
    hot_path = tmp_path / "hot.nc"
    hot.to_netcdf(hot_path)
    with pytest.raises(OutOfRangeError, match=r"'t2m' in .*hot.nc: 1 value"):
        ArchiveWriter(target).write_file(str(hot_path), ReadOptions())


def test_clip_policy_clips(tmp_path):
    paths = _files(tmp_path, count=2)
    target = _template(tmp_path, paths, packing={"t2m": {"out_of_range": "clip"}})
    hot = make_dataset("2020-01-06", 5, seed=1)
    hot["t2m"][2, 3, 4] = 400.0
    hot_path = tmp_path / "hot.nc"
    hot.to_netcdf(hot_path)
    ArchiveWriter(target).write_file(str(hot_path), ReadOptions())
    value = float(xr.open_zarr(target).t2m.values[7, 3, 4])
    assert abs(value - 330.0) < 0.01


def test_write_into_something_without_template(tmp_path):
    with pytest.raises(NotFoundError, match="no Zarr store"):
        ArchiveWriter(str(tmp_path / "nothing.zarr"))
    (tmp_path / "empty.zarr").mkdir()
    with pytest.raises(NotFoundError, match="create the template first"):
        ArchiveWriter(str(tmp_path / "empty.zarr"))


def test_verify_tells_a_missing_chunk_from_an_all_nan_one(tmp_path):
    paths = _files(tmp_path, count=2, steps=7)
    nan_file = tmp_path / "nan.nc"
    ds = make_dataset("2020-01-15", 7, seed=9)
    ds["t2m"][:] = np.nan
    ds.to_netcdf(nan_file)
    everything = [*paths, str(nan_file)]
    target = _template(tmp_path, everything)
    writer = ArchiveWriter(target)
    for path in everything:
        writer.write_file(path, ReadOptions())
    report = verify(target, everything, full=True)
    assert report.valid, report.errors  # the all-NaN chunk was written and is legitimate
    assert (tmp_path / "out.zarr" / "t2m" / "c" / "2" / "0" / "0").exists()
    (tmp_path / "out.zarr" / "t2m" / "c" / "1" / "0" / "0").unlink()
    broken = verify(target)
    assert not broken.valid
    assert [f.code for f in broken.errors()] == ["ZL201"]
    assert "(1, 0, 0)" in broken.errors()[0].message


def test_verify_finds_values_that_differ(tmp_path):
    paths = _files(tmp_path, count=2)
    target = _template(tmp_path, paths)
    writer = ArchiveWriter(target)
    for path in paths:
        writer.write_file(path, ReadOptions())
    group = __import__("zarr").open_group(target, mode="r+")
    group["tp"][6, 0, 0] = 0.123456
    report = verify(target, paths, full=True)
    assert "ZL204" in report.codes() and "tp" in str(report.errors()[0])
    assert verify(target).valid  # without inputs only structure is checked


def test_verify_reports_steps_never_written(tmp_path):
    paths = _files(tmp_path, count=3)
    target = _template(tmp_path, paths)
    ArchiveWriter(target).write_file(paths[0], ReadOptions())
    report = verify(target)
    assert report["written_steps"] == 5 and report["steps"] == 15
    messages = [f.message for f in report.errors() if f.code == "ZL200"]
    assert messages and "10 of 15" in messages[0]
