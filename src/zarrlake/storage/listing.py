"""Listing and sizing keys with one listing call per prefix where the store allows it."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
from pathlib import Path

from zarr.abc.store import Store
from zarr.storage import FsspecStore, LocalStore, MemoryStore

__all__ = [
    "aclear",
    "ahas_keys",
    "alist_keys",
    "astored_bytes",
    "is_in_flight",
    "prune_empty_dirs",
]


# Temporary files of an atomic write in flight (ours: ``.NAME.UUID.tmp``; zarr's local
# store: ``NAME.UUID.partial``), or left by a writer killed before its rename: not keys.
_IN_FLIGHT = re.compile(r"(^\..+\.[0-9a-f]{32}\.tmp$)|(\.[0-9a-f]{32}\.partial$)")


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
    return _IN_FLIGHT.search(key.rsplit("/", 1)[-1]) is not None


def _local_sizes(root: Path, prefix: str) -> dict[str, int]:
    base = root / prefix if prefix else root
    sizes: dict[str, int] = {}
    if not base.is_dir():
        return sizes
    for directory, _, files in os.walk(base):
        for name in files:
            if _IN_FLIGHT.search(name):
                continue
            path = Path(directory) / name
            try:
                sizes[path.relative_to(root).as_posix()] = path.stat().st_size
            except FileNotFoundError:  # removed while we walked
                continue
    return sizes


async def _key_sizes(store: Store, prefix: str) -> dict[str, int]:
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    if isinstance(store, LocalStore):
        return await asyncio.to_thread(_local_sizes, Path(store.root), prefix)
    if isinstance(store, MemoryStore):
        return {
            key: len(value)
            for key, value in list(store._store_dict.items())
            if key.startswith(prefix) and not is_in_flight(key)
        }
    if isinstance(store, FsspecStore):
        root = store.path.rstrip("/")
        try:
            found = await store.fs._find(f"{root}/{prefix}", detail=True)
        except FileNotFoundError:
            return {}
        start = len(root) + 1
        return {
            path[start:]: int(info.get("size") or 0)
            for path, info in found.items()
            if not is_in_flight(path)
        }
    keys = [key async for key in store.list_prefix(prefix) if not is_in_flight(key)]
    sizes = await asyncio.gather(*(store.getsize(k) for k in keys))
    return dict(zip(keys, sizes, strict=True))


async def alist_keys(store: Store, prefix: str = "") -> dict[str, int]:
    """Return every key under ``prefix`` with its size in bytes.

    Parameters
    ----------
    store
        Any zarr store.
    prefix
        A key prefix; treated as a directory (``"a"`` lists ``a/...``, not ``ab/...``).

    Returns
    -------
    dict
        Key (relative to the store root) to size.
    """
    return await _key_sizes(store, prefix)


async def ahas_keys(store: Store, prefix: str = "") -> bool:
    """Whether any key lies under ``prefix``, without listing them all.

    One listing request on S3 (zarr's ``is_empty`` lists every key under the prefix
    first, thousands of requests for a large archive); on a local disk the walk stops
    at the first file.

    Parameters
    ----------
    store
        Any zarr store.
    prefix
        A key prefix, treated as a directory.

    Returns
    -------
    bool
        True when at least one key (not an in-flight temporary) exists there.
    """
    folder = prefix.strip("/")
    if isinstance(store, LocalStore):
        return await asyncio.to_thread(_local_has_files, Path(store.root), folder)
    if isinstance(store, MemoryStore):
        start = f"{folder}/" if folder else ""
        return any(
            key.startswith(start) and not is_in_flight(key) for key in list(store._store_dict)
        )
    if isinstance(store, FsspecStore) and "s3" in _protocols(store):
        path = "/".join(p for p in (store.path.rstrip("/"), folder) if p)
        try:
            first = await store.fs._lsdir(path, refresh=True, max_items=1, delimiter="")
        except FileNotFoundError:
            return False
        if not first:
            return False
        if not is_in_flight(first[0]["name"]):
            return True
    async for key in store.list_prefix(f"{folder}/" if folder else ""):
        if not is_in_flight(key):  # other stores: stop at the first real key
            return True
    return False


def _protocols(store: FsspecStore) -> tuple[str, ...]:
    protocol = store.fs.protocol
    return (protocol,) if isinstance(protocol, str) else tuple(protocol)


def _local_has_files(root: Path, folder: str) -> bool:
    base = root / folder if folder else root
    if not base.is_dir():
        return False
    return any(not _IN_FLIGHT.search(name) for _, _, files in os.walk(base) for name in files)


async def astored_bytes(store: Store, prefix: str = "") -> int:
    """Return the bytes stored under ``prefix`` (one listing on object stores).

    Parameters
    ----------
    store
        Any zarr store.
    prefix
        A key prefix, treated as a directory.

    Returns
    -------
    int
        The summed size of all keys under the prefix.
    """
    return sum((await _key_sizes(store, prefix)).values())


async def aclear(store: Store, prefix: str = "") -> int:
    """Delete every key under ``prefix``; return how many were deleted.

    zarr's own ``FsspecStore.clear`` stops at its first already-deleted sub-path and
    leaves a half-cleared store; this lists the keys once and deletes exactly those
    (in batches of up to 1000 per request on S3).

    Parameters
    ----------
    store
        A writable store.
    prefix
        The folder to clear (everything when empty).

    Returns
    -------
    int
        The number of keys deleted.
    """
    keys = sorted(await alist_keys(store, prefix))
    if isinstance(store, FsspecStore):
        root = store.path.rstrip("/")
        if keys:
            await store.fs._rm([f"{root}/{k}" for k in keys])
    else:
        for key in keys:
            await store.delete(key)
    await asyncio.to_thread(prune_empty_dirs, store, prefix)
    return len(keys)


def prune_empty_dirs(store: Store, prefix: str = "") -> None:
    """Remove folders that deletes left empty under ``prefix`` (local stores only).

    Object stores have no folders; on local disks an empty folder where an array used to
    be makes zarr warn that it is "not recognized as a component of a Zarr hierarchy".

    Parameters
    ----------
    store
        Any store (only ``LocalStore`` has folders to prune).
    prefix
        The folder to prune below (and including, when it ends up empty).
    """
    if not isinstance(store, LocalStore) or store.read_only:
        return
    root = Path(store.root)
    base = root / prefix if prefix else root
    if not base.is_dir():
        return
    for directory in sorted((p for p in base.rglob("*") if p.is_dir()), reverse=True):
        with contextlib.suppress(OSError):  # not empty, or removed by someone else
            directory.rmdir()
    if base != root:
        with contextlib.suppress(OSError):
            base.rmdir()
