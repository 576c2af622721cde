"""convert.run end to end: values, encodings, resume, formats, stores."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from tests.conftest import StoreTarget
from tests.convert.inputs import combined, write_inputs
from tests.txn.helpers import delete_private
from zarrlake.convert import run, verify
from zarrlake.convert._writer import read_records
from zarrlake.meta import validate
from zarrlake.storage import open_store


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_values_round_trip_exactly_without_packing(tmp_path, zarr_format):
    paths = write_inputs(tmp_path / "in", 6, 5)
    target = str(tmp_path / "out.zarr")
    result = run(paths, target, chunks={"time": 7}, workers=1, zarr_format=zarr_format)
    assert result.units_written == result.units_total == 1
    assert result.report is not None and result.report.valid, result.report.errors()
    out = xr.open_zarr(target)
    expected = combined(paths)
    xr.testing.assert_equal(out.t2m.load(), expected.t2m)
    xr.testing.assert_equal(out.tp.load(), expected.tp)
    assert out.t2m.attrs["units"] == "K"
    assert out.t2m.encoding["chunks"] == (7, 6, 8)
    assert out.lat.attrs["units"] == "degrees_north"


def test_packing_round_trips_within_half_a_step(tmp_path):
    paths = write_inputs(tmp_path / "in", 4, 5)
    target = str(tmp_path / "out.zarr")
    result = run(paths, target, chunks={"time": 7}, workers=1, packing=True)
    assert result.report.valid
    out = xr.open_zarr(target)
    expected = combined(paths)
    for name, (low, high) in {"t2m": (200.0, 330.0), "tp": (0.0, 1.0)}.items():
        assert out[name].encoding["dtype"] == np.dtype("int16")
        half_step = (high - low) / (2**16 - 2) / 2
        error = float(np.abs(out[name].values - expected[name].values).max())
        assert 0 < error <= half_step * 1.001


def test_requested_compression_is_stored(tmp_path):
    paths = write_inputs(tmp_path / "in", 2, 5)
    target = str(tmp_path / "out.zarr")
    run(paths, target, workers=1, compression="blosc:zstd:3")
    codec = xr.open_zarr(target).t2m.encoding["compressors"][0]
    assert (codec.cname.value, codec.clevel) == ("zstd", 3)


def test_units_own_whole_chunks_and_parallel_workers_lose_nothing(tmp_path):
    paths = write_inputs(tmp_path / "in", 8, 5)
    target = str(tmp_path / "out.zarr")
    result = run(paths, target, chunks={"time": 7}, workers=2, chunks_per_unit=1)
    assert result.units_total == 6  # 40 steps in chunks of 7
    assert result.report.valid
    xr.testing.assert_equal(xr.open_zarr(target).t2m.load(), combined(paths).t2m)


def test_rerun_writes_only_units_without_a_record(tmp_path):
    paths = write_inputs(tmp_path / "in", 8, 5)
    target = str(tmp_path / "out.zarr")
    first = run(paths, target, chunks={"time": 7}, workers=1, chunks_per_unit=1)
    assert first.units_written == 6
    store = open_store(target, mode="r+")
    records = read_records(store)

    for name in sorted(records)[:2]:
        delete_private(store, f"convert/done/{name}.json")
    again = run(paths, target, chunks={"time": 7}, workers=1, chunks_per_unit=1)
    assert (again.units_written, again.units_skipped) == (2, 4)
    assert again.steps_written == 14  # the two units' steps, not the archive's 40
    assert again.input_bytes == sum(
        u.input_bytes for u in again.plan.units if u.key in set(sorted(records)[:2])
    )
    assert not again.template_created
    assert again.report.valid
    idle = run(paths, target, chunks={"time": 7}, workers=1, chunks_per_unit=1)
    assert (idle.units_written, idle.steps_written, idle.input_bytes) == (0, 0, 0)


def test_output_is_consolidated_and_healthy(tmp_path):
    paths = write_inputs(tmp_path / "in", 3, 5)
    target = str(tmp_path / "out.zarr")
    run(paths, target, workers=1)
    report = validate(target)
    assert report["consolidated_fresh"] and report.valid
    xr.open_zarr(target, consolidated=True)


def test_global_range_leaves_uncovered_steps_reported(tmp_path):
    paths = write_inputs(tmp_path / "in", 2, 5)
    target = str(tmp_path / "out.zarr")
    result = run(
        paths, target, workers=1, global_start="2019-12-30", global_end="2020-01-12", freq="1D"
    )
    assert result.plan.uncovered_steps == 4
    assert not result.report.valid
    assert "ZL200" in result.report.codes()
    out = xr.open_zarr(target)
    assert out.sizes["time"] == 14
    empty = np.isnan(out.t2m.values).all(axis=(1, 2))
    assert empty.tolist() == [True, True, *[False] * 10, True, True]  # gaps before and after


def test_existing_foreign_archive_is_refused_and_unchanged(tmp_path):
    paths = write_inputs(tmp_path / "in", 2, 5)
    target = str(tmp_path / "out.zarr")
    xr.Dataset({"x": ("y", np.arange(3))}).to_zarr(target)
    before = sorted(p.relative_to(target).as_posix() for p in (tmp_path / "out.zarr").rglob("*"))
    from zarrlake.errors import AlreadyExistsError

    with pytest.raises(AlreadyExistsError, match="not this conversion"):
        run(paths, target, workers=1)
    after = sorted(p.relative_to(target).as_posix() for p in (tmp_path / "out.zarr").rglob("*"))
    assert after == before
    result = run(paths, target, workers=1, overwrite=True)
    assert result.report.valid and "x" not in xr.open_zarr(target)


@pytest.mark.parametrize("kind", ["memory", "s3"])
def test_remote_targets(tmp_path, request, kind):
    from tests.conftest import make_target

    target: StoreTarget = make_target(kind, request, tmp_path)
    paths = write_inputs(tmp_path / "in", 4, 5)
    result = run(
        paths,
        target.url,
        chunks={"time": 7},
        workers=1 if kind == "memory" else 2,
        chunks_per_unit=1,
        target_storage_options=target.storage_options,
    )
    assert result.report.valid, result.report.errors()()
    out = xr.open_zarr(target.open("r"))
    xr.testing.assert_equal(out.t2m.load(), combined(paths).t2m)
    again = verify(target.url, paths, full=True, storage_options=target.storage_options)
    assert again.valid


def test_s3_inputs(tmp_path, s3_server):
    import fsspec

    bucket = s3_server.create_bucket()
    paths = write_inputs(tmp_path / "in", 3, 4)
    fs = fsspec.filesystem("s3", **s3_server.storage_options)
    for path in paths:
        fs.put(path, f"{bucket}/inputs/{path.rsplit('/', 1)[1]}")
    target = str(tmp_path / "out.zarr")
    result = run(
        f"s3://{bucket}/inputs/*.nc",
        target,
        workers=2,  # forked after the scan has started fsspec's I/O thread
        storage_options=s3_server.storage_options,
        chunks={"time": 4},
    )
    assert result.report.valid
    assert len(result.plan.inputs) == 3
    xr.testing.assert_equal(xr.open_zarr(target).t2m.load(), combined(paths).t2m)


def test_large_chunk_rows_are_split_into_spatial_blocks(tmp_path, monkeypatch):
    import zarrlake.convert._units as units_module

    monkeypatch.setattr(units_module, "UNIT_BUDGET_BYTES", 1500)
    paths = write_inputs(tmp_path / "in", 4, 5)
    target = str(tmp_path / "out.zarr")
    result = run(paths, target, chunks={"time": 7, "lat": 2}, workers=2)
    blocks = {u.block for u in result.plan.units}
    assert blocks == {("lat", 0, 2), ("lat", 2, 4), ("lat", 4, 6)}
    assert result.report.valid, result.report.errors()
    xr.testing.assert_equal(xr.open_zarr(target).tp.load(), combined(paths).tp)
    store = open_store(target, mode="r+")

    name = next(n for n in read_records(store) if n.endswith("000000002-000000004"))
    delete_private(store, f"convert/done/{name}.json")
    assert "ZL200" in verify(target).codes()  # one block of those steps has no record
    again = run(paths, target, chunks={"time": 7, "lat": 2}, workers=1)
    assert again.units_written == 1 and again.report.valid


def test_a_record_left_half_written_by_a_killed_writer_does_not_count(tmp_path):
    paths = write_inputs(tmp_path / "in", 2, 5)
    target = tmp_path / "out.zarr"
    first = run(paths, str(target), chunks={"time": 7}, workers=1, chunks_per_unit=1)
    done = tmp_path / "out.zarr.zarrlake" / "convert" / "done"
    records = sorted(done.iterdir())
    # the writer was killed between writing the temporary file and renaming it
    stray = done / f".{records[0].name}.{'0' * 32}.tmp"
    stray.write_bytes(records[0].read_bytes())
    records[0].unlink()
    assert len(read_records(open_store(str(target), mode="r"))) == first.units_total - 1
    again = run(paths, str(target), chunks={"time": 7}, workers=1, chunks_per_unit=1)
    assert again.units_written == 1 and again.report.valid


def test_netcdf3_and_hdf5_inputs(tmp_path):
    from tests.convert.inputs import make_dataset

    folder = tmp_path / "in"
    folder.mkdir()
    make_dataset("2020-01-01", 4, seed=0).to_netcdf(
        folder / "a.nc", format="NETCDF3_64BIT", engine="scipy"
    )
    make_dataset("2020-01-05", 4, seed=1).to_netcdf(folder / "b.h5", engine="h5netcdf")
    make_dataset("2020-01-09", 4, seed=2).to_netcdf(folder / "c.nc", engine="netcdf4")
    paths = [str(folder / n) for n in ("a.nc", "b.h5", "c.nc")]
    target = str(tmp_path / "out.zarr")
    result = run(paths, target, workers=1)
    assert result.report.valid, result.report.errors()
    xr.testing.assert_equal(xr.open_zarr(target).t2m.load(), combined(paths).t2m)
    forced = run(
        paths[1:], str(tmp_path / "h5.zarr"), workers=1, engine="h5netcdf", verify_sample=2
    )
    assert forced.report.valid


def test_verify_checks_the_coordinate(tmp_path):
    import zarr

    paths = write_inputs(tmp_path / "in", 2, 5)
    target = str(tmp_path / "out.zarr")
    run(paths, target, workers=1)
    time = zarr.open_array(target, path="time", mode="r+")
    values = time[:]
    values[3], values[4] = values[4], values[3]
    time[:] = values
    assert "ZL202" in verify(target).codes()
    values[3], values[4] = values[4], values[3]
    values[-1] += 1  # one day later: still increasing, off the daily grid
    time[:] = values
    codes = verify(target).codes()
    assert "ZL203" in codes and "ZL202" not in codes


@pytest.mark.parametrize(
    ("damage", "rewritten"),
    [
        ("edited", True),  # content changed after the fact: its digest no longer matches
        ("not-json", True),  # truncated to something that does not parse
        ("not-an-object", True),  # JSON, but not a record
        ("no-digest", False),  # written before records carried digests: still counts
    ],
)
def test_resume_rewrites_a_unit_whose_record_is_corrupt_and_verify_names_it(
    tmp_path, damage, rewritten
):
    import json

    paths = write_inputs(tmp_path / "in", 2, 5)
    target = tmp_path / "out.zarr"
    first = run(paths, str(target), chunks={"time": 7}, workers=1, chunks_per_unit=1)
    done = tmp_path / "out.zarr.zarrlake" / "convert" / "done"
    record = sorted(done.iterdir())[0]
    content = json.loads(record.read_text())
    if damage == "edited":
        content["inputs"] = list(reversed(content["inputs"]))
        record.write_text(json.dumps(content))
    elif damage == "not-json":
        record.write_text(record.read_text()[:40])
    elif damage == "not-an-object":
        record.write_text("[1, 2]")
    else:
        del content["digest"]
        record.write_text(json.dumps(content))
    intact = read_records(open_store(str(target), mode="r"))
    assert (record.stem in intact) is not rewritten
    report = verify(str(target))
    assert ("ZL209" in report.codes()) is rewritten
    again = run(paths, str(target), chunks={"time": 7}, workers=1, chunks_per_unit=1)
    assert again.units_written == (1 if rewritten else 0)
    assert again.units_skipped == first.units_total - again.units_written
    assert again.report is not None and again.report.valid, again.report.errors()
    if rewritten:  # the unit's new record is intact
        assert record.stem in read_records(open_store(str(target), mode="r"))


class _RecordingLibc:
    """Stands in for glibc: notes the allocator settings asked for."""

    def __init__(self) -> None:
        self.settings: list[tuple[int, int]] = []

    def mallopt(self, option: int, value: int) -> int:
        self.settings.append((option, value))
        return 1

    def malloc_trim(self, pad: int) -> int:
        return 1


def test_a_library_run_leaves_the_callers_allocator_settings_alone(tmp_path, monkeypatch):
    import zarrlake._malloc as malloc_module
    from zarrlake.convert import tune_process_memory

    libc = _RecordingLibc()
    monkeypatch.setattr(malloc_module, "_glibc", lambda: libc)
    paths = write_inputs(tmp_path / "in", 4, 5)
    target = str(tmp_path / "out.zarr")
    result = run(paths, target, chunks={"time": 5}, workers=2, chunks_per_unit=1)
    assert result.units_written == 4 and result.report is not None and result.report.valid
    assert libc.settings == []  # no mallopt: the process is the caller's
    assert tune_process_memory()  # what the caller may opt into
    assert libc.settings == [
        (-8, 1),
        (-1, malloc_module.TRIM_THRESHOLD_BYTES),
        (-3, malloc_module.MMAP_THRESHOLD_BYTES),
    ]
