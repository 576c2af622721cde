"""Listing and sizing keys with one listing call per prefix where the store allows it.

Each store kind lists in its own way (see :mod:`zarrlake.storage.protocol`); these
functions normalize the prefix and call through :func:`zarrlake.storage.kinds.kind_of`.
"""

from __future__ import annotations

import asyncio

from zarr.abc.store import Store

from zarrlake.storage.kinds import kind_of
from zarrlake.storage.protocol import is_in_flight

__all__ = [
    "aclear",
    "ahas_keys",
    "alist_keys",
    "astored_bytes",
    "is_in_flight",
    "prune_empty_dirs",
]


async def _key_sizes(store: Store, prefix: str) -> dict[str, int]:
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    return await kind_of(store).key_sizes(prefix)


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
    return await kind_of(store).has_keys(prefix.strip("/"))


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
    await kind_of(store).delete_keys(keys)
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
    kind_of(store).prune_empty_dirs(prefix)
