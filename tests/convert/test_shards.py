"""Sharded archives (Zarr format 3): planned, written by whole shards, read back equal."""

from __future__ import annotations

import json

import numpy as np
import pytest
import xarray as xr
import zarr

from tests.conftest import make_target
from tests.convert.inputs import combined, write_inputs
from zarrlake.convert import plan, run, verify
from zarrlake.errors import InvalidInputError
from zarrlake.storage import open_store, run_sync
from zarrlake.storage.listing import alist_keys


def _data_keys(url, options=None, name="t2m"):
    store = open_store(url, mode="r", storage_options=options)
    return sorted(k for k in run_sync(alist_keys(store, name)) if not k.endswith("zarr.json"))


def test_configured_shards_are_written_whole_and_read_back_equal(tmp_path):
    # files of 7 steps against shards of 12: shards span files, units own whole shards
    paths = write_inputs(tmp_path / "in", 5, 7, lat=12, lon=16)
    target = str(tmp_path / "out.zarr")
    result = run(
        paths,
        target,
        chunks={"time": 3, "lat": 6, "lon": 8},
        shards={"time": 12, "lat": 12},
        workers=2,
    )
    assert result.report.valid, result.report.errors()
    array = zarr.open_array(target, path="t2m", mode="r")
    assert array.chunks == (3, 6, 8)
    assert array.shards == (12, 12, 8)
    # 35 steps: 3 shards along time, 1 along lat, 2 along lon: 6 objects (not 48 chunks)
    assert len(_data_keys(target)) == 6
    expected = combined(paths)
    out = xr.open_zarr(target)
    xr.testing.assert_equal(out.t2m.load(), expected.t2m)
    xr.testing.assert_equal(out.tp.load(), expected.tp)
    np.testing.assert_array_equal(array[:], expected.t2m.values)  # zarr alone agrees
    assert verify(target, paths, full=True).valid
    # a lost shard object is found by the chunk check (ZL201 works on the shard grid)
    lost = tmp_path / "out.zarr" / "tp" / "c" / "1" / "0" / "1"
    kept = lost.read_bytes()
    lost.unlink()
    report = verify(target)
    assert [f.code for f in report.issues if f.severity == "error"] == ["ZL201"]
    assert "(1, 0, 1)" in str(report.issues)
    lost.write_bytes(kept)
    # consolidated metadata names the shards too
    meta = json.loads((tmp_path / "out.zarr" / "zarr.json").read_text())
    consolidated = meta["consolidated_metadata"]["metadata"]["t2m"]
    assert consolidated["chunk_grid"]["configuration"]["chunk_shape"] == [12, 12, 8]
    assert consolidated["codecs"][0]["name"] == "sharding_indexed"


def test_units_never_share_a_shard(tmp_path):
    paths = write_inputs(tmp_path / "in", 4, 5)
    the_plan = plan(paths, chunks={"time": 2}, shards={"time": 6})
    ranges = sorted((u.start, u.stop) for u in the_plan.units)
    assert all(start % 6 == 0 for start, _ in ranges)
    assert all(stop % 6 == 0 or stop == 20 for _, stop in ranges)
    with pytest.raises(InvalidInputError, match="splits a shard") as info:
        plan(paths, chunks={"time": 2}, shards={"time": 6}, chunks_per_unit=2)
    assert info.value.subject == "chunks_per_unit"


def test_auto_shards_only_on_object_stores(tmp_path, request):
    paths = write_inputs(tmp_path / "in", 4, 10, lat=32, lon=32)
    settings = {"chunks": {"time": 2, "lat": 8, "lon": 8}, "target_shard_size": "64KiB"}
    local = plan(paths, settings, target=str(tmp_path / "local.zarr"))
    assert all(v.shards is None for v in local.variables.values())
    assert plan(paths, settings, target="s3://bucket/x.zarr").variables["t2m"].shards is not None
    off = plan(paths, {**settings, "shards": "none"}, target="s3://bucket/x.zarr")
    assert off.variables["t2m"].shards is None
    assert plan(paths, settings, target="memory://x.zarr").variables["t2m"].shards is None
    # units the user sized keep whole shards: the planned shard shrinks to fit them
    sized = plan(paths, {**settings, "chunks_per_unit": 3}, target="s3://bucket/x.zarr")
    assert 3 % (sized.variables["t2m"].shards[0] // 2) == 0
    v2 = plan(paths, {**settings, "zarr_format": 2}, target="s3://bucket/x.zarr")
    assert v2.variables["t2m"].shards is None  # auto: format 2 has none

    target = make_target("s3", request, tmp_path)
    result = run(
        paths, target.url, settings, workers=2, target_storage_options=target.storage_options
    )
    assert result.report.valid, result.report.errors()
    store = target.open("r")
    array = zarr.open_array(store, path="t2m", mode="r")
    shards = array.shards
    assert shards is not None and shards != array.chunks
    assert np.prod(shards) * 4 <= 64 * 2**10
    sharded = len(_data_keys(target.url, target.storage_options))
    chunks = int(np.prod([-(-s // c) for s, c in zip(array.shape, array.chunks, strict=True)]))
    assert sharded < chunks / 4  # 320 chunks in far fewer objects
    out = xr.open_zarr(store)
    expected = combined(paths)
    xr.testing.assert_equal(out.t2m.load(), expected.t2m)
    assert verify(target.url, paths, full=True, storage_options=target.storage_options).valid


def test_shards_with_format_2_or_unknown_dims_are_refused_before_writing(tmp_path):
    paths = write_inputs(tmp_path / "in", 2, 4)
    target = tmp_path / "out.zarr"
    with pytest.raises(InvalidInputError, match="Zarr format 3"):
        run(paths, str(target), shards={"time": 8}, zarr_format=2, workers=1)
    with pytest.raises(InvalidInputError, match=r"\['level'\]") as info:
        run(paths, str(target), shards={"level": 8}, workers=1)
    assert info.value.subject == "shards.level"
    assert not target.exists()


def test_resume_rewrites_a_lost_shard(tmp_path):
    paths = write_inputs(tmp_path / "in", 4, 6)
    target = tmp_path / "out.zarr"
    settings = {"chunks": {"time": 3}, "shards": {"time": 12}, "chunks_per_unit": 4}
    run(paths, str(target), settings, workers=1)
    # a crash after the template: the second shard's object and its record never landed
    records = sorted((tmp_path / "out.zarr.zarrlake" / "convert" / "done").glob("*.json"))
    units = [r for r in records if json.loads(r.read_text()).get("kind") == "unit"]
    assert len(units) == 2  # 24 steps, shards of 12, one unit each
    lost = json.loads(units[1].read_text())
    assert lost["steps"] == [[12, 24]]
    units[1].unlink()
    for name in ("t2m", "tp"):
        (target / name / "c" / "1" / "0" / "0").unlink()
    again = run(paths, str(target), settings, workers=1)
    assert again.units_written == 1
    xr.testing.assert_equal(xr.open_zarr(target).t2m.load(), combined(paths).t2m)
