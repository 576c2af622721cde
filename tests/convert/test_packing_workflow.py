"""zarrio's packing workflow (spec 004): a template from one year, regions from others.

A range found in the template's own data is too narrow for the other years; a packing
margin, or a range per variable, makes the workflow succeed, and without them the
error names the variable, the file and the extremes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from zarrlake import ConversionError, ZarrConverter
from zarrlake.compat.zarrio import PackingConfig
from zarrlake.encoding import PackingSpec


def _year(folder: Path, year: int, spread: float) -> str:
    times = xr.date_range(f"{year}-01-01", periods=12, freq="MS", use_cftime=False)
    rng = np.random.default_rng(year)
    ds = xr.Dataset(
        {
            "t2m": (("time", "lat"), (280 + spread * rng.standard_normal((12, 3))).astype("f4")),
            "rh": (("time", "lat"), rng.uniform(20, 60 + spread, (12, 3)).astype("f4")),
        },
        coords={"time": times, "lat": [-30.0, 0.0, 30.0]},
    )
    path = folder / f"data_{year}.nc"
    ds.to_netcdf(path)
    return str(path)


@pytest.fixture
def years(tmp_path: Path) -> list[str]:
    # later years are more extreme than the template year
    return [_year(tmp_path, 2020 + i, 2.0 + 4.0 * i) for i in range(4)]


def _run(years: list[str], target: str, packing: PackingConfig) -> None:
    converter = ZarrConverter(packing=packing)
    converter.create_template(
        years[0], target, global_start="2020-01-01", global_end="2023-12-01", freq="MS"
    )
    for path in years:
        converter.write_region(path, target)


def test_the_templates_own_range_is_too_narrow_and_says_so(
    tmp_path: Path, years: list[str]
) -> None:
    with pytest.raises(ConversionError, match=r"outside the packing range .*packing margin"):
        _run(years, str(tmp_path / "a.zarr"), PackingConfig(enabled=True))


def test_a_margin_lets_every_year_fit(tmp_path: Path, years: list[str]) -> None:
    target = str(tmp_path / "a.zarr")
    _run(years, target, PackingConfig(enabled=True, margin=4.0))
    _check(target, years)


def test_ranges_per_variable(tmp_path: Path, years: list[str]) -> None:
    target = str(tmp_path / "a.zarr")
    ranges = {
        "t2m": PackingSpec(valid_min=200.0, valid_max=350.0),
        "rh": PackingSpec(valid_min=0.0, valid_max=100.0, bits=8),
    }
    _run(years, target, PackingConfig(enabled=True, variables=ranges))
    with xr.open_zarr(target) as stored:
        assert stored.t2m.encoding["dtype"] == np.int16
        assert stored.rh.encoding["dtype"] == np.int8
        assert stored.t2m.attrs["valid_min"] == 200.0
    _check(target, years)


def _check(target: str, years: list[str]) -> None:
    with xr.open_zarr(target) as stored, xr.open_mfdataset(years) as src:
        for name in ("t2m", "rh"):
            step = float(stored[name].encoding["scale_factor"])
            error = np.abs(stored[name].values - src[name].values)
            assert np.nanmax(error) <= step / 2 * 1.001 + 1e-6, name
