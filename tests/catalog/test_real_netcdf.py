"""Real Met Office NetCDF files no one here wrote (PyPI ``iris-sample-data``), catalogued.

They carry 360-day and Gregorian calendars, time bounds, scalar time coordinates (one
instant, no dimension), float32 times and variable-length strings.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import iris_sample_data
import pytest

from zarrlake.catalog._scan import local_source
from zarrlake.catalog.extractors import extract_source

DATA = Path(iris_sample_data.path)
FILES = sorted(DATA.rglob("*.nc"))

CASES = {
    # file: (observation_timestamp, observation_end); what it exercises
    "A1B_north_america.nc": (datetime(1860, 6, 1), datetime(2099, 6, 1)),  # 360_day
    "SOI_Darwin.nc": (datetime(1866, 1, 1), datetime(2013, 12, 1)),  # int64 days since 1800
    "ostia_monthly.nc": (datetime(2006, 4, 16), datetime(2010, 9, 16)),
    "atlantic_profiles.nc": (datetime(1984, 12, 1), datetime(1984, 12, 1)),  # scalar time
    "toa_brightness_stereographic.nc": (datetime(2016, 5, 16, 12), datetime(2016, 5, 16, 12)),
    "orca2_votemper.nc": (datetime(1, 1, 1, 12), datetime(1, 1, 1, 12)),  # 360_day, year 1
    "vlstr_type.nc": (datetime(1970, 1, 1), datetime(1970, 1, 7, 5)),
}


def extract_one(path: Path) -> dict:
    source = local_source(str(path))
    assert source is not None
    (record,) = extract_source(source)
    return record


@pytest.mark.parametrize("name", sorted(CASES))
def test_time_coverage_of_real_files(name: str) -> None:
    record = extract_one(DATA / name)
    assert record["extraction_error"] is None
    assert (record["observation_timestamp"], record["observation_end"]) == CASES[name]
    assert record["format"] == "netcdf" and record["mission_specific"]["variables"]


def test_every_sample_netcdf_file_is_catalogued() -> None:
    assert len(FILES) >= 10
    for path in FILES:
        record = extract_one(path)
        assert record["extraction_error"] is None, (path, record["extraction_error"])
        assert record["mission_specific"]["dimensions"], path
    toa = extract_one(DATA / "toa_brightness_stereographic.nc")
    assert toa["satellite_name"] == "MSG"


def test_a_real_classic_file_cut_off_is_an_extraction_error(tmp_path: Path) -> None:
    # space_weather.nc is NetCDF-3: netCDF-C would read the cut-off values as zeros
    whole = DATA / "space_weather.nc"
    assert whole.read_bytes()[:4] == b"CDF\x01"
    assert extract_one(whole)["extraction_error"] is None
    cut = tmp_path / "space_weather.nc"
    cut.write_bytes(whole.read_bytes()[:100_000])
    record = extract_one(cut)
    assert (
        "space_weather.nc is truncated: the NetCDF-3 file ends at 100000 of 248208 bytes"
        in (record["extraction_error"])
    )
    assert record.get("observation_timestamp") is None
