"""Blocks of a unit's writes: whole chunks within the budget, slabs, runs, the clock."""

from __future__ import annotations

import numpy as np
import pytest

from tests.convert.test_writer import _files, _template
from zarrlake.convert import ArchiveWriter
from zarrlake.convert._blocks import UnitClock, chunk_blocks, clip, runs, step_ranges, true_runs


def test_a_few_steps_of_a_chunk_are_budgeted_as_the_whole_chunk(tmp_path, monkeypatch):
    # zarr holds a full chunk for every chunk a write touches, so one step of a
    # (7, 2, 8) chunk costs as much memory as seven: blocks are sized by whole chunks.
    import zarrlake.convert._blocks as blocks_module

    paths = _files(tmp_path)
    target = _template(tmp_path, paths, chunks={"time": 7, "lat": 2})
    var = ArchiveWriter(target).variables["t2m"]
    chunk_bytes = 7 * 2 * 8 * var.unpacked.itemsize
    monkeypatch.setattr(blocks_module, "BLOCK_BYTES", chunk_bytes)
    blocks = chunk_blocks(var, "time", 1)
    assert [block[0] for block in blocks] == [slice(0, 2), slice(2, 4), slice(4, 6)]


def test_runs_split_where_file_or_archive_steps_jump():
    assert runs([0, 1, 2, 5, 6], [10, 11, 12, 13, 14]) == [(0, 3), (3, 5)]
    assert runs([0, 1, 2], [3, 4, 9]) == [(0, 2), (2, 3)]
    assert step_ranges([1, 2, 3, 7, 9, 10]) == [[1, 4], [7, 8], [9, 11]]
    assert true_runs(np.array([0, 1, 1, 0, 1], dtype=bool)) == [(1, 3), (4, 5)]


def test_clip_keeps_the_part_of_each_source_inside_the_range():
    sources = [(None, "a", 0, 0, 10), (None, "b", 5, 10, 10)]
    assert list(clip(sources, 8, 12)) == [(None, "a", 8, 8, 2), (None, "b", 5, 10, 2)]  # type: ignore[arg-type]


def test_the_clock_adds_phases_and_leaves_the_rest_as_other():
    clock = UnitClock()
    with clock.phase("read"):
        pass
    clock.seconds["store"] += 1.0
    split = clock.split(total=1.5, written=0.25)
    assert split["store"] == 1.0 and split["write"] == 0.25
    assert 0.49 < split["other"] <= 0.5


def _reader():
    import concurrent.futures as cf

    return cf.ThreadPoolExecutor(1, thread_name_prefix="test-read")


def test_read_ahead_loads_the_next_value_on_the_reader_while_this_one_is_used():
    import threading

    from zarrlake.convert._blocks import read_ahead

    loaded_on: dict[int, str] = {}

    def load(at: int):
        def it() -> int:
            loaded_on[at] = threading.current_thread().name
            return at * 10

        return it

    with _reader() as reader:
        seen = []
        for key, value in read_ahead([(at, load(at)) for at in range(4)], reader):
            # by the time the caller has the value, the next one is under way (or done)
            seen.append((key, value))
    assert seen == [(0, 0), (1, 10), (2, 20), (3, 30)]
    assert loaded_on[0] == threading.current_thread().name  # the first: no one to overlap
    assert all(loaded_on[at].startswith("test-read") for at in (1, 2, 3))


def test_a_failed_load_ahead_raises_in_its_own_turn():
    from zarrlake.convert._blocks import read_ahead

    def fail() -> int:
        raise OSError("block 1 of x.nc is unreadable")

    used = []
    with _reader() as reader, pytest.raises(OSError, match="block 1 of x.nc is unreadable"):
        for key, value in read_ahead([(0, lambda: 0), (1, fail), (2, lambda: 2)], reader):
            used.append((key, value))
    assert used == [(0, 0)]  # block 0 was used before the error came up


def test_stopping_early_waits_for_the_load_under_way_and_frees_its_slot():
    import threading
    import time

    from zarrlake.convert._blocks import read_ahead

    finished = threading.Event()

    def slow() -> int:
        time.sleep(0.2)
        finished.set()
        return 1

    with _reader() as reader:
        blocks = read_ahead([(0, lambda: 0), (1, slow)], reader)
        assert next(blocks) == (0, 0)  # block 1 is now loading on the reader
        blocks.close()  # the caller failed storing block 0
        assert finished.is_set()  # closed only after the load under way ended
        # the slot is free again: the next unit reads ahead
        assert list(read_ahead([(0, lambda: 0), (1, lambda: 1)], reader)) == [(0, 0), (1, 1)]


def test_the_process_holds_at_most_one_block_read_ahead():
    import threading
    import time

    from zarrlake.convert._blocks import READ_AHEAD_BLOCKS, read_ahead

    ahead = 0
    most = 0
    lock = threading.Lock()

    def load() -> int:
        nonlocal ahead, most
        if threading.current_thread().name.startswith("test-read"):
            with lock:
                ahead += 1
                most = max(most, ahead)
            time.sleep(0.01)
            with lock:
                ahead -= 1
        return 0

    def unit() -> None:
        with _reader() as reader:
            for _ in read_ahead([(at, load) for at in range(20)], reader):
                time.sleep(0.005)

    units = [threading.Thread(target=unit) for _ in range(4)]
    for thread in units:
        thread.start()
    for thread in units:
        thread.join()
    assert most == READ_AHEAD_BLOCKS == 1
