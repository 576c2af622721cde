"""zarrlake's bookkeeping lives beside an archive, where Zarr readers never trip on it."""

from __future__ import annotations

import json
import logging
import warnings
from pathlib import Path

import pytest
import xarray as xr
import zarr
from zarr.abc.store import Store

from tests.append.slices import make_slice
from tests.conftest import StoreTarget
from tests.txn.helpers import put_private, read_private, snapshot
from zarrlake.append import append
from zarrlake.catalog._scan import scan
from zarrlake.errors import CorruptError
from zarrlake.meta import validate
from zarrlake.meta._batch import discover
from zarrlake.storage import atomic_put, read_bytes, run_sync
from zarrlake.storage.listing import alist_keys
from zarrlake.storage.sidecar import is_sidecar_name, sidecar
from zarrlake.txn import JOURNAL_KEY, LOCK_KEY, ArchiveLock, Journal, Transaction, recover
from zarrlake.txn._journal import sha256


def _append(target: StoreTarget, *slices: xr.Dataset) -> None:
    append(list(slices), target.url, target_storage_options=target.storage_options)


def _inside_keys(target: StoreTarget) -> list[str]:
    return [k for k in run_sync(alist_keys(target.open("r"))) if k.startswith(".zarrlake")]


def test_readers_see_no_bookkeeping_while_a_writer_holds_the_lock(
    store_target: StoreTarget,
) -> None:
    _append(store_target, make_slice(0), make_slice(1))
    store = store_target.open("a")
    with ArchiveLock(store):
        assert read_private(store, LOCK_KEY) is not None  # the lock is held, beside it
        assert _inside_keys(store_target) == []
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # zarr's "not recognized as a component" included
            warnings.filterwarnings("ignore", message="Consolidated metadata is currently not")
            zarr.consolidate_metadata(store_target.open("a"))
            ds = xr.open_zarr(store_target.open("r"), consolidated=False)
            assert ds.sizes["time"] == 2
            assert "temp" in dict(zarr.open_group(store_target.open("r"), mode="r").members())
    assert read_private(store, LOCK_KEY) is None


def test_a_local_sidecar_is_a_sibling_folder_removed_when_empty(tmp_path: Path) -> None:
    target = StoreTarget("local", str(tmp_path / "a.zarr"))
    _append(target, make_slice(0))
    side = sidecar(target.open("a"))
    assert side.location == str(tmp_path / "a.zarr.zarrlake") and not side.inside
    with ArchiveLock(target.open("a")):
        assert (tmp_path / "a.zarr.zarrlake" / "lock").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.zarr"]  # nothing left over


def test_reading_an_archive_creates_no_sidecar(tmp_path: Path) -> None:
    target = StoreTarget("local", str(tmp_path / "a.zarr"))
    _append(target, make_slice(0))
    report = validate(target.url)
    assert report.valid and read_private(target.open("r"), JOURNAL_KEY) is None
    assert not (tmp_path / "a.zarr.zarrlake").exists()


def test_an_archive_at_a_bucket_root_keeps_it_inside(s3_server, s3_bucket: str) -> None:
    target = StoreTarget("s3", f"s3://{s3_bucket}", s3_server.storage_options)
    _append(target, make_slice(0))
    store = target.open("a")
    side = sidecar(store)
    assert side.inside and side.location == f"s3://{s3_bucket}/.zarrlake"
    with ArchiveLock(store):
        assert read_bytes(store, ".zarrlake/lock") is not None
    _append(target, make_slice(1))
    assert xr.open_zarr(target.open("r")).sizes["time"] == 2


def test_bookkeeping_an_older_zarrlake_left_inside_is_moved_out(
    store_target: StoreTarget, caplog: pytest.LogCaptureFixture
) -> None:
    _append(store_target, make_slice(0))
    store = store_target.open("a")
    record = b'{"kind": "unit"}'
    atomic_put(store, ".zarrlake/convert/done/unit-0.json", record)
    atomic_put(store, ".zarrlake/backups/metadata-1.json", b"{}")
    codes = {
        f.code
        for f in validate(store_target.url, storage_options=store_target.storage_options).issues
    }
    assert "ZL152" in codes
    with caplog.at_level(logging.INFO, logger="zarrlake"):
        assert recover(store) == "clean"
    assert "moved 2 bookkeeping key(s)" in caplog.text
    assert _inside_keys(store_target) == []
    assert read_private(store, "convert/done/unit-0.json") == record
    codes = {
        f.code
        for f in validate(store_target.url, storage_options=store_target.storage_options).issues
    }
    assert "ZL152" not in codes


def test_an_interrupted_journal_inside_is_moved_and_rolled_back(store_target: StoreTarget) -> None:
    _append(store_target, make_slice(0))
    store = store_target.open("a")
    before = snapshot(store)
    atomic_put(store, "temp/c/9/0/0", b"half-written chunk")  # what the crashed writer left
    journal = Journal(txn_id="old", operation="append", created_keys=["temp/c/9/0/0"])
    atomic_put(store, ".zarrlake/journal.json", journal.to_bytes())
    assert recover(store) == "rolled_back"
    assert snapshot(store) == before


def _crashed_journal(store: Store) -> Journal:
    """A journal as a writer killed before its commit point leaves it."""
    root = read_bytes(store, "zarr.json")
    return Journal(
        txn_id="crashed",
        operation="append",
        created_keys=["temp/c/5/0/0"],
        commit_key="zarr.json",
        commit_old_sha256=sha256(root),
        commit_new_sha256="0" * 64,
        guard_key="zarr.json",
        guard_sha256=sha256(root),
    )


def test_a_journal_beside_a_replaced_archive_is_refused(store_target: StoreTarget) -> None:
    _append(store_target, make_slice(0))
    store = store_target.open("a")
    put_private(store, JOURNAL_KEY, _crashed_journal(store).to_bytes())
    # another tool replaces the archive; the sidecar beside it stays
    make_slice(7).to_zarr(store, mode="w", consolidated=True)
    before = snapshot(store, private=True)
    with pytest.raises(CorruptError, match="does not belong to the archive") as info:
        recover(store)
    assert sidecar(store).location in str(info.value)
    assert snapshot(store, private=True) == before  # nothing changed, the journal kept


def test_a_journal_beside_a_deleted_archive_is_discarded(
    store_target: StoreTarget, caplog: pytest.LogCaptureFixture
) -> None:
    _append(store_target, make_slice(0))
    store = store_target.open("a")
    put_private(store, JOURNAL_KEY, _crashed_journal(store).to_bytes())
    for key in run_sync(alist_keys(store)):  # deleted by hand; the sidecar stays
        run_sync(store.delete(key))
    with caplog.at_level(logging.WARNING, logger="zarrlake"):
        assert recover(store_target.open("a")) == "clean"
    assert "no longer exists" in caplog.text
    assert read_private(store, JOURNAL_KEY) is None
    _append(store_target, make_slice(3))  # a new archive at the same place
    assert xr.open_zarr(store_target.open("r")).sizes["time"] == 1


def test_replacing_a_store_clears_its_sidecar(store_target: StoreTarget) -> None:
    _append(store_target, make_slice(0))
    put_private(store_target.open("a"), "convert/done/unit-0.json", b"{}")
    store = store_target.open("w")
    assert run_sync(alist_keys(store)) == {}
    assert read_private(store, "convert/done/unit-0.json") is None


def test_a_journal_beside_its_own_archive_is_recovered(store_target: StoreTarget) -> None:
    _append(store_target, make_slice(0))
    store = store_target.open("a")
    put_private(store, JOURNAL_KEY, _crashed_journal(store).to_bytes())
    with Transaction(store, operation="append") as txn:
        assert txn.recovered == "rolled_back"  # the same archive: recovered as before


def test_folders_of_archives_list_archives_not_sidecars(tmp_path: Path) -> None:
    for name in ("a.zarr", "b.zarr"):
        target = StoreTarget("local", str(tmp_path / name))
        _append(target, make_slice(0))
        put_private(target.open("a"), "convert/plan.json", json.dumps({"version": 1}).encode())
    assert sorted(Path(p).name for p in discover([str(tmp_path / "*")])) == ["a.zarr", "b.zarr"]
    assert sorted(Path(p).name for p in discover([str(tmp_path)])) == ["a.zarr", "b.zarr"]
    assert sorted(Path(s.path).name for s in scan(str(tmp_path), recursive=True)) == [
        "a.zarr",
        "b.zarr",
    ]
    assert is_sidecar_name(str(tmp_path / "a.zarr.zarrlake/")) and not is_sidecar_name("a.zarr")
