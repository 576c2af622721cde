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
"""

from __future__ import annotations

import asyncio
import errno
import os
import threading
import uuid
from pathlib import Path

from zarr.abc.store import Store
from zarr.core.buffer import default_buffer_prototype
from zarr.storage import FsspecStore, LocalStore, MemoryStore

from zarrlake.errors import InvalidInputError, StorageError
from zarrlake.storage._sync import run
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

_memory_lock = threading.Lock()


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


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_temp(directory: Path, name: str, data: bytes) -> Path:
    tmp = directory / f".{name}.{uuid.uuid4().hex}.tmp"
    for attempt in range(20):
        directory.mkdir(parents=True, exist_ok=True)
        try:
            handle = open(tmp, "wb")  # noqa: SIM115 - closed below
        except FileNotFoundError:
            # another process removed the (empty) folder between mkdir and open
            if attempt == 19:
                raise
            continue
        with handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        return tmp
    raise AssertionError("unreachable")


def _local_atomic_put(path: Path, data: bytes, sync_dir: bool = True) -> None:
    tmp = _write_temp(path.parent, path.name, data)
    try:
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    if sync_dir:
        _fsync_dir(path.parent)


def _local_put_if_absent(path: Path, data: bytes) -> bool:
    tmp = _write_temp(path.parent, path.name, data)
    try:
        os.link(tmp, path)
    except FileExistsError:
        return False
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV):
            raise
        return _local_create_exclusive(path, data)
    finally:
        tmp.unlink(missing_ok=True)
    _fsync_dir(path.parent)
    return True


def write_local_file(path: Path, data: bytes, *, overwrite: bool) -> bool:
    """Write a local file atomically: readers see the old content or the new, never half.

    Parameters
    ----------
    path
        The file.
    data
        Its new content.
    overwrite
        Replace an existing file; otherwise leave it and return False.

    Returns
    -------
    bool
        Whether the file was written.
    """
    if overwrite:
        _local_atomic_put(path, data)
        return True
    return _local_put_if_absent(path, data)


def _local_create_exclusive(path: Path, data: bytes) -> bool:
    # Fallback for filesystems without hard links: readers may briefly see a short file.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        return False
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    _fsync_dir(path.parent)
    return True


def _fsspec_path(store: FsspecStore, key: str) -> str:
    return f"{store.path.rstrip('/')}/{key}"


def _is_s3(store: FsspecStore) -> bool:
    protocol = store.fs.protocol
    protocols = protocol if isinstance(protocol, (tuple, list)) else (protocol,)
    return any(p in ("s3", "s3a") for p in protocols)


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
        if isinstance(store, LocalStore):
            path = Path(store.root) / key
            await asyncio.to_thread(_local_atomic_put, path, data)
        elif isinstance(store, MemoryStore):
            buffer = default_buffer_prototype().buffer.from_bytes(data)
            with _memory_lock:
                store._store_dict[key] = buffer
        elif isinstance(store, FsspecStore):
            await store.fs._pipe_file(_fsspec_path(store, key), data)
        else:
            await store.set(key, default_buffer_prototype().buffer.from_bytes(data))
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
    try:
        if isinstance(store, LocalStore):
            return await asyncio.to_thread(_local_put_if_absent, Path(store.root) / key, data)
        if isinstance(store, MemoryStore):
            buffer = default_buffer_prototype().buffer.from_bytes(data)
            with _memory_lock:
                if key in store._store_dict:
                    return False
                store._store_dict[key] = buffer
                return True
        if isinstance(store, FsspecStore) and _is_s3(store):
            try:
                await store.fs._pipe_file(_fsspec_path(store, key), data, mode="create")
            except FileExistsError:
                return False
            return True
    except OSError as exc:
        raise _storage_error(store, key, "create", exc) from exc
    raise StorageError(
        f"{store_url(store)} offers no atomic create-if-absent",
        subject=store_url(store),
        hint="use a local directory, memory:// or s3://",
    )


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
    semaphore = asyncio.Semaphore(limit)
    if isinstance(store, LocalStore):
        _check_writable(store, next(iter(items)))
        root = Path(store.root)

        async def put_local(key: str, data: bytes) -> None:
            _check_key(key)
            async with semaphore:
                try:
                    await asyncio.to_thread(_local_atomic_put, root / key, data, False)
                except OSError as exc:
                    raise _storage_error(store, key, "write", exc) from exc

        await asyncio.gather(*(put_local(k, v) for k, v in items.items()))
        directories = {(root / key).parent for key in items}
        await asyncio.gather(*(asyncio.to_thread(_fsync_dir, d) for d in directories))
        return

    async def put(key: str, data: bytes) -> None:
        async with semaphore:
            await aatomic_put(store, key, data)

    await asyncio.gather(*(put(k, v) for k, v in items.items()))


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
