"""Turn store URLs into zarr-python 3 stores.

Supported locations:

``/a/path``, ``./rel``, ``file:///a/path``
    A local directory (:class:`zarr.storage.LocalStore`).
``memory://NAME``
    A named in-process store; every ``open_store("memory://NAME")`` in one process sees
    the same keys (:class:`zarr.storage.MemoryStore`).
``s3://bucket/prefix``
    An S3 bucket through s3fs (:class:`zarr.storage.FsspecStore`); needs
    ``pip install 'zarrlake[s3]'``. ``storage_options`` are passed to s3fs; ``endpoint``
    and ``region`` are accepted as short names for ``endpoint_url`` and the client's
    ``region_name``. Listing caches are off unless asked for (``use_listings_cache``):
    other processes write to archives, and a stale listing hides their keys.
any other fsspec protocol
    Opened through fsspec when its implementation is installed (``gs://`` with gcsfs,
    ``az://`` with adlfs, ...).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from zarr.abc.store import Store
from zarr.core.buffer import Buffer
from zarr.storage import FsspecStore, LocalStore, MemoryStore

from zarrlake.errors import (
    AlreadyExistsError,
    InvalidInputError,
    NotFoundError,
    StorageError,
    UnsupportedSchemeError,
)
from zarrlake.storage._sync import run
from zarrlake.storage.listing import aclear, ahas_keys

__all__ = ["Mode", "StoreLocation", "forget_memory_store", "open_store", "parse_url", "store_url"]

Mode = Literal["r", "r+", "a", "w", "w-"]
_MODES: tuple[str, ...] = ("r", "r+", "a", "w", "w-")

# Install hints for fsspec protocols people commonly ask for.
_INSTALL_HINTS: dict[str, str] = {
    "s3": "pip install 'zarrlake[s3]'",
    "s3a": "pip install 'zarrlake[s3]'",
    "gs": "pip install gcsfs",
    "gcs": "pip install gcsfs",
    "az": "pip install adlfs",
    "abfs": "pip install adlfs",
    "http": "pip install aiohttp",
    "https": "pip install aiohttp",
}

_memory_lock = threading.Lock()
_memory_stores: dict[str, MutableMapping[str, Buffer]] = {}


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


def parse_url(
    url: str | os.PathLike[str], storage_options: Mapping[str, Any] | None = None
) -> StoreLocation:
    """Parse a store URL or path into a :class:`StoreLocation`.

    Parameters
    ----------
    url
        A local path, ``file://`` URL, ``memory://NAME`` or ``PROTOCOL://bucket/prefix``.
    storage_options
        Options for remote filesystems; rejected for local and memory locations,
        where they would be silently ignored otherwise.

    Returns
    -------
    StoreLocation
        The scheme and normalized path.

    Raises
    ------
    InvalidInputError
        For an empty URL, or storage options given for a local or memory location.
    """
    text = os.fspath(url).strip()
    if not text:
        raise InvalidInputError("store URL is empty", subject="url", hint="give a path or URL")
    options = dict(storage_options or {})
    if "://" not in text:
        return _local(text, options, original=text)
    scheme = urlsplit(text).scheme.lower()
    rest = text.split("://", 1)[1]
    if scheme == "file":
        return _local(rest, options, original=text)
    path = rest.strip("/")
    if not path:
        raise InvalidInputError(
            f"store URL {text!r} has no bucket or name after '{scheme}://'",
            subject=text,
            hint=f"write it as {scheme}://NAME[/PREFIX]",
        )
    if scheme == "memory" and options:
        raise InvalidInputError(
            f"storage_options were given for the in-process store {text!r}, which takes none",
            subject="storage_options",
            hint="drop storage_options for memory:// URLs",
        )
    return StoreLocation(scheme=scheme, path=path, storage_options=options)


def _local(path: str, options: dict[str, Any], *, original: str) -> StoreLocation:
    if options:
        raise InvalidInputError(
            f"storage_options were given for the local path {original!r}, which takes none",
            subject="storage_options",
            hint="drop storage_options for local paths",
        )
    return StoreLocation(scheme="file", path=str(Path(path).expanduser().absolute()))


def open_store(
    url: str | os.PathLike[str] | Store,
    *,
    mode: Mode = "r",
    storage_options: Mapping[str, Any] | None = None,
) -> Store:
    """Open a store URL as a zarr-python 3 store.

    Parameters
    ----------
    url
        A local path, ``file://``, ``memory://NAME``, ``s3://bucket/prefix`` or any fsspec
        URL whose implementation is installed. A zarr ``Store`` is returned unchanged
        (re-opened read-only for ``mode="r"``).
    mode
        ``r`` read only, must exist; ``r+`` read/write, must exist; ``a`` read/write,
        created on first write; ``w-`` read/write, must not exist or be empty;
        ``w`` read/write, existing contents are deleted.
    storage_options
        Passed to the filesystem of remote URLs (``endpoint``/``endpoint_url``,
        ``anon``, ``key``, ``secret``, ``region``, ...).

    Returns
    -------
    zarr.abc.store.Store
        A ``LocalStore``, ``MemoryStore`` or ``FsspecStore``.

    Raises
    ------
    UnsupportedSchemeError
        For a scheme nobody implements, or whose package is not installed (with the
        install command in the message).
    NotFoundError
        For ``r``/``r+`` when nothing is stored at the URL, or a missing bucket.
    AlreadyExistsError
        For ``w-`` when the location already holds keys.
    InvalidInputError
        For an unknown mode or a local path that is a file.
    """
    if mode not in _MODES:
        raise InvalidInputError(
            f"unknown store mode {mode!r}",
            subject="mode",
            hint=f"use one of {', '.join(_MODES)}",
        )
    if isinstance(url, Store):
        return url.with_read_only(True) if mode == "r" else url
    location = parse_url(url, storage_options)
    read_only = mode == "r"
    store: Store
    if location.scheme == "file":
        store = _open_local(location, mode)
    elif location.scheme == "memory":
        store = _open_memory(location, mode)
    else:
        store = _open_fsspec(location, read_only=read_only)
    _apply_mode(store, location, mode)
    return store


def _open_local(location: StoreLocation, mode: str) -> LocalStore:
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


def _open_memory(location: StoreLocation, mode: str) -> MemoryStore:
    with _memory_lock:
        exists = location.path in _memory_stores
        if mode in ("r", "r+") and not exists:
            raise NotFoundError(
                f"no Zarr store at {location.url}: nothing was written under that name "
                "in this process",
                subject=location.url,
                hint="memory:// stores live only inside one Python process",
            )
        store_dict = _memory_stores.setdefault(location.path, {})
    return MemoryStore(store_dict=store_dict, read_only=mode == "r")


def forget_memory_store(url: str) -> None:
    """Drop a named ``memory://`` store and everything in it (for tests and demos).

    Parameters
    ----------
    url
        The ``memory://NAME`` URL.
    """
    location = parse_url(url)
    with _memory_lock:
        _memory_stores.pop(location.path, None)


def _normalize_s3_options(options: Mapping[str, Any]) -> dict[str, Any]:
    opts = dict(options)
    if "endpoint" in opts:
        opts.setdefault("endpoint_url", opts.pop("endpoint"))
    if "region" in opts:
        client_kwargs = dict(opts.get("client_kwargs") or {})
        client_kwargs.setdefault("region_name", opts.pop("region"))
        opts["client_kwargs"] = client_kwargs
    return opts


def _open_fsspec(location: StoreLocation, *, read_only: bool) -> FsspecStore:
    import fsspec
    from fsspec.registry import known_implementations

    scheme = location.scheme
    if scheme not in known_implementations and scheme not in fsspec.registry:
        raise UnsupportedSchemeError(
            f"unknown store URL scheme {scheme!r} in {location.url}",
            subject=location.url,
            hint="use a local path, file://, memory:// or s3:// (pip install 'zarrlake[s3]')",
        )
    options = dict(location.storage_options)
    if scheme in ("s3", "s3a"):
        options = _normalize_s3_options(options)
        # s3fs sends a HEAD before every whole-object GET when max_concurrency > 1 (to
        # consider a parallel download); Zarr documents and chunks are far below the
        # 50 MiB where that pays off, so it would only double every read's requests.
        options.setdefault("max_concurrency", 1)
    # Another process may write at any time (that is what locks and journals are for);
    # a cached listing would hide its keys from clear(), recovery and emptiness checks.
    options.setdefault("use_listings_cache", False)
    try:
        fs_class = fsspec.get_filesystem_class(scheme)
    except ImportError as exc:
        hint = _INSTALL_HINTS.get(scheme, f"install the fsspec implementation for {scheme}://")
        raise UnsupportedSchemeError(
            f"cannot open {location.url}: support for {scheme}:// is not installed",
            subject=location.url,
            hint=hint,
        ) from exc
    if not getattr(fs_class, "async_impl", False):
        raise UnsupportedSchemeError(
            f"cannot open {location.url}: the fsspec filesystem for {scheme}:// is not async, "
            "which zarr-python 3 requires",
            subject=location.url,
            hint="use a local path or an async filesystem (s3, gcs, az, http)",
        )
    try:
        fs = fs_class(asynchronous=True, **options)
    except TypeError as exc:
        raise InvalidInputError(
            f"storage_options for {location.url} were rejected: {exc}",
            subject="storage_options",
            hint=f"check the option names accepted by {fs_class.__name__}",
        ) from exc
    return FsspecStore(fs, path=location.path, read_only=read_only)


def _apply_mode(store: Store, location: StoreLocation, mode: str) -> None:
    if isinstance(store, FsspecStore):
        _require_bucket(store, location)
    if mode == "a":
        return
    if isinstance(store, LocalStore):
        path = Path(location.path)
        empty = not path.exists() or not any(path.iterdir())
    else:
        empty = not run(ahas_keys(store))
    if isinstance(store, FsspecStore) and mode in ("r", "r+") and empty:
        raise NotFoundError(
            f"no Zarr store at {location.url}: no keys under that prefix",
            subject=location.url,
            hint="check the bucket and prefix, or open with mode='a' to create it",
        )
    if mode == "w-" and not empty:
        raise AlreadyExistsError(
            f"a store already exists at {location.url}",
            subject=location.url,
            hint="choose another location, or open with mode='w' to replace it",
        )
    if mode == "w" and not empty:
        run(aclear(store))


def _require_bucket(store: FsspecStore, location: StoreLocation) -> None:
    bucket = location.path.split("/", 1)[0]
    if not hasattr(store.fs, "_call_s3"):
        return  # not S3: the first read or write reports a missing container
    try:
        # head_bucket, not fs._exists: the latter reports an unreachable endpoint as
        # "no such bucket", which sends users looking in the wrong place.
        run(store.fs._call_s3("head_bucket", Bucket=bucket))
    except FileNotFoundError:
        raise NotFoundError(
            f"bucket {location.scheme}://{bucket} does not exist",
            subject=location.url,
            hint="create the bucket first; zarrlake never creates buckets",
        ) from None
    except PermissionError as exc:
        raise StorageError(
            f"access to {location.scheme}://{bucket} was denied: {exc}",
            subject=location.url,
            hint="check the credentials in storage_options",
        ) from exc
    except TypeError as exc:  # s3fs passes unknown options on to the session lazily
        raise InvalidInputError(
            f"storage_options for {location.url} were rejected: {exc}",
            subject="storage_options",
            hint="check the option names accepted by s3fs.S3FileSystem",
        ) from exc
    except Exception as exc:  # botocore's connection errors are not OSErrors
        raise StorageError(
            f"cannot reach {location.url}: {exc}",
            subject=location.url,
            hint="check the endpoint_url and the network",
        ) from exc


def store_url(store: Store) -> str:
    """Return the URL a store was opened from, for messages and records.

    Parameters
    ----------
    store
        A store returned by :func:`open_store` (or any zarr store).

    Returns
    -------
    str
        A local path, ``memory://NAME`` or ``PROTOCOL://bucket/prefix``.
    """
    if isinstance(store, LocalStore):
        return str(store.root)
    if isinstance(store, MemoryStore):
        with _memory_lock:
            for name, mapping in _memory_stores.items():
                if mapping is store._store_dict:
                    return f"memory://{name}"
        return str(store)
    if isinstance(store, FsspecStore):
        protocol = store.fs.protocol
        scheme = protocol[0] if isinstance(protocol, (tuple, list)) else protocol
        return f"{scheme}://{store.path.strip('/')}"
    return str(store)
