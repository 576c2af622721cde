"""Byte-exact backups of every metadata document, and restoring them."""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from zarr.abc.store import Store
from zarr.core.buffer import default_buffer_prototype

from zarrlake.errors import CorruptError, InvalidInputError, NotFoundError
from zarrlake.hierarchy import CONSOLIDATED_V2, awalk, is_metadata_key
from zarrlake.storage import open_store, run_sync, store_url
from zarrlake.storage.atomic import aread_bytes
from zarrlake.storage.sidecar import sidecar
from zarrlake.txn import LockOptions, Transaction

_BACKUPS = "backups/"  # the folder of metadata backups in an archive's sidecar

__all__ = ["backup", "collect_metadata", "restore"]

FORMAT = "zarrlake-metadata-backup/1"


async def acollect_metadata(store: Store) -> dict[str, bytes]:
    """Return the raw bytes of every metadata document (invalid ones included)."""
    hierarchy = await awalk(store)
    documents = dict(hierarchy.raw)
    consolidated = await aread_bytes(store, CONSOLIDATED_V2)
    if consolidated is not None:
        documents[CONSOLIDATED_V2] = consolidated
    return documents


def collect_metadata(store: Store) -> dict[str, bytes]:
    """Return the raw bytes of every metadata document of ``store``."""
    return run_sync(acollect_metadata(store))


def _encode(url: str, documents: Mapping[str, bytes]) -> bytes:
    payload = {
        "format": FORMAT,
        "url": url,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "documents": {k: base64.b64encode(v).decode() for k, v in sorted(documents.items())},
    }
    return json.dumps(payload, indent=1).encode()


def backup(
    url: str | os.PathLike[str] | Store,
    dest: str | os.PathLike[str] | None = None,
    *,
    storage_options: Mapping[str, Any] | None = None,
) -> str:
    """Save every metadata document of an archive, byte for byte, to one JSON file.

    Parameters
    ----------
    url
        The archive's URL or an open store.
    dest
        Where to write the backup (a local path or fsspec URL). Default: beside the
        archive, ``backups/metadata-<UTC time>.json`` in its sidecar
        (:mod:`zarrlake.storage.sidecar`).
    storage_options
        Options for a remote archive (and a remote ``dest``).

    Returns
    -------
    str
        Where the backup was written (``<archive URL>.zarrlake/backups/...`` when kept
        beside the archive).
    """
    store = open_store(url, mode="r", storage_options=storage_options)
    location = store_url(store)
    documents = collect_metadata(store)
    if not documents:
        raise NotFoundError(f"no Zarr metadata at {location} to back up", subject=location)
    data = _encode(location, documents)
    if dest is None:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        name = f"{_BACKUPS}metadata-{stamp}.json"
        from zarrlake.storage.atomic import atomic_put

        side = sidecar(open_store(url, mode="r+", storage_options=storage_options))
        atomic_put(side.store, side.key(name), data)
        return side.url(name)
    target = os.fspath(dest)
    if "://" in target and not target.startswith("file://"):
        import fsspec

        with fsspec.open(target, "wb", **dict(storage_options or {})) as handle:
            handle.write(data)
    else:
        path = Path(target.removeprefix("file://"))
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_bytes(data)
        tmp.replace(path)
    return target


def _read_backup(source: str, storage_options: Mapping[str, Any] | None) -> dict[str, Any]:
    try:
        if f".zarrlake/{_BACKUPS}" in source:  # in a sidecar (memory:// ones included)
            folder, name = source.rsplit(f"/{_BACKUPS}", 1)
            data = run_sync(
                aread_bytes(
                    open_store(folder, mode="r", storage_options=storage_options),
                    _BACKUPS + name,
                )
            )
            if data is None:
                raise FileNotFoundError(source)
        elif "://" in source and not source.startswith("file://"):
            import fsspec

            with fsspec.open(source, "rb", **dict(storage_options or {})) as handle:
                data = handle.read()
        else:
            data = Path(source.removeprefix("file://")).read_bytes()
    except FileNotFoundError:
        raise NotFoundError(f"backup {source} does not exist", subject=source) from None
    try:
        payload = json.loads(data)
        assert payload["format"] == FORMAT and isinstance(payload["documents"], dict)
        return dict(payload)
    except (ValueError, KeyError, TypeError, AssertionError) as exc:
        raise CorruptError(
            f"{source} is not a zarrlake metadata backup", subject=source, hint="check the file"
        ) from exc


def restore(
    backup_file: str | os.PathLike[str],
    url: str | os.PathLike[str] | Store | None = None,
    *,
    storage_options: Mapping[str, Any] | None = None,
    lock: LockOptions | None = None,
) -> list[str]:
    """Put every metadata document back exactly as a backup holds it.

    Documents in the backup are rewritten byte for byte; metadata documents that exist
    now but not in the backup are removed. Runs as one transaction under the lock.

    Parameters
    ----------
    backup_file
        The backup (as returned by :func:`backup`).
    url
        The archive (default: the one the backup was taken from).
    storage_options
        Options for remote stores.
    lock
        How to take the archive lock.

    Returns
    -------
    list of str
        The keys that changed.
    """
    payload = _read_backup(os.fspath(backup_file), storage_options)
    documents = {k: base64.b64decode(v) for k, v in payload["documents"].items()}
    if any(not is_metadata_key(k) for k in documents):
        raise InvalidInputError(f"{backup_file} holds keys that are not metadata documents")
    store = open_store(url or payload["url"], mode="a", storage_options=storage_options)
    with Transaction(store, operation="restore", lock_options=lock, consolidate=False) as txn:
        current = collect_metadata(store)
        prototype = default_buffer_prototype()
        for key, data in documents.items():
            run_sync(txn.staging.set(key, prototype.buffer.from_bytes(data)))
        for key in current.keys() - documents.keys():
            run_sync(txn.staging.delete(key))
        result = txn.commit()
    return result.keys + sorted(current.keys() - documents.keys())
