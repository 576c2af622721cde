"""Remote inputs: one way to reach an fsspec URL, one expansion of globs and prefixes.

:func:`expand_url` is what every command that takes remote inputs uses (convert's
input files, the stores of ``meta`` commands, the catalog's scan):

* a glob (``s3://bucket/data/*.nc``): what matches it, files and folders;
* a prefix, written with a trailing slash (``s3://bucket/data/``): what lies in it,
  files and folders directly below (``depth=1``) or the files at any depth
  (``depth=None``); a file written with a trailing slash is that file;
* anything else names one object: that object when it exists;
* nothing there: an empty list (each caller words its own error).

:func:`remote_errors` turns what the network and the object store's client raise when a
request cannot be made at all (no credentials, endpoint unreachable, access denied)
into one :class:`~zarrlake.errors.StorageError` naming the URL and the endpoint, where
a user would otherwise read a traceback of botocore internals.

:func:`remote_filesystem` opens the filesystem with listing caches off
(:data:`REMOTE_DEFAULTS`, under the caller's options): other processes add files and
keys at any time, and a cached listing would hide them.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from zarrlake.errors import StorageError, ZarrlakeError

__all__ = [
    "REMOTE_DEFAULTS",
    "RemoteEntry",
    "expand_url",
    "glob_matches",
    "has_magic",
    "is_object_store",
    "is_remote",
    "remote_errors",
    "remote_failure",
    "remote_filesystem",
]

REMOTE_DEFAULTS: dict[str, Any] = {"use_listings_cache": False}


def is_remote(path: str) -> bool:
    """Whether a path is a URL for fsspec (``file://`` counts as local).

    Parameters
    ----------
    path
        A local path or a URL.

    Returns
    -------
    bool
        True for ``PROTOCOL://...`` other than ``file://``.
    """
    return "://" in path and not path.startswith("file://")


def is_object_store(path: str) -> bool:
    """Whether a path is on an object store (every URL but ``file://`` and ``memory://``).

    Object stores pay per request and list slowly, which is what shards are for.

    Parameters
    ----------
    path
        A local path or a URL.

    Returns
    -------
    bool
        True for ``s3://``, ``gs://``, ``az://``, ``https://``... URLs.
    """
    return is_remote(path) and not path.startswith("memory://")


def has_magic(pattern: str) -> bool:
    """Whether ``pattern`` is a glob (holds ``*``, ``?`` or ``[``).

    Parameters
    ----------
    pattern
        A path, URL or glob.

    Returns
    -------
    bool
        True for globs.
    """
    return any(ch in pattern for ch in "*?[")


def remote_filesystem(
    url: str, storage_options: Mapping[str, Any] | None = None
) -> tuple[Any, str]:
    """Return the fsspec filesystem for ``url`` and the path inside it.

    Parameters
    ----------
    url
        A ``PROTOCOL://...`` URL.
    storage_options
        Options for the filesystem; they override :data:`REMOTE_DEFAULTS`.

    Returns
    -------
    tuple
        The filesystem and the URL's path without the protocol (and trailing slash).
    """
    import fsspec

    fs, path = fsspec.core.url_to_fs(url, **{**REMOTE_DEFAULTS, **dict(storage_options or {})})
    return fs, str(path)


@dataclass(frozen=True)
class RemoteEntry:
    """One file or folder found by :func:`expand_url`.

    Attributes
    ----------
    url
        ``PROTOCOL://path``.
    is_dir
        Whether it is a folder (a common prefix on object stores).
    size
        Its size in bytes (0 for folders).
    info
        The filesystem's own description (``LastModified``, ``mtime``, ...).
    """

    url: str
    is_dir: bool
    size: int
    info: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)


def expand_url(
    pattern: str,
    storage_options: Mapping[str, Any] | None = None,
    *,
    depth: int | None = 1,
) -> list[RemoteEntry]:
    """Expand a remote glob or prefix into the files and folders it names.

    Parameters
    ----------
    pattern
        A glob (``s3://bucket/*.nc``), a prefix with a trailing slash
        (``s3://bucket/data/``) or one object's URL.
    storage_options
        Options for the filesystem.
    depth
        For a prefix: how many levels below it to list (``1``: files and folders
        directly in it; ``None``: every file at any depth, no folders).

    Returns
    -------
    list of RemoteEntry
        Sorted by URL; empty when nothing matches.
    """
    fs, path = remote_filesystem(pattern, storage_options)
    protocol = pattern.split("://", 1)[0]
    found: dict[str, Any]
    with remote_errors(pattern, storage_options):
        if has_magic(path):
            found = fs.glob(path, detail=True)
        elif pattern.endswith("/"):
            found = fs.find(path, maxdepth=depth, withdirs=depth is not None, detail=True)
            if found.get(path, {}).get("type") == "directory":
                del found[path]  # the prefix itself (a file written with a slash stays)
        else:
            found = {path: fs.info(path)} if fs.exists(path) else {}
    return [
        RemoteEntry(
            url=f"{protocol}://{name.rstrip('/')}",
            is_dir=info.get("type") == "directory",
            size=int(info.get("size") or 0),
            info=info,
        )
        for name, info in sorted(found.items())
    ]


def glob_matches(
    pattern: str,
    storage_options: Mapping[str, Any] | None = None,
    *,
    folders: Callable[[str], bool] = lambda _: False,
) -> list[str]:
    """Return what a local glob, or a remote glob or prefix, matches: files, sorted.

    Parameters
    ----------
    pattern
        ``data/*.nc``, ``file:///data/*.nc``, ``s3://bucket/*.nc`` or ``s3://bucket/data/``.
    storage_options
        Options for remote filesystems.
    folders
        Which matched folders count too (e.g. Zarr stores); default: none.

    Returns
    -------
    list of str
        Paths or URLs, sorted; empty when nothing matches (callers word the error).
    """
    if is_remote(pattern):
        entries = expand_url(pattern, storage_options)
        return [e.url for e in entries if not e.is_dir or folders(e.url)]
    local = pattern.removeprefix("file://")
    found = glob.glob(local)
    return sorted(p for p in found if os.path.isfile(p) or (os.path.isdir(p) and folders(p)))


_NO_CREDENTIALS = ("NoCredentialsError", "PartialCredentialsError", "CredentialRetrievalError")
_UNREACHABLE = (
    "EndpointConnectionError",
    "ConnectTimeoutError",
    "ConnectionClosedError",
    "ClientConnectorError",
    "ServerDisconnectedError",
    "ServerTimeoutError",
)


def _endpoint(options: Mapping[str, Any] | None) -> str:
    options = options or {}
    client = options.get("client_kwargs") or {}
    endpoint = options.get("endpoint_url") or options.get("endpoint") or client.get("endpoint_url")
    return f"endpoint {endpoint}" if endpoint else "the default endpoint (AWS)"


def remote_failure(
    error: BaseException, url: str, storage_options: Mapping[str, Any] | None = None
) -> StorageError | None:
    """Describe a request that could not be made at all, or return ``None``.

    Parameters
    ----------
    error
        What the filesystem raised (its causes are looked at too).
    url
        The URL the request was for.
    storage_options
        The options it was made with (for the endpoint's name).

    Returns
    -------
    StorageError or None
        One line naming the URL, the endpoint and what to check; ``None`` when the
        error is something else (a missing object, a transient read error, bad data).
    """
    seen: BaseException | None = error
    while seen is not None:
        name = type(seen).__name__
        where = f"{url} ({_endpoint(storage_options)})"
        if name in _NO_CREDENTIALS:
            return StorageError(
                f"no credentials for {where}",
                subject=url,
                hint="pass them with -o key=... -o secret=... (storage_options), or set "
                "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY; for public data, -o anon=true",
            )
        if name in _UNREACHABLE or isinstance(seen, ConnectionError):
            return StorageError(
                f"cannot reach {where}: {seen}",
                subject=url,
                hint="check -o endpoint_url=... (storage_options) and the network",
            )
        if isinstance(seen, PermissionError):
            return StorageError(
                f"access to {where} was denied: {seen}",
                subject=url,
                hint="check the credentials in storage_options (-o key=... -o secret=...)",
            )
        seen = seen.__cause__ or seen.__context__
    return None


@contextmanager
def remote_errors(url: str, storage_options: Mapping[str, Any] | None = None) -> Iterator[None]:
    """Turn a request to ``url`` that cannot be made into one clear :class:`StorageError`.

    Parameters
    ----------
    url
        The URL the requests in the block are for.
    storage_options
        The options they are made with.

    Raises
    ------
    StorageError
        When the block raised because of missing credentials, an unreachable endpoint
        or denied access; every other error passes through unchanged.
    """
    try:
        yield
    except ZarrlakeError:
        raise
    except Exception as error:
        failure = remote_failure(error, url, storage_options)
        if failure is None:
            raise
        raise failure from error
