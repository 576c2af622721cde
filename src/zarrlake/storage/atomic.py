"""Atomic small-object primitives that locks, journals and metadata commits build on.

Two laws hold on every store kind (local, memory, S3):

* ``atomic_put``: a reader sees either the old bytes or the new bytes of a key, never
  a mix or a truncated file. Local: write a temporary file in the same directory,
  fsync it, rename it over the key, fsync the directory. S3: one PUT (S3 replaces
  objects atomically). Memory: one dict assignment.
* ``put_if_absent``: of many concurrent callers for one key, exactly one gets
  ``True`` and its bytes are stored; the others get ``False`` and change nothing.
  Local: the complete temporary file is hard-linked to the key, which fails if the key
  exists (so nobody ever sees a half-written key), falling back to ``O_EXCL`` on
  filesystems without hard links. S3: a conditional PUT with ``If-None-Match: *``.
  Memory: a check-and-set under a process lock.

Each store kind implements the laws in its own module (the contract is
:class:`zarrlake.storage.protocol.StoreKind`); the functions here check keys and
modes, pick the kind once per call and map I/O errors to ``StorageError``.
"""

from __future__ import annotations

import asyncio

from zarr.abc.store import Store
from zarr.core.buffer import default_buffer_prototype

from zarrlake.errors import InvalidInputError, StorageError
from zarrlake.storage._local import write_local_file
from zarrlake.storage._sync import run
from zarrlake.storage.kinds import kind_of
from zarrlake.storage.urls import store_url

__all__ = [
    "aatomic_put",
    "aatomic_put_many",
    "adelete_key",
    "aput_if_absent",
    "aread_bytes",
    "atomic_put",
    "delete_key",
    "put_if_absent",
    "read_bytes",
    "write_local_file",
]


def _check_key(key: str) -> None:
    if not key or key.startswith("/") or ".." in key.split("/"):
        raise InvalidInputError(
            f"invalid store key {key!r}",
            subject=key,
            hint="keys are relative paths such as 'group/array/zarr.json'",
        )


def _check_writable(store: Store, key: str) -> None:
    if store.read_only:
        raise StorageError(
            f"cannot write {key!r}: {store_url(store)} was opened read-only",
            subject=store_url(store),
            hint="open the store with mode='r+' or 'a'",
        )


def _storage_error(store: Store, key: str, action: str, exc: BaseException) -> StorageError:
    return StorageError(
        f"could not {action} {key!r} in {store_url(store)}: {exc}",
        subject=f"{store_url(store)}/{key}",
        hint="check permissions, free space and the connection to the store",
    )


async def aatomic_put(store: Store, key: str, data: bytes) -> None:
    """Replace ``key`` with ``data`` so that readers see the old or the new bytes only.

    Parameters
    ----------
    store
        A store from :func:`zarrlake.storage.open_store`.
    key
        The key, relative to the store root.
    data
        The new bytes.

    Raises
    ------
    StorageError
        When the store is read-only or the write fails.
    """
    _check_key(key)
    _check_writable(store, key)
    try:
        await kind_of(store).atomic_put(key, data)
    except StorageError:
        raise
    except OSError as exc:
        raise _storage_error(store, key, "write", exc) from exc


async def aput_if_absent(store: Store, key: str, data: bytes) -> bool:
    """Create ``key`` with ``data`` only if it does not exist yet.

    Parameters
    ----------
    store
        A store from :func:`zarrlake.storage.open_store`.
    key
        The key, relative to the store root.
    data
        The bytes to store.

    Returns
    -------
    bool
        ``True`` if this call created the key, ``False`` if it already existed (in
        which case nothing was changed).

    Raises
    ------
    StorageError
        When the store is read-only, the write fails, or the store kind offers no
        atomic create.
    """
    _check_key(key)
    _check_writable(store, key)
    kind = kind_of(store)
    try:
        return await kind.put_if_absent(key, data)
    except StorageError:
        raise
    except OSError as exc:
        raise _storage_error(store, key, "create", exc) from exc


async def aread_bytes(store: Store, key: str) -> bytes | None:
    """Return the bytes of ``key``, or ``None`` when it does not exist.

    Parameters
    ----------
    store
        Any zarr store.
    key
        The key, relative to the store root.

    Returns
    -------
    bytes or None
        The stored bytes.
    """
    _check_key(key)
    try:
        buffer = await store.get(key, prototype=default_buffer_prototype())
    except OSError as exc:
        raise _storage_error(store, key, "read", exc) from exc
    return None if buffer is None else buffer.to_bytes()


async def adelete_key(store: Store, key: str) -> None:
    """Delete ``key``; deleting a missing key is not an error.

    Parameters
    ----------
    store
        A writable zarr store.
    key
        The key, relative to the store root.
    """
    _check_key(key)
    _check_writable(store, key)
    try:
        await store.delete(key)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise _storage_error(store, key, "delete", exc) from exc


async def aatomic_put_many(store: Store, items: dict[str, bytes], limit: int = 32) -> None:
    """Atomically replace many keys, concurrently; each key obeys :func:`aatomic_put`.

    On local stores every file is fsynced and each directory once at the end, so the
    whole batch is durable when this returns.

    Parameters
    ----------
    store
        A writable store.
    items
        Key to new bytes.
    limit
        At most this many writes at a time.
    """
    if not items:
        return
    kind = kind_of(store)
    semaphore = asyncio.Semaphore(limit)
    _check_writable(store, next(iter(items)))

    async def put(key: str, data: bytes) -> None:
        _check_key(key)
        async with semaphore:
            try:
                await kind.atomic_put(key, data, durable=False)
            except StorageError:
                raise
            except OSError as exc:
                raise _storage_error(store, key, "write", exc) from exc

    await asyncio.gather(*(put(k, v) for k, v in items.items()))
    await kind.make_durable(list(items))


def atomic_put(store: Store, key: str, data: bytes) -> None:
    """Replace a key atomically; the synchronous form of :func:`aatomic_put`."""
    run(aatomic_put(store, key, data))


def put_if_absent(store: Store, key: str, data: bytes) -> bool:
    """Create a key only if absent; the synchronous form of :func:`aput_if_absent`."""
    return run(aput_if_absent(store, key, data))


def read_bytes(store: Store, key: str) -> bytes | None:
    """Read a key or ``None``; the synchronous form of :func:`aread_bytes`."""
    return run(aread_bytes(store, key))


def delete_key(store: Store, key: str) -> None:
    """Delete a key; the synchronous form of :func:`adelete_key`."""
    run(adelete_key(store, key))
