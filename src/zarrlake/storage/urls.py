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
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from zarr.abc.store import Store

from zarrlake.errors import AlreadyExistsError, InvalidInputError, NotFoundError
from zarrlake.storage._memory import forget_named
from zarrlake.storage._sync import run
from zarrlake.storage.kinds import kind_for_scheme, kind_of
from zarrlake.storage.listing import aclear
from zarrlake.storage.protocol import StoreLocation

__all__ = ["Mode", "StoreLocation", "forget_memory_store", "open_store", "parse_url", "store_url"]

Mode = Literal["r", "r+", "a", "w", "w-"]
_MODES: tuple[str, ...] = ("r", "r+", "a", "w", "w-")


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
        ``w`` read/write, existing contents are deleted (and the bookkeeping
        zarrlake keeps beside the archive, see :mod:`zarrlake.storage.sidecar`).
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
    store = kind_for_scheme(location.scheme).open(location, mode)
    _apply_mode(store, location, mode)
    return store


def forget_memory_store(url: str) -> None:
    """Drop a named ``memory://`` store and everything in it (for tests and demos).

    Parameters
    ----------
    url
        The ``memory://NAME`` URL.
    """
    forget_named(parse_url(url).path)


def _apply_mode(store: Store, location: StoreLocation, mode: str) -> None:
    kind = kind_of(store)
    kind.require_container(location)
    if mode == "a":
        return
    empty = kind.is_empty()
    if kind.object_store and mode in ("r", "r+") and empty:
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
    if mode == "w":
        if not empty:
            run(aclear(store))
        side = kind.sidecar()
        if not side.inside:  # a replaced archive keeps no records, journal or backups
            run(aclear(side.store))


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
    return kind_of(store).url
