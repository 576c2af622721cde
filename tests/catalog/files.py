"""Small real files of every catalogued format, written with the format's own library."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import h5py
import netCDF4
import numpy as np
import zarr
from astropy.io import fits

from zarrlake.meta import consolidate


def write_fits(path: Path, **keywords: Any) -> Path:
    header = fits.Header()
    defaults = {
        "MISSION": "COSMOS-7",
        "TELESCOP": "Sat-A",
        "INSTRUME": "CAM",
        "DATE-OBS": "2026-03-01T12:00:00.5",
        "OBJECT": "M31",
        "CALIB": "COMPLETE",
        "VERSION": "2.1",
        "RA": 10.6847,
        "DEC": 41.269,
        "EXPTIME": 30.0,
    }
    for key, value in {**defaults, **keywords}.items():
        if value is not None:
            header[key] = value
    fits.PrimaryHDU(np.zeros((4, 4), dtype="f4"), header=header).writeto(path, overwrite=True)
    return path


def write_hdf5(path: Path, **attributes: Any) -> Path:
    defaults = {
        "mission_id": "HELIO",
        "satellite_name": "Sat-H",
        "instrument_type": "SPEC",
        "observation_timestamp": "2026-02-01T00:00:00",
        "target_object": "Sun",
    }
    with h5py.File(path, "w") as file:
        for key, value in {**defaults, **attributes}.items():
            if value is not None:
                file.attrs[key] = value
        file.create_dataset("flux", data=np.arange(6, dtype="f4").reshape(2, 3))
    return path


def write_netcdf(
    path: Path, days: list[float] | None = None, calendar: str = "standard", **attributes: Any
) -> Path:
    days = [0.0, 1.0, 2.0] if days is None else days
    defaults = {"project": "CLIMATE", "platform": "Sat-C", "instrument": "RAD", "target": "Earth"}
    with netCDF4.Dataset(path, "w") as ds:
        ds.createDimension("time", len(days))
        time = ds.createVariable("time", "f8", ("time",))
        time.units = "days since 2026-01-01"
        time.calendar = calendar
        time[:] = days
        value = ds.createVariable("t2m", "f4", ("time",))
        value.units = "K"
        value[:] = np.full(len(days), 280.0)
        for key, item in {**defaults, **attributes}.items():
            if item is not None:
                ds.setncattr(key, item)
    return path


def write_csv(path: Path, rows: list[dict[str, Any]]) -> Path:
    columns = list(dict.fromkeys(k for row in rows for k in row))
    lines = [",".join(columns)]
    lines += [",".join(str(row.get(c, "")) for c in columns) for row in rows]
    path.write_text("\n".join(lines) + "\n")
    return path


def write_zarr(
    path: Path | str,
    steps: int = 4,
    zarr_format: int = 3,
    storage_options: dict[str, Any] | None = None,
    **attributes: Any,
) -> str:
    root = zarr.open_group(
        str(path), mode="w", zarr_format=zarr_format, storage_options=storage_options
    )
    root.attrs.update(
        {"mission_id": "ARCHIVE", "platform": "Sat-Z", "instrument": "IMG", **attributes}
    )
    time = root.create_array(
        "time",
        shape=(steps,),
        dtype="f8",
        attributes={"units": "hours since 2026-05-01", "_ARRAY_DIMENSIONS": ["time"]},
    )
    time[:] = np.arange(steps, dtype="f8")
    data = root.create_array(
        "sst",
        shape=(steps, 2),
        dtype="f4",
        attributes={"units": "K", "_ARRAY_DIMENSIONS": ["time", "x"]},
    )
    data[:] = 1.0
    consolidate(str(path), storage_options=storage_options)
    return str(path)
