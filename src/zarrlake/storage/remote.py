"""Remote inputs: one way to reach an fsspec URL, one expansion of globs and prefixes.

:func:`expand_url` is what every command that takes remote inputs uses (convert's
input files, the stores of ``meta`` commands, the catalog's scan):

* a glob (``s3://bucket/data/*.nc``): what matches it, files and folders;
* a prefix, written with a trailing slash (``s3://bucket/data/``): what lies in it,
  files and folders directly below (``depth=1``) or the files at any depth
  (``depth=None``); a file written with a trailing slash is that file;
* anything else names one object: that object when it exists;
* nothing there: an empty list (each caller words its own error).

:func:`remote_filesystem` opens the filesystem with listing caches off
(:data:`REMOTE_DEFAULTS`, under the caller's options): other processes add files and
keys at any time, and a cached listing would hide them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "REMOTE_DEFAULTS",
    "RemoteEntry",
    "expand_url",
    "has_magic",
    "is_remote",
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
