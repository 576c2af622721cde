"""The plan: axis, frequency, chunks, work units; pure and exact."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from tests.convert.inputs import make_dataset, write_inputs
from zarrlake.convert import plan
from zarrlake.convert._config import ConvertConfig, load_convert_config
from zarrlake.errors import InvalidInputError


def test_axis_from_inputs_and_frequency(tmp_path):
    paths = write_inputs(tmp_path, 4, 5, freq="6h")
    result = plan(paths)
    assert result.freq == "6h"
    assert len(result.axis) == 20
    assert result.axis_encoding["units"] == "hours since 2020-01-01 00:00:00"  # the inputs'


def test_gaps_keep_the_grid_and_are_reported(tmp_path):
    paths = write_inputs(tmp_path, 4, 5)
    result = plan([paths[0], paths[1], paths[3]])
    assert result.freq == "D" and len(result.axis) == 20
    assert result.uncovered_steps == 5
    assert "no input" in result.notes[0]


def test_monthly_frequency_is_inferred(tmp_path):
    for i, start in enumerate(["2020-01-01", "2020-04-01"]):
        make_dataset(start, 3, freq="MS", seed=i).to_netcdf(tmp_path / f"m{i}.nc")
    result = plan(str(tmp_path / "m*.nc"))
    assert result.freq == "MS"
    assert [str(t)[:10] for t in result.axis] == [f"2020-{m:02d}-01" for m in range(1, 7)]


def test_global_range_and_labels_off_the_grid(tmp_path):
    paths = write_inputs(tmp_path, 2, 5)
    wide = plan(paths, global_start="2019-12-25", global_end="2020-01-31", freq="1D")
    assert len(wide.axis) == 38
    with pytest.raises(InvalidInputError, match=r"label 2020-01-01.*in_000.nc is not on"):
        plan(paths, global_start="2020-01-01T12:00", global_end="2020-01-31", freq="1D")
    with pytest.raises(InvalidInputError, match="before global_start"):
        plan(paths, global_start="2020-02-01", global_end="2020-01-01", freq="1D")


def test_work_units_own_whole_chunks(tmp_path):
    paths = write_inputs(tmp_path, 8, 5)
    result = plan(paths, chunks={"time": 7}, chunks_per_unit=1)
    starts = [u.start for u in result.units]
    assert starts == [0, 7, 14, 21, 28, 35]
    assert all(u.start % 7 == 0 and (u.stop % 7 == 0 or u.stop == 40) for u in result.units)
    covered = sorted(step for u in result.units for step in u.steps)
    assert covered == list(range(40))
    # in_001 (steps 5..9) is split between the first two units
    owners = {u.key: {s.path.rsplit("/", 1)[1] for s in u.sources} for u in result.units}
    assert owners["000000000000-000000000007"] == {"in_000.nc", "in_001.nc"}
    assert owners["000000000007-000000000014"] == {"in_001.nc", "in_002.nc"}


def test_planned_chunks_use_the_planner(tmp_path):
    paths = write_inputs(tmp_path, 2, 5, lat=180, lon=360)
    result = plan(paths, access_pattern="spatial", target_chunk_size="1MiB")
    chunks = result.variables["t2m"].chunks
    assert chunks == (4, 180, 360)  # whole maps, as many as fit 1 MiB
    describe = result.describe(2.0)
    assert describe["estimated_bytes"] == describe["raw_bytes"] // 2
    assert describe["variables"]["t2m"]["chunks"] == list(chunks)


def test_config_errors_name_the_key():
    with pytest.raises(InvalidInputError, match="chunk"):
        load_convert_config({"chunks": {"time": 0}})
    with pytest.raises(InvalidInputError, match="compresion"):
        load_convert_config({"compresion": "zstd"})
    with pytest.raises(InvalidInputError, match="compression"):
        load_convert_config({"compression": "blosc:nope:3"})
    with pytest.raises(InvalidInputError, match="valid_max"):
        load_convert_config({"packing": {"valid_min": 0}})


def test_config_from_yaml_file_with_env(tmp_path, monkeypatch):
    monkeypatch.setenv("LEVEL", "5")
    path = tmp_path / "convert.yaml"
    path.write_text("compression: zstd:${LEVEL}\npacking:\n  t2m: {bits: 8}\nchunks: {time: 3}\n")
    config = load_convert_config(path, zarr_format=2)
    assert config.compression == "zstd:5" and config.zarr_format == 2
    assert config.packing_for("t2m").bits == 8 and config.packing_for("tp") is None


def test_numeric_concat_dimension(tmp_path):
    for i in range(2):
        ds = make_dataset("2020-01-01", 3, seed=i).rename(time="level")
        ds = ds.assign_coords(level=np.arange(3) * 10.0 + 30 * i)
        ds.to_netcdf(tmp_path / f"l{i}.nc")
    result = plan(str(tmp_path / "l*.nc"), concat_dim="level")
    assert result.freq == "10.0"
    assert np.array_equal(result.axis, np.arange(6) * 10.0)


def test_config_model_defaults():
    config = ConvertConfig()
    assert config.compression == "blosc:zstd:3" and config.concat_dim == "time"
    assert pd.Timedelta("1D")  # the default freq is derived, not fixed


def test_planned_chunks_divide_the_grid(tmp_path):
    paths = write_inputs(tmp_path, 2, 5, lat=180, lon=360)
    balanced = plan(paths, target_chunk_size="1MiB").variables["t2m"].chunks
    assert balanced == (10, 90, 180)  # 180 and 360 in halves, no 146 + 34 remainders
    temporal = plan(paths, access_pattern="temporal", target_chunk_size="1MiB")
    assert temporal.variables["t2m"].chunks == (10, 90, 120)


def test_given_time_chunk_refits_the_other_dims(tmp_path):
    paths = write_inputs(tmp_path, 2, 5, lat=180, lon=360)
    result = plan(paths, chunks={"time": 2}, target_chunk_size="1MiB")
    # the space chunks are planned for 2 steps, not for the 10 the planner would take
    assert result.variables["t2m"].chunks == (2, 180, 360)


def _bounded_inputs(folder, count=2, steps=5):
    for i in range(count):
        ds = make_dataset(f"2020-01-{1 + steps * i:02d}", steps, seed=i, lat=180, lon=360)
        ds["lat"].attrs["bounds"] = "lat_bnds"
        ds["lat_bnds"] = (("lat", "nv"), np.stack([ds.lat.values - 0.5, ds.lat.values + 0.5], 1))
        ds["mask"] = (("lat", "lon"), np.ones((180, 360), "f4"))  # static, 253 KiB
        ds["time"].attrs["bounds"] = "time_bnds"
        ds["time"].encoding["units"] = "days since 2020-01-01"
        ds["time_bnds"] = (("time", "nv"), np.stack([ds.time.values, ds.time.values], 1))
        ds.to_netcdf(folder / f"b{i}.nc")
    return str(folder / "b*.nc")


def test_small_arrays_are_one_chunk_and_series_share_the_time_chunk(tmp_path):
    result = plan(_bounded_inputs(tmp_path, count=4), target_chunk_size="1MiB")
    variables = result.variables
    assert variables["t2m"].chunks == (16, 90, 180)
    assert variables["time_bnds"].chunks == (16, 2)  # the shared time chunk, whole nv
    assert result.time_chunk == 16
    assert variables["lat_bnds"].chunks == (180, 2)  # not cut like t2m's latitude
    assert variables["mask"].chunks == (180, 360)


def _template_chunks(tmp_path, lat, lon, name, **options):
    import zarr

    from zarrlake import ZarrConverter

    template = tmp_path / f"{name}.nc"
    make_dataset("2020-01-01", 2, lat=lat, lon=lon, variables=("t2m",)).to_netcdf(template)
    out = tmp_path / f"{name}.zarr"
    ZarrConverter().create_template(
        str(template), str(out), global_start="2020-01-01", global_end="2023-12-31", **options
    )
    group = zarr.open_group(str(out), mode="r")
    assert group["t2m"].shape == (1461, lat, lon)
    return group["t2m"].chunks, group["time"].chunks


def test_create_template_default_does_not_put_the_axis_in_one_chunk(tmp_path):
    chunks, time_chunks = _template_chunks(tmp_path, 180, 360, "default")
    # one file (2 steps) per chunk would be 506 KiB: 3 files make the 1 MiB minimum
    assert chunks == (6, 180, 360)
    assert time_chunks == (1461,)  # the coordinate stays one chunk
    # intelligent_chunking with zarrio's default pattern (temporal): not the whole axis
    chunks, _ = _template_chunks(tmp_path, 180, 360, "temporal", intelligent_chunking=True)
    assert chunks[0] < 1461 and chunks[0] % 2 == 0
    assert math.ceil(1461 / chunks[0]) >= 4


def test_create_template_small_array_is_one_chunk(tmp_path):
    chunks, _ = _template_chunks(tmp_path, 6, 8, "small")  # 274 KiB in all
    assert chunks == (1461, 6, 8)


def test_create_template_access_pattern_changes_the_plan(tmp_path):
    plans = {
        pattern: _template_chunks(
            tmp_path, 180, 360, pattern, intelligent_chunking=True, access_pattern=pattern
        )[0]
        for pattern in ("temporal", "spatial", "balanced")
    }
    assert plans == {
        "temporal": (364, 180, 180),
        "spatial": (258, 180, 360),
        "balanced": (364, 90, 180),
    }
    assert len(set(plans.values())) == 3
    default = _template_chunks(tmp_path, 180, 360, "plain")[0]
    assert default not in plans.values()
