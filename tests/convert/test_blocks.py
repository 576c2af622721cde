"""Blocks of a unit's writes: whole chunks within the budget, slabs, runs, the clock."""

from __future__ import annotations

import numpy as np

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
