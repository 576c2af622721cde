"""Consolidate metadata (formats 2 and 3) and list arrays through it."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

from zarr.abc.store import Store

from zarrlake.errors import CorruptError, InvalidInputError, NotFoundError
from zarrlake.storage import open_store, store_url
from zarrlake.storage._sync import run
from zarrlake.storage.atomic import aread_bytes
from zarrlake.txn import LockOptions, Transaction
from zarrlake.txn.documents import CONSOLIDATED_V2, dumps, v2_consolidated, v3_consolidated
from zarrlake.txn.walk import Hierarchy, awalk

__all__ = ["build_consolidated", "consolidate", "list_arrays"]

Document = dict[str, Any]


def _relative(path: str, group: str) -> str | None:
    if not group:
        return path or None
    return path[len(group) + 1 :] if path.startswith(group + "/") else None


def build_consolidated(hierarchy: Hierarchy, url: str) -> dict[str, Document]:
    """Build the consolidated documents of a walked hierarchy.

    Parameters
    ----------
    hierarchy
        The walk's result.
    url
        The store's URL, for error messages.

    Returns
    -------
    dict
        Key to document: the root ``.zmetadata`` (format 2) or root ``zarr.json`` with
        inline consolidated metadata (format 3), plus the ``zarr.json`` of nested groups
        that already carried consolidated metadata of their own.

    Raises
    ------
    CorruptError
        When a metadata document is not valid JSON.
    InvalidInputError
        For mixed formats, or a root that is an array.
    NotFoundError
        When the store holds no Zarr root.
    """
    if hierarchy.invalid:
        keys = ", ".join(sorted(hierarchy.invalid))
        raise CorruptError(
            f"cannot consolidate {url}: invalid JSON in {keys}",
            subject=f"{url}/{sorted(hierarchy.invalid)[0]}",
            hint="run 'zarrlake meta repair' (or restore those documents from a backup) first",
        )
    root = hierarchy.nodes.get("")
    if root is None:
        raise NotFoundError(
            f"no Zarr group at {url}: nothing to consolidate",
            subject=url,
            hint="check the URL points at the archive's root group",
        )
    if root.kind != "group":
        raise InvalidInputError(
            f"{url} is a single array; consolidated metadata belongs to groups",
            subject=url,
        )
    formats = {node.zarr_format for node in hierarchy.nodes.values()}
    if len(formats) > 1:
        raise InvalidInputError(
            f"{url} mixes Zarr formats {sorted(formats)}; one hierarchy must use one format",
            subject=url,
            hint="convert the odd nodes, or run 'zarrlake meta validate' to see which",
        )
    if root.zarr_format == 2:
        entries = {
            key: doc
            for key, doc in hierarchy.documents.items()
            if key.rsplit("/", 1)[-1] in (".zgroup", ".zarray", ".zattrs")
            and (key.rsplit("/", 1)[0] if "/" in key else "") in hierarchy.nodes
        }
        return {CONSOLIDATED_V2: v2_consolidated(entries)}
    documents: dict[str, Document] = {}
    for path, node in hierarchy.groups.items():
        if path and not node.document.get("consolidated_metadata"):
            continue  # only the root, and groups that already keep their own copy
        members = {
            rel: other.document
            for other_path, other in hierarchy.nodes.items()
            if (rel := _relative(other_path, path))
        }
        key = f"{path}/zarr.json" if path else "zarr.json"
        documents[key] = v3_consolidated(node.document, members)
    return documents


def consolidate(
    url: str | os.PathLike[str] | Store,
    *,
    storage_options: Mapping[str, Any] | None = None,
    dry_run: bool = False,
    lock: LockOptions | None = None,
) -> Document:
    """Consolidate the metadata of a Zarr archive (format 2 or 3).

    Reads metadata documents only (never chunks), concurrently, listing one group
    folder at a time or, on object stores where that takes fewer requests, every key
    at once (see :func:`zarrlake.txn.walk.awalk`); holds the archive's
    lock and writes through a transaction, so a concurrent append or consolidation
    never leaves stale or torn consolidated metadata.

    Parameters
    ----------
    url
        The archive's URL or an open store.
    storage_options
        Options for remote stores.
    dry_run
        Return the document and write nothing.
    lock
        How to take the archive lock.

    Returns
    -------
    dict
        The root consolidated document (``.zmetadata`` for format 2, the root
        ``zarr.json`` for format 3).
    """
    if dry_run:
        store = open_store(url, mode="r", storage_options=storage_options)
        documents = build_consolidated(run(awalk(store)), store_url(store))
        return _root_document(documents)
    store = open_store(url, mode="r+", storage_options=storage_options)
    with Transaction(store, operation="consolidate", lock_options=lock, consolidate=False) as txn:
        documents = build_consolidated(run(awalk(store)), store_url(store))
        for key, document in documents.items():
            run(_stage(txn, key, dumps(document)))
        txn.commit()
    return _root_document(documents)


async def _stage(txn: Transaction, key: str, data: bytes) -> None:
    from zarr.core.buffer import default_buffer_prototype

    await txn.staging.set(key, default_buffer_prototype().buffer.from_bytes(data))


def _root_document(documents: Mapping[str, Document]) -> Document:
    return dict(documents.get(CONSOLIDATED_V2) or documents["zarr.json"])


def list_arrays(
    url: str | os.PathLike[str] | Store, *, storage_options: Mapping[str, Any] | None = None
) -> list[str]:
    """List the paths of every array, through consolidated metadata when present.

    With consolidated metadata this is one read; otherwise the metadata documents are
    walked (see :func:`zarrlake.txn.walk.awalk`).

    Parameters
    ----------
    url
        The archive's URL or an open store.
    storage_options
        Options for remote stores.

    Returns
    -------
    list of str
        Array paths, sorted.
    """
    store = open_store(url, mode="r", storage_options=storage_options)
    fast = run(_consolidated_arrays(store))
    if fast is not None:
        return fast
    hierarchy = run(awalk(store))
    if not hierarchy.nodes:
        raise NotFoundError(
            f"no Zarr group or array at {store_url(store)}", subject=store_url(store)
        )
    return sorted(hierarchy.arrays)


async def _consolidated_arrays(store: Store) -> list[str] | None:
    data = await aread_bytes(store, CONSOLIDATED_V2)
    if data is not None:
        try:
            entries = json.loads(data)["metadata"]
            return sorted(k[: -len("/.zarray")] for k in entries if k.endswith("/.zarray"))
        except (ValueError, KeyError, TypeError):
            return None
    data = await aread_bytes(store, "zarr.json")
    if data is None:
        return None
    try:
        inline = json.loads(data)["consolidated_metadata"]["metadata"]
        return sorted(p for p, doc in inline.items() if doc.get("node_type") == "array")
    except (ValueError, KeyError, TypeError, AttributeError):
        return None
