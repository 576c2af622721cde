"""CMOR-style CF files, written with netCDF4 directly (not through xarray or zarrlake).

The files follow what CMOR writes for CMIP output, so the tests meet the conventions
the field uses rather than what our own writers produce:

- ``time`` is a double ``days since 1850-01-01`` (or another reference) with a
  ``calendar`` and ``bounds = "time_bnds"``; ``time_bnds(time, bnds)`` holds the cell
  edges (mid-step labels for daily and monthly data, as CMOR writes them);
- ``lat``/``lon`` carry ``lat_bnds``/``lon_bnds``;
- ``tas(time, lat, lon)`` is float32 with ``_FillValue = missing_value = 1e20``, a
  scalar coordinate ``height = 2 m`` named in ``coordinates``, ``cell_methods`` and
  ``cell_measures``;
- ``psl_packed`` is ERA5-style packed int16 (``scale_factor``/``add_offset``,
  ``_FillValue = missing_value = -32767``);
- a few values are missing (the fill value) so masking is tested too.

Importable by worker subprocesses.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cftime
import netCDF4
import numpy as np

CALENDARS = (
    "standard",
    "proleptic_gregorian",
    "noleap",
    "365_day",
    "all_leap",
    "360_day",
    "julian",
)
STEPS = ("1h", "6h", "1D", "1M")
NLAT, NLON = 4, 6
FILL = np.float32(1e20)
PACKED_FILL = np.int16(-32767)


def _month_edges(calendar: str, year: int, first_month: int, count: int) -> list[Any]:
    edges = []
    for k in range(count + 1):
        months = first_month - 1 + k
        edges.append(cftime.datetime(year + months // 12, months % 12 + 1, 1, calendar=calendar))
    return edges


def time_cells(
    calendar: str, step: str, start_index: int, count: int, *, units: str
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """Return ``(time, time_bnds)`` as numbers in ``units`` for steps ``start_index..``.

    Hourly and 6-hourly labels are instants on the step; daily labels sit at noon
    (CMOR's mid-day), monthly labels at the middle of the month, with the month's
    edges as bounds.
    """
    origin = cftime.datetime(2000, 1, 1, calendar=calendar)
    if step == "1M":
        edges = _month_edges(calendar, 2000, 1 + start_index, count)
        lo = netCDF4.date2num(edges[:-1], units, calendar=calendar)
        hi = netCDF4.date2num(edges[1:], units, calendar=calendar)
        return (lo + hi) / 2, np.stack([lo, hi], axis=1)
    hours = {"1h": 1, "6h": 6, "1D": 24}[step]
    base = netCDF4.date2num(origin, units, calendar=calendar)
    per_day = {"days": 1.0, "hours": 24.0}[units.split()[0]]
    k = np.arange(start_index, start_index + count, dtype=np.float64)
    lo = base + k * hours / 24 * per_day
    hi = lo + hours / 24 * per_day
    label = (lo + hi) / 2 if step == "1D" else lo
    return label, np.stack([lo, hi], axis=1)


def units_for(step: str) -> str:
    """CMOR's units: days since 1850 for daily and monthly, hours for sub-daily."""
    return "days since 1850-01-01" if step in ("1D", "1M") else "hours since 1850-01-01 00:00:00"


def write_cmor_file(
    path: Path,
    calendar: str,
    step: str,
    start_index: int,
    count: int,
    *,
    seed: int = 0,
    packed: bool = True,
) -> Path:
    """Write one CMOR-style file with ``count`` steps from ``start_index``; return its path."""
    units = units_for(step)
    times, bounds = time_cells(calendar, step, start_index, count, units=units)
    rng = np.random.default_rng(seed + 7919 * start_index)
    with netCDF4.Dataset(path, "w", format="NETCDF4_CLASSIC") as nc:
        nc.Conventions = "CF-1.7 CMIP-6.2"
        nc.activity_id = "CMIP"
        nc.source_id = "ZL-TEST-1-0"
        nc.frequency = {"1h": "1hr", "6h": "6hr", "1D": "day", "1M": "mon"}[step]
        nc.title = "CMOR-style test output"
        nc.createDimension("time", None)
        nc.createDimension("lat", NLAT)
        nc.createDimension("lon", NLON)
        nc.createDimension("bnds", 2)

        time = nc.createVariable("time", "f8", ("time",))
        time.units = units
        time.calendar = calendar
        time.axis = "T"
        time.standard_name = "time"
        time.long_name = "time"
        time.bounds = "time_bnds"
        time[:] = times
        tb = nc.createVariable("time_bnds", "f8", ("time", "bnds"))
        tb[:] = bounds

        lat_edges = np.linspace(-90.0, 90.0, NLAT + 1)
        lon_edges = np.linspace(0.0, 360.0, NLON + 1)
        for name, edges, std, unit, axis in (
            ("lat", lat_edges, "latitude", "degrees_north", "Y"),
            ("lon", lon_edges, "longitude", "degrees_east", "X"),
        ):
            var = nc.createVariable(name, "f8", (name,))
            var.units = unit
            var.standard_name = std
            var.axis = axis
            var.bounds = f"{name}_bnds"
            var[:] = (edges[:-1] + edges[1:]) / 2
            bnds = nc.createVariable(f"{name}_bnds", "f8", (name, "bnds"))
            bnds[:] = np.stack([edges[:-1], edges[1:]], axis=1)

        height = nc.createVariable("height", "f8", ())
        height.units = "m"
        height.axis = "Z"
        height.positive = "up"
        height.standard_name = "height"
        height.assignValue(2.0)

        tas = nc.createVariable("tas", "f4", ("time", "lat", "lon"), fill_value=FILL)
        tas.missing_value = FILL
        tas.standard_name = "air_temperature"
        tas.units = "K"
        tas.cell_methods = "area: time: mean"
        tas.cell_measures = "area: areacella"
        tas.coordinates = "height"
        values = (280 + 15 * rng.standard_normal((count, NLAT, NLON))).astype("f4")
        values[:, 0, 0] = FILL  # a missing corner in every step
        tas[:] = values

        if packed:
            psl = nc.createVariable("psl", "i2", ("time", "lat", "lon"), fill_value=PACKED_FILL)
            psl.set_auto_maskandscale(False)
            psl.scale_factor = np.float64(0.25)
            psl.add_offset = np.float64(100000.0)
            psl.missing_value = PACKED_FILL
            psl.units = "Pa"
            psl.standard_name = "air_pressure_at_mean_sea_level"
            codes = rng.integers(-20000, 20000, (count, NLAT, NLON)).astype("i2")
            codes[:, -1, -1] = PACKED_FILL
            psl[:] = codes
    return path


def write_series(
    folder: Path,
    calendar: str,
    step: str,
    files: int,
    per_file: int,
    *,
    packed: bool = True,
) -> list[str]:
    """Write ``files`` consecutive CMOR-style files; return their paths in time order."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(files):
        path = folder / f"tas_{step}_{calendar}_{i:02d}.nc"
        write_cmor_file(path, calendar, step, i * per_file, per_file, seed=i, packed=packed)
        paths.append(str(path))
    return paths


_ENCODING_KEYS = ("units", "calendar", "_FillValue", "missing_value", "scale_factor", "add_offset")


def open_inputs(files: list[str]) -> Any:
    """The inputs as the field opens them: one dataset, cftime times in every calendar."""
    import xarray as xr

    return xr.open_mfdataset(
        sorted(files),
        decode_times=xr.coders.CFDatetimeCoder(use_cftime=True),
        combine="by_coords",
        data_vars="minimal",
        coords="minimal",
        compat="override",
    )


def _same_attrs(a: Any, b: Any) -> bool:
    """Attributes equal by value (arrays read back from JSON as lists)."""
    if set(a) != set(b):
        return False
    return all(
        a[k] == b[k]
        if isinstance(a[k], str) or isinstance(b[k], str)
        else np.array_equal(np.asarray(a[k]), np.asarray(b[k]))
        for k in a
    )


def differences(archive: Any, files: list[str], *, encodings: bool = True) -> list[str]:
    """What differs between an archive and its inputs: values, dtypes, attributes, encodings.

    Every variable (data, bounds, scalar and 2-D coordinates) must be equal bit for bit
    after decoding, with the same attributes and CF encoding (units, calendar, fill
    values, packing); the archive must hold nothing else but the same global attributes.
    """
    import xarray as xr

    problems = []
    with (
        open_inputs(files) as src,
        xr.open_zarr(archive, decode_times=xr.coders.CFDatetimeCoder(use_cftime=True)) as out,
    ):
        for name, var in src.variables.items():
            if name not in out.variables:
                problems.append(f"{name}: missing from the archive")
                continue
            mine, theirs = np.asarray(var.values), np.asarray(out[name].values)
            if mine.shape != theirs.shape or mine.dtype != theirs.dtype:
                problems.append(
                    f"{name}: {mine.shape} {mine.dtype} in the inputs, "
                    f"{theirs.shape} {theirs.dtype} in the archive"
                )
                continue
            if not np.array_equal(mine, theirs, equal_nan=mine.dtype.kind == "f"):
                problems.append(f"{name}: values differ")
            if not _same_attrs(var.attrs, out[name].attrs):
                problems.append(f"{name}: attrs {var.attrs} vs {out[name].attrs}")
            if name in src.coords and name not in out.coords:
                problems.append(f"{name}: a coordinate in the inputs, not in the archive")
            for key in _ENCODING_KEYS if encodings else ():
                a, b = var.encoding.get(key), out[name].encoding.get(key)
                if a is None and b is None:
                    continue
                if isinstance(a, str) or isinstance(b, str):
                    same = a == b
                else:
                    # attributes come back from JSON as Python numbers: compare values
                    same = (
                        a is not None
                        and b is not None
                        and np.array_equal(
                            np.asarray(a, dtype=np.float64),
                            np.asarray(b, dtype=np.float64),
                            equal_nan=True,
                        )
                    )
                if not same:
                    problems.append(f"{name}: encoding {key} {a!r} in the inputs, {b!r} stored")
        extra = set(out.variables) - set(src.variables)
        if extra:
            problems.append(f"archive has extra variables {sorted(extra)}")
        if not _same_attrs(src.attrs, out.attrs):
            problems.append(f"global attributes differ: {set(src.attrs) ^ set(out.attrs)}")
    return problems
