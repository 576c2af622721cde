"""The next file of a list is read while the current slice is written, in order."""

from __future__ import annotations

import itertools
import threading
import time
from pathlib import Path

import pytest
import xarray as xr

from tests.append.slices import make_slice
from zarrlake.append import _core, _sources, append
from zarrlake.errors import ZarrlakeError


def _files(tmp_path: Path, count: int) -> list[str]:
    paths = []
    for i in range(count):
        path = tmp_path / f"day-{i}.nc"
        make_slice(i).to_netcdf(path)
        paths.append(str(path))
    return paths


def _record(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str, str, float, float]]:
    """Record (what, name, thread, start, end) of every file read and slice write."""
    events: list[tuple[str, str, str, float, float]] = []
    open_path, add = _sources._open_path, _core._Appender.add

    def timed_open(path: str, config):  # type: ignore[no-untyped-def]
        start = time.perf_counter()
        try:
            return open_path(path, config)
        finally:
            name = threading.current_thread().name
            events.append(("read", Path(path).name, name, start, time.perf_counter()))

    def timed_add(self, ds, name):  # type: ignore[no-untyped-def]
        start = time.perf_counter()
        time.sleep(0.2)  # a write long enough for the next read to happen meanwhile
        try:
            return add(self, ds, name)
        finally:
            events.append(("write", Path(name).name, "", start, time.perf_counter()))

    monkeypatch.setattr(_sources, "_open_path", timed_open)
    monkeypatch.setattr(_core._Appender, "add", timed_add)
    return events


def test_the_next_file_is_read_while_a_slice_is_written(monkeypatch, tmp_path: Path) -> None:
    paths = _files(tmp_path, 4)
    events = _record(monkeypatch)
    result = append(paths, tmp_path / "out.zarr")
    assert result.appended == 4
    reads = {
        name: (thread, start, end) for what, name, thread, start, end in events if what == "read"
    }
    writes = {name: (start, end) for what, name, _, start, end in events if what == "write"}
    assert list(reads) == [Path(p).name for p in paths]  # one at a time, in order
    for before, after in itertools.pairwise(paths):
        thread, read_start, read_end = reads[Path(after).name]
        _, write_end = writes[Path(before).name]
        assert thread.startswith("zarrlake-read-ahead")
        # read while the slice before it was written, not after
        assert read_start < write_end and read_end <= write_end
    with xr.open_zarr(tmp_path / "out.zarr") as ds:
        xr.testing.assert_equal(ds.load(), xr.concat([make_slice(i) for i in range(4)], "time"))


def test_large_slices_are_not_read_ahead(monkeypatch, tmp_path: Path) -> None:
    paths = _files(tmp_path, 3)
    events = _record(monkeypatch)
    monkeypatch.setattr(_sources, "READ_AHEAD_MAX_BYTES", 10)  # every slice is larger
    append(paths, tmp_path / "out.zarr")
    assert {thread for what, _, thread, _, _ in events if what == "read"} == {"MainThread"}


def test_a_file_that_fails_while_read_ahead_fails_in_its_turn(tmp_path: Path) -> None:
    paths = _files(tmp_path, 4)
    Path(paths[2]).write_bytes(b"CDF\x01 this file was cut off")
    with pytest.raises(ZarrlakeError, match="day-2.nc") as info:
        append(paths, tmp_path / "out.zarr")
    partial = info.value.partial_result
    assert [s.status for s in partial.slices] == ["created", "appended", "failed"]
    assert partial.not_attempted == [paths[3]]
    with xr.open_zarr(tmp_path / "out.zarr") as ds:
        assert ds.sizes["time"] == 2  # the two slices before it, committed
    assert not [t for t in threading.enumerate() if t.name.startswith("zarrlake-read-ahead")]
