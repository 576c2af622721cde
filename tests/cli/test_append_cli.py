from __future__ import annotations

import json
from pathlib import Path

import xarray as xr
import yaml

from tests.append.slices import make_slice
from tests.subprocesses import run_zarrlake
from tests.txn.helpers import put_private, read_private
from zarrlake.storage import open_store
from zarrlake.txn import JOURNAL_KEY


def _files(tmp_path: Path, n: int) -> list[str]:
    paths = []
    for i in range(n):
        path = tmp_path / f"slice-{i:02d}.nc"
        make_slice(i).to_netcdf(path)
        paths.append(str(path))
    return paths


def test_append_files_with_config(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "append_step": "1h",
                "variables": {"temp": {"encoding": {"compression": "blosc:zstd:3"}}},
            }
        )
    )
    target = tmp_path / "cube.zarr"
    result = run_zarrlake("append", *_files(tmp_path, 3), "-t", str(target), "-c", str(config))
    assert result.returncode == 0, result.stderr
    assert "appended 3 slice(s), skipped 0" in result.stdout
    again = run_zarrlake(
        "append", *_files(tmp_path, 4), "-t", str(target), "-c", str(config), "--json"
    )
    report = json.loads(again.stdout)
    assert (report["appended"], report["skipped"], report["length"]) == (1, 3, 4)
    assert xr.open_zarr(target).sizes["time"] == 4


def test_dry_run_and_bad_slice(tmp_path: Path) -> None:
    target = tmp_path / "cube.zarr"
    result = run_zarrlake("append", *_files(tmp_path, 2), "-t", str(target), "--dry-run")
    assert result.returncode == 0, result.stderr
    assert "would append 2 slice(s)" in result.stdout
    assert not target.exists()
    bad = tmp_path / "bad.nc"
    make_slice(5).rename({"time": "t"}).to_netcdf(bad)
    result = run_zarrlake("append", str(bad), "-t", str(target))
    assert result.returncode == 2
    assert "has no append dimension 'time'" in result.stderr and "bad.nc" in result.stderr


def test_help_config_and_bad_options(tmp_path: Path) -> None:
    schema = json.loads(run_zarrlake("append", "--help-config", "json").stdout)
    assert "append_dim" in schema["properties"] and "on_existing" in schema["properties"]
    markdown = run_zarrlake("append", "--help-config", "md").stdout
    assert "- `attrs_update_mode`:" in markdown and "## EncodingConfig" in markdown
    config = tmp_path / "bad.json"
    config.write_text(json.dumps({"append_dimension": "time"}))
    result = run_zarrlake(
        "append", *_files(tmp_path, 1), "-t", str(tmp_path / "x.zarr"), "-c", str(config)
    )
    assert result.returncode == 2
    assert "append_dimension: unknown option" in result.stderr
    assert "error: no target given" in run_zarrlake("append", *_files(tmp_path, 1)).stderr


def test_locked_target_and_recover(tmp_path: Path) -> None:
    target = tmp_path / "cube.zarr"
    assert run_zarrlake("append", *_files(tmp_path, 1), "-t", str(target)).returncode == 0
    store = open_store(target, mode="a")
    from zarrlake.txn import LOCK_KEY

    record = {
        "owner_id": "x",
        "host": "elsewhere",
        "pid": 1,
        "pid_started": 0,
        "command": "zarrlake append",
        "acquired": "2026-01-01T00:00:00",
        "heartbeat": 0,
    }
    put_private(store, LOCK_KEY, json.dumps(record).encode())
    locked = run_zarrlake("append", *_files(tmp_path, 2), "-t", str(target), "--no-wait-lock")
    assert locked.returncode == 1
    assert "is locked by pid 1 on elsewhere" in locked.stderr and "--break-lock" in locked.stderr
    result = run_zarrlake("recover", str(target))
    assert result.returncode == 1 and "locked" in result.stderr
    result = run_zarrlake("recover", str(target), "--break-lock")
    assert result.returncode == 0 and "nothing to recover" in result.stdout
    assert read_private(store, JOURNAL_KEY) is None
    assert run_zarrlake("append", *_files(tmp_path, 2), "-t", str(target)).returncode == 0


def test_recover_missing_archive(tmp_path: Path) -> None:
    result = run_zarrlake("recover", str(tmp_path / "nope.zarr"))
    assert result.returncode == 2 and "no Zarr store" in result.stderr


def _bad_slice(path: Path) -> str:
    make_slice(7).rename({"time": "t"}).to_netcdf(path)
    return str(path)


def test_a_batch_that_stops_midway_reports_what_it_did_as_json(tmp_path: Path) -> None:
    good = _files(tmp_path, 3)
    bad = _bad_slice(tmp_path / "bad.nc")
    target = tmp_path / "cube.zarr"
    result = run_zarrlake("append", good[0], bad, good[1], "-t", str(target), "--json")
    assert result.returncode == 2
    assert "has no append dimension 'time'" in result.stderr  # the error line, as always
    report = json.loads(result.stdout)
    assert report["ok"] is False
    assert [(s["name"], s["status"]) for s in report["slices"]] == [
        (good[0], "created"),
        (bad, "failed"),
    ]
    assert "has no append dimension 'time'" in report["slices"][1]["reason"]
    assert report["appended"] == 1 and report["not_attempted"] == [good[1]]
    assert report["error"]["type"] == "InvalidInputError"
    assert "has no append dimension" in report["error"]["message"]
    assert xr.open_zarr(target).sizes["time"] == 1  # what the report says is stored

    ok = json.loads(run_zarrlake("append", good[1], "-t", str(target), "--json").stdout)
    assert ok["ok"] is True and ok["appended"] == 1


def test_a_batch_that_stops_midway_says_what_was_committed(tmp_path: Path) -> None:
    good = _files(tmp_path, 2)
    bad = _bad_slice(tmp_path / "bad.nc")
    result = run_zarrlake("append", good[0], bad, good[1], "-t", str(tmp_path / "c.zarr"))
    assert result.returncode == 2
    assert f"committed: 1 slice(s) ({good[0]})" in result.stderr
    assert f"not attempted: {good[1]}" in result.stderr


def test_a_dry_run_reports_every_bad_slice(tmp_path: Path) -> None:
    good = _files(tmp_path, 3)
    bad = [_bad_slice(tmp_path / "bad1.nc"), str(tmp_path / "missing.nc")]
    target = tmp_path / "cube.zarr"
    args = [good[0], bad[0], good[1], bad[1], good[2]]
    result = run_zarrlake("append", *args, "-t", str(target), "--dry-run", "--json")
    assert result.returncode == 2
    report = json.loads(result.stdout)
    assert [s["status"] for s in report["slices"]] == [
        "validated",
        "invalid",
        "validated",
        "invalid",
        "validated",
    ]
    assert report["error"]["message"].startswith("2 of 5 slices would fail: ")
    assert bad[0] in report["error"]["message"] and bad[1] in report["error"]["message"]
    assert not target.exists()
    text = run_zarrlake("append", *args, "-t", str(target), "--dry-run")
    assert "2 of 5 slices would fail" in text.stderr and "invalid" in text.stderr
