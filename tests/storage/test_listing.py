"""Listing helpers on every store kind: emptiness without a full listing."""

from __future__ import annotations

from zarrlake.storage import atomic_put, run_sync
from zarrlake.storage.listing import ahas_keys, alist_keys


def test_has_keys_sees_deep_keys_and_respects_folder_boundaries(store) -> None:
    assert not run_sync(ahas_keys(store))
    atomic_put(store, "ab/c/d/0", b"x")
    assert run_sync(ahas_keys(store))
    assert run_sync(ahas_keys(store, "ab"))
    assert run_sync(ahas_keys(store, "ab/c/"))
    assert not run_sync(ahas_keys(store, "a"))  # a folder, not a name prefix
    assert not run_sync(ahas_keys(store, "ab/c/d/0/deeper"))


def test_has_keys_ignores_writes_in_flight(store) -> None:
    atomic_put(store, "txn/.zarr.json.0123456789abcdef0123456789abcdef.tmp", b"half")
    assert run_sync(alist_keys(store, "txn")) == {}
    assert not run_sync(ahas_keys(store, "txn"))
    atomic_put(store, "txn/zarr.json", b"{}")
    assert run_sync(ahas_keys(store, "txn"))


def test_has_keys_on_other_store_kinds_stops_at_the_first_key(tmp_path) -> None:
    from zarr.storage import ZipStore

    store = run_sync(ZipStore.open(tmp_path / "archive.zip", mode="w"))
    assert not run_sync(ahas_keys(store))
    atomic_put(store, "ab/c/0", b"x")
    assert run_sync(ahas_keys(store, "ab"))
    assert not run_sync(ahas_keys(store, "a"))
    store.close()
