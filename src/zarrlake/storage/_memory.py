"""In-process stores (:class:`zarr.storage.MemoryStore`): the store-kind contract on a dict.

* ``atomic_put``: one dict assignment;
* ``put_if_absent``: a check-and-set under a process lock;
* sizes and emptiness: the dict's keys and values' lengths, no reads through zarr;
* ``memory://NAME`` URLs name dicts kept here, so every ``open_store("memory://NAME")``
  in one process sees the same keys, and a store's URL is found from its dict.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import MutableMapping

from zarr.core.buffer import Buffer, default_buffer_prototype
from zarr.storage import MemoryStore

from zarrlake.errors import NotFoundError
from zarrlake.storage.protocol import (
    SIDECAR_SUFFIX,
    Sidecar,
    StoreKind,
    StoreLocation,
    is_in_flight,
)

__all__ = ["MemoryKind", "forget_named"]

_write_lock = threading.Lock()  # check-and-set of put_if_absent
_names_lock = threading.Lock()  # the registry of named stores below
_named: dict[str, MutableMapping[str, Buffer]] = {}
# Sidecars of memory stores that have no name, by the id of their dict, for as long as
# the first store object that asked for one lives.
_unnamed_sidecars: dict[int, MutableMapping[str, Buffer]] = {}


def _entries(store: MemoryStore) -> MutableMapping[str, Buffer]:
    """Return the dict behind ``store``; the one place reading zarr's private ``_store_dict``.

    zarr's ``MemoryStore`` offers no check-and-set, no sizes without copying every
    value through its async API, and no way to tell which named dict it wraps; its
    dict (a documented constructor argument, kept as ``_store_dict`` in zarr 3.x) is
    the only handle for all three.
    """
    return store._store_dict


def forget_named(name: str) -> None:
    """Drop the named store ``name`` and everything in it (its sidecar included)."""
    with _names_lock:
        _named.pop(name, None)
        _named.pop(name + SIDECAR_SUFFIX, None)


class MemoryKind(StoreKind[MemoryStore]):
    """A dict in this process, named by ``memory://NAME``."""

    store_class = MemoryStore
    schemes = ("memory",)

    @classmethod
    def open(cls, location: StoreLocation, mode: str) -> MemoryStore:
        """Open the named store; ``r`` and ``r+`` need something written under the name."""
        with _names_lock:
            exists = location.path in _named
            if mode in ("r", "r+") and not exists:
                raise NotFoundError(
                    f"no Zarr store at {location.url}: nothing was written under that name "
                    "in this process",
                    subject=location.url,
                    hint="memory:// stores live only inside one Python process",
                )
            store_dict = _named.setdefault(location.path, {})
        return MemoryStore(store_dict=store_dict, read_only=mode == "r")

    @property
    def url(self) -> str:
        """``memory://NAME``, or zarr's own text for a store that was not named here."""
        entries = _entries(self.store)
        with _names_lock:
            for name, mapping in _named.items():
                if mapping is entries:
                    return f"memory://{name}"
        return str(self.store)

    def sidecar(self) -> Sidecar:
        """Return the named store ``NAME.zarrlake`` (unnamed stores: a dict kept beside)."""
        entries = _entries(self.store)
        with _names_lock:
            name = next((n for n, m in _named.items() if m is entries), None)
            if name is not None:
                side = _named.setdefault(name + SIDECAR_SUFFIX, {})
                location = f"memory://{name}{SIDECAR_SUFFIX}"
            else:
                key = id(entries)
                if key not in _unnamed_sidecars:
                    _unnamed_sidecars[key] = {}
                    weakref.finalize(self.store, _unnamed_sidecars.pop, key, None)
                side = _unnamed_sidecars[key]
                location = f"{self.store}{SIDECAR_SUFFIX}"
        return Sidecar(MemoryStore(store_dict=side, read_only=self.store.read_only), "", location)

    async def atomic_put(self, key: str, data: bytes, *, durable: bool = True) -> None:
        """Assign the key in the dict."""
        buffer = default_buffer_prototype().buffer.from_bytes(data)
        with _write_lock:
            _entries(self.store)[key] = buffer

    async def put_if_absent(self, key: str, data: bytes) -> bool:
        """Check and set under a process lock."""
        buffer = default_buffer_prototype().buffer.from_bytes(data)
        entries = _entries(self.store)
        with _write_lock:
            if key in entries:
                return False
            entries[key] = buffer
            return True

    async def key_sizes(self, prefix: str) -> dict[str, int]:
        """Measure the lengths of the dict's values."""
        return {
            key: len(value)
            for key, value in list(_entries(self.store).items())
            if key.startswith(prefix) and not is_in_flight(key)
        }

    async def has_keys(self, folder: str) -> bool:
        """Whether a key of the dict lies in ``folder``."""
        start = f"{folder}/" if folder else ""
        return any(
            key.startswith(start) and not is_in_flight(key) for key in list(_entries(self.store))
        )
