"""The store-kind contract: what zarrlake needs from a store beyond zarr's ``Store`` API.

A :class:`StoreKind` wraps one zarr store and promises:

* ``atomic_put(key, data)``: a reader sees the old or the new bytes of ``key``, never a
  mix or a truncated value;
* ``put_if_absent(key, data)``: of many concurrent callers for one key exactly one gets
  ``True`` and its bytes are stored; the others get ``False`` and change nothing (a kind
  that cannot promise this refuses with :class:`~zarrlake.errors.StorageError`);
* ``key_sizes(prefix)``: every key under a folder with its size, in as few requests as
  the store allows; ``has_keys(folder)``: whether any key is there, stopping at the
  first; temporaries of writes in flight (:func:`is_in_flight`) are never keys;
* ``delete_keys(keys)`` and ``prune_empty_dirs(prefix)``: the two halves of clearing a
  folder;
* ``url``: the URL the store was opened from; ``local_root``: its directory on this
  machine, when it has one; ``object_store``: whether listings are paged requests;
* ``open(location, mode)``: open a parsed URL of one of its ``schemes``;
* ``sidecar()``: where zarrlake keeps its bookkeeping for the archive rooted at the
  store (a :class:`Sidecar`): a sibling ``NAME.zarrlake`` beside the archive when the
  kind can address one, else the folder ``.zarrlake/`` inside it.

One private module implements it per store kind (``_local``, ``_memory``, ``_fsspec``,
and ``_generic`` for any other zarr store through zarr's own API);
:func:`zarrlake.storage.kinds.kind_of` picks the implementation. Supporting another
store means one new module and one line in the table there.
"""

from __future__ import annotations

import asyncio
import re
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Generic, TypeVar

from zarr.abc.store import Store

from zarrlake.errors import StorageError
from zarrlake.storage._sync import run

__all__ = [
    "INSIDE_PREFIX",
    "SIDECAR_SUFFIX",
    "Sidecar",
    "StoreKind",
    "StoreLocation",
    "is_in_flight",
]

S = TypeVar("S", bound=Store)

# Temporary files of an atomic write in flight (ours: ``.NAME.UUID.tmp``; zarr's local
# store: ``NAME.UUID.partial``), or left by a writer killed before its rename: not keys.
IN_FLIGHT = re.compile(r"(^\..+\.[0-9a-f]{32}\.tmp$)|(\.[0-9a-f]{32}\.partial$)")


SIDECAR_SUFFIX = ".zarrlake"
"""Appended to an archive's name for the sibling that holds zarrlake's bookkeeping."""
INSIDE_PREFIX = ".zarrlake/"
"""The bookkeeping folder inside an archive that has no addressable sibling (and where
zarrlake before 0.2 kept it for every archive)."""


def is_in_flight(key: str) -> bool:
    """Whether ``key`` names the temporary file of an atomic write, not a key.

    Parameters
    ----------
    key
        A store key or a file name.

    Returns
    -------
    bool
        True for ``.NAME.UUID.tmp`` and ``NAME.UUID.partial`` names.
    """
    return IN_FLIGHT.search(key.rsplit("/", 1)[-1]) is not None


@dataclass(frozen=True)
class StoreLocation:
    """A parsed store URL.

    Attributes
    ----------
    scheme
        ``file``, ``memory``, or an fsspec protocol such as ``s3``.
    path
        Absolute local path, memory store name, or ``bucket/prefix`` without slashes
        at either end.
    storage_options
        Options for the filesystem (only remote schemes use them).
    """

    scheme: str
    path: str
    storage_options: Mapping[str, Any] = field(default_factory=dict)

    @property
    def url(self) -> str:
        """The normalized URL (local locations are plain absolute paths)."""
        if self.scheme == "file":
            return self.path
        return f"{self.scheme}://{self.path}"

    @property
    def is_local(self) -> bool:
        """Whether the location is a directory on this machine."""
        return self.scheme == "file"


@dataclass(frozen=True)
class Sidecar:
    """Where zarrlake keeps the bookkeeping of one archive.

    Attributes
    ----------
    store
        The store holding it: a sibling of the archive, or the archive's own store.
    prefix
        Prepended to every bookkeeping name: empty for a sibling, ``.zarrlake/`` when
        the bookkeeping lives inside the archive.
    location
        The URL of the bookkeeping folder, for messages.
    """

    store: Store
    prefix: str
    location: str

    @property
    def inside(self) -> bool:
        """Whether the bookkeeping lives inside the archive (readers then see it)."""
        return bool(self.prefix)

    def key(self, name: str) -> str:
        """Return the store key of the bookkeeping item ``name`` (``lock``, ``journal.json``)."""
        return f"{self.prefix}{name}"

    def url(self, name: str = "") -> str:
        """Return the URL of the bookkeeping item ``name`` (the folder's when empty)."""
        return f"{self.location}/{name}" if name else self.location


class StoreKind(ABC, Generic[S]):
    """What zarrlake does on one kind of store; one instance wraps one store.

    Subclasses set ``store_class`` (the zarr store class they handle, subclasses
    included) and ``schemes`` (the URL schemes :meth:`open` accepts), and implement
    :attr:`url` and :meth:`atomic_put`; the other members have defaults that use only
    zarr's ``Store`` API.

    Parameters
    ----------
    store
        The store to work on.
    """

    store_class: ClassVar[type[Store] | None] = None
    schemes: ClassVar[tuple[str, ...]] = ()
    object_store: ClassVar[bool] = False
    """Whether keys live in a flat namespace listed in pages of requests (S3, GCS):
    an empty prefix there means "nothing stored", and one listing of every key can be
    cheaper than one per folder."""

    def __init__(self, store: S) -> None:
        self.store = store

    @classmethod
    def open(cls, location: StoreLocation, mode: str) -> Store:
        """Open ``location`` (one of ``schemes``) for ``mode`` (``r``, ``r+``, ``a``, ``w``).

        Checks that belong to the kind (the directory exists, the name was written in
        this process) happen here; emptiness checks are :func:`open_store`'s.
        """
        raise NotImplementedError(f"{cls.__name__} opens no URLs")

    @property
    @abstractmethod
    def url(self) -> str:
        """The URL the store was opened from (a local path for local stores)."""

    @property
    def local_root(self) -> Path | None:
        """The store's directory on this machine, or ``None`` when it has none."""
        return None

    @abstractmethod
    async def atomic_put(self, key: str, data: bytes, *, durable: bool = True) -> None:
        """Replace ``key`` with ``data``; readers see the old or the new bytes only.

        With ``durable=False`` the write may wait for :meth:`make_durable` (a batch
        syncs each folder once).
        """

    async def make_durable(self, keys: list[str]) -> None:
        """Make the writes of ``keys`` made with ``durable=False`` survive a crash."""

    async def put_if_absent(self, key: str, data: bytes) -> bool:
        """Create ``key`` only if absent; ``True`` when this call created it."""
        raise StorageError(
            f"{self.url} offers no atomic create-if-absent",
            subject=self.url,
            hint="use a local directory, memory:// or s3://",
        )

    async def key_sizes(self, prefix: str) -> dict[str, int]:
        """Every key under ``prefix`` (empty, or ending in ``/``) with its size."""
        keys = [k async for k in self.store.list_prefix(prefix) if not is_in_flight(k)]
        sizes = await asyncio.gather(*(self.store.getsize(k) for k in keys))
        return dict(zip(keys, sizes, strict=True))

    async def has_keys(self, folder: str) -> bool:
        """Whether any key lies under ``folder`` (no slashes at either end)."""
        async for key in self.store.list_prefix(f"{folder}/" if folder else ""):
            if not is_in_flight(key):  # stop at the first real key
                return True
        return False

    def is_empty(self) -> bool:
        """Whether nothing is stored at the root (for the ``w-`` and ``w`` modes)."""
        return not run(self.has_keys(""))

    def require_container(self, location: StoreLocation) -> None:
        """Fail early when the container (an S3 bucket) is missing or unreachable."""

    async def delete_keys(self, keys: list[str]) -> None:
        """Delete ``keys`` (all known to exist)."""
        for key in keys:
            await self.store.delete(key)

    def prune_empty_dirs(self, prefix: str) -> None:
        """Remove folders that deletes left empty under ``prefix`` (stores with folders)."""

    def sidecar(self) -> Sidecar:
        """Where the bookkeeping of the archive rooted at this store lives.

        Kinds that can address a sibling of the store's root override this; the default
        keeps it inside the archive, under ``.zarrlake/``.
        """
        return Sidecar(self.store, INSIDE_PREFIX, f"{self.url}/{INSIDE_PREFIX.rstrip('/')}")
