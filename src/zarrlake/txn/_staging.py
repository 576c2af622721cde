"""A copy-on-write overlay store: writers stage changes, the target stays untouched.

Writes and deletes land in memory; reads see the staged state over the target. A
transaction lets any writer (xarray's ``to_zarr``, zarr's API) run against the overlay,
then knows the complete set of keys the change creates, overwrites and deletes before
a single byte of the target changes. A writer that fails leaves the target
byte-identical.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from typing import Any

from zarr.abc.store import (
    ByteRequest,
    OffsetByteRequest,
    RangeByteRequest,
    Store,
    SuffixByteRequest,
)
from zarr.core.buffer import Buffer, BufferPrototype

from zarrlake.storage.listing import is_in_flight
from zarrlake.storage.protocol import INSIDE_PREFIX

__all__ = ["StagingStore"]

_PRIVATE = INSIDE_PREFIX  # bookkeeping kept inside an archive is never a key


def _slice(value: Buffer, byte_range: ByteRequest | None) -> Buffer:
    if byte_range is None:
        return value
    size = len(value)
    if isinstance(byte_range, RangeByteRequest):
        start, stop = byte_range.start, byte_range.end
    elif isinstance(byte_range, OffsetByteRequest):
        start, stop = byte_range.offset, size
    elif isinstance(byte_range, SuffixByteRequest):
        start, stop = max(0, size - byte_range.suffix), size
    else:
        raise TypeError(f"unexpected byte range {byte_range!r}")
    return value[start:stop]


class StagingStore(Store):
    """An overlay over ``base`` that keeps every write and delete in memory.

    Parameters
    ----------
    base
        The target store; it is only read.
    """

    supports_writes = True
    supports_deletes = True
    supports_listing = True
    supports_partial_writes = False

    def __init__(self, base: Store) -> None:
        super().__init__(read_only=False)
        self.base = base
        self.staged: dict[str, Buffer] = {}
        self.deleted: set[str] = set()
        self.deleted_prefixes: set[str] = set()

    def _is_deleted(self, key: str) -> bool:
        return key in self.deleted or any(key.startswith(p) for p in self.deleted_prefixes)

    def __eq__(self, other: object) -> bool:
        return self is other

    def __hash__(self) -> int:
        return id(self)

    def __repr__(self) -> str:
        return (
            f"StagingStore({self.base!r}, staged={len(self.staged)}, deleted={len(self.deleted)})"
        )

    async def get(
        self,
        key: str,
        prototype: BufferPrototype,
        byte_range: ByteRequest | None = None,
    ) -> Buffer | None:
        """Read the staged bytes, or the target's when ``key`` was not touched."""
        if key in self.staged:
            return prototype.buffer.from_buffer(_slice(self.staged[key], byte_range))
        if self._is_deleted(key):
            return None
        return await self.base.get(key, prototype, byte_range)

    async def get_partial_values(
        self,
        prototype: BufferPrototype,
        key_ranges: Iterable[tuple[str, ByteRequest | None]],
    ) -> list[Buffer | None]:
        """Read several keys or ranges."""
        return [await self.get(key, prototype, byte_range) for key, byte_range in key_ranges]

    async def exists(self, key: str) -> bool:
        """Whether ``key`` exists in the staged state."""
        if key in self.staged:
            return True
        if self._is_deleted(key):
            return False
        return await self.base.exists(key)

    async def set(self, key: str, value: Buffer) -> None:
        """Stage a write."""
        self.staged[key] = value
        self.deleted.discard(key)

    async def set_if_not_exists(self, key: str, value: Buffer) -> None:
        """Stage a write unless ``key`` exists in the staged state."""
        if not await self.exists(key):
            await self.set(key, value)

    async def delete(self, key: str) -> None:
        """Stage a delete."""
        self.staged.pop(key, None)
        self.deleted.add(key)

    async def delete_dir(self, prefix: str) -> None:
        """Stage the delete of every key under ``prefix`` (listed only at commit)."""
        if prefix and not prefix.endswith("/"):
            prefix += "/"
        self.deleted_prefixes.add(prefix)
        for key in [k for k in self.staged if k.startswith(prefix)]:
            del self.staged[key]

    async def clear(self) -> None:
        """Stage the delete of everything."""
        await self.delete_dir("")

    async def _merged(self, keys: AsyncIterator[str], prefix: str) -> AsyncIterator[str]:
        seen: set[str] = set()
        async for key in keys:
            if key.startswith(_PRIVATE) or is_in_flight(key):
                continue  # locks, journals and a killed writer's temporaries are not keys
            if not self._is_deleted(key) and key not in seen:
                seen.add(key)
                yield key
        for key in self.staged:
            if key.startswith(prefix) and key not in seen:
                seen.add(key)
                yield key

    def list(self) -> AsyncIterator[str]:
        """List every key of the staged state."""
        return self._merged(self.base.list(), "")

    def list_prefix(self, prefix: str) -> AsyncIterator[str]:
        """List keys under ``prefix`` in the staged state."""
        return self._merged(self.base.list_prefix(prefix), prefix)

    async def list_dir(self, prefix: str) -> AsyncIterator[str]:
        """List the direct children of ``prefix`` in the staged state."""
        if prefix and not prefix.endswith("/"):
            prefix += "/"
        children: set[str] = set()
        if not any(prefix.startswith(p) for p in self.deleted_prefixes):
            async for child in self.base.list_dir(prefix):
                name = child.rstrip("/")
                if prefix + name + "/" == _PRIVATE or is_in_flight(name):
                    continue
                if not self._is_deleted(prefix + name) and not self._is_deleted(
                    prefix + name + "/"
                ):
                    children.add(name)
        for key in self.staged:
            if key.startswith(prefix):
                children.add(key[len(prefix) :].split("/", 1)[0])
        for child in sorted(children):
            yield child

    async def getsize(self, key: str) -> int:
        """Size of ``key`` in the staged state."""
        if key in self.staged:
            return len(self.staged[key])
        if self._is_deleted(key):
            raise FileNotFoundError(key)
        return await self.base.getsize(key)

    def with_read_only(self, read_only: bool = False) -> Any:
        """Return the overlay itself (it is never written through)."""
        return self
