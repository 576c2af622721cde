from __future__ import annotations

import json
import time

import numpy as np
import pytest
import zarr

from tests.conftest import StoreTarget
from tests.txn.helpers import put_private, read_private, snapshot
from zarrlake.errors import CorruptError, InvalidInputError, LockedError, NotFoundError
from zarrlake.meta import backup, repair, restore, validate
from zarrlake.storage import atomic_put, delete_key
from zarrlake.txn import JOURNAL_KEY, LOCK_KEY


def _archive(target: StoreTarget, zarr_format: int) -> None:
    store = target.open("a")
    root = zarr.open_group(store, mode="w", zarr_format=zarr_format)
    group = root.create_group("obs")
    group.create_array("time", shape=(4,), dtype="i8", attributes={"units": "s"})
    group.create_array("x", shape=(3,), dtype="f4", attributes={"units": "m"})
    temp = group.create_array(
        "temp", shape=(4, 3), chunks=(2, 3), dtype="f4", attributes={"units": "K"}
    )
    temp[:] = np.arange(12, dtype="f4").reshape(4, 3)
    zarr.consolidate_metadata(store)


def _damage(target: StoreTarget, zarr_format: int) -> None:
    store = target.open("a")
    v3 = zarr_format == 3
    atomic_put(store, "obs/temp/zarr.json" if v3 else "obs/temp/.zarray", b"{bad")
    delete_key(store, "obs/zarr.json" if v3 else "obs/.zgroup")
    atomic_put(store, "obs/temp/c/7/0" if v3 else "obs/temp/7.0", b"orphan")


def _check(target: StoreTarget, **kwargs):
    return validate(target.url, storage_options=target.storage_options, **kwargs)


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_repair_fixes_every_fixable_finding(store_target: StoreTarget, zarr_format: int) -> None:
    _archive(store_target, zarr_format)
    _damage(store_target, zarr_format)
    assert {"ZL110", "ZL111"} <= _check(store_target).codes()
    result = repair(
        store_target.url,
        storage_options=store_target.storage_options,
        add_missing_attrs=True,
        prune_orphans=True,
    )
    assert result.backup is not None and "from the consolidated metadata copy" in str(result)
    report = _check(store_target, deep=True)
    assert report["valid"], report["issues"]
    assert report.codes() <= {"ZL141"}  # time and x were never written: information only
    root = zarr.open_group(store_target.open("r"), mode="r", use_consolidated=True)
    names = sorted(name for name, _ in root.members(max_depth=None))
    assert names == ["obs", "obs/temp", "obs/time", "obs/x"]
    np.testing.assert_array_equal(root["obs/temp"][:], np.arange(12).reshape(4, 3))
    if zarr_format == 3:
        assert root["obs/temp"].metadata.dimension_names == ("time", "x")
    else:
        assert root["obs/temp"].attrs["_ARRAY_DIMENSIONS"] == ["time", "x"]
    assert root.attrs["title"].endswith(".zarr")


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_dry_run_prints_the_plan_and_changes_nothing(
    store_target: StoreTarget, zarr_format: int
) -> None:
    _archive(store_target, zarr_format)
    _damage(store_target, zarr_format)
    before = snapshot(store_target.open("r"), private=True)
    plan = repair(
        store_target.url,
        storage_options=store_target.storage_options,
        dry_run=True,
        prune_orphans=True,
    )
    assert plan.dry_run and "(would)" in str(plan)
    assert any("create the missing group document of obs" in a for a in plan.actions)
    assert any("orphan" in a for a in plan.actions)
    assert snapshot(store_target.open("r"), private=True) == before


def test_repair_rolls_back_a_leftover_journal_and_breaks_dead_locks(
    store_target: StoreTarget,
) -> None:
    from tests.append.slices import make_slice
    from zarrlake.append import append

    url, options = store_target.url, store_target.storage_options
    append([make_slice(0), make_slice(1)], url, target_storage_options=options)
    store = store_target.open("a")
    good = snapshot(store)
    journal = {"txn_id": "t", "created_keys": ["temp/c/9/0/0"], "overwritten": {}, "deleted": {}}
    atomic_put(store, "temp/c/9/0/0", b"half of an append")
    put_private(store, JOURNAL_KEY, json.dumps(journal).encode())
    owner = {
        "owner_id": "dead",
        "host": "elsewhere",
        "pid": 1,
        "pid_started": 0,
        "command": "c",
        "acquired": "2026-01-01T00:00:00",
        "heartbeat": time.time() - 3600,
    }
    put_private(store, LOCK_KEY, json.dumps(owner).encode())
    with pytest.raises(LockedError, match="--break-lock"):
        repair(url, storage_options=options)
    result = repair(url, storage_options=options, break_stale_lock=True)
    assert result.recovered == "rolled_back"
    assert read_private(store, JOURNAL_KEY) is None
    assert snapshot(store) == good


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_backup_and_restore_are_byte_exact(
    store_target: StoreTarget, zarr_format: int, tmp_path
) -> None:
    _archive(store_target, zarr_format)
    before = snapshot(store_target.open("r"))
    inside = backup(store_target.url, storage_options=store_target.storage_options)
    outside = backup(
        store_target.url, tmp_path / "meta.json", storage_options=store_target.storage_options
    )
    _damage(store_target, zarr_format)
    zarr.open_group(store_target.open("a"), mode="a").create_array("new", shape=(1,), dtype="i1")
    restore(outside, store_target.url, storage_options=store_target.storage_options)
    after = snapshot(store_target.open("r"))
    metadata = {
        k
        for k in before
        if k.rsplit("/", 1)[-1] in ("zarr.json", ".zarray", ".zattrs", ".zgroup", ".zmetadata")
    }
    assert {k: after[k] for k in metadata} == {k: before[k] for k in metadata}
    assert "new/zarr.json" not in after and "new/.zarray" not in after  # created after the backup
    assert inside.startswith(store_target.url + ".zarrlake/backups/")  # beside the archive
    restore(inside, storage_options=store_target.storage_options)
    assert {k: snapshot(store_target.open("r"))[k] for k in metadata} == {
        k: before[k] for k in metadata
    }


def test_bad_backups(tmp_path) -> None:
    with pytest.raises(NotFoundError, match="does not exist"):
        restore(tmp_path / "nope.json")
    (tmp_path / "x.json").write_text('{"hello": 1}')
    with pytest.raises(CorruptError, match="not a zarrlake metadata backup"):
        restore(tmp_path / "x.json")


def _cube(path, zarr_format: int) -> None:
    import xarray as xr

    values = np.arange(12, dtype="float32").reshape(3, 4)
    ds = xr.Dataset({"field": (("row", "column"), values, {"units": "K", "note": "kept"})})
    ds.to_zarr(path, zarr_format=zarr_format, consolidated=True)  # no coordinate arrays


def _edit(path, key: str, change) -> None:
    document = json.loads((path / key).read_text())
    change(document)
    (path / key).write_text(json.dumps(document))


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_dimension_names_only_in_the_consolidated_copy_are_restored_from_it(
    tmp_path, zarr_format: int
) -> None:
    import xarray as xr

    path = tmp_path / "cube.zarr"
    _cube(path, zarr_format)
    if zarr_format == 3:
        _edit(path, "field/zarr.json", lambda d: d.pop("dimension_names"))
    else:
        _edit(path, "field/.zattrs", lambda d: d.pop("_ARRAY_DIMENSIONS"))
    result = repair(path)
    assert "restore dimension names ['row', 'column'] of 'field'" in result.actions
    assert result.backup is not None and f"backup: {result.backup}" in str(result)
    for consolidated in (True, False):  # the documents and the copy both have them now
        ds = xr.open_zarr(path, consolidated=consolidated)
        assert ds["field"].dims == ("row", "column")


def test_repair_never_rebuilds_consolidated_metadata_with_less_in_it(tmp_path) -> None:
    import xarray as xr

    path = tmp_path / "cube.zarr"
    _cube(path, 3)
    _edit(path, "field/zarr.json", lambda d: d.update(attributes={}))
    before = (path / "zarr.json").read_bytes()
    result = repair(path)
    kept = [a for a in result.actions if a.startswith("kept the consolidated metadata")]
    assert kept and "attributes" in kept[0] and "'field'" in kept[0]
    assert (path / "zarr.json").read_bytes() == before
    assert xr.open_zarr(path, consolidated=True)["field"].attrs["note"] == "kept"


def test_a_folder_of_archives_is_repaired_archive_by_archive_never_made_one_group(
    tmp_path,
) -> None:
    from tests.subprocesses import run_zarrlake

    folder = tmp_path / "lake"
    folder.mkdir()
    for name in ("a.zarr", "b.zarr"):
        _cube(folder / name, 3)
    _edit(folder / "b.zarr", "field/zarr.json", lambda d: d.pop("dimension_names"))
    before = snapshot_tree(folder)
    with pytest.raises(InvalidInputError, match="holds Zarr archives \\(a.zarr, b.zarr\\)"):
        repair(folder)
    assert snapshot_tree(folder) == before  # not even a lock was written

    validated = run_zarrlake("meta", "validate", f"{folder}/", "--json")
    urls = sorted(entry["url"] for entry in json.loads(validated.stdout))
    assert urls == [str(folder / "a.zarr"), str(folder / "b.zarr")]
    repaired = run_zarrlake("meta", "repair", f"{folder}/")
    assert repaired.returncode == 0, repaired.stdout + repaired.stderr
    assert not (folder / "zarr.json").exists() and not (folder / ".zgroup").exists()
    assert "dimension_names" in json.loads((folder / "b.zarr/field/zarr.json").read_text())


def snapshot_tree(folder) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}
