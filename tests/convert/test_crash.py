"""SIGKILL ``convert run`` at many points; a re-run writes only what is missing."""

from __future__ import annotations

import random
import signal
import time
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from tests.convert.inputs import combined, write_inputs
from tests.convert.workers import spawn
from zarrlake.convert import run
from zarrlake.convert._writer import read_records
from zarrlake.storage import open_store

pytestmark = pytest.mark.slow

UNITS = 6  # 40 steps in chunks of 7


def _records(target: str) -> int:
    if not Path(target).is_dir():  # its sidecar (the lock) comes first
        return 0
    return len(read_records(open_store(target, mode="r")))


def _kill_after_records(process, target: str, count: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while _records(target) < count and process.poll() is None:
        assert time.monotonic() < deadline, "the worker made no progress"
        time.sleep(0.005)
    process.send_signal(signal.SIGKILL)
    process.wait()


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    paths = write_inputs(tmp_path_factory.mktemp("inputs"), 8, 5)
    return paths, combined(paths)


@pytest.mark.parametrize("done_before_kill", [0, 1, 3, 5])
def test_kill_between_units_then_resume(inputs, tmp_path, done_before_kill):
    paths, expected = inputs
    target = str(tmp_path / "out.zarr")
    process = spawn("run", target, *paths, "--slow", "0.3")
    _kill_after_records(process, target, done_before_kill)
    recorded = _records(target)
    assert recorded >= done_before_kill and recorded < UNITS
    result = run(paths, target, chunks={"time": 7}, workers=1, chunks_per_unit=1)
    assert result.units_written == UNITS - recorded
    assert result.units_skipped == recorded
    assert result.report.valid, result.report.errors()
    xr.testing.assert_equal(xr.open_zarr(target).t2m.load(), expected.t2m)


def test_kill_at_random_moments_then_resume(inputs, tmp_path):
    paths, expected = inputs
    rng = random.Random(5)
    for attempt in range(8):
        target = str(tmp_path / f"out-{attempt}.zarr")
        process = spawn("run", target, *paths, "--slow", "0.05")
        time.sleep(rng.uniform(0.0, 1.5))  # template creation, units, or after the end
        process.send_signal(signal.SIGKILL)
        process.wait()
        recorded = _records(target)
        result = run(paths, target, chunks={"time": 7}, workers=1, chunks_per_unit=1)
        assert result.units_written == UNITS - recorded
        assert result.report.valid, result.report.errors()
        out = xr.open_zarr(target).load()
        np.testing.assert_array_equal(out.t2m.values, expected.t2m.values)
        np.testing.assert_array_equal(out.tp.values, expected.tp.values)
