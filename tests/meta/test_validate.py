from __future__ import annotations

import json
import time

import numpy as np
import pytest
import zarr

from tests.conftest import StoreTarget
from tests.txn.helpers import put_private
from zarrlake import validate_metadata
from zarrlake.errors import NotFoundError
from zarrlake.meta import Finding, validate
from zarrlake.meta._rules import Context
from zarrlake.storage import atomic_put, delete_key, read_bytes
from zarrlake.txn import JOURNAL_KEY, LOCK_KEY


def _healthy(target: StoreTarget, zarr_format: int) -> zarr.Group:
    store = target.open("a")
    root = zarr.open_group(store, mode="w", zarr_format=zarr_format, attributes={"title": "ok"})
    dims = {"dimension_names": ["time", "x"]} if zarr_format == 3 else {}
    attrs = {"units": "K"} | ({"_ARRAY_DIMENSIONS": ["time", "x"]} if zarr_format == 2 else {})
    array = root.create_group("obs").create_array(
        "temp", shape=(4, 3), chunks=(2, 3), dtype="f4", attributes=attrs, **dims
    )
    array[:] = np.ones((4, 3))
    zarr.consolidate_metadata(store)
    return root


def _check(target: StoreTarget, **kwargs):
    return validate(target.url, storage_options=target.storage_options, **kwargs)


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_healthy_store_is_valid_with_documented_shape(
    store_target: StoreTarget, zarr_format: int
) -> None:
    _healthy(store_target, zarr_format)
    report = _check(store_target, deep=True)
    assert report["valid"] and report.valid
    assert report["has_consolidated"] and report["consolidated_fresh"]
    assert report["zarr_format"] == zarr_format
    assert report["issues"] == []
    temp = report["arrays"]["obs/temp"]
    assert (temp["shape"], temp["chunks"], temp["issues"]) == ((4, 3), (2, 3), [])
    assert temp["compression"].startswith("zstd") or temp["compression"].startswith("blosc")
    assert report["groups"]["/"]["attrs"] == {"title": "ok"}


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_stale_consolidated_metadata_names_the_members(
    store_target: StoreTarget, zarr_format: int
) -> None:
    root = _healthy(store_target, zarr_format)
    root.create_array("added_later", shape=(2,), dtype="i2", attributes={"units": "1"})
    root["obs/temp"].resize((6, 3))
    report = _check(store_target)
    stale = [f for f in report["issues"] if f.code == "ZL101"]
    assert not report["valid"] and not report["consolidated_fresh"] and len(stale) == 1
    assert "added_later" in stale[0].message and "obs/temp" in stale[0].message
    assert "zarrlake meta consolidate" in stale[0].fix


def test_missing_consolidated_is_a_warning(store_target: StoreTarget) -> None:
    _healthy(store_target, 2)
    delete_key(store_target.open("a"), ".zmetadata")
    report = _check(store_target)
    assert report["valid"] and not report["has_consolidated"]
    assert "ZL100" in report.codes()
    assert str(report["issues"][0]).startswith(
        "warning: consolidated metadata (.zmetadata) is missing"
    )


@pytest.mark.parametrize(
    ("zarr_format", "key"), [(2, ".zmetadata"), (2, "obs/temp/.zarray"), (3, "obs/temp/zarr.json")]
)
def test_invalid_json_is_named(store_target: StoreTarget, zarr_format: int, key: str) -> None:
    _healthy(store_target, zarr_format)
    atomic_put(store_target.open("a"), key, b"{not json")
    report = _check(store_target)
    assert not report["valid"]
    finding = next(f for f in report["issues"] if f.code in ("ZL102", "ZL110"))
    assert key in finding.message or key in finding.path


def test_corrupt_root_zarr_json(store_target: StoreTarget) -> None:
    _healthy(store_target, 3)
    atomic_put(store_target.open("a"), "zarr.json", b"\x00\x01")
    report = _check(store_target)
    assert "ZL110" in report.codes() and not report["valid"]


def test_missing_group_document(store_target: StoreTarget) -> None:
    _healthy(store_target, 3)
    delete_key(store_target.open("a"), "obs/zarr.json")
    report = _check(store_target)
    finding = next(f for f in report["issues"] if f.code == "ZL111")
    assert (
        finding.path == "obs" and "'obs' holds nodes but has no group document" in finding.message
    )


def test_mixed_formats(store_target: StoreTarget) -> None:
    _healthy(store_target, 3)
    zarr.create_array(store_target.open("a"), name="old", shape=(2,), dtype="i1", zarr_format=2)
    report = _check(store_target)
    finding = next(f for f in report["issues"] if f.code == "ZL112")
    assert "old" in finding.message


def test_dimension_rules(store_target: StoreTarget) -> None:
    root = _healthy(store_target, 3)
    root.create_array("nodims", shape=(2,), dtype="f4", attributes={"units": "m"})
    root.create_array(
        "other", shape=(9,), dtype="f4", dimension_names=["x"], attributes={"units": "m"}
    )
    report = _check(store_target)
    assert any(f.code == "ZL120" and f.path == "nodims" for f in report["issues"])
    sizes = next(f for f in report["issues"] if f.code == "ZL121")
    assert "'x'" in sizes.message and "3" in sizes.message and "9" in sizes.message


def test_invalid_fill_value_and_cf_conflicts(store_target: StoreTarget) -> None:
    root = _healthy(store_target, 2)
    root.create_array(
        "counts", shape=(2,), dtype="i2", fill_value=0, attributes={"units": "1", "_FillValue": -9}
    )
    root.create_array(
        "scaled", shape=(2,), dtype="f4", attributes={"units": "K", "scale_factor": 0.1}
    )
    store = store_target.open("a")
    document = json.loads(read_bytes(store, "counts/.zarray"))
    document["fill_value"] = 1.5
    atomic_put(store, "counts/.zarray", json.dumps(document).encode())
    report = _check(store_target)
    codes = {(f.code, f.path) for f in report["issues"]}
    assert (
        ("ZL122", "counts") in codes
        and ("ZL123", "counts") in codes
        and ("ZL124", "scaled") in codes
    )


def test_unknown_codec(store_target: StoreTarget) -> None:
    _healthy(store_target, 3)
    store = store_target.open("a")
    document = json.loads(read_bytes(store, "obs/temp/zarr.json"))
    document["codecs"].append({"name": "brand_new_codec", "configuration": {}})
    atomic_put(store, "obs/temp/zarr.json", json.dumps(document).encode())
    finding = next(f for f in _check(store_target)["issues"] if f.code == "ZL130")
    assert "'brand_new_codec'" in finding.message


def test_journal_and_stale_lock(store_target: StoreTarget) -> None:
    _healthy(store_target, 3)
    store = store_target.open("a")
    put_private(store, JOURNAL_KEY, b'{"txn_id": "x"}')
    owner = {
        "owner_id": "o",
        "host": "elsewhere",
        "pid": 1,
        "pid_started": 0,
        "command": "c",
        "acquired": "2026-01-01T00:00:00",
        "heartbeat": time.time() - 3600,
    }
    put_private(store, LOCK_KEY, json.dumps(owner).encode())
    report = _check(store_target)
    assert {"ZL150", "ZL151"} <= report.codes() and not report["valid"]
    assert "zarrlake recover" in next(f for f in report["issues"] if f.code == "ZL150").fix


def test_attribute_warnings_do_not_invalidate(store_target: StoreTarget) -> None:
    store = store_target.open("a")
    root = zarr.open_group(store, mode="w", zarr_format=3)
    root.create_array("v", shape=(2,), dtype="f4", dimension_names=["x"])
    zarr.consolidate_metadata(store)
    report = _check(store_target)
    assert report["valid"]
    assert {"ZL160", "ZL161"} <= report.codes()
    assert str(next(f for f in report["issues"] if f.code == "ZL160")) == (
        "warning: array 'v': no units specified in attributes (fix: add a 'units' attribute)"
    )


def test_deep_finds_orphans_unwritten_and_undecodable_chunks(store_target: StoreTarget) -> None:
    _healthy(store_target, 3)
    store = store_target.open("a")
    atomic_put(store, "obs/temp/c/9/0", b"orphan")
    delete_key(store, "obs/temp/c/1/0")
    atomic_put(store, "obs/temp/c/0/0", b"garbage that is not zstd")
    assert _check(store_target)["valid"]  # none of this is visible without deep
    report = _check(store_target, deep=True)
    codes = {f.code for f in report["issues"]}
    assert {"ZL140", "ZL141", "ZL142"} <= codes
    assert "c/9/0" in next(f for f in report["issues"] if f.code == "ZL140").message
    assert not report["valid"]


def test_missing_store(store_target: StoreTarget) -> None:
    atomic_put(store_target.open("a"), "readme.txt", b"x")
    with pytest.raises(NotFoundError, match="no Zarr group or array"):
        _check(store_target)


def validate_scientific_metadata(ctx: Context):
    """The original document's custom check, as a zarrlake rule."""
    for path, node in ctx.hierarchy.arrays.items():
        attrs = node.attributes
        if "units" not in attrs:
            yield Finding("SCI001", "error", path, f"{path}: Missing 'units' attribute")
        if "scale" not in attrs and "resolution" not in attrs:
            yield Finding("SCI002", "error", path, f"{path}: Missing scale information")
        if "data_range" not in attrs:
            yield Finding("SCI003", "error", path, f"{path}: Missing data_range attribute")


def test_custom_rule_from_the_original_document(store_target: StoreTarget) -> None:
    _healthy(store_target, 3)
    report = validate_metadata(
        store_target.url,
        storage_options=store_target.storage_options,
        rules=[validate_scientific_metadata],
    )
    messages = [str(f) for f in report["issues"]]
    assert "error: obs/temp: Missing scale information" in messages
    assert "error: obs/temp: Missing data_range attribute" in messages
    assert not report["valid"]
    plain = validate(
        store_target.url,
        storage_options=store_target.storage_options,
        rules=[lambda ctx: ["a plain string counts as an error"]],
    )
    assert not plain["valid"] and plain["issues"][-1].code.startswith("custom:")
