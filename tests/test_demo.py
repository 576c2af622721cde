from __future__ import annotations

import subprocess
import sys

import numpy as np
import xarray as xr

from zarrlake.demo import make_era5_like


def test_demo_end_to_end(tmp_path) -> None:
    out = tmp_path / "demo"
    result = subprocess.run(
        [sys.executable, "-m", "zarrlake.demo", str(out)],
        capture_output=True,
        text=True,
        env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr
    assert "zarr v3, consolidated" in result.stdout
    assert "blosc:zstd:3:shuffle" in result.stdout
    assert "Warning" not in result.stderr
    source = make_era5_like()
    archive = xr.open_zarr(out / "era5_like.zarr", consolidated=True)
    np.testing.assert_array_equal(archive["tp"].values, source["tp"].values)
    # t2m is packed into int16: equal within half a step
    step = float(archive["t2m"].encoding["scale_factor"])
    assert np.abs(archive["t2m"].values - source["t2m"].values).max() <= step / 2 + 3e-5
