"""Inputs kept open between the units of one run (local threads), and closed after it."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
import xarray as xr

from tests.convert.inputs import combined, write_inputs
from zarrlake.convert import _kept_inputs as kept
from zarrlake.convert import run
from zarrlake.convert._blocks import ReadOptions, opened
from zarrlake.storage import files


def _count_opens(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    opens: list[str] = []
    real = files.open_file_dataset

    @contextlib.contextmanager
    def counting(path, **kwargs):
        opens.append(path)
        with real(path, **kwargs) as ds:
            yield ds

    monkeypatch.setattr("zarrlake.convert._blocks.open_file_dataset", counting)
    return opens


def test_units_of_a_run_open_each_input_once_and_the_run_closes_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # chunks of 6 steps over files of 4: most units read two or three files
    paths = write_inputs(tmp_path / "in", 6, 4)
    opens = _count_opens(monkeypatch)
    reads: list[int] = []
    run(
        paths,
        str(tmp_path / "out.zarr"),
        {"chunks": {"time": 6, "lat": 3}, "chunks_per_unit": 1},
        workers=2,
        on_plan=lambda plan, todo: reads.extend(len(unit.sources) for unit in todo),
    )
    assert sum(reads) > len(paths)  # units share inputs: 4 units read 8 times
    assert sorted(opens) == sorted(paths)  # each input once, for every unit that read it
    assert not kept._KEPT  # nothing left open
    xr.testing.assert_equal(xr.open_zarr(tmp_path / "out.zarr").load(), combined(paths))


def test_a_failed_run_closes_what_it_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    paths = write_inputs(tmp_path / "in", 4, 4)

    def failing_store(self, var, values, rows, block):
        if rows.start >= 8:
            raise OSError("disk full")
        return original(self, var, values, rows, block)

    from zarrlake.convert._writer import ArchiveWriter

    original = ArchiveWriter._store
    monkeypatch.setattr(ArchiveWriter, "_store", failing_store)
    with pytest.raises(OSError, match="disk full"):
        run(
            paths,
            str(tmp_path / "out.zarr"),
            {"chunks": {"time": 4}, "chunks_per_unit": 1},
            workers=2,
        )
    assert not kept._KEPT


def test_at_most_a_few_unused_inputs_stay_open(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(kept, "KEPT_INPUTS", 2)
    paths = write_inputs(tmp_path / "in", 4, 2)
    read = ReadOptions(keep_open="run-a")
    other = ReadOptions(keep_open="run-b")
    with opened(paths[0], read) as first, opened(paths[0], read) as again:
        assert first is again  # one dataset for the run's units
        with opened(paths[0], other) as theirs:
            assert theirs is not first  # another run opens its own
    for path in paths[1:]:
        with opened(path, read):
            pass
    assert len(kept._KEPT) == 2  # the least recently used were closed
    assert ("run-a", paths[-1]) in kept._KEPT
    kept.close_kept_inputs("run-a")
    kept.close_kept_inputs("run-b")
    assert not kept._KEPT


def test_without_a_token_each_unit_opens_and_closes(tmp_path: Path) -> None:
    (path,) = write_inputs(tmp_path / "in", 1, 2)
    with opened(path, ReadOptions()) as ds:
        assert ds.sizes["time"] == 2
    assert not kept._KEPT
