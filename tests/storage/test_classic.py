"""A NetCDF classic file cut off in its data is refused, not read as zeros.

The oracle is netCDF-C itself: a file cut at the size the header calls for reads back
equal to the whole file, one byte less does not (the data below end in non-zero
values), and netCDF-C opens both without complaint.
"""

from __future__ import annotations

import glob
import os
from pathlib import Path

import netCDF4
import numpy as np
import pytest
import xarray as xr

from zarrlake.append import append
from zarrlake.convert import ConvertConfig
from zarrlake.convert._scan import scan_inputs
from zarrlake.errors import InvalidInputError
from zarrlake.storage.classic import classic_shortfall
from zarrlake.storage.files import open_file_dataset

FORMATS = ["NETCDF3_CLASSIC", "NETCDF3_64BIT_OFFSET", "NETCDF3_64BIT_DATA"]


def _real_classic_files() -> list[str]:
    """Classic files shipped by iris-sample-data, scipy and xarray (written elsewhere)."""
    import iris_sample_data
    import scipy

    roots = [
        os.path.dirname(iris_sample_data.__file__),
        os.path.join(os.path.dirname(scipy.__file__), "io", "tests", "data"),
        os.path.join(os.path.dirname(xr.__file__), "tests", "data"),
    ]
    found = []
    for root in roots:
        for path in sorted(glob.glob(os.path.join(root, "**", "*.nc"), recursive=True)):
            with open(path, "rb") as handle:
                if handle.read(4) in (b"CDF\x01", b"CDF\x02", b"CDF\x05"):
                    found.append(path)
    return found


def _read_all(path: Path | str) -> dict[str, np.ndarray]:
    with netCDF4.Dataset(path) as ds:
        ds.set_auto_mask(False)
        return {name: np.array(var[...]) for name, var in ds.variables.items()}


def _write(path: Path, fmt: str, layout: str) -> None:
    """Layouts netCDF-C lays out differently: padding, the single-record-variable case."""
    with netCDF4.Dataset(path, "w", format=fmt) as ds:
        ds.createDimension("time", None)
        ds.createDimension("x", 3)
        ds.createDimension("name", 5)
        if layout in ("records", "mixed"):
            for name, dtype in (("b", "i1"), ("s", "i2"), ("d", "f8")):
                ds.createVariable(name, dtype, ("time", "x"))[:] = np.arange(1, 16).reshape(5, 3)
            ds.createVariable("c", "S1", ("time", "name"))[:] = np.full((5, 5), b"z")
        if layout == "one_record_byte":  # unpadded records: 3 bytes apart
            ds.createVariable("b", "i1", ("time", "x"))[:] = np.arange(1, 22).reshape(7, 3)
        if layout in ("fixed", "mixed"):
            ds.createVariable("scalar", "f4")[...] = 7.0
            ds.createVariable("grid", "i2", ("x",))[:] = [4, 5, 6]
        if layout == "empty_records":
            ds.createVariable("later", "f4", ("time", "x"))
            ds.createVariable("grid", "i2", ("x",))[:] = [4, 5, 9]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("layout", ["records", "one_record_byte", "fixed", "mixed"])
def test_the_size_the_header_calls_for_is_exactly_what_netcdf_c_reads(
    tmp_path: Path, fmt: str, layout: str
) -> None:
    whole = tmp_path / "whole.nc"
    _write(whole, fmt, layout)
    expected = _read_all(whole)
    data = whole.read_bytes()
    assert classic_shortfall(str(whole)) is None
    needed = _shortest_complete(tmp_path, data, expected)
    complete, cut = tmp_path / "complete.nc", tmp_path / "cut.nc"
    complete.write_bytes(data[:needed])
    cut.write_bytes(data[: needed - 1])
    assert classic_shortfall(str(complete)) is None
    assert classic_shortfall(str(cut)) == (needed, needed - 1)


def _shortest_complete(tmp_path: Path, data: bytes, expected: dict[str, np.ndarray]) -> int:
    """The oracle: the shortest cut netCDF-C reads back equal to the whole file."""
    return next(
        size
        for size in range(len(data), 0, -1)
        if not _reads_equal(tmp_path / "probe.nc", data[: size - 1], expected)
    )


def _reads_equal(path: Path, data: bytes, expected: dict[str, np.ndarray]) -> bool:
    path.write_bytes(data)
    try:
        got = _read_all(path)
    except OSError:
        return False
    return all(np.array_equal(got[name], value) for name, value in expected.items())


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_cut_is_refused_down_to_the_magic_number(tmp_path: Path, fmt: str) -> None:
    whole = tmp_path / "whole.nc"
    _write(whole, fmt, "mixed")
    data = whole.read_bytes()
    needed = _shortest_complete(tmp_path, data, _read_all(whole))
    assert classic_shortfall(str(whole)) is None
    cut = tmp_path / "cut.nc"
    for size in range(4, needed):
        cut.write_bytes(data[:size])
        shortfall = classic_shortfall(str(cut))
        assert shortfall is not None, size
        assert shortfall[1] == size and shortfall[0] in (needed, size + 1), (size, shortfall)


def test_a_file_with_no_records_yet_is_complete(tmp_path: Path) -> None:
    path = tmp_path / "empty.nc"
    _write(path, "NETCDF3_CLASSIC", "empty_records")
    assert classic_shortfall(str(path)) is None


def test_real_classic_files_written_elsewhere() -> None:
    paths = _real_classic_files()
    assert len(paths) >= 4, paths  # iris' space_weather.nc and mesh_C4 among them
    for path in paths:
        assert classic_shortfall(path) is None, path


def test_real_classic_files_cut_in_their_data_are_refused(tmp_path: Path) -> None:
    for path in _real_classic_files():
        data = Path(path).read_bytes()
        for size in (len(data) // 2, len(data) - 8):
            cut = tmp_path / Path(path).name
            cut.write_bytes(data[:size])
            assert classic_shortfall(str(cut)) is not None, (path, size)
            message = r"is truncated: the NetCDF-3 file ends"
            with pytest.raises(InvalidInputError, match=message), open_file_dataset(str(cut)):
                pass


def test_other_files_are_left_to_their_reader(tmp_path: Path) -> None:
    hdf5 = tmp_path / "h.nc"
    xr.Dataset({"t": ("x", np.arange(3.0))}).to_netcdf(hdf5, engine="netcdf4")
    garbage = tmp_path / "g.nc"
    garbage.write_bytes(b"CDF\x01 this is not a netcdf file")
    for path in (hdf5, garbage, tmp_path / "missing.nc"):
        assert classic_shortfall(str(path)) is None


def _daily(day: int) -> xr.Dataset:
    values = np.arange(1, 201, dtype="float32").reshape(1, 10, 20) * (day + 1)
    return xr.Dataset(
        {"t": (("time", "y", "x"), values)},
        coords={"time": np.array([f"2026-01-0{day + 1}"], "M8[ns]")},
    )


def test_append_refuses_a_cut_slice_and_changes_nothing(tmp_path: Path) -> None:
    target = tmp_path / "out.zarr"
    first, second = tmp_path / "d0.nc", tmp_path / "d1.nc"
    _daily(0).to_netcdf(first, format="NETCDF3_64BIT")
    _daily(1).to_netcdf(second, format="NETCDF3_64BIT")
    append([first], target)
    before = {p.relative_to(target): p.read_bytes() for p in target.rglob("*") if p.is_file()}
    second.write_bytes(second.read_bytes()[:-100])
    with pytest.raises(InvalidInputError, match=r"slice .*d1.nc is truncated"):
        append([second], target)
    after = {p.relative_to(target): p.read_bytes() for p in target.rglob("*") if p.is_file()}
    assert after == before


def test_convert_names_a_cut_input(tmp_path: Path) -> None:
    paths = []
    for day in range(2):
        path = tmp_path / f"in{day}.nc"
        _daily(day).to_netcdf(path, format="NETCDF3_CLASSIC")
        paths.append(str(path))
    Path(paths[1]).write_bytes(Path(paths[1]).read_bytes()[:-4])
    with pytest.raises(InvalidInputError, match=r"in1.nc is truncated: .* ends at"):
        scan_inputs(paths, ConvertConfig(retries=0))
