"""Local directories (:class:`zarr.storage.LocalStore`): the store-kind contract on files.

* ``atomic_put``: write a temporary file in the same directory, fsync it, rename it over
  the key, fsync the directory;
* ``put_if_absent``: hard-link the complete temporary file to the key, which fails if the
  key exists (so nobody ever sees a half-written key), falling back to ``O_EXCL`` on
  filesystems without hard links;
* sizes and emptiness come from walking the directory, in a worker thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import uuid
from pathlib import Path

from zarr.abc.store import Store
from zarr.storage import LocalStore, MemoryStore

from zarrlake.errors import InvalidInputError, NotFoundError
from zarrlake.storage.protocol import (
    IN_FLIGHT,
    SIDECAR_SUFFIX,
    Sidecar,
    StoreKind,
    StoreLocation,
)

__all__ = ["LocalKind", "write_local_file"]


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


def _atomic_put(path: Path, data: bytes, sync_dir: bool = True) -> None:
    tmp = _write_temp(path.parent, path.name, data)
    try:
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    if sync_dir:
        _fsync_dir(path.parent)


def _put_if_absent(path: Path, data: bytes) -> bool:
    tmp = _write_temp(path.parent, path.name, data)
    try:
        os.link(tmp, path)
    except FileExistsError:
        return False
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV):
            raise
        return _create_exclusive(path, data)
    finally:
        tmp.unlink(missing_ok=True)
    _fsync_dir(path.parent)
    return True


def _create_exclusive(path: Path, data: bytes) -> bool:
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
        _atomic_put(path, data)
        return True
    return _put_if_absent(path, data)


def _sizes(root: Path, prefix: str) -> dict[str, int]:
    base = root / prefix if prefix else root
    sizes: dict[str, int] = {}
    if not base.is_dir():
        return sizes
    for directory, _, files in os.walk(base):
        for name in files:
            if IN_FLIGHT.search(name):
                continue
            path = Path(directory) / name
            try:
                sizes[path.relative_to(root).as_posix()] = path.stat().st_size
            except FileNotFoundError:  # removed while we walked
                continue
    return sizes


def _has_files(root: Path, folder: str) -> bool:
    base = root / folder if folder else root
    if not base.is_dir():
        return False
    return any(not IN_FLIGHT.search(name) for _, _, files in os.walk(base) for name in files)


class LocalKind(StoreKind[LocalStore]):
    """A directory on this machine."""

    store_class = LocalStore
    schemes = ("file",)

    @classmethod
    def open(cls, location: StoreLocation, mode: str) -> LocalStore:
        """Open a local directory; ``r`` and ``r+`` need it to exist."""
        path = Path(location.path)
        if path.exists() and not path.is_dir():
            raise InvalidInputError(
                f"{location.url} is a file, not a Zarr store directory",
                subject=location.url,
                hint="point at the archive's directory",
            )
        if mode in ("r", "r+") and not path.is_dir():
            raise NotFoundError(
                f"no Zarr store at {location.url}: the directory does not exist",
                subject=location.url,
                hint="check the path, or open with mode='a' to create it",
            )
        return LocalStore(path, read_only=mode == "r")

    @property
    def url(self) -> str:
        """The directory's path."""
        return str(self.store.root)

    @property
    def local_root(self) -> Path:
        """The directory."""
        return Path(self.store.root)

    def sidecar(self) -> Sidecar:
        """Return the folder ``NAME.zarrlake`` beside the archive's folder."""
        root = self.local_root.absolute()
        if root.parent == root:  # the file system's root has no sibling
            return super().sidecar()
        path = root.with_name(root.name + SIDECAR_SUFFIX)
        store: Store
        if self.store.read_only and not path.is_dir():
            # nothing was ever kept there, and reading must not create the folder
            store = MemoryStore(read_only=True)
        else:
            store = LocalStore(path, read_only=self.store.read_only)
        return Sidecar(store, "", str(path))

    async def atomic_put(self, key: str, data: bytes, *, durable: bool = True) -> None:
        """Write a temporary file and rename it over the key (then fsync the folder)."""
        await asyncio.to_thread(_atomic_put, self.local_root / key, data, durable)

    async def make_durable(self, keys: list[str]) -> None:
        """Fsync each folder of ``keys`` once."""
        root = self.local_root
        directories = {(root / key).parent for key in keys}
        await asyncio.gather(*(asyncio.to_thread(_fsync_dir, d) for d in directories))

    async def put_if_absent(self, key: str, data: bytes) -> bool:
        """Hard-link a complete temporary file to the key (``O_EXCL`` without links)."""
        return await asyncio.to_thread(_put_if_absent, self.local_root / key, data)

    async def key_sizes(self, prefix: str) -> dict[str, int]:
        """Walk the folder in a worker thread."""
        return await asyncio.to_thread(_sizes, self.local_root, prefix)

    async def has_keys(self, folder: str) -> bool:
        """Walk the folder until the first file."""
        return await asyncio.to_thread(_has_files, self.local_root, folder)

    def is_empty(self) -> bool:
        """Whether the directory is missing or holds no entry at all (files or folders)."""
        path = self.local_root
        return not path.exists() or not any(path.iterdir())

    def prune_empty_dirs(self, prefix: str) -> None:
        """Remove empty folders under ``prefix``, and ``prefix`` itself when empty."""
        if self.store.read_only:
            return
        root = self.local_root
        base = root / prefix if prefix else root
        if not base.is_dir():
            return
        for directory in sorted((p for p in base.rglob("*") if p.is_dir()), reverse=True):
            with contextlib.suppress(OSError):  # not empty, or removed by someone else
                directory.rmdir()
        if base != root:
            with contextlib.suppress(OSError):
                base.rmdir()
