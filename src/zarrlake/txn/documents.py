"""Zarr metadata documents: which keys they are, reading them all, consolidating them.

Consolidated metadata is the single commit point of every zarrlake write: format 2 keeps
it in the root ``.zmetadata``, format 3 inline in the root ``zarr.json``. Instead of
re-walking the hierarchy after each change (whose cost grows with the archive), a
transaction updates the consolidated documents from the documents it changed:
:func:`consolidated_updates` costs one read per group on the changed paths.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable, Mapping
from typing import Any, Literal

from zarr.abc.store import Store

from zarrlake.errors import CorruptError
from zarrlake.storage.atomic import aread_bytes
from zarrlake.storage.urls import store_url

__all__ = [
    "CONSOLIDATED_V2",
    "METADATA_NAMES",
    "ZARRLAKE_PREFIX",
    "acollect_documents",
    "adetect_format",
    "commit_key",
    "consolidated_updates",
    "dumps",
    "is_metadata_key",
    "is_private_key",
]

ZarrFormat = Literal[2, 3]
ZARRLAKE_PREFIX = ".zarrlake/"
CONSOLIDATED_V2 = ".zmetadata"
METADATA_NAMES = frozenset({"zarr.json", ".zarray", ".zgroup", ".zattrs", CONSOLIDATED_V2})


def is_metadata_key(key: str) -> bool:
    """Whether ``key`` is a Zarr metadata document (not a chunk)."""
    return key.rsplit("/", 1)[-1] in METADATA_NAMES


def is_private_key(key: str) -> bool:
    """Whether ``key`` belongs to zarrlake's own bookkeeping (locks, journals)."""
    return key.startswith(ZARRLAKE_PREFIX)


def commit_key(zarr_format: int) -> str:
    """Return the key whose write commits a transaction (the root consolidated document)."""
    return "zarr.json" if zarr_format == 3 else CONSOLIDATED_V2


def dumps(document: Mapping[str, Any]) -> bytes:
    """Serialize a metadata document the way zarr does (indented JSON, NaN allowed)."""
    return json.dumps(document, indent=2, allow_nan=True).encode()


def loads(data: bytes, *, key: str, store: Store) -> dict[str, Any]:
    """Parse a metadata document, naming the key when it is not a JSON object.

    Raises
    ------
    CorruptError
        When the bytes are not a JSON object.
    """
    try:
        document = json.loads(data)
    except ValueError as exc:
        raise CorruptError(
            f"{store_url(store)}/{key} is not valid JSON: {exc}",
            subject=f"{store_url(store)}/{key}",
            hint="run 'zarrlake meta repair' or restore the document from a backup",
        ) from exc
    if not isinstance(document, dict):
        raise CorruptError(
            f"{store_url(store)}/{key} is not a JSON object",
            subject=f"{store_url(store)}/{key}",
            hint="run 'zarrlake meta repair' or restore the document from a backup",
        )
    return document


async def aread_document(store: Store, key: str) -> dict[str, Any] | None:
    """Read and parse one metadata document, or ``None`` when absent."""
    data = await aread_bytes(store, key)
    return None if data is None else loads(data, key=key, store=store)


async def adetect_format(store: Store) -> ZarrFormat | None:
    """Return the root's Zarr format, or ``None`` when the store holds no root node."""
    # format 3 first: on object stores every probe is a request, and format 3 needs one
    if await aread_bytes(store, "zarr.json") is not None:
        return 3
    v2_group, v2_array = await asyncio.gather(
        aread_bytes(store, ".zgroup"), aread_bytes(store, ".zarray")
    )
    if v2_group is not None or v2_array is not None:
        return 2
    return None


def _join(prefix: str, name: str) -> str:
    return f"{prefix}/{name}" if prefix else name


async def acollect_documents(store: Store, zarr_format: ZarrFormat) -> dict[str, dict[str, Any]]:
    """Read every metadata document of the hierarchy (see :func:`zarrlake.txn.walk.awalk`).

    Parameters
    ----------
    store
        The store.
    zarr_format
        The hierarchy's format.

    Returns
    -------
    dict
        Document key (``a/zarr.json``, ``a/.zarray``, ...) to parsed document, without
        the root consolidated document.

    Raises
    ------
    CorruptError
        When a document is not valid JSON.
    """
    from zarrlake.txn.walk import awalk  # the walk builds on this module's names

    hierarchy = await awalk(store, root_format=zarr_format)
    if hierarchy.invalid:
        key = sorted(hierarchy.invalid)[0]
        raise CorruptError(
            f"{store_url(store)}/{key} is not valid JSON: {hierarchy.invalid[key]}",
            subject=f"{store_url(store)}/{key}",
            hint="run 'zarrlake meta repair' or restore the document from a backup",
        )
    return {k: v for k, v in hierarchy.documents.items() if k != CONSOLIDATED_V2}


def _doc_path(key: str) -> str:
    return key.rsplit("/", 1)[0] if "/" in key else ""


def _relative(path: str, group: str) -> str | None:
    if not group:
        return path
    if path.startswith(group + "/"):
        return path[len(group) + 1 :]
    return None


def _v3_entry(document: Mapping[str, Any]) -> dict[str, Any]:
    entry = dict(document)
    if entry.get("node_type") == "group":
        entry["consolidated_metadata"] = {
            "kind": "inline",
            "must_understand": False,
            "metadata": {},
        }
    return entry


def v3_consolidated(root: Mapping[str, Any], entries: Mapping[str, Any]) -> dict[str, Any]:
    """Return a v3 group document with ``entries`` inlined as consolidated metadata."""
    document = dict(root)
    document["consolidated_metadata"] = {
        "kind": "inline",
        "must_understand": False,
        "metadata": {path: _v3_entry(doc) for path, doc in sorted(entries.items())},
    }
    return document


def v2_consolidated(entries: Mapping[str, Any]) -> dict[str, Any]:
    """Return a ``.zmetadata`` document holding ``entries`` (document key to document)."""
    return {"metadata": dict(sorted(entries.items())), "zarr_consolidated_format": 1}


async def consolidated_updates(
    old: Store,
    new: Store,
    zarr_format: ZarrFormat,
    changed: Mapping[str, dict[str, Any] | None],
) -> dict[str, dict[str, Any]]:
    """Return the consolidated documents that reflect ``changed`` metadata documents.

    ``old`` shows the state before the change, ``new`` the state after it (a staging
    overlay over ``old`` does). For format 3 the root
    ``zarr.json`` always carries consolidated metadata, and so does every group on a
    changed path that carried it before; for format 2 the root ``.zmetadata``. When the
    root was not consolidated yet, its consolidated document is built from a full walk
    of the metadata documents (once).

    Parameters
    ----------
    old, new
        The store before and after the change.
    zarr_format
        The hierarchy's format.
    changed
        Metadata document key to its new document, or ``None`` when deleted.

    Returns
    -------
    dict
        Key to the consolidated document to write there.
    """
    if zarr_format == 2:
        current = await aread_document(old, CONSOLIDATED_V2)
        if current is None or not isinstance(current.get("metadata"), dict):
            return {CONSOLIDATED_V2: v2_consolidated(await acollect_documents(new, 2))}
        entries: dict[str, Any] = dict(current["metadata"])
        _apply_changes(entries, changed, by_key=True)
        return {CONSOLIDATED_V2: v2_consolidated(entries)}

    groups = sorted({""} | {_doc_path(k) for k in changed} | set(_ancestors(changed)))
    keys = [_join(g, "zarr.json") for g in groups]
    new_docs, old_docs = await asyncio.gather(
        asyncio.gather(*(aread_document(new, k) for k in keys)),
        asyncio.gather(*(aread_document(old, k) for k in keys)),
    )
    updates: dict[str, dict[str, Any]] = {}
    for group, document, previous in zip(groups, new_docs, old_docs, strict=True):
        if document is None or document.get("node_type") != "group":
            continue
        inline = ((previous or {}).get("consolidated_metadata") or {}).get("metadata")
        if group and inline is None:
            continue  # this group was never consolidated on its own
        relevant = {
            rel: doc
            for key, doc in changed.items()
            if key.endswith("zarr.json")
            and (rel := _relative(_doc_path(key), group)) is not None
            and rel != ""
        }
        if inline is None:
            walked = await acollect_documents(new, 3)
            inline = {_doc_path(k): d for k, d in walked.items() if _doc_path(k)}
        elif not relevant and _join(group, "zarr.json") not in changed:
            continue
        new_entries = dict(inline)
        _apply_changes(new_entries, relevant, by_key=False)
        updates[_join(group, "zarr.json")] = v3_consolidated(document, new_entries)
    return updates


def _ancestors(keys: Iterable[str]) -> set[str]:
    found: set[str] = set()
    for key in keys:
        path = _doc_path(key)
        while "/" in path:
            path = path.rsplit("/", 1)[0]
            found.add(path)
    return found


def _apply_changes(
    entries: dict[str, Any], changed: Mapping[str, dict[str, Any] | None], *, by_key: bool
) -> None:
    for name, document in changed.items():
        if by_key and name == CONSOLIDATED_V2:
            continue
        if document is None:
            entries.pop(name, None)
            removes_node = not by_key or name.rsplit("/", 1)[-1] in (".zarray", ".zgroup")
            if removes_node:
                prefix = (_doc_path(name) if by_key else name) + "/"
                for other in [e for e in entries if e.startswith(prefix)]:
                    del entries[other]
        else:
            entries[name] = document
