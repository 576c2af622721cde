from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from zarrlake.errors import InvalidInputError, NotFoundError
from zarrlake.storage.files import _local_engine, open_file_dataset


def _dataset() -> xr.Dataset:
    return xr.Dataset(
        {"t": (("time", "x"), np.arange(12, dtype="float32").reshape(3, 4), {"units": "K"})},
        coords={"time": np.array(["2026-01-01", "2026-01-02", "2026-01-03"], "M8[ns]")},
    )


@pytest.mark.parametrize(
    ("fmt", "engine"),
    [("NETCDF4", "h5netcdf"), ("NETCDF4_CLASSIC", "h5netcdf"), ("NETCDF3_64BIT", None)],
)
def test_large_files_open_with_an_engine_that_reads_them_in_one_copy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fmt: str, engine: str | None
) -> None:
    # Large HDF5-based files whose data is read go to h5netcdf (one allocation per
    # read); NetCDF-3 to xarray's pick.
    monkeypatch.setattr("zarrlake.storage.files.LARGE_FILE_BYTES", 100)
    path = tmp_path / "f.nc"
    _dataset().to_netcdf(path, format=fmt, engine="netcdf4")
    assert path.stat().st_size > 100
    assert _local_engine(str(path), "data") == engine
    with open_file_dataset(str(path)) as ds:
        xr.testing.assert_identical(ds.load(), _dataset().assign_attrs(ds.attrs))


def test_small_files_and_header_reads_open_with_the_fastest_engine(tmp_path: Path) -> None:
    # opening is their cost: netCDF4-python opens a NetCDF-4 file ~5x faster
    path = tmp_path / "f.nc"
    _dataset().to_netcdf(path, format="NETCDF4", engine="netcdf4")
    assert _local_engine(str(path), "data") is None
    big = tmp_path / "big.nc"
    _dataset().to_netcdf(big, format="NETCDF4", engine="netcdf4")
    with big.open("ab") as handle:  # HDF5 ignores bytes past its end-of-file address
        handle.truncate(65 * 2**20)
    assert _local_engine(str(big), "data") == "h5netcdf"
    assert _local_engine(str(big), "headers") is None
    for purpose in ("headers", "data"):
        with open_file_dataset(str(path), purpose=purpose) as ds:  # type: ignore[arg-type]
            xr.testing.assert_identical(ds.load(), _dataset().assign_attrs(ds.attrs))


def test_missing_and_unreadable_files_are_named(tmp_path: Path) -> None:
    missing = tmp_path / "nope.nc"
    with (
        pytest.raises(NotFoundError, match="input .*nope.nc does not exist"),
        open_file_dataset(str(missing)),
    ):
        pass
    broken = tmp_path / "broken.nc"
    broken.write_bytes(b"\x89HDF\r\n\x1a\n" + b"\0" * 64)
    with (
        pytest.raises(InvalidInputError, match="broken.nc cannot be read"),
        open_file_dataset(str(broken)),
    ):
        pass


@pytest.mark.parametrize(
    ("content", "said"),
    [
        (b"", "input .*empty.nc is empty \\(0 bytes\\)"),
        (b"date,value\n2026-01-01,3\n", "is not a NetCDF/HDF5 file: it starts with b'date,val'"),
    ],
)
def test_an_empty_or_foreign_file_is_one_short_line(
    tmp_path: Path, content: bytes, said: str
) -> None:
    path = tmp_path / "empty.nc"
    path.write_bytes(content)
    with pytest.raises(InvalidInputError, match=said) as caught, open_file_dataset(str(path)):
        pass
    assert "\n" not in str(caught.value) and "xarray" not in str(caught.value)


def test_a_cut_off_hdf5_file_is_called_truncated(tmp_path: Path) -> None:
    # netCDF4-python says only "NetCDF: HDF error"; the message says what is wrong
    import iris_sample_data

    whole = Path(iris_sample_data.path) / "ostia_monthly.nc"
    cut = tmp_path / "ostia_monthly.nc"
    cut.write_bytes(whole.read_bytes()[:50_000])
    size = whole.stat().st_size
    message = rf"input .*ostia_monthly.nc is truncated: the HDF5 file ends at 50000 of {size} bytes"
    with pytest.raises(InvalidInputError, match=message), open_file_dataset(str(cut)):
        pass
    with open_file_dataset(str(whole)) as ds:  # the whole file is fine
        assert ds.sizes
