"""The metadata walk: listing folder by folder and listing every key find the same tree."""

from __future__ import annotations

import numpy as np
import pytest
import zarr

from tests.conftest import StoreTarget
from zarrlake.hierarchy import Hierarchy, awalk
from zarrlake.meta import consolidate
from zarrlake.storage import atomic_put, delete_key, run_sync


def _damaged_tree(target: StoreTarget, zarr_format: int) -> None:
    """A hierarchy with every oddity the walk must tolerate, the same on each store."""
    store = target.open("a")
    root = zarr.open_group(store, mode="w", zarr_format=zarr_format, attributes={"t": 1})
    for g in range(3):
        group = root.create_group(f"g{g}")
        for a in range(2):
            group.create_array(f"a{a}", shape=(4,), chunks=(2,), dtype="i2")[:] = np.arange(4)
    deep = root.create_group("g0/inner/deeper")
    deep.create_array("x", shape=(2,), chunks=(2,), dtype="f4")[:] = 1.0
    own = "zarr.json" if zarr_format == 3 else ".zgroup"
    delete_key(store, f"g0/inner/{own}")  # a folder holding nodes without its document
    atomic_put(store, f"g1/a0/{'zarr.json' if zarr_format == 3 else '.zarray'}", b"{broken")
    atomic_put(store, ".hidden/zarr.json", b'{"zarr_format": 3, "node_type": "group"}')
    atomic_put(store, ".zarrlake/convert/done/unit.json", b"{}")
    atomic_put(store, "g2/.g2.0123456789abcdef0123456789abcdef.tmp", b"in flight")
    other = ".zgroup" if zarr_format == 3 else "zarr.json"
    other_doc = (
        b'{"zarr_format": 2}' if zarr_format == 3 else b'{"zarr_format": 3, "node_type": "group"}'
    )
    atomic_put(store, f"odd/{other}", other_doc)  # a node of the other format
    atomic_put(store, "g2/a1/stray/zarr.json", b'{"zarr_format": 3, "node_type": "group"}')


def _same(a: Hierarchy, b: Hierarchy) -> None:
    assert {p: (n.kind, n.zarr_format, n.document) for p, n in a.nodes.items()} == {
        p: (n.kind, n.zarr_format, n.document) for p, n in b.nodes.items()
    }
    assert a.raw == b.raw
    assert a.invalid.keys() == b.invalid.keys()
    assert a.folders_without_document == b.folders_without_document
    assert a.zarr_format == b.zarr_format


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_both_listings_find_the_same_hierarchy(store_target: StoreTarget, zarr_format: int):
    _damaged_tree(store_target, zarr_format)
    store = store_target.open("r")
    folders = run_sync(awalk(store, listing="folders"))
    all_keys = run_sync(awalk(store, listing="all-keys"))
    assert (folders.listing, all_keys.listing) == ("folders", "all-keys")
    _same(folders, all_keys)
    # the oddities were seen, not skipped over
    assert "g0/inner" in folders.folders_without_document
    assert "g0/inner/deeper/x" in folders.arrays
    assert any(k.startswith("g1/a0/") for k in folders.invalid)
    assert not any(p.startswith((".hidden", ".zarrlake", "g2/a1/stray")) for p in folders.nodes)
    assert "odd" in folders.nodes and folders.nodes["odd"].zarr_format != zarr_format


def _tree(target: StoreTarget, groups: int, shape: int, chunk: int) -> None:
    store = target.open("a")
    root = zarr.open_group(store, mode="w", zarr_format=3)
    for g in range(groups):
        root.create_group(f"g{g}").create_array("a", shape=(shape,), chunks=(chunk,), dtype="u1")
    consolidate(target.url, storage_options=target.storage_options)


def test_auto_lists_every_key_of_a_chunk_poor_tree_on_object_stores(
    store_target: StoreTarget,
) -> None:
    _tree(store_target, groups=6, shape=8, chunk=8)  # 6 groups, a few dozen keys
    walked = run_sync(awalk(store_target.open("r")))
    expected = "all-keys" if store_target.kind == "s3" else "folders"
    assert walked.listing == expected
    assert len(walked.arrays) == 6
    if expected == "all-keys":  # root + 6 groups + 6 arrays read, one listing page
        assert walked.requests == 1 + 6 + 6 + 1


def test_auto_lists_folders_when_the_chunk_grid_is_large(store_target: StoreTarget) -> None:
    # 3 groups whose arrays could hold 10,000 chunks each: a full listing could take
    # 30 pages, the folders 4 requests - even while no chunk is written yet
    _tree(store_target, groups=3, shape=100_000, chunk=10)
    walked = run_sync(awalk(store_target.open("r")))
    assert walked.listing == "folders"
    assert len(walked.arrays) == 3


def test_auto_lists_folders_without_consolidated_metadata(store_target: StoreTarget) -> None:
    store = store_target.open("a")
    root = zarr.open_group(store, mode="w", zarr_format=3)
    for g in range(6):
        root.create_group(f"g{g}").create_array("a", shape=(2,), dtype="u1")
    assert run_sync(awalk(store_target.open("r"))).listing == "folders"
