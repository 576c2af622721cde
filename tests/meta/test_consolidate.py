from __future__ import annotations

import json
import threading

import numpy as np
import pytest
import xarray as xr
import zarr

from tests.append.slices import make_slice
from tests.conftest import StoreTarget
from tests.txn.helpers import snapshot
from zarrlake import consolidate_metadata, list_zarr_arrays
from zarrlake.append import append
from zarrlake.errors import CorruptError, InvalidInputError, NotFoundError
from zarrlake.meta import consolidate, list_arrays, validate
from zarrlake.storage import atomic_put, read_bytes


def _hierarchy(target: StoreTarget, zarr_format: int, *, consolidated: bool = True) -> None:
    store = target.open("a")
    root = zarr.open_group(store, mode="w", zarr_format=zarr_format, attributes={"title": "t"})
    for g in range(3):
        group = root.create_group(f"g{g}")
        for a in range(2):
            array = group.create_array(f"a{a}", shape=(4,), chunks=(2,), dtype="f4")
            array[:] = np.arange(4)
    root.create_array("top", shape=(2,), dtype="i2")
    if consolidated:
        zarr.consolidate_metadata(store)


def _commit_key(zarr_format: int) -> str:
    return ".zmetadata" if zarr_format == 2 else "zarr.json"


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_consolidate_sees_every_array(store_target: StoreTarget, zarr_format: int) -> None:
    _hierarchy(store_target, zarr_format, consolidated=False)
    store = store_target.open("a")
    zarr.open_group(store, mode="a").create_array("late", shape=(1,), dtype="u1")
    document = consolidate(store_target.url, storage_options=store_target.storage_options)
    root = zarr.open_group(store_target.open("r"), mode="r", use_consolidated=True)
    names = sorted(name for name, _ in root.members(max_depth=None))
    assert "late" in names and "g2/a1" in names
    stored = json.loads(read_bytes(store, _commit_key(zarr_format)))
    assert stored == document
    assert validate(store_target.url, storage_options=store_target.storage_options)[
        "consolidated_fresh"
    ]


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_dry_run_returns_the_document_and_writes_nothing(
    store_target: StoreTarget, zarr_format: int
) -> None:
    _hierarchy(store_target, zarr_format, consolidated=False)
    before = snapshot(store_target.open("r"), private=True)
    document = consolidate_metadata(
        store_target.url, storage_options=store_target.storage_options, dry_run=True
    )
    assert snapshot(store_target.open("r"), private=True) == before
    if zarr_format == 2:
        assert "g1/a0/.zarray" in document["metadata"]
    else:
        assert "g1/a0" in document["consolidated_metadata"]["metadata"]


def test_v3_document_equals_zarrs_own(store_target: StoreTarget) -> None:
    _hierarchy(store_target, 3, consolidated=False)
    ours = consolidate(store_target.url, storage_options=store_target.storage_options)
    zarr.consolidate_metadata(store_target.open("a"))
    assert ours == json.loads(read_bytes(store_target.open("r"), "zarr.json"))


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_corrupt_documents_are_refused_with_the_key(
    store_target: StoreTarget, zarr_format: int
) -> None:
    _hierarchy(store_target, zarr_format)
    key = "g1/a0/.zarray" if zarr_format == 2 else "g1/a0/zarr.json"
    atomic_put(store_target.open("a"), key, b"{broken")
    before = snapshot(store_target.open("r"), private=True)
    with pytest.raises(CorruptError, match=f"invalid JSON in {key}"):
        consolidate(store_target.url, storage_options=store_target.storage_options)
    assert snapshot(store_target.open("r"), private=True) == before


def test_consolidate_refuses_arrays_and_empty_stores(store_target: StoreTarget) -> None:
    with pytest.raises(NotFoundError):
        consolidate(store_target.url, storage_options=store_target.storage_options)
    zarr.create_array(store_target.open("a"), shape=(2,), dtype="i1")
    with pytest.raises(InvalidInputError, match="single array"):
        consolidate(store_target.url, storage_options=store_target.storage_options)


def test_list_arrays_fast_path_and_walk(store_target: StoreTarget) -> None:
    _hierarchy(store_target, 3, consolidated=False)
    expected = ["g0/a0", "g0/a1", "g1/a0", "g1/a1", "g2/a0", "g2/a1", "top"]
    assert list_arrays(store_target.url, storage_options=store_target.storage_options) == expected
    consolidate(store_target.url, storage_options=store_target.storage_options)
    assert (
        list_zarr_arrays(store_target.url, storage_options=store_target.storage_options) == expected
    )


def test_consolidate_during_appends_and_consolidates_never_leaves_stale_metadata(
    store_target: StoreTarget,
) -> None:
    url, options = store_target.url, store_target.storage_options
    append([make_slice(0)], url, target_storage_options=options)
    errors: list[BaseException] = []

    def keep_consolidating() -> None:
        try:
            for _ in range(8):
                consolidate(url, storage_options=options)
        except BaseException as exc:
            errors.append(exc)

    workers = [threading.Thread(target=keep_consolidating) for _ in range(2)]  # and each other
    for worker in workers:
        worker.start()
    append([make_slice(i) for i in range(1, 12)], url, target_storage_options=options)
    for worker in workers:
        worker.join()
    assert errors == []
    report = validate(url, storage_options=options)
    assert report["consolidated_fresh"], report["issues"]
    assert xr.open_zarr(store_target.open("r"), consolidated=True).sizes["time"] == 12
