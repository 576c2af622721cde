"""Reading and writing metadata documents: JSON objects, parsed with the key named.

Documents are serialized the way zarr writes them (indented JSON, NaN allowed). A
document that is not a JSON object is a :class:`~zarrlake.errors.CorruptError` naming
the store URL and key. The root's format is found with as few requests as possible:
``zarr.json`` first (format 3 needs one request), then the format-2 documents together.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from typing import Any

from zarr.abc.store import Store

from zarrlake.errors import CorruptError
from zarrlake.hierarchy._keys import (
    CONSOLIDATED_V2,
    V2_ARRAY,
    V2_GROUP,
    V3_DOCUMENT,
    ZarrFormat,
)
from zarrlake.storage.atomic import aread_bytes
from zarrlake.storage.urls import store_url

__all__ = [
    "adetect_format",
    "aread_document",
    "aread_root_documents",
    "corrupt_document",
    "dumps",
    "format_of",
    "loads",
]


def dumps(document: Mapping[str, Any]) -> bytes:
    """Serialize a metadata document the way zarr does (indented JSON, NaN allowed)."""
    return json.dumps(document, indent=2, allow_nan=True).encode()


def corrupt_document(store: Store, key: str, problem: str) -> CorruptError:
    """Return the error for a metadata document that cannot be used."""
    url = f"{store_url(store)}/{key}"
    return CorruptError(
        f"{url} {problem}",
        subject=url,
        hint="run 'zarrlake meta repair' or restore the document from a backup",
    )


def loads(data: bytes, *, key: str, store: Store) -> dict[str, Any]:
    """Parse a metadata document, naming the key when it is not a JSON object.

    Parameters
    ----------
    data
        The document's bytes.
    key
        Its key, for the error message.
    store
        Its store, for the error message.

    Returns
    -------
    dict
        The document.

    Raises
    ------
    CorruptError
        When the bytes are not a JSON object.
    """
    try:
        document = json.loads(data)
    except ValueError as exc:
        raise corrupt_document(store, key, f"is not valid JSON: {exc}") from exc
    if not isinstance(document, dict):
        raise corrupt_document(store, key, "is not a JSON object")
    return document


async def aread_document(store: Store, key: str) -> dict[str, Any] | None:
    """Read and parse one metadata document, or ``None`` when absent."""
    data = await aread_bytes(store, key)
    return None if data is None else loads(data, key=key, store=store)


async def aread_root_documents(store: Store, *, consolidated: bool = False) -> dict[str, bytes]:
    """Read the root's own documents: ``zarr.json``, else ``.zgroup`` and ``.zarray``.

    Parameters
    ----------
    store
        The store.
    consolidated
        Also read a format-2 root's ``.zmetadata`` (it can be large: only when needed).

    Returns
    -------
    dict
        Name to bytes of the documents that exist (empty when the store holds no root).
    """
    # format 3 first: on object stores every probe is a request, and format 3 needs one
    v3 = await aread_bytes(store, V3_DOCUMENT)
    if v3 is not None:
        return {V3_DOCUMENT: v3}
    names = (V2_GROUP, V2_ARRAY, CONSOLIDATED_V2) if consolidated else (V2_GROUP, V2_ARRAY)
    found = await asyncio.gather(*(aread_bytes(store, name) for name in names))
    return {name: data for name, data in zip(names, found, strict=True) if data is not None}


def format_of(root_documents: Mapping[str, bytes]) -> ZarrFormat | None:
    """Return the format that the root's documents (see :func:`aread_root_documents`) show."""
    if V3_DOCUMENT in root_documents:
        return 3
    if V2_GROUP in root_documents or V2_ARRAY in root_documents:
        return 2
    return None


async def adetect_format(store: Store) -> ZarrFormat | None:
    """Return the root's Zarr format, or ``None`` when the store holds no root node."""
    return format_of(await aread_root_documents(store))
