"""``make demo``: append daily NetCDF files to Zarr, then convert them in parallel.

The demo generates the files, appends them transactionally, shows ``zarrlake info``,
then converts the same files into a second archive with worker processes and verifies it.

Run with ``python -m zarrlake.demo [OUTPUT_DIR]`` (default ``demo-output``).
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import numpy as np
import xarray as xr
from rich.console import Console

from zarrlake._warnings import silence_known_zarr_warnings
from zarrlake.append import append
from zarrlake.cli.info import render_tree
from zarrlake.convert import run as convert_run
from zarrlake.encoding import choose_packing, plan_chunks
from zarrlake.meta import inspect_store

__all__ = ["make_era5_like", "run_demo"]


console = Console()


def make_era5_like(
    n_time: int = 48, n_lat: int = 73, n_lon: int = 144, seed: int = 0, start: str = "2026-01-01"
) -> xr.Dataset:
    """Build a small ERA5-like dataset (hourly 2 m temperature and precipitation).

    Parameters
    ----------
    n_time, n_lat, n_lon
        Sizes of the time, latitude and longitude dimensions.
    seed
        Random seed, so runs are reproducible.
    start
        The first day.

    Returns
    -------
    xarray.Dataset
        Variables ``t2m`` (K) and ``tp`` (m) with CF attributes.
    """
    rng = np.random.default_rng(seed)
    time = np.datetime64(f"{start}T00", "ns") + np.arange(n_time) * np.timedelta64(1, "h")
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
        attrs={
            "title": "zarrlake demo: ERA5-like hourly fields",
            "Conventions": "CF-1.8",
            "project": "ERA5-LIKE",
            "platform": "reanalysis",
            "instrument": "model",
        },
    )


def run_demo(output: Path, days: int = 3) -> Path:
    """Generate daily NetCDF files, append them to a Zarr archive, print its info tree.

    Parameters
    ----------
    output
        Folder for the generated NetCDF files and the archive (replaced if present).
    days
        How many daily files to generate and append.

    Returns
    -------
    pathlib.Path
        The archive's path.
    """
    if output.exists():
        shutil.rmtree(output)
    inputs = output / "inputs"
    inputs.mkdir(parents=True)
    files = []
    for day in range(days):
        date = str(np.datetime64("2026-01-01") + np.timedelta64(day, "D"))
        path = inputs / f"era5_like_{date}.nc"
        make_era5_like(n_time=24, seed=day, start=date).to_netcdf(path, engine="netcdf4")
        files.append(path)
    size = sum(p.stat().st_size for p in files) / 2**20
    console.print(
        f"[bold]1.[/] generated {len(files)} daily NetCDF files in {inputs} ({size:.1f} MiB)"
    )

    sample = make_era5_like(n_time=24 * days)["t2m"]
    plan = plan_chunks(sample.dims, sample.shape, "int16", target_chunk_bytes="1MiB", align_to=24)  # type: ignore[arg-type]
    packing = choose_packing(180.0, 340.0, "int16")
    console.print(
        f"[bold]2.[/] planned chunks {plan.as_dict()} (balanced, aligned to one file = 24 steps); "
        f"t2m packed as int16 over [180, 340] K, max error {packing.max_abs_error:.4f} K"
    )
    config = {
        "append_dim": "time",
        "append_step": "1h",
        "variables": {
            "*": {"encoding": {"compression": "blosc:zstd:3", "chunks": list(plan.chunks)}},
            "time": {"encoding": {"chunks": [plan.chunks[0]]}},
            "t2m": {
                "encoding": {"packing": {"dtype": "int16", "valid_min": 180, "valid_max": 340}}
            },
        },
        "attrs": {"history": "appended by zarrlake demo"},
    }
    archive = output / "era5_like.zarr"
    first = append(files, archive, config)
    console.print(
        f"[bold]3.[/] appended {first.appended} files to {archive} as transactions "
        f"({first.length} hourly steps)"
    )
    again = append(files, archive, config)
    console.print(
        f"[bold]4.[/] re-ran the same list: {again.appended} appended, {again.skipped} skipped "
        "(appends are idempotent)"
    )
    console.print(f"[bold]5.[/] zarrlake info {archive}:")
    console.print(render_tree(inspect_store(archive)))
    convert_demo(files, output / "era5_converted.zarr")
    catalog_demo(output, files, [archive, output / "era5_converted.zarr"])
    return archive


def convert_demo(files: list[Path], target: Path) -> None:
    """Convert the files in parallel (chunks that do not line up with them), then verify."""
    paths = [str(p) for p in files]
    settings = {
        "chunks": {"time": 36, "latitude": 73, "longitude": 144},
        "chunks_per_unit": 1,
        "packing": {"t2m": {"bits": 16}},
        "verify_sample": len(paths),
    }
    result = convert_run(paths, str(target), settings, workers=2)
    report = result.report
    assert report is not None
    verdict = "valid" if report.valid else "INVALID"
    console.print(
        f"[bold]6.[/] converted {len(paths)} files into {target} with 2 worker processes: "
        f"{result.units_written} work units of whole 36-step chunks (files are 24 steps), "
        f"{result.steps_written} steps; verify against the inputs: {verdict} "
        f"({report['written_steps']} of {report['steps']} steps written)"
    )
    again = convert_run(paths, str(target), settings, workers=2, verify=False)
    console.print(
        f"[bold]7.[/] re-ran the conversion: {again.units_written} units written, "
        f"{again.units_skipped} already done (a crashed run resumes the same way)"
    )


def catalog_demo(output: Path, files: list[Path], archives: list[Path]) -> None:
    """Catalogue the inputs and archives, record their lineage, print a search and it."""
    from rich.table import Table

    from zarrlake.catalog import Catalog, ingest, related, search
    from zarrlake.catalog.pipeline import finish, link

    with Catalog(output / "catalog.db") as catalog:
        summary = ingest(catalog, output, jobs=1)
        for archive in archives:
            link(catalog, [str(p) for p in files], str(archive))
            finish(catalog, str(archive), ok=True, actor="zarrlake demo")
        console.print(
            f"[bold]8.[/] catalogued {summary.new} datasets under {output} in "
            f"{output / 'catalog.db'} (SQLite; `zarrlake catalog serve --catalog ...` serves "
            "the REST/STAC API and the dashboard)"
        )
        page = search(catalog, sort="file_path", limit=10)
        table = Table(title="zarrlake catalog search --sort file_path")
        for column in ("id", "format", "mission", "start", "end", "status", "file"):
            table.add_column(column)
        for row in page.items:
            start, end = row["observation_timestamp"], row["observation_end"]
            table.add_row(
                str(row["id"]),
                row["format"] or "",
                row["mission_id"],
                f"{start:%Y-%m-%d %H:%M}" if start else "",
                f"{end:%Y-%m-%d %H:%M}" if end else "",
                row["processing_status"],
                Path(row["file_path"]).name,
            )
        console.print(table)
        converted = str(archives[-1])
        lineage = related(catalog, converted, depth=2)
        console.print(f"[bold]9.[/] lineage of {Path(converted).name}:")
        for entry in lineage:
            dataset = entry["dataset"] or {}
            console.print(
                f"   {entry['direction']:<6} depth {entry['depth']} "
                f"({entry['relationship_type']}): {Path(dataset.get('file_path', '?')).name}"
            )


def main() -> None:
    """Entry point for ``python -m zarrlake.demo``."""
    silence_known_zarr_warnings()
    output = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("demo-output")
    run_demo(output)


if __name__ == "__main__":
    main()
