"""Work units: whole chunks (or shards) each, stable keys, fingerprints of the sources."""

from __future__ import annotations

import pytest

from tests.convert.inputs import write_inputs
from zarrlake.convert._config import ConvertConfig
from zarrlake.convert._planner import build_plan
from zarrlake.convert._scan import scan_inputs
from zarrlake.convert._units import SourceSlice, WorkUnit
from zarrlake.errors import InvalidInputError


def _plan(tmp_path, **config):
    paths = write_inputs(tmp_path / "in", 4, 5)
    settings = ConvertConfig(**config)
    return build_plan(scan_inputs(paths, settings), settings)


def test_units_cover_every_step_once_in_whole_chunks(tmp_path):
    plan = _plan(tmp_path, chunks={"time": 3}, chunks_per_unit=2)
    assert [(u.start, u.stop) for u in plan.units] == [(0, 6), (6, 12), (12, 18), (18, 20)]
    assert sorted(s for u in plan.units for s in u.steps) == list(range(20))


def test_a_unit_size_that_splits_a_shard_is_refused(tmp_path):
    with pytest.raises(InvalidInputError, match="splits a shard"):
        _plan(tmp_path, chunks={"time": 2}, shards={"time": 4}, chunks_per_unit=1)


def test_fingerprint_changes_with_the_sources_and_the_key_names_the_block():
    source = SourceSlice("a.nc", 100, (0, 1), (4, 5), 2)
    unit = WorkUnit(4, 6, (source,))
    moved = WorkUnit(4, 6, (SourceSlice("a.nc", 101, (0, 1), (4, 5), 2),))
    assert unit.fingerprint() == WorkUnit(4, 6, (source,)).fingerprint()
    assert unit.fingerprint() != moved.fingerprint()
    blocked = WorkUnit(4, 6, (source,), ("lat", 0, 2), 0.5, 2)
    assert blocked.key.endswith("-lat-000000000-000000002")
    assert blocked.input_bytes == 50
