"""Raw access to the filesystem or bucket the Zarr backend works in.

zarr's API writes parent group documents up to the root of the store it is given, so
it only ever gets a store rooted at a hierarchy's root (:meth:`_Space.hierarchy`);
everything else (locating nodes, plain files beside the Zarr data, listing, copying)
goes through raw key access to the whole filesystem or bucket.
"""

from __future__ import annotations

import contextlib
import os
import posixpath
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from zarr.abc.store import Store
from zarr.core.buffer import default_buffer_prototype
from zarr.storage import LocalStore

from zarrlake.backends._base import PathLike
from zarrlake.hierarchy import aread_document
from zarrlake.storage import run_sync
from zarrlake.storage.listing import alist_keys
from zarrlake.storage.urls import open_store

__all__ = ["Kind", "Node", "Space", "split_path"]

_PROTO = default_buffer_prototype()

Kind = Literal["missing", "raw", "array", "group", "link", "plain", "virtual"]


@dataclass
class Node:
    """What is at a key: its kind, Zarr format and attributes."""

    kind: Kind
    key: str
    zarr_format: int | None = None
    attrs: dict[str, Any] = field(default_factory=dict)


class Space:
    """Raw key access to one filesystem or bucket (never given to zarr's API)."""

    def __init__(self, base: str, storage_options: dict[str, Any]) -> None:
        self.base = base
        self.local = "://" not in base
        self.options = storage_options
        self.store: Store = (
            LocalStore(base)
            if self.local
            else open_store(base, mode="a", storage_options=storage_options)
        )
        self._hierarchies: dict[str, Store] = {}

    def path(self, key: str) -> str:
        """Return the location (path or URL) of ``key``."""
        return posixpath.join(self.base, key) if key else self.base

    def hierarchy(self, key: str) -> Store:
        """Return a store rooted at ``key`` for zarr's API (which writes parents up to the root)."""
        if key not in self._hierarchies:
            where = self.path(key)
            self._hierarchies[key] = (
                LocalStore(where)
                if self.local
                else open_store(where, mode="a", storage_options=self.options)
            )
        return self._hierarchies[key]

    def get(self, key: str) -> bytes | None:
        """Return the bytes at ``key``, or None."""
        value = run_sync(self.store.get(key, _PROTO))
        return None if value is None else value.to_bytes()

    def json(self, key: str) -> dict[str, Any] | None:
        """Return the JSON document at ``key``, or None."""
        return run_sync(aread_document(self.store, key))

    def put(self, key: str, data: bytes) -> None:
        """Write ``data`` at ``key``."""
        run_sync(self.store.set(key, _PROTO.buffer.from_bytes(data)))

    def exists(self, key: str) -> bool:
        """Whether an object is stored at ``key``."""
        return bool(run_sync(self.store.exists(key)))

    def children(self, key: str) -> list[str]:
        """Return the sorted names directly under ``key``."""
        if self.local:
            folder = self.path(key)
            return sorted(os.listdir(folder)) if os.path.isdir(folder) else []

        async def names() -> list[str]:
            return [name async for name in self.store.list_dir(key)]

        return sorted({name.rstrip("/") for name in run_sync(names())})

    def is_plain_dir(self, key: str) -> bool:
        """Whether ``key`` is a folder (locally) or a prefix with objects (remotely)."""
        return os.path.isdir(self.path(key)) if self.local else bool(self.children(key))

    def keys_under(self, key: str) -> list[str]:
        """Return every key under the folder ``key``."""
        return sorted(run_sync(alist_keys(self.store, key)))

    def delete_tree(self, key: str) -> None:
        """Delete ``key`` and everything under it."""
        run_sync(self.store.delete_dir(key))
        if self.exists(key):
            run_sync(self.store.delete(key))
        if self.local:
            _prune(Path(self.path(key)))

    def copy_tree(self, src: str, dst: str) -> None:
        """Copy ``src`` and everything under it to ``dst``."""
        for key in self.keys_under(src):
            data = self.get(key)
            if data is not None:
                self.put(dst + key[len(src) :], data)
        if self.exists(src) and not self.keys_under(src):
            data = self.get(src)
            if data is not None:
                self.put(dst, data)


def _prune(path: Path) -> None:
    """Remove empty folders left at ``path`` after its keys were deleted."""
    if path.is_dir():
        for folder, _, _ in sorted(os.walk(path), key=lambda entry: -len(entry[0])):
            with contextlib.suppress(OSError):
                os.rmdir(folder)


def split_path(path: PathLike) -> tuple[str, str]:
    """Split a path or URL into its filesystem or bucket and the key inside it."""
    text = os.fspath(path)
    if "://" in text:
        scheme, rest = text.split("://", 1)
        bucket, _, key = rest.strip("/").partition("/")
        return f"{scheme}://{bucket}", posixpath.normpath(key) if key else ""
    absolute = os.path.abspath(text)
    return "/", absolute.lstrip("/")
