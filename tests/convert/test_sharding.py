"""Shards of a plan: configured or planned, one length along the concat dim, format 3."""

from __future__ import annotations

import pytest

from tests.convert.inputs import write_inputs
from zarrlake.convert._config import ConvertConfig
from zarrlake.convert._planner import build_plan
from zarrlake.convert._scan import scan_inputs
from zarrlake.errors import InvalidInputError


def _plan(tmp_path, object_store=False, **config):
    paths = write_inputs(tmp_path / "in", 4, 5)
    settings = ConvertConfig(**config)
    return build_plan(scan_inputs(paths, settings), settings, object_store=object_store)


def test_auto_shards_only_on_an_object_store(tmp_path):
    local = _plan(tmp_path, chunks={"time": 2})
    remote = _plan(tmp_path, object_store=True, chunks={"time": 2})
    assert all(v.shards is None for v in local.variables.values())
    lengths = {v.shards[v.dims.index("time")] for v in remote.variables.values() if v.shards}
    assert len(lengths) == 1  # every series variable shares one shard length along time


def test_configured_shards_need_format_3_and_known_dims(tmp_path):
    with pytest.raises(InvalidInputError, match="Zarr format 3"):
        _plan(tmp_path, chunks={"time": 2}, shards={"time": 4}, zarr_format=2)
    with pytest.raises(InvalidInputError, match="no variable has"):
        _plan(tmp_path, chunks={"time": 2}, shards={"depth": 4})
