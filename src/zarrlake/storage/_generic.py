"""Any other zarr store (zip files, wrappers, overlays): the contract through zarr's API.

* ``atomic_put``: ``Store.set``, as atomic as the store makes it;
* ``put_if_absent``: refused (zarr's ``set_if_not_exists`` is check-then-write);
* sizes and emptiness: ``list_prefix`` and ``getsize``, stopping at the first key where
  one is enough;
* the URL is the store's own text.
"""

from __future__ import annotations

from zarr.abc.store import Store
from zarr.core.buffer import default_buffer_prototype

from zarrlake.storage.protocol import StoreKind

__all__ = ["GenericKind"]


class GenericKind(StoreKind[Store]):
    """A zarr store of a class without a module of its own."""

    @property
    def url(self) -> str:
        """The store's ``str()``."""
        return str(self.store)

    async def atomic_put(self, key: str, data: bytes, *, durable: bool = True) -> None:
        """``Store.set``."""
        await self.store.set(key, default_buffer_prototype().buffer.from_bytes(data))
