"""Finding the sources under a path or URL: files by suffix, Zarr archives as one source."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from typing import Any

from zarrlake.catalog.extractors import Source, available_extractors
from zarrlake.errors import PathNotFoundError
from zarrlake.storage.listing import is_in_flight
from zarrlake.storage.remote import expand_url, remote_filesystem
from zarrlake.storage.sidecar import is_sidecar_name

_ARCHIVE_SUFFIXES = (".zarr",)


def _suffixes() -> tuple[tuple[str, ...], tuple[str, ...]]:
    files: set[str] = set()
    folders: set[str] = set()
    for cls in available_extractors().values():
        (folders if cls.is_directory_format else files).update(s.lower() for s in cls.suffixes)
    return tuple(sorted(files)), tuple(sorted(folders))


def _skip(name: str) -> bool:
    # hidden names, temporaries of atomic writes, and archives' bookkeeping siblings
    return (
        name.startswith(".")
        or is_in_flight(name)
        or name.endswith((".tmp", ".partial"))
        or is_sidecar_name(name)
    )


def archive_root(path: str) -> str | None:
    """Return the outermost ``*.zarr`` folder that contains ``path`` (or is it), if any."""
    parts = path.split("/")
    for index, part in enumerate(parts):
        if part.lower().endswith(_ARCHIVE_SUFFIXES):
            return "/".join(parts[: index + 1])
    return None


def _folder_source(path: str) -> Source:
    size = 0
    mtime = 0
    for folder, _dirs, files in os.walk(path):
        for name in files:
            try:
                info = os.stat(os.path.join(folder, name))
            except FileNotFoundError:
                continue  # removed while we walked
            size += info.st_size
            mtime = max(mtime, info.st_mtime_ns)
    return Source(path, size, mtime)


def local_source(path: str) -> Source | None:
    """Describe one local file or archive folder, or return ``None`` when it is not there."""
    try:
        if os.path.isdir(path):
            return _folder_source(path)
        info = os.stat(path)
    except FileNotFoundError:
        return None
    return Source(path, info.st_size, info.st_mtime_ns)


def is_catalogued_name(path: str) -> bool:
    """Return whether some extractor reads files or folders with this name."""
    files, folders = _suffixes()
    lowered = path.rstrip("/").lower()
    return lowered.endswith(files) or lowered.endswith(folders)


def scan(
    root: str, *, recursive: bool = True, storage_options: dict[str, Any] | None = None
) -> Iterator[Source]:
    """Yield the sources under ``root`` (a file, a folder, or an ``s3://`` prefix).

    Parameters
    ----------
    root
        Where to look. A single file or archive is yielded itself.
    recursive
        Descend into sub-folders.
    storage_options
        fsspec options for URLs.

    Yields
    ------
    Source
        One per readable file (by suffix; a file with several names, such as a
        symbolic link beside it, once) and one per ``*.zarr`` archive; hidden files and
        temporaries of atomic writes are skipped.

    Raises
    ------
    PathNotFoundError
        When ``root`` does not exist.
    """
    if "://" in root and not root.startswith("file://"):
        yield from _scan_remote(root, recursive, storage_options or {})
        return
    root = root[len("file://") :] if root.startswith("file://") else root
    root = os.path.abspath(root)
    files, folders = _suffixes()
    if not os.path.exists(root):
        raise PathNotFoundError(
            f"{root} does not exist", subject=root, hint="check the path to ingest"
        )
    if not os.path.isdir(root) or root.lower().endswith(folders):
        source = local_source(root)
        if source is not None:
            yield source
        return
    # One file reached by several names (symbolic or hard links) is one source: the
    # file itself rather than a link to it, else the first name in walk order.
    by_file: dict[tuple[int, int], tuple[bool, Source]] = {}
    for folder, dirs, names in os.walk(root):
        keep = []
        for name in sorted(dirs):
            if _skip(name):
                continue
            if name.lower().endswith(folders):
                yield _folder_source(os.path.join(folder, name))
            elif recursive:
                keep.append(name)
        dirs[:] = keep
        for name in sorted(names):
            if not _skip(name) and name.lower().endswith(files):
                path = os.path.join(folder, name)
                try:
                    info = os.stat(path)
                except FileNotFoundError:  # gone, or a dangling link
                    continue
                link = os.path.islink(path)
                key = (info.st_dev, info.st_ino)
                seen = by_file.get(key)
                if seen is None or (seen[0] and not link):
                    by_file[key] = (link, Source(path, info.st_size, info.st_mtime_ns))
    for _link, source in by_file.values():
        yield source


def _scan_remote(root: str, recursive: bool, options: dict[str, Any]) -> Iterator[Source]:
    fs, stripped = remote_filesystem(root, options)
    files, folders = _suffixes()
    fs.invalidate_cache(stripped)  # a rescan must see what changed since the last one
    if not fs.exists(stripped):
        raise PathNotFoundError(
            f"{root} does not exist", subject=root, hint="check the bucket and prefix"
        )
    found = expand_url(f"{root.rstrip('/')}/", options, depth=None if recursive else 1)
    archives: dict[str, list[int]] = {}
    for entry in found:
        if entry.is_dir:
            continue
        url = entry.url
        key = url.split("://", 1)[1]
        relative = key[len(stripped) :].lstrip("/")
        if any(_skip(part) for part in relative.split("/")):
            continue
        mtime = _mtime_ns(entry.info)
        archive = archive_root(url)
        if archive is not None:
            totals = archives.setdefault(archive, [0, 0])
            totals[0] += entry.size
            totals[1] = max(totals[1], mtime)
        elif key.lower().endswith(files):
            yield Source(url, entry.size, mtime, options)
    for url, (size, mtime) in archives.items():
        if url.lower().endswith(folders):
            yield Source(url, size, mtime, options)


def _mtime_ns(info: Mapping[str, Any]) -> int:
    stamp = info.get("LastModified") or info.get("mtime") or info.get("last_modified")
    if stamp is None:
        return 0
    if hasattr(stamp, "timestamp"):
        return int(stamp.timestamp() * 1e9)
    return int(float(stamp) * 1e9)


def stat_source(path: str, storage_options: dict[str, Any] | None = None) -> Source | None:
    """Describe a source as it is now (local or remote), or ``None`` when it is gone."""
    if "://" not in path or path.startswith("file://"):
        return local_source(path[len("file://") :] if path.startswith("file://") else path)
    fs, stripped = remote_filesystem(path, storage_options)
    fs.invalidate_cache(stripped)  # listings are cached per file-system instance
    if not fs.exists(stripped):
        return None
    if archive_root(path) == path:
        return next(iter(scan(path, storage_options=storage_options)), None)
    info = fs.info(stripped)
    return Source(path, int(info.get("size") or 0), _mtime_ns(info), storage_options)
