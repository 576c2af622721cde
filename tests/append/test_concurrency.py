"""Several writers on one new target, and readers during appends."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from tests.append.slices import expected_checksums, make_slice, step_checksum
from tests.append.workers import spawn
from tests.conftest import make_target

ROOT = Path(__file__).resolve().parents[2]
SLICES = 10


def _report(process: subprocess.Popen[str]) -> tuple[int, dict]:
    out, err = process.communicate(timeout=300)
    lines = [line for line in out.splitlines() if line.startswith("{")]
    assert lines, err
    return process.returncode, json.loads(lines[-1])


def _check_archive(target, steps: int) -> None:
    with xr.open_zarr(target.open("r"), consolidated=True) as ds:
        assert ds.sizes["time"] == steps
        np.testing.assert_array_equal(ds["time"].values, make_slice(0, steps)["time"].values)
        ds.load()
        assert [step_checksum(ds, i) for i in range(steps)] == expected_checksums(steps)


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["local", "s3"])
@pytest.mark.parametrize("writers", [2, 4])
def test_writers_racing_to_create_one_target(
    kind: str, writers: int, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """Each slice lands exactly once; nobody deletes anyone's data."""
    target = make_target(kind, request, tmp_path)
    options = ["--options", json.dumps(target.storage_options)]
    processes = [spawn("append", target.url, str(SLICES), *options) for _ in range(writers)]
    reports = [_report(p) for p in processes]
    assert all(code == 0 for code, _ in reports), reports
    assert sum(r["appended"] for _, r in reports) == SLICES
    assert sum(r["skipped"] for _, r in reports) == SLICES * (writers - 1)
    _check_archive(target, SLICES)


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["local", "s3"])
def test_losers_get_locked_error_when_not_waiting(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    target = make_target(kind, request, tmp_path)
    options = ["--options", json.dumps(target.storage_options)]
    processes = [spawn("append", target.url, str(SLICES), "--no-wait", *options) for _ in range(3)]
    reports = [_report(p) for p in processes]
    winners = [r for code, r in reports if code == 0]
    losers = [r for code, r in reports if code == 3]
    assert len(winners) + len(losers) == 3 and winners, reports
    assert all("is locked by pid" in r["locked"] for r in losers)
    assert sum(r["appended"] for r in winners) == SLICES
    _check_archive(target, SLICES)


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["local", "s3"])
def test_readers_never_see_a_step_without_its_data(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    target = make_target(kind, request, tmp_path)
    count = 30
    expected = expected_checksums(count)
    writer = spawn(
        "append", target.url, str(count), "--options", json.dumps(target.storage_options)
    )
    assert writer.stdout.readline().strip() == "READY"  # type: ignore[union-attr]
    seen: set[int] = set()
    reads = 0
    while writer.poll() is None or reads == 0:
        try:
            store = target.open("r")
        except KeyError:
            continue  # not created yet
        try:
            ds = xr.open_zarr(store, consolidated=True)
        except (FileNotFoundError, KeyError):
            continue  # no root document yet
        with ds:
            ds.load()
            steps = ds.sizes["time"]
            assert [step_checksum(ds, i) for i in range(steps)] == expected[:steps]
            assert not np.isnan(ds["temp"].values).any()
        seen.add(steps)
        reads += 1
        time.sleep(0.005)
    writer.communicate(timeout=60)
    assert writer.returncode == 0
    assert len(seen) >= 3, seen  # the reader really read during the appends
