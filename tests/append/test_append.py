from __future__ import annotations

import contextlib
import json
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
import yaml

from tests.append.slices import make_slice
from tests.conftest import StoreTarget
from tests.txn.helpers import snapshot
from zarrlake import zappend
from zarrlake.append import AppendResult, append
from zarrlake.errors import (
    AlreadyExistsError,
    InvalidInputError,
    NotFoundError,
    OutOfRangeError,
)


def _open(target: StoreTarget) -> xr.Dataset:
    return xr.open_zarr(target.open("r"), consolidated=True)


def _append(target: StoreTarget, slices, **kwargs):
    return append(slices, target.url, target_storage_options=target.storage_options, **kwargs)


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_lengths_add_up_and_chunk_encodings_are_kept(
    store_target: StoreTarget, zarr_format: int
) -> None:
    slices = [make_slice(i, steps) for i, steps in enumerate([2, 3, 1, 4])]
    # make the labels contiguous: slice i starts where slice i-1 ended
    start = 0
    for i, ds in enumerate(slices):
        slices[i] = make_slice(0, start + ds.sizes["time"]).isel(time=slice(start, None))
        start += ds.sizes["time"]
    result = _append(
        store_target,
        slices,
        zarr_format=zarr_format,
        variables={"temp": {"encoding": {"chunks": [3, None, 2], "compression": "zstd:5"}}},
    )
    assert [r.status for r in result.slices] == ["created", "appended", "appended", "appended"]
    assert result.length == 10 and result.zarr_format == zarr_format
    ds = _open(store_target)
    assert ds.sizes["time"] == 10
    assert ds["temp"].encoding["chunks"] == (3, 5, 2)
    expected = make_slice(0, 10)
    np.testing.assert_array_equal(ds["temp"].values, expected["temp"].values)
    np.testing.assert_array_equal(ds["time"].values, expected["time"].values)
    assert ds["flag"].dtype == np.int16


def test_configured_chunks_larger_than_a_slice(store_target: StoreTarget) -> None:
    _append(
        store_target,
        [make_slice(i) for i in range(7)],
        variables={
            "*": {"encoding": {"chunks": [5, None, None]}},
            "time": {"encoding": {"chunks": [5]}},
        },
    )
    ds = _open(store_target)
    assert ds["temp"].encoding["chunks"][0] == 5
    np.testing.assert_array_equal(ds["temp"].values, make_slice(0, 7)["temp"].values)


@pytest.mark.parametrize(
    ("bad", "match"),
    [
        (lambda ds: ds.rename({"time": "t"}), "has no append dimension 'time'"),
        (lambda ds: ds.isel(x=slice(0, 4)), "coordinate 'x' differs"),
        (lambda ds: ds.assign_coords(x=ds.x + 1), "coordinate 'x' differs from the target's"),
        (lambda ds: ds.drop_vars("flag"), r"lacks variable\(s\) \['flag'\]"),
        (lambda ds: ds.assign(extra=ds.temp), "variable 'extra' is not in the target"),
        (
            lambda ds: ds.assign(temp=ds.temp.transpose("time", "x", "y")),
            "variable 'temp' has dims",
        ),
        (
            lambda ds: ds.assign(flag=ds.flag.astype("float64") + 0.5),
            "'flag' of dtype float64 cannot be stored",
        ),
        (lambda ds: ds.assign_coords(time=ds.time - np.timedelta64(5, "h")), "strictly increasing"),
        (
            lambda ds: ds.assign(temp=ds.temp.astype("int64")),
            None,
        ),  # int64 values fit float32: fine
    ],
)
def test_invalid_slices_are_refused_and_change_nothing(
    store_target: StoreTarget, bad, match
) -> None:
    _append(store_target, [make_slice(0), make_slice(1)])
    before = snapshot(store_target.open("r"), private=True)
    if match is None:
        _append(store_target, [bad(make_slice(2))])
        return
    with pytest.raises(InvalidInputError, match=match) as info:
        _append(store_target, [bad(make_slice(2))])
    assert "slice #0" in str(info.value)
    assert snapshot(store_target.open("r"), private=True) == before


def test_overlapping_and_already_present_labels(store_target: StoreTarget) -> None:
    _append(store_target, [make_slice(0, 2), make_slice(1, 2)])
    overlapping = make_slice(0, 5).isel(time=slice(3, 5))  # steps 3 (present) and 4 (new)
    with pytest.raises(InvalidInputError, match="some labels of 'time'"):
        _append(store_target, [overlapping])
    with pytest.raises(InvalidInputError, match="already in the target"):
        _append(store_target, [make_slice(0, 2)], on_existing="error")
    result = _append(store_target, [make_slice(0, 2), make_slice(1, 2), make_slice(2, 2)])
    assert [r.status for r in result.slices] == ["skipped", "skipped", "appended"]
    assert _open(store_target).sizes["time"] == 6


def test_fixed_dims(store_target: StoreTarget) -> None:
    with pytest.raises(InvalidInputError, match="dimension 'x' has size 6, fixed_dims says 7"):
        _append(store_target, [make_slice(0)], fixed_dims={"x": 7})
    _append(store_target, [make_slice(0)], fixed_dims={"x": 6, "y": 5})
    with pytest.raises(InvalidInputError, match="lacks the fixed dimension 'z'"):
        _append(store_target, [make_slice(1)], fixed_dims={"z": 1})


def test_append_step(store_target: StoreTarget) -> None:
    _append(store_target, [make_slice(0), make_slice(1)], append_step="1h")
    with pytest.raises(
        InvalidInputError, match="steps between labels of 'time' must be 1 hour; found 2 hours"
    ):
        _append(store_target, [make_slice(3)], append_step="1h")
    with pytest.raises(InvalidInputError, match="strictly decreasing"):
        _append(store_target, [make_slice(2)], append_step="-")
    _append(store_target, [make_slice(2)], append_step="+")
    with pytest.raises(InvalidInputError, match="append_step"):
        _append(store_target, [make_slice(3)], append_step="sometimes")


def test_numeric_labels_and_decreasing_step(store_target: StoreTarget) -> None:
    def level(i: int) -> xr.Dataset:
        return xr.Dataset({"v": (("depth",), [float(i)])}, coords={"depth": [100 - 10 * i]})

    _append(store_target, [level(i) for i in range(3)], append_dim="depth", append_step=-10)
    ds = _open(store_target)
    assert ds["depth"].values.tolist() == [100, 90, 80]
    with pytest.raises(InvalidInputError, match="must be -10"):
        _append(store_target, [level(4)], append_dim="depth", append_step=-10)


def test_configured_variable_missing_from_slice(store_target: StoreTarget) -> None:
    with pytest.raises(InvalidInputError, match="configured variable 'salt' is missing"):
        _append(store_target, [make_slice(0)], variables={"salt": {"dims": ["time", "y", "x"]}})
    with pytest.raises(
        InvalidInputError, match=r"variable 'temp' has dims \['time', 'y', 'x'\], configured"
    ):
        _append(store_target, [make_slice(0)], variables={"temp": {"dims": ["time", "x", "y"]}})


def test_included_and_excluded_variables(store_target: StoreTarget) -> None:
    _append(store_target, [make_slice(0), make_slice(1)], included_variables=["temp"])
    ds = _open(store_target)
    assert set(ds.data_vars) == {"temp"} and ds.sizes["time"] == 2
    with pytest.raises(InvalidInputError, match="excluded_variables names 'nope'"):
        _append(store_target, [make_slice(2)], excluded_variables=["nope"])


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        ("keep", {"title": "append test", "slice": 0, "only_first": 1, "source": "cfg"}),
        ("replace", {"title": "append test", "slice": 2, "source": "cfg"}),
        ("update", {"title": "append test", "slice": 2, "only_first": 1, "source": "cfg"}),
        ("ignore", {"source": "cfg"}),
    ],
)
def test_attrs_update_mode(store_target: StoreTarget, mode: str, expected: dict) -> None:
    first = make_slice(0)
    first.attrs["only_first"] = 1
    _append(
        store_target,
        [first, make_slice(1), make_slice(2)],
        attrs_update_mode=mode,
        attrs={"source": "cfg"},
    )
    assert _open(store_target).attrs == expected


def test_attrs_with_expressions(store_target: StoreTarget) -> None:
    _append(
        store_target,
        [make_slice(0), make_slice(1)],
        permit_eval=True,
        attrs={"time_coverage_end": "{{ upper_bound(ds.time) }}", "plain": "{{ not evaluated"},
    )
    attrs = _open(store_target).attrs
    assert attrs["time_coverage_end"] == "2026-01-01T02:00:00"  # last label + step, as zappend
    assert attrs["plain"] == "{{ not evaluated"


def test_dry_run_writes_nothing(store_target: StoreTarget) -> None:
    result = _append(store_target, [make_slice(0), make_slice(1)], dry_run=True)
    assert [r.status for r in result.slices] == ["validated", "validated"]
    assert result.length == 2
    assert snapshot(store_target.open("a"), private=True) == {}
    _append(store_target, [make_slice(0)])
    before = snapshot(store_target.open("r"), private=True)
    with pytest.raises(InvalidInputError):
        _append(store_target, [make_slice(1), make_slice(2).isel(x=slice(0, 2))], dry_run=True)
    assert snapshot(store_target.open("r"), private=True) == before


def test_force_new(store_target: StoreTarget, tmp_path: Path) -> None:
    _append(store_target, [make_slice(i) for i in range(3)])
    result = _append(store_target, [make_slice(5)], force_new=True)
    assert result.slices[0].status == "created"
    ds = _open(store_target)
    assert ds.sizes["time"] == 1 and ds["temp"].values[0, 0, 0] == 500


def test_a_killed_writers_temporary_file_does_not_block_creation(tmp_path: Path) -> None:
    # SIGKILL between writing a temporary and renaming it leaves ``.KEY.UUID.tmp``
    # behind the rolled-back creation; it is not data, so the next append creates
    target = tmp_path / "archive"
    (target / "temp" / "c" / "0").mkdir(parents=True)
    leftover = target / "temp" / "c" / "0" / f".0.{'ab' * 16}.tmp"
    leftover.write_bytes(b"half a chunk")
    result = append([make_slice(0)], target)
    assert result.slices[0].status == "created"
    with xr.open_zarr(target) as ds:
        assert ds.sizes["time"] == 1


def test_force_new_refuses_a_folder_that_is_not_zarr(tmp_path: Path) -> None:
    folder = tmp_path / "my-documents"
    folder.mkdir()
    (folder / "thesis.txt").write_text("precious")
    with pytest.raises(AlreadyExistsError, match="holds files but no Zarr archive"):
        append([make_slice(0)], folder, force_new=True)
    assert (folder / "thesis.txt").read_text() == "precious"


def test_packing_range_is_enforced_on_every_slice(store_target: StoreTarget) -> None:
    packing = {"dtype": "int16", "valid_min": 0, "valid_max": 1000}
    _append(
        store_target,
        [make_slice(0), make_slice(1)],
        variables={"temp": {"encoding": {"packing": packing}}},
    )
    ds = _open(store_target)
    assert ds["temp"].encoding["dtype"] == np.dtype("int16")
    # zarr's own fill value is the packed _FillValue (xarray alone leaves 0 in format 3)
    assert int(ds["temp"].encoding["fill_value"]) == -32768
    step = ds["temp"].encoding["scale_factor"]
    np.testing.assert_allclose(
        ds["temp"].values, make_slice(0, 2)["temp"].values, atol=step / 2 + 1e-4
    )
    before = snapshot(store_target.open("r"), private=True)
    with pytest.raises(
        OutOfRangeError, match="variable 'temp' in slice #0: .* outside the packing range"
    ):
        _append(store_target, [make_slice(20)])  # values ~2000 > 1000
    assert snapshot(store_target.open("r"), private=True) == before


def test_packing_needs_a_range() -> None:
    with pytest.raises(InvalidInputError, match="packing needs a fixed range"):
        append(
            [make_slice(0)], "memory://no-range", variables={"temp": {"encoding": {"packing": {}}}}
        )


def test_packing_margin_is_refused_because_append_scans_nothing() -> None:
    packing = {"bits": 8, "margin": 0.2}
    with pytest.raises(InvalidInputError, match="margin widens a range found by scanning"):
        append(
            [make_slice(0)],
            "memory://margin",
            variables={"temp": {"encoding": {"packing": packing}}},
        )


def test_time_is_converted_to_the_targets_units(store_target: StoreTarget) -> None:
    encoding = {"units": "hours since 2026-01-01", "dtype": "int32"}
    _append(store_target, [make_slice(0)], variables={"time": {"encoding": encoding}})
    _append(store_target, [make_slice(1), make_slice(2)])
    raw = xr.open_zarr(store_target.open("r"), consolidated=True, decode_times=False)
    assert raw["time"].values.tolist() == [0, 1, 2]
    assert raw["time"].attrs["units"] == "hours since 2026-01-01"
    half_hour = make_slice(3).assign_coords(time=make_slice(3).time + np.timedelta64(30, "m"))
    with pytest.raises(
        InvalidInputError,
        match="2026-01-01T03:30 of 'time' .* cannot be stored exactly as int32 "
        "'hours since 2026-01-01'",
    ):
        _append(store_target, [half_hour])


def test_slice_files_and_zarr_slices(tmp_path: Path) -> None:
    paths = []
    for i in range(3):
        path = tmp_path / f"s{i}.nc"
        make_slice(i).to_netcdf(path)
        paths.append(path)
    zarr_slice = tmp_path / "s3.zarr"
    make_slice(3).to_zarr(zarr_slice, zarr_format=2)
    result = append([*paths, str(zarr_slice)], tmp_path / "out.zarr")
    assert [r.name for r in result.slices] == [*map(str, paths), str(zarr_slice)]
    assert xr.open_zarr(tmp_path / "out.zarr").sizes["time"] == 4


def test_corrupt_and_missing_slice_files(tmp_path: Path) -> None:
    bad = tmp_path / "bad.nc"
    bad.write_bytes(b"CDF\x01 this is not a netcdf file")
    with pytest.raises(InvalidInputError, match=r"slice .*bad.nc cannot be read"):
        append([bad], tmp_path / "out.zarr")
    with pytest.raises(NotFoundError, match=r"slice .*missing.nc does not exist"):
        append([tmp_path / "missing.nc"], tmp_path / "out.zarr")
    assert not (tmp_path / "out.zarr" / "zarr.json").exists()


def test_slice_source_function_and_iterable(store_target: StoreTarget) -> None:
    result = _append(store_target, range(4), slice_source=make_slice)
    assert result.appended == 4
    _append(store_target, [(4, 2)], slice_source="tests.append.slices:make_slice")
    assert _open(store_target).sizes["time"] == 4 + 2


def test_context_managers_and_slice_source_objects(store_target: StoreTarget) -> None:
    closed = []

    class Source:
        def __init__(self, i: int) -> None:
            self.i = i

        def get_dataset(self) -> xr.Dataset:
            return make_slice(self.i)

        def close(self) -> None:
            closed.append(self.i)

    @contextlib.contextmanager
    def managed(i: int):
        yield make_slice(i)
        closed.append(f"cm{i}")

    _append(store_target, [Source(0), managed(1), Source(2)])
    assert closed == [0, "cm1", 2]
    with pytest.raises(InvalidInputError, match="slice #0 is a int"):
        _append(store_target, [42])


def test_slice_polling_waits_then_times_out(tmp_path: Path) -> None:
    late = tmp_path / "late.nc"

    def produce() -> None:
        time.sleep(0.6)
        make_slice(0).to_netcdf(tmp_path / "partial.tmp")
        (tmp_path / "partial.tmp").rename(late)

    threading.Thread(target=produce).start()
    result = append([late], tmp_path / "out.zarr", slice_polling={"interval": 0.1, "timeout": 20})
    assert result.appended == 1
    started = time.monotonic()
    with pytest.raises(NotFoundError, match=r"never.nc did not appear after waiting 0.5 s"):
        append(
            [tmp_path / "never.nc"],
            tmp_path / "out.zarr",
            slice_polling={"interval": 0.1, "timeout": 0.5},
        )
    assert time.monotonic() - started < 10


def test_zappend_api_with_config_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An existing zappend config (YAML) works unchanged, merged with JSON and kwargs."""
    monkeypatch.setenv("ARCHIVE_ROOT", str(tmp_path))
    zappend_config = {
        "target_dir": "${ARCHIVE_ROOT}/cube.zarr",
        "append_dim": "time",
        "append_step": "1h",
        "zarr_version": 2,
        "variables": {
            "*": {"encoding": {"compressor": {"id": "blosc", "cname": "zstd", "clevel": 5}}},
            "temp": {"encoding": {"dtype": "float32", "chunks": [1, 5, 6], "fill_value": "NaN"}},
        },
        "attrs": {"institution": "test"},
        "attrs_update_mode": "keep",
        "slice_polling": False,
        "temp_dir": "/tmp",
        "disable_rollback": False,
        "dry_run": False,
    }
    first = tmp_path / "zappend.yaml"
    first.write_text(yaml.safe_dump(zappend_config))
    second = tmp_path / "more.json"
    second.write_text(json.dumps({"attrs": {"project": "zl"}}))
    zappend([make_slice(0), make_slice(1)], config=[first, second], fixed_dims={"x": 6})
    ds = xr.open_zarr(tmp_path / "cube.zarr", consolidated=True)
    assert ds.sizes["time"] == 2
    assert ds.attrs["institution"] == "test" and ds.attrs["project"] == "zl"
    assert ds["temp"].encoding["compressors"][0].cname == "zstd"
    assert (tmp_path / "cube.zarr" / ".zmetadata").exists()  # zarr_version 2


def test_bad_config_names_the_option(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(InvalidInputError, match="append_dimension: unknown option"):
        zappend([make_slice(0)], {"target_dir": str(tmp_path / "a.zarr"), "append_dimension": "t"})
    with pytest.raises(InvalidInputError, match=r"variables.temp.encoding.compression"):
        zappend(
            [], {"target_dir": "x", "variables": {"temp": {"encoding": {"compression": "snappy"}}}}
        )
    broken = tmp_path / "broken.json"
    broken.write_text('{"target_dir": ')
    with pytest.raises(InvalidInputError, match="is not valid JSON"):
        zappend([], broken)
    monkeypatch.delenv("NOT_SET_ANYWHERE", raising=False)
    with pytest.raises(InvalidInputError, match=r"\$\{NOT_SET_ANYWHERE\}"):
        zappend([], {"target_dir": "${NOT_SET_ANYWHERE}/a.zarr"})
    with pytest.raises(NotFoundError, match="config file .* does not exist"):
        zappend([], tmp_path / "nope.yaml")
    with pytest.raises(InvalidInputError, match="no target given"):
        zappend([make_slice(0)])


def test_times_are_converted_to_the_targets_calendar(store_target: StoreTarget) -> None:
    def day(date: str) -> xr.Dataset:
        return make_slice(0).assign_coords(time=[np.datetime64(date, "ns")])

    encoding = {"units": "days since 2028-01-01", "calendar": "noleap"}
    _append(store_target, [day("2028-02-27")], variables={"time": {"encoding": encoding}})
    _append(store_target, [day("2028-02-28")], append_step="1D")
    before = snapshot(store_target.open("r"), private=True)
    with pytest.raises(InvalidInputError, match="do not exist in the target's calendar 'noleap'"):
        _append(store_target, [day("2028-02-29")])
    assert snapshot(store_target.open("r"), private=True) == before
    _append(store_target, [day("2028-03-01")], append_step="1D")  # one noleap day later
    raw = xr.open_zarr(store_target.open("r"), consolidated=True, decode_times=False)
    assert raw["time"].values.tolist() == [57, 58, 59]


def test_a_failed_slice_leaves_the_run_so_far_on_the_error(tmp_path: Path) -> None:
    bad = make_slice(1).rename({"time": "t"})
    with pytest.raises(InvalidInputError, match="no append dimension") as caught:
        append([make_slice(0), bad, make_slice(2)], tmp_path / "t.zarr")
    done = caught.value.partial_result
    assert isinstance(done, AppendResult)
    assert [r.status for r in done.slices] == ["created", "failed"]
    assert done.length == 1 and done.slices[1].name == "slice #1"


def test_a_dry_run_checks_every_slice_and_names_each_bad_one(tmp_path: Path) -> None:
    bad = make_slice(1).rename({"time": "t"})
    narrow = make_slice(3).isel(x=slice(0, 2))
    with pytest.raises(InvalidInputError, match="2 of 4 slices would fail") as caught:
        append([make_slice(0), bad, make_slice(2), narrow], tmp_path / "t.zarr", dry_run=True)
    message = str(caught.value)
    assert "slice #1" in message and "slice #3" in message
    done = caught.value.partial_result
    assert isinstance(done, AppendResult)
    assert [r.status for r in done.slices] == ["validated", "invalid", "validated", "invalid"]
    assert not (tmp_path / "t.zarr").exists()
