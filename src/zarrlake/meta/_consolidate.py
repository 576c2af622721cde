"""Consolidate metadata (formats 2 and 3) and list arrays through it."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

from zarr.abc.store import Store

from zarrlake.errors import NotFoundError
from zarrlake.hierarchy import CONSOLIDATED_V2, V3_DOCUMENT, awalk, build_consolidated, dumps
from zarrlake.storage import open_store, run_sync, store_url
from zarrlake.storage.atomic import aread_bytes
from zarrlake.txn import LockOptions, Transaction

__all__ = ["consolidate", "list_arrays"]

Document = dict[str, Any]


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
    at once (see :func:`zarrlake.hierarchy.awalk`); holds the archive's
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
        documents = build_consolidated(run_sync(awalk(store)), store_url(store))
        return _root_document(documents)
    store = open_store(url, mode="r+", storage_options=storage_options)
    with Transaction(store, operation="consolidate", lock_options=lock, consolidate=False) as txn:
        documents = build_consolidated(run_sync(awalk(store)), store_url(store))
        for key, document in documents.items():
            run_sync(_stage(txn, key, dumps(document)))
        txn.commit()
    return _root_document(documents)


async def _stage(txn: Transaction, key: str, data: bytes) -> None:
    from zarr.core.buffer import default_buffer_prototype

    await txn.staging.set(key, default_buffer_prototype().buffer.from_bytes(data))


def _root_document(documents: Mapping[str, Document]) -> Document:
    return dict(documents.get(CONSOLIDATED_V2) or documents[V3_DOCUMENT])


def list_arrays(
    url: str | os.PathLike[str] | Store, *, storage_options: Mapping[str, Any] | None = None
) -> list[str]:
    """List the paths of every array, through consolidated metadata when present.

    With consolidated metadata this is one read; otherwise the metadata documents are
    walked (see :func:`zarrlake.hierarchy.awalk`).

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
    fast = run_sync(_consolidated_arrays(store))
    if fast is not None:
        return fast
    hierarchy = run_sync(awalk(store))
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
    data = await aread_bytes(store, V3_DOCUMENT)
    if data is None:
        return None
    try:
        inline = json.loads(data)["consolidated_metadata"]["metadata"]
        return sorted(p for p, doc in inline.items() if doc.get("node_type") == "array")
    except (ValueError, KeyError, TypeError, AttributeError):
        return None
