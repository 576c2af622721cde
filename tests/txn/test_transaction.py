from __future__ import annotations

import contextlib
import json

import numpy as np
import pytest
import xarray as xr
import zarr

from tests.conftest import StoreTarget
from tests.txn.helpers import put_private, read_private, snapshot, time_slice
from zarrlake.errors import ConflictError, InvalidInputError
from zarrlake.hierarchy import acollect_documents
from zarrlake.storage import atomic_put, read_bytes, run_sync
from zarrlake.txn import JOURNAL_KEY, LOCK_KEY, Transaction, recover
from zarrlake.txn import _journal as journal_module
from zarrlake.txn import _transaction as transaction_module


def _append(store, i: int, zarr_format: int, steps: int = 1) -> None:
    with Transaction(store, operation="append") as txn:
        kwargs = {"append_dim": "time"} if i else {"mode": "a"}
        time_slice(i, steps).to_zarr(
            txn.staging, consolidated=False, zarr_format=zarr_format, **kwargs
        )
        txn.commit()


def _consolidated(store, zarr_format: int) -> dict:
    key = ".zmetadata" if zarr_format == 2 else "zarr.json"
    return json.loads(read_bytes(store, key))


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_appends_commit_with_fresh_consolidated_metadata(
    store_target: StoreTarget, zarr_format: int
) -> None:
    store = store_target.open("a")
    for i in range(4):
        _append(store, i, zarr_format)
    ds = xr.open_zarr(store_target.open("r"), consolidated=True)
    assert ds["v"].shape == (4, 3)
    np.testing.assert_array_equal(ds["time"].values, [0, 1, 2, 3])
    np.testing.assert_array_equal(ds["v"].values[:, 0], [0, 1, 2, 3])
    # our incremental consolidated document equals zarr's own full consolidation
    ours = _consolidated(store, zarr_format)
    zarr.consolidate_metadata(store)
    assert ours == _consolidated(store, zarr_format)
    assert read_private(store, JOURNAL_KEY) is None and read_private(store, LOCK_KEY) is None


def test_nested_groups_keep_their_consolidated_metadata_fresh(store_target: StoreTarget) -> None:
    store = store_target.open("a")
    root = zarr.open_group(store, mode="w", zarr_format=3)
    root.create_group("obs").create_array("a", shape=(2,), dtype="i4")
    root.create_group("own").create_array("c", shape=(2,), dtype="i4")
    zarr.consolidate_metadata(store)
    zarr.consolidate_metadata(store, path="own")  # this subgroup carries its own copy
    with Transaction(store) as txn:
        group = zarr.open_group(txn.staging, mode="a", use_consolidated=False)
        group["obs"].create_array("b", shape=(3,), dtype="f4")
        group["obs/a"].resize((5,))
        group["own/c"].resize((7,))
        txn.commit()
    top = zarr.open_group(store_target.open("r"), mode="r", use_consolidated=True)
    assert sorted(top["obs"].array_keys()) == ["a", "b"]
    assert top["obs/a"].shape == (5,) and top["obs/b"].shape == (3,)
    own = zarr.open_group(store_target.open("r"), path="own", mode="r", use_consolidated=True)
    assert own["c"].shape == (7,)
    assert top["own/c"].shape == (7,)


def test_collect_reads_documents_only(store_target: StoreTarget) -> None:
    store = store_target.open("a")
    for i in range(3):
        _append(store, i, 3)
    docs = run_sync(acollect_documents(store, 3))
    assert sorted(docs) == ["time/zarr.json", "v/zarr.json", "x/zarr.json", "zarr.json"]


def test_failure_inside_leaves_target_byte_identical(store_target: StoreTarget) -> None:
    store = store_target.open("a")
    _append(store, 0, 3)
    before = snapshot(store, private=True)
    with pytest.raises(RuntimeError, match="boom"), Transaction(store) as txn:
        time_slice(1).to_zarr(txn.staging, append_dim="time", consolidated=False)
        raise RuntimeError("boom")
    assert snapshot(store, private=True) == before


def test_uncommitted_changes_are_discarded(store_target: StoreTarget) -> None:
    store = store_target.open("a")
    _append(store, 0, 2)
    before = snapshot(store)
    with Transaction(store) as txn:
        time_slice(1).to_zarr(txn.staging, append_dim="time", consolidated=False)
    assert snapshot(store) == before


def test_commit_twice_and_outside(store_target: StoreTarget) -> None:
    store = store_target.open("a")
    txn = Transaction(store)
    with pytest.raises(InvalidInputError, match="outside an open transaction"):
        txn.commit()
    with txn:
        txn.commit()
        with pytest.raises(InvalidInputError, match="already committed"):
            txn.commit()


def test_read_only_store_is_refused(store_target: StoreTarget) -> None:
    atomic_put(store_target.open("a"), "k", b"1")
    with pytest.raises(InvalidInputError, match="read-only"):
        Transaction(store_target.open("r"))


def test_lost_lock_aborts_before_any_change(store_target: StoreTarget) -> None:
    store = store_target.open("a")
    _append(store, 0, 3)
    before = snapshot(store)
    with pytest.raises(ConflictError, match="taken by another writer"), Transaction(store) as txn:
        time_slice(1).to_zarr(txn.staging, append_dim="time", consolidated=False)
        put_private(store, LOCK_KEY, b'{"owner_id": "someone-else"}')  # a breaker took it
        txn.commit()
    assert snapshot(store) == before


class Crash(BaseException):
    """Stands for the process dying: not an Exception, so nothing handles it."""


def _crash_after(
    monkeypatch: pytest.MonkeyPatch, module, names: list[str], budget: int
) -> list[int]:
    """Make the module's store writes raise Crash after ``budget`` successful calls."""
    calls = [0]
    for name in names:
        original = getattr(module, name)

        async def counting(*args, _original=original, **kwargs):
            if calls[0] >= budget:
                raise Crash
            calls[0] += 1
            return await _original(*args, **kwargs)

        monkeypatch.setattr(module, name, counting)
    if hasattr(module, "aatomic_put_many"):
        put = module.aatomic_put  # the counting one

        async def many(store, items, limit=32):
            for key, value in items.items():  # each key of a batch is a crash point
                await put(store, key, value)

        monkeypatch.setattr(module, "aatomic_put_many", many)
    return calls


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_recovery_from_a_crash_at_every_write(
    store_target: StoreTarget, zarr_format: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Crash the commit after each of its writes; recovery gives the old or the new state."""
    store = store_target.open("a")
    for i in (0, 2):
        _append(store, i, zarr_format, steps=2)
    old_state = snapshot(store)
    outcomes = set()
    budget = 0
    while True:
        with monkeypatch.context() as patch:
            calls = _crash_after(patch, transaction_module, ["aatomic_put", "adelete_key"], budget)
            with contextlib.suppress(Crash):
                _append(store, 4, zarr_format, steps=2)
            crashed = calls[0] >= budget
        result = recover(store)
        state = snapshot(store)
        ds = xr.open_zarr(store_target.open("r"), consolidated=True)
        if ds.sizes["time"] == 4:
            assert state == old_state, f"crash after {budget} writes: not the old state"
            outcomes.add("old")
        else:
            assert ds.sizes["time"] == 6
            np.testing.assert_array_equal(ds["v"].values[:, 0], [0, 1, 2, 3, 4, 5])
            outcomes.add("new")
            if not crashed:
                break
            # roll back to the old state by hand for the next crash point
            store_target.open("w")
            for key, value in old_state.items():
                atomic_put(store, key, value)
        assert result in ("clean", "rolled_back", "rolled_forward")
        budget += 1
    assert outcomes == {"old", "new"}
    assert budget > 5  # the crash really visited many points


def test_recovery_survives_crashes_during_recovery(
    store_target: StoreTarget, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = store_target.open("a")
    _append(store, 0, 3, steps=2)
    old_state = snapshot(store)
    with monkeypatch.context() as patch:
        _crash_after(patch, transaction_module, ["aatomic_put"], 4)  # after the journal
        with pytest.raises(Crash):
            _append(store, 2, 3, steps=2)
    assert read_private(store, JOURNAL_KEY) is not None
    for budget in range(6):  # recovery itself dies after 0, 1, 2, ... writes
        with monkeypatch.context() as patch:
            _crash_after(patch, journal_module, ["aatomic_put", "adelete_key"], budget)
            try:
                recover(store)
            except Crash:
                continue
        break
    assert recover(store) == "clean"
    assert snapshot(store) == old_state
