"""Crash safety, tested by crashing: SIGKILL writers and recoveries at random moments."""

from __future__ import annotations

import os
import random
import shutil
import signal
import time
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from tests.append.slices import expected_checksums, make_slice, step_checksum
from tests.conftest import StoreTarget, make_target
from tests.forked import Forked
from tests.txn.helpers import read_private
from zarrlake.storage import read_bytes
from zarrlake.txn import JOURNAL_KEY, recover

SLICES = 20
ROOT = Path(__file__).resolve().parents[2]


def _writer(target: StoreTarget, slow: float) -> Forked:
    """A writer appending all slices, forked ready-imported (the kill times the work)."""
    process = Forked(
        "tests.append.workers:forked_append", target.url, SLICES, slow, target.storage_options
    )
    process.wait_ready()
    return process


def _recoverer(target: StoreTarget) -> Forked:
    process = Forked("tests.append.workers:run_slow_recover", target.url, target.storage_options)
    process.wait_ready()
    return process


def _kill_after(process: Forked, delay: float) -> bool:
    """SIGKILL ``process`` after ``delay`` s; return whether it was still working."""
    time.sleep(delay)
    alive = process.poll() is None
    if alive:
        os.kill(process.pid, signal.SIGKILL)
    _, err = process.communicate()
    # a run that ended before the kill must have succeeded: a failure after an earlier
    # kill is exactly the defect this test hunts
    assert alive or process.returncode == 0, err
    return alive


def _verify(target: StoreTarget, expected: list[str]) -> int:
    """The target is exactly the first k slices; return k."""
    if read_bytes(target.open("a"), "zarr.json") is None:
        return 0  # killed before the first commit: no archive yet is a good state
    store = target.open("r")
    with xr.open_zarr(store, consolidated=True) as ds:
        k = ds.sizes["time"]
        assert k <= SLICES
        np.testing.assert_array_equal(ds["time"].values, make_slice(0, k)["time"].values)
        assert len(np.unique(ds["time"].values)) == k  # no duplicate label
        assert not np.isnan(ds["temp"].values).any()  # no NaN (never-written) step
        ds.load()
        assert [step_checksum(ds, i) for i in range(k)] == expected[:k]
    with xr.open_zarr(store, consolidated=False) as plain:  # the documents agree too
        assert plain.sizes["time"] == k
    return k


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["local", "s3"])
def test_sigkill_at_random_moments(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    target = make_target(kind, request, tmp_path)
    # commits of these tiny slices take milliseconds; slowing each store write of the
    # commit (in the writer process only) makes kills land inside commits often
    slow = 0.004 if kind == "local" else 0.03
    expected = expected_checksums(SLICES)
    rng = random.Random(20261121)

    # how long an uninterrupted run takes, on a scratch target of the same kind
    scratch = make_target(kind, request, tmp_path / "scratch")
    started = time.monotonic()
    full = _writer(scratch, slow)
    _, err = full.communicate(timeout=300)
    duration = time.monotonic() - started
    assert full.returncode == 0, err

    writer_kills = recovery_kills = interrupted_recoveries = 0
    seen_lengths: set[int] = set()
    wanted_writer_kills = 30 if kind == "local" else 12
    rounds = 0
    # writers: until enough kills landed inside a run; recoveries: timing decides where a
    # kill lands, so a fixed number of rounds sometimes fell short; go on, within a bound
    while writer_kills < wanted_writer_kills or (
        rounds < 4 * wanted_writer_kills and (recovery_kills < 3 or interrupted_recoveries < 1)
    ):
        rounds += 1
        writer = _writer(target, slow)
        if _kill_after(writer, rng.uniform(0, duration)):
            writer_kills += 1
        if read_private(target.open("a"), JOURNAL_KEY) is not None and rng.random() < 0.7:
            recoverer = _recoverer(target)
            if _kill_after(recoverer, rng.uniform(0, 0.12)):
                recovery_kills += 1
                if read_private(target.open("a"), JOURNAL_KEY) is not None:
                    interrupted_recoveries += 1
        recover(target.open("a"))
        k = _verify(target, expected)
        seen_lengths.add(k)
        if k == SLICES:  # start over, so kills also hit the creation of a target
            if target.kind == "local":
                shutil.rmtree(target.url)
            else:
                target.open("w")

    assert writer_kills >= wanted_writer_kills
    assert recovery_kills >= 3 and interrupted_recoveries >= 1, (
        recovery_kills,
        interrupted_recoveries,
    )
    assert len(seen_lengths) >= 4  # kills landed at many different points of the run
    print(
        f"{kind}: {writer_kills} writer kills, {recovery_kills} recovery kills "
        f"({interrupted_recoveries} mid-recovery), lengths seen {sorted(seen_lengths)}"
    )
    final = _writer(target, 0.0)
    _, err = final.communicate(timeout=300)
    assert final.returncode == 0, err
    assert _verify(target, expected) == SLICES
