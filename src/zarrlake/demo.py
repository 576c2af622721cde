"""``make demo``: generate a small NetCDF dataset, write it to Zarr, show ``zarrlake info``.

Run with ``python -m zarrlake.demo [OUTPUT_DIR]`` (default ``demo-output``).
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import numpy as np
import xarray as xr

from zarrlake._warnings import silence_known_zarr_warnings
from zarrlake.cli._common import console
from zarrlake.cli.info import render_tree
from zarrlake.encoding import choose_packing, plan_chunks
from zarrlake.encoding.dataset import apply_packing_policy, dataset_encoding
from zarrlake.meta import inspect_store

__all__ = ["make_era5_like", "run_demo"]


def make_era5_like(
    n_time: int = 48, n_lat: int = 73, n_lon: int = 144, seed: int = 0
) -> xr.Dataset:
    """Build a small ERA5-like dataset (hourly 2 m temperature and precipitation).

    Parameters
    ----------
    n_time, n_lat, n_lon
        Sizes of the time, latitude and longitude dimensions.
    seed
        Random seed, so runs are reproducible.

    Returns
    -------
    xarray.Dataset
        Variables ``t2m`` (K) and ``tp`` (m) with CF attributes.
    """
    rng = np.random.default_rng(seed)
    time = np.datetime64("2026-01-01T00", "ns") + np.arange(n_time) * np.timedelta64(1, "h")
    lat = np.linspace(90, -90, n_lat, dtype="float32")
    lon = np.linspace(0, 360, n_lon, endpoint=False, dtype="float32")
    hours = np.arange(n_time)[:, None, None]
    base = 288 - 40 * np.abs(np.sin(np.deg2rad(lat)))[None, :, None]
    daily = 5 * np.sin(2 * np.pi * hours / 24 + np.deg2rad(lon)[None, None, :])
    t2m = (base + daily + rng.normal(0, 1, (n_time, n_lat, n_lon))).astype("float32")
    tp = np.maximum(rng.gamma(0.3, 0.002, (n_time, n_lat, n_lon)) - 0.0005, 0).astype("float32")
    return xr.Dataset(
        {
            "t2m": (
                ("time", "latitude", "longitude"),
                t2m,
                {
                    "units": "K",
                    "long_name": "2 metre temperature",
                    "valid_min": 180.0,
                    "valid_max": 340.0,
                },
            ),
            "tp": (
                ("time", "latitude", "longitude"),
                tp,
                {"units": "m", "long_name": "Total precipitation"},
            ),
        },
        coords={
            "time": ("time", time),
            "latitude": ("latitude", lat, {"units": "degrees_north"}),
            "longitude": ("longitude", lon, {"units": "degrees_east"}),
        },
        attrs={"title": "zarrlake demo: ERA5-like hourly fields", "Conventions": "CF-1.8"},
    )


def run_demo(output: Path) -> Path:
    """Generate inputs, write the Zarr archive and print its info tree.

    Parameters
    ----------
    output
        Folder for the generated NetCDF file and the archive (replaced if present).

    Returns
    -------
    pathlib.Path
        The archive's path.
    """
    if output.exists():
        shutil.rmtree(output)
    inputs = output / "inputs"
    inputs.mkdir(parents=True)
    source = inputs / "era5_like_2026-01-01.nc"
    make_era5_like().to_netcdf(source, engine="netcdf4")
    console.print(f"[bold]1.[/] generated {source} ({source.stat().st_size / 2**20:.1f} MiB)")

    ds = xr.open_dataset(source, engine="netcdf4")
    t2m = ds["t2m"]
    packing = {"t2m": choose_packing(t2m.attrs["valid_min"], t2m.attrs["valid_max"], "int16")}
    ds = apply_packing_policy(ds, packing, policy="error", where=str(source))
    encoding = dataset_encoding(
        ds, compression="blosc:zstd:3", zarr_format=3, target_chunk_bytes="1MiB", packing=packing
    )
    plan = plan_chunks(t2m.dims, t2m.shape, "int16", target_chunk_bytes="1MiB")  # type: ignore[arg-type]
    console.print(
        f"[bold]2.[/] planned chunks {plan.as_dict()} (balanced: a series read touches "
        f"{plan.chunks_per_series_read} chunks, a map read {plan.chunks_per_map_read}); "
        f"t2m packed as int16, max error {packing['t2m'].max_abs_error:.4f} K"
    )
    archive = output / "era5_like.zarr"
    ds.to_zarr(archive, mode="w", encoding=encoding, zarr_format=3, consolidated=True)
    ds.close()
    console.print(f"[bold]3.[/] wrote {archive}; zarrlake info {archive}:")
    console.print(render_tree(inspect_store(archive)))
    return archive


def main() -> None:
    """Entry point for ``python -m zarrlake.demo``."""
    silence_known_zarr_warnings()
    output = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("demo-output")
    run_demo(output)


if __name__ == "__main__":
    main()
