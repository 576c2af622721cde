from __future__ import annotations

from zarr.core.buffer import default_buffer_prototype

from tests.conftest import StoreTarget
from tests.txn.helpers import snapshot
from zarrlake.storage import atomic_put, run_sync
from zarrlake.txn._staging import StagingStore

PROTO = default_buffer_prototype()


def _buf(data: bytes):
    return PROTO.buffer.from_bytes(data)


async def _keys(iterator) -> list[str]:
    return sorted([k async for k in iterator])


def test_overlay_reads_writes_and_deletes(store_target: StoreTarget) -> None:
    base = store_target.open("a")
    atomic_put(base, "a/x", b"base-x")
    atomic_put(base, "a/y", b"base-y")
    atomic_put(base, ".zarrlake/lock", b"{}")
    before = snapshot(base, private=True)
    staging = StagingStore(base)

    async def scenario() -> None:
        await staging.set("a/z", _buf(b"new-z"))
        await staging.set("a/x", _buf(b"new-x"))
        await staging.delete("a/y")
        assert (await staging.get("a/x", PROTO)).to_bytes() == b"new-x"
        assert await staging.get("a/y", PROTO) is None
        assert not await staging.exists("a/y")
        assert await staging.exists("a/z")
        from zarr.abc.store import RangeByteRequest, SuffixByteRequest

        part = await staging.get("a/z", PROTO, RangeByteRequest(1, 3))
        assert part.to_bytes() == b"ew"
        assert (await staging.get("a/z", PROTO, SuffixByteRequest(2))).to_bytes() == b"-z"
        assert await _keys(staging.list_prefix("a/")) == ["a/x", "a/z"]
        assert await _keys(staging.list_dir("")) == ["a"]  # .zarrlake is hidden
        assert await _keys(staging.list()) == ["a/x", "a/z"]
        await staging.delete_dir("a")
        assert await _keys(staging.list()) == []
        assert await staging.get("a/x", PROTO) is None
        assert await staging.is_empty("")

    run_sync(scenario())
    assert snapshot(base, private=True) == before  # the target was only read
