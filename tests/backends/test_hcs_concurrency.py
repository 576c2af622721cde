"""Many processes writing wells into one new plate: no well lost or half-written.

polystore's plate lock covered only the plate attributes; 12 writers lost a well one
run in four. Here 12 real processes write 24 wells at once, ten times over.
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
import signal
import time
from pathlib import Path

import numpy as np
import pytest
import zarr

from zarrlake.backends import ZarrBackend, ZarrConfig
from zarrlake.storage import open_store
from zarrlake.txn import recover

FIELDS, CHANNELS, PLANES = 2, 2, 2
WRITERS, WELLS, RUNS = 12, 24, 10


def _wells() -> list[tuple[str, str]]:
    return [(row, f"{col:02d}") for row in "ABCD" for col in range(1, 7)]


def _images(row: str, col: str) -> list[np.ndarray]:
    seed = ord(row) * 100 + int(col)
    rng = np.random.default_rng(seed)
    return [
        rng.integers(0, 60000, size=(16, 24), dtype=np.uint16)
        for _ in range(FIELDS * CHANNELS * PLANES)
    ]


def _names(row: str, col: str) -> list[str]:
    return [f"{row}{col}_{i:02d}.tif" for i in range(FIELDS * CHANNELS * PLANES)]


def _write_wells(plate: str, wells: list[tuple[str, str]], start: float, ngff: str) -> None:
    backend = ZarrBackend(ZarrConfig(ngff_version=ngff))
    time.sleep(max(0.0, start - time.time()))  # all writers start together
    for row, col in wells:
        backend.save_batch(
            _images(row, col),
            [f"{plate}/{name}" for name in _names(row, col)],
            n_fields=FIELDS,
            n_channels=CHANNELS,
            n_z=PLANES,
            row=row,
            col=col,
        )


def _check_plate(plate: Path, wells: list[tuple[str, str]]) -> None:
    group = zarr.open_group(plate, mode="r")
    attrs = dict(group.attrs)
    meta = attrs["ome"]["plate"] if "ome" in attrs else attrs["plate"]
    assert sorted(w["path"] for w in meta["wells"]) == sorted(f"{r}/{c}" for r, c in wells)
    backend = ZarrBackend(ZarrConfig(ngff_version="0.5" if "ome" in attrs else "0.4"))
    names = [name for row, col in wells for name in _names(row, col)]
    assert sorted(p.name for p in backend.list_files(plate)) == sorted(names)
    loaded = backend.load_batch([plate / name for name in names])
    expected = [image for row, col in wells for image in _images(row, col)]
    for name, got, want in zip(names, loaded, expected, strict=True):
        np.testing.assert_array_equal(got, want, err_msg=name)


@pytest.mark.slow
@pytest.mark.parametrize("ngff", ["0.5", "0.4"])
def test_twelve_processes_write_twenty_four_wells(tmp_path: Path, ngff: str) -> None:
    context = multiprocessing.get_context("fork")
    wells = _wells()
    runs = RUNS if ngff == "0.5" else 3
    for run in range(runs):
        plate = tmp_path / f"plate-{run}.zarr"
        start = time.time() + 0.5
        workers = [
            context.Process(target=_write_wells, args=(str(plate), wells[i::WRITERS], start, ngff))
            for i in range(WRITERS)
        ]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(timeout=300)
        assert [w.exitcode for w in workers] == [0] * WRITERS, f"run {run}"
        _check_plate(plate, wells)


@pytest.mark.slow
def test_killed_well_writers_leave_only_whole_wells(tmp_path: Path) -> None:
    """SIGKILL writers at random moments: every listed well is whole; a new writer
    completes the plate despite the killed writers' locks and chunks."""
    context = multiprocessing.get_context("fork")
    plate = tmp_path / "plate.zarr"
    wells = _wells()[:8]
    rng = np.random.default_rng(7)
    # how long two writers take for all wells, uninterrupted, on a scratch plate
    began = time.monotonic()
    _write_wells(str(tmp_path / "scratch.zarr"), wells, 0, "0.5")
    duration = time.monotonic() - began
    kills = 0
    for _ in range(12):
        workers = [
            context.Process(target=_write_wells, args=(str(plate), wells[i::2], 0, "0.5"))
            for i in range(2)
        ]
        for worker in workers:
            worker.start()
        time.sleep(float(rng.uniform(0, duration)))
        for worker in workers:
            if worker.is_alive():
                os.kill(worker.pid, signal.SIGKILL)  # type: ignore[arg-type]
                kills += 1
            worker.join()
        listed: set[tuple[str, str]] = set()
        if (plate / "zarr.json").exists():
            group = zarr.open_group(plate, mode="r")
            listed = {tuple(w["path"].split("/")) for w in group.attrs["ome"]["plate"]["wells"]}
            _check_plate(plate, sorted(listed))  # whatever is listed is whole and correct
            recover(open_store(str(plate), mode="a"))
        # the next writer finishes the plate: killed writers' locks and chunks are no obstacle
        _write_wells(str(plate), [w for w in wells if w not in listed], 0, "0.5")
        _check_plate(plate, wells)
        shutil.rmtree(plate)
    assert kills >= 6


# -- well names: the same for every writer, whatever the order and spelling ----------

NAMING_WRITERS, NAMING_ROUNDS = 6, 2


def _naming_wells() -> list[tuple[str, int]]:
    return [(row, col) for row in "AB" for col in range(1, 13)]  # 24 wells, columns 1-12


def _spelling(col: int, writer: int) -> str | int:
    """The same column spelled three ways (1, "1", "01") by different writers."""
    return [col, str(col), f"{col:02d}"][writer % 3]


def _write_named(plate: str, wells: list[tuple[str, int]], writer: int, start: float) -> None:
    backend = ZarrBackend(ZarrConfig())
    time.sleep(max(0.0, start - time.time()))
    for row, col in wells:
        name = f"{row}{col:02d}"
        backend.save_batch(
            _images(row, f"{col:02d}")[:2],
            [f"{plate}/{name}_f{f}.tif" for f in range(2)],
            n_fields=2,
            n_channels=1,
            n_z=1,
            row=row,
            col=_spelling(col, writer),
        )


def _folders(plate: Path) -> set[str]:
    return {
        str(p.relative_to(plate))
        for p in plate.rglob("*")
        if p.is_dir() and len(p.relative_to(plate).parts) <= 3
    }


@pytest.mark.parametrize("order", ["forward", "reverse"])
def test_concurrent_wells_past_column_nine_get_one_name(tmp_path: Path, order: str) -> None:
    """6 processes write 24 wells with columns 1-12 (spelled 1, "1" or "01") at once:
    every well is listed once as B/07-style names, whatever commits first, and nothing
    is left on disk outside the listed wells."""
    pytest.importorskip("ome_zarr.writer")  # imported once here, not in each forked writer
    context = multiprocessing.get_context("fork")
    wells = _naming_wells()
    if order == "reverse":
        wells = wells[::-1]  # B12 (a two-digit column) tends to commit first
    expected = sorted(f"{row}/{col:02d}" for row, col in wells)
    for run in range(NAMING_ROUNDS):
        plate = tmp_path / f"{order}-{run}.zarr"
        start = time.time() + 0.3
        workers = [
            context.Process(
                target=_write_named, args=(str(plate), wells[i::NAMING_WRITERS], i, start)
            )
            for i in range(NAMING_WRITERS)
        ]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(timeout=120)
        assert [w.exitcode for w in workers] == [0] * NAMING_WRITERS, f"{order} run {run}"
        meta = zarr.open_group(plate, mode="r").attrs["ome"]["plate"]
        assert sorted(w["path"] for w in meta["wells"]) == expected
        assert [c["name"] for c in meta["columns"]] == [f"{i:02d}" for i in range(1, 13)]
        for well in meta["wells"]:
            row, col = well["path"].split("/")
            assert meta["rows"][well["rowIndex"]]["name"] == row
            assert meta["columns"][well["columnIndex"]]["name"] == col
        # no orphans: every folder is a row, a listed well or one of its fields
        listed = {w["path"] for w in meta["wells"]}
        allowed = {"A", "B"} | listed | {f"{w}/{f}" for w in listed for f in range(2)}
        assert _folders(plate) == allowed
        backend = ZarrBackend()
        names = [f"{row}{col:02d}_f{f}.tif" for row, col in wells for f in range(2)]
        assert sorted(p.name for p in backend.list_files(plate)) == sorted(names)
        got = backend.load_batch([plate / n for n in names[:4]])
        row, col = wells[0]
        np.testing.assert_array_equal(got[0], _images(row, f"{col:02d}")[0])
