"""Consolidated metadata: built from a walk, or updated from the documents a change made.

Consolidated metadata is the single commit point of every zarrlake write: format 2 keeps
it in the root ``.zmetadata``, format 3 inline in the root ``zarr.json`` (and in nested
groups that already carried their own copy). :func:`build_consolidated` makes them from a
full walk (``meta consolidate``, repair). A transaction instead updates them from the
documents it changed (:func:`consolidated_updates`), at one read per group on the changed
paths, so a write's cost does not grow with the archive.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from typing import Any

from zarr.abc.store import Store

from zarrlake.errors import CorruptError, InvalidInputError, NotFoundError
from zarrlake.hierarchy._documents import aread_document, corrupt_document
from zarrlake.hierarchy._keys import (
    CONSOLIDATED_V2,
    V2_ARRAY,
    V2_ATTRS,
    V2_GROUP,
    V3_DOCUMENT,
    ZarrFormat,
    ancestors,
    document_name,
    join,
    node_path,
    relative,
)
from zarrlake.hierarchy._walk import Hierarchy, awalk

__all__ = [
    "acollect_documents",
    "build_consolidated",
    "consolidated_updates",
    "v2_consolidated",
    "v3_consolidated",
]

Document = dict[str, Any]


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
            if document_name(key) in (V2_GROUP, V2_ARRAY, V2_ATTRS)
            and node_path(key) in hierarchy.nodes
        }
        return {CONSOLIDATED_V2: v2_consolidated(entries)}
    documents: dict[str, Document] = {}
    for path, node in hierarchy.groups.items():
        if path and not node.document.get("consolidated_metadata"):
            continue  # only the root, and groups that already keep their own copy
        members = {
            rel: other.document
            for other_path, other in hierarchy.nodes.items()
            if (rel := relative(other_path, path))
        }
        documents[join(path, V3_DOCUMENT)] = v3_consolidated(node.document, members)
    return documents


async def acollect_documents(store: Store, zarr_format: ZarrFormat) -> dict[str, dict[str, Any]]:
    """Read every metadata document of the hierarchy (see :func:`~zarrlake.hierarchy.awalk`).

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
    hierarchy = await awalk(store, root_format=zarr_format)
    if hierarchy.invalid:
        key = sorted(hierarchy.invalid)[0]
        raise corrupt_document(store, key, f"is not valid JSON: {hierarchy.invalid[key]}")
    return {k: v for k, v in hierarchy.documents.items() if k != CONSOLIDATED_V2}


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

    groups = sorted({""} | {node_path(k) for k in changed} | set(_ancestors(changed)))
    keys = [join(g, V3_DOCUMENT) for g in groups]
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
            if document_name(key) == V3_DOCUMENT
            and (rel := relative(node_path(key), group)) is not None
        }
        if inline is None:
            walked = await acollect_documents(new, 3)
            inline = {node_path(k): d for k, d in walked.items() if node_path(k)}
        elif not relevant and join(group, V3_DOCUMENT) not in changed:
            continue
        new_entries = dict(inline)
        _apply_changes(new_entries, relevant, by_key=False)
        updates[join(group, V3_DOCUMENT)] = v3_consolidated(document, new_entries)
    return updates


def _ancestors(keys: Iterable[str]) -> set[str]:
    return {above for key in keys for above in ancestors(node_path(key))}


def _apply_changes(
    entries: dict[str, Any], changed: Mapping[str, dict[str, Any] | None], *, by_key: bool
) -> None:
    for name, document in changed.items():
        if by_key and name == CONSOLIDATED_V2:
            continue
        if document is None:
            entries.pop(name, None)
            removes_node = not by_key or document_name(name) in (V2_ARRAY, V2_GROUP)
            if removes_node:
                prefix = (node_path(name) if by_key else name) + "/"
                for other in [e for e in entries if e.startswith(prefix)]:
                    del entries[other]
        else:
            entries[name] = document
