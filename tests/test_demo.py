from __future__ import annotations

import subprocess
import sys

import numpy as np
import xarray as xr


def test_demo_end_to_end(tmp_path) -> None:
    out = tmp_path / "demo"
    result = subprocess.run(
        [sys.executable, "-m", "zarrlake.demo", str(out)],
        capture_output=True,
        text=True,
        env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr
    assert "appended 3 files" in result.stdout
    assert "0 appended, 3 skipped" in result.stdout
    assert "zarr v3, consolidated" in result.stdout
    assert "blosc:zstd:3:shuffle" in result.stdout
    assert "Warning" not in result.stderr
    assert "verify against the inputs: valid (72 of 72 steps written)" in result.stdout
    assert "0 units written, 2 already done" in result.stdout
    assert "catalogued 5 datasets" in result.stdout
    assert "parent depth 1 (derived_from): era5_like_2026-01-03.nc" in result.stdout
    converted = xr.open_zarr(out / "era5_converted.zarr")
    inputs = xr.open_mfdataset(sorted((out / "inputs").glob("*.nc")), combine="by_coords")
    archive = xr.open_zarr(out / "era5_like.zarr", consolidated=True)
    np.testing.assert_array_equal(archive["time"].values, inputs["time"].values)
    np.testing.assert_array_equal(archive["tp"].values, inputs["tp"].values)
    # t2m is packed into int16: equal within half a step
    step = float(archive["t2m"].encoding["scale_factor"])
    assert np.abs(archive["t2m"].values - inputs["t2m"].values).max() <= step / 2 + 3e-5
    np.testing.assert_array_equal(converted["tp"].values, inputs["tp"].values)
    step = float(converted["t2m"].encoding["scale_factor"])
    assert np.abs(converted["t2m"].values - inputs["t2m"].values).max() <= step / 2 + 3e-5
