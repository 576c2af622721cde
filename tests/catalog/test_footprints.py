"""Footprints from latitude/longitude coordinates: NetCDF, HDF5, Zarr, real files, STAC."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import h5py
import iris_sample_data
import netCDF4
import numpy as np
import pytest
import zarr
from fastapi.testclient import TestClient

from tests.catalog.files import write_hdf5, write_netcdf
from zarrlake.catalog import Catalog, ingest
from zarrlake.catalog._scan import local_source
from zarrlake.catalog.api import ServiceSettings, create_app
from zarrlake.catalog.extractors import extract_source
from zarrlake.meta import consolidate

KEYS = ("geospatial_lon_min", "geospatial_lat_min", "geospatial_lon_max", "geospatial_lat_max")
SAMPLES = Path(iris_sample_data.path)


def box(path: Path | str) -> list[Any]:
    source = local_source(str(path))
    assert source is not None
    (record,) = extract_source(source)
    assert record["extraction_error"] is None, record["extraction_error"]
    return [record["mission_specific"].get(k) for k in KEYS]


def netcdf_grid(path: Path, lat: Any, lon: Any, **options: Any) -> Path:
    write_netcdf(path, **options.pop("attributes", {}))
    with netCDF4.Dataset(path, "a") as ds:
        ds.createDimension("lat", len(lat))
        ds.createDimension("lon", len(lon))
        for name, values, units in (("lat", lat, "degrees_north"), ("lon", lon, "degrees_east")):
            fill = options.get("fill")
            variable = ds.createVariable(name, "f8", (name,), fill_value=fill)
            variable.units = options.get("units", units)
            variable[:] = np.ma.masked_equal(values, fill) if fill is not None else values
    return path


@pytest.mark.parametrize(
    ("lat", "lon", "expected"),
    [
        ([-10.0, 0.0, 10.0], [100.0, 110.0, 120.0], [100.0, -10.0, 120.0, 10.0]),
        ([40.0, 50.0], [350.0, 355.0, 5.0], [-10.0, 40.0, 5.0, 50.0]),  # across 0, as 0..360
        ([0.0, 1.0], [170.0, 179.0, -175.0], [170.0, 0.0, -175.0, 1.0]),  # across 180
        ([-89.0, 89.0], list(np.arange(0.0, 360.0, 2.5)), [-180.0, -89.0, 180.0, 89.0]),
    ],
)
def test_netcdf_coordinates_give_the_narrowest_box(
    tmp_path: Path, lat: list[float], lon: list[float], expected: list[float]
) -> None:
    assert box(netcdf_grid(tmp_path / "grid.nc", lat, lon)) == expected


def test_fill_values_are_ignored_and_attributes_win(tmp_path: Path) -> None:
    filled = netcdf_grid(tmp_path / "f.nc", [-999.0, 5.0, 6.0], [7.0, -999.0, 8.0], fill=-999.0)
    assert box(filled) == [7.0, 5.0, 8.0, 6.0]
    given = {"geospatial_lat_min": -1.0, "geospatial_lat_max": 1.0}
    written = box(netcdf_grid(tmp_path / "a.nc", [5.0, 6.0], [7.0, 8.0], attributes=given))
    assert written == [None, -1.0, None, 1.0]  # the file's own bounds, nothing computed
    radians = netcdf_grid(tmp_path / "r.nc", [0.1, 0.2], [0.3, 0.4], units="radians")
    assert box(radians) == [None] * 4
    assert box(write_netcdf(tmp_path / "sky.nc")) == [None] * 4


def test_real_files_footprints() -> None:
    # Cell bounds 225..315 east (0..360) -> -135..-45.
    assert box(SAMPLES / "A1B_north_america.nc") == [-135.0, 15.0, -45.0, 60.0]
    # Profiles on both sides of 0 east, written 0..360: a tight box across 0.
    west, south, east, north = box(SAMPLES / "atlantic_profiles.nc")
    assert (west, east) == (-34.5, 0.5) and -10 < south < north < 0
    # ORCA2's periodic cell bounds pass 180; its centres cover every longitude.
    west, south, east, north = box(SAMPLES / "orca2_votemper.nc")
    assert (west, east) == (-180.0, 180.0) and -79 < south < north < 90
    assert box(SAMPLES / "rotated_pole.nc") == [None] * 4  # rotated grid: not lat/lon


def test_hdf5_and_zarr_coordinates(tmp_path: Path) -> None:
    path = write_hdf5(tmp_path / "swath.h5")
    with h5py.File(path, "a") as file:
        latitude = file.create_dataset("geo/latitude", data=np.linspace(30, 35, 12).reshape(3, 4))
        latitude.attrs["units"] = "degrees_north"
        file.create_dataset("geo/longitude", data=np.linspace(-20, -15, 12).reshape(3, 4))
    assert box(path) == [-20.0, 30.0, -15.0, 35.0]

    store = tmp_path / "grid.zarr"
    root = zarr.open_group(str(store), mode="w", zarr_format=3)
    root.attrs.update({"mission_id": "ARCHIVE", "platform": "Sat-Z", "instrument": "IMG"})
    for name, values, units in (
        ("lat", [60.0, 61.0], "degrees_north"),
        ("lon", [-5.0, -4.0], "degrees_east"),
    ):
        array = root.create_array(name, shape=(2,), dtype="f8", attributes={"units": units})
        array[:] = values
    consolidate(str(store))
    assert box(store) == [-5.0, 60.0, -4.0, 61.0]


def test_ingested_files_are_found_by_stac_bbox(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    netcdf_grid(data / "alps.nc", [45.0, 47.0], [6.0, 10.0])
    netcdf_grid(data / "fiji.nc", [-20.0, -15.0], [175.0, -178.0])
    write_netcdf(data / "nowhere.nc")
    with Catalog(tmp_path / "c.db") as catalog:
        assert ingest(catalog, data).failed == 0
        app = create_app(ServiceSettings(catalog=catalog.url), catalog=catalog)
        with TestClient(app) as client:

            def found(bbox: str) -> set[str]:
                body = client.get(f"/stac/search?bbox={bbox}").json()
                return {Path(f["assets"]["data"]["href"]).name for f in body["features"]}

            assert found("5,44,11,48") == {"alps.nc"}
            assert found("-179,-19,-177,-16") == {"fiji.nc"}  # east of the antimeridian
            assert found("-180,-90,180,90") == {"alps.nc", "fiji.nc"}
