"""Walk a Zarr hierarchy by its metadata documents, tolerating damage.

The walk reads only metadata documents, concurrently, and by default lists only group
folders (one ``list_dir`` each), so chunk keys are not listed. On object stores one listing of
every key under the root is cheaper when the hierarchy has many groups and few chunks
(a page holds 1,000 keys; a group costs a request of its own): the root's consolidated
metadata, when there is one, tells which way costs fewer requests, and both ways find
the same hierarchy. Unlike zarr's own walk it does not stop at the first problem:
invalid JSON, documents of the other Zarr format, and folders that hold nodes but lack
their own group document are recorded for validation and repair.
"""

from __future__ import annotations

import asyncio
import json
import math
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from zarr.abc.store import Store

from zarrlake.hierarchy._keys import (
    METADATA_NAMES,
    NODE_DOCUMENTS,
    V2_ARRAY,
    V2_ATTRS,
    V2_GROUP,
    V3_DOCUMENT,
    document_name,
    join,
    parent,
)
from zarrlake.storage.atomic import aread_bytes
from zarrlake.storage.kinds import is_object_store, local_root
from zarrlake.storage.listing import alist_keys

__all__ = ["Hierarchy", "Listing", "Node", "awalk", "classify"]

Listing = Literal["auto", "folders", "all-keys"]
"""How a walk finds children: one listing per group folder, one listing of every key
under the root, or (``auto``) whichever the root's consolidated metadata says is cheaper
on an object store."""

_CONCURRENCY = 64
_KEYS_PER_PAGE = 1000  # S3 ListObjectsV2
# Names that are chunk keys or chunk folders rather than child nodes.
_CHUNKISH = re.compile(r"^(c|\d+([./]\d+)*)$")


@dataclass
class Node:
    """A group or array found in the hierarchy."""

    path: str
    kind: Literal["group", "array"]
    zarr_format: int
    document: dict[str, Any]
    attributes: dict[str, Any]


@dataclass
class Hierarchy:
    """What a walk found."""

    zarr_format: int | None
    nodes: dict[str, Node] = field(default_factory=dict)
    documents: dict[str, dict[str, Any]] = field(default_factory=dict)
    raw: dict[str, bytes] = field(default_factory=dict)
    invalid: dict[str, str] = field(default_factory=dict)
    folders_without_document: list[str] = field(default_factory=list)
    requests: int = 0
    listing: Literal["folders", "all-keys"] = "folders"

    @property
    def arrays(self) -> dict[str, Node]:
        """Array nodes by path."""
        return {p: n for p, n in self.nodes.items() if n.kind == "array"}

    @property
    def groups(self) -> dict[str, Node]:
        """Group nodes by path ("" is the root)."""
        return {p: n for p, n in self.nodes.items() if n.kind == "group"}


async def awalk(
    store: Store, *, root_format: int | None = None, listing: Listing = "auto"
) -> Hierarchy:
    """Walk the hierarchy of ``store``.

    Parameters
    ----------
    store
        The store.
    root_format
        The root's format when known (saves probing the other format's documents).
    listing
        ``folders``: list each group folder; ``all-keys``: list every key under the
        root once and read only documents that exist; ``auto``: ``all-keys`` on object
        stores whose consolidated metadata says it takes fewer requests.

    Returns
    -------
    Hierarchy
        Nodes, parsed documents (with their raw bytes), invalid documents, and folders
        that hold nodes below them but no document of their own.
    """
    semaphore = asyncio.Semaphore(_CONCURRENCY)
    result = Hierarchy(zarr_format=root_format)
    known: set[str] | None = None  # every key, when listed up front
    tree: dict[str, set[str]] = {}

    async def read_many(keys: list[str]) -> None:
        if known is not None:
            keys = [k for k in keys if k in known]  # no request for what is absent
        if not keys:
            return
        result.requests += len(keys)
        if (directory := local_root(store)) is not None:
            # one worker-thread hop per level instead of one per small file
            found = await asyncio.to_thread(_read_local, directory, keys)
        else:

            async def one(key: str) -> tuple[str, bytes | None]:
                async with semaphore:
                    return key, await aread_bytes(store, key)

            found = dict(await asyncio.gather(*(one(k) for k in keys)))
        for key, data in found.items():
            if data is not None:
                _record(result, key, data)

    async def probe(paths: list[str], fmt: int) -> None:
        """Read the node documents of ``paths``: the format's own first, others if absent."""
        first = (V3_DOCUMENT,) if fmt == 3 else (V2_ARRAY, V2_ATTRS)
        await read_many([join(p, n) for p in paths for n in first])
        if fmt == 2:
            groups = [p for p in paths if join(p, V2_ARRAY) not in result.raw]
            await read_many([join(p, V2_GROUP) for p in groups])
        missing = [p for p in paths if not _has_any(result, p)]
        other = (V2_ARRAY, V2_GROUP, V2_ATTRS) if fmt == 3 else (V3_DOCUMENT,)
        await read_many([join(p, n) for p in missing for n in other])

    async def children(path: str) -> list[str]:
        if known is not None:
            names = sorted(tree.get(path, ()))
        else:
            async with semaphore:
                entries = [e async for e in store.list_dir(f"{path}/" if path else "")]
                result.requests += 1
            names = [e.rstrip("/") for e in entries]
        return [
            join(path, n)
            for n in names
            if n not in METADATA_NAMES and not n.startswith(".")  # hidden: .zarrlake, ...
        ]

    fmt = root_format or 3
    await probe([""], fmt)
    root = classify(result, "")
    if root is not None:
        result.zarr_format = root.zarr_format
        fmt = root.zarr_format
    if root is not None and root.kind == "array":
        return result
    if listing == "all-keys" or (
        listing == "auto" and is_object_store(store) and _all_keys_is_cheaper(root)
    ):
        found = await alist_keys(store)
        result.requests += max(1, math.ceil(len(found) / _KEYS_PER_PAGE))
        result.listing = "all-keys"
        known = set(found)
        tree = _folders(known)

    pending = [""]
    while pending:
        listings = await asyncio.gather(*(children(p) for p in pending))
        candidates = [c for listing in listings for c in listing]
        await probe(candidates, fmt)
        pending = []
        for path in candidates:
            node = classify(result, path)
            if node is None:
                if any(join(path, n) in result.invalid for n in NODE_DOCUMENTS):
                    continue  # its node document is invalid: do not guess its kind
                if not _CHUNKISH.match(document_name(path)):
                    pending.append(path)  # may hold nodes whose group document is missing
                continue
            if node.kind == "group":
                pending.append(path)
    _note_missing_group_documents(result)
    if result.zarr_format is None and result.nodes:
        # the root's own document is missing: the nodes below tell the format
        formats = [n.zarr_format for n in result.nodes.values()]
        result.zarr_format = max(set(formats), key=formats.count)
    return result


def _all_keys_is_cheaper(root: Node | None) -> bool:
    """Whether one listing of every key takes fewer requests than one per group.

    Judged by the root's consolidated metadata (format 3, inline): its documents plus
    every chunk its arrays' grids can hold, against its group count. Without it the
    chunk count is unknown, and listing folders is the safe choice.
    """
    if root is None:
        return False
    inline = (root.document.get("consolidated_metadata") or {}).get("metadata")
    if not isinstance(inline, dict) or not inline:
        return False
    groups = 1
    keys = 1 + len(inline)
    for document in inline.values():
        if not isinstance(document, dict):
            return False
        if document.get("node_type") == "group":
            groups += 1
        else:
            keys += _chunk_count(document)
    return math.ceil(keys / _KEYS_PER_PAGE) < groups


def _chunk_count(document: dict[str, Any]) -> int:
    try:
        shape = document["shape"]
        chunk_shape = document["chunk_grid"]["configuration"]["chunk_shape"]
        return math.prod(math.ceil(s / c) for s, c in zip(shape, chunk_shape, strict=True))
    except (KeyError, TypeError, ValueError, ZeroDivisionError):
        return 1 << 40  # unknown grid: do not bet on a small listing


def _folders(keys: set[str]) -> dict[str, set[str]]:
    """Each folder's immediate children (files and folders), from a flat key set."""
    tree: defaultdict[str, set[str]] = defaultdict(set)
    for key in keys:
        parts = key.split("/")
        for depth in range(len(parts)):
            tree["/".join(parts[:depth])].add(parts[depth])
    return tree


def _read_local(root: Path, keys: list[str]) -> dict[str, bytes | None]:
    found: dict[str, bytes | None] = {}
    for key in keys:
        try:
            found[key] = (root / key).read_bytes()
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            found[key] = None
    return found


def _record(result: Hierarchy, key: str, data: bytes) -> None:
    result.raw[key] = data
    try:
        document = json.loads(data)
    except ValueError as exc:
        result.invalid[key] = str(exc)
        return
    if not isinstance(document, dict):
        result.invalid[key] = "not a JSON object"
        return
    result.documents[key] = document


def _has_any(result: Hierarchy, path: str) -> bool:
    return any(join(path, n) in result.raw for n in NODE_DOCUMENTS)


def classify(result: Hierarchy, path: str) -> Node | None:
    """Record and return the node at ``path`` from the documents ``result`` holds.

    Returns
    -------
    Node or None
        ``None`` when no valid node document exists at ``path``.
    """
    v3 = result.documents.get(join(path, V3_DOCUMENT))
    if v3 is not None and v3.get("node_type") in ("group", "array"):
        node = Node(
            path=path,
            kind=v3["node_type"],
            zarr_format=int(v3.get("zarr_format", 3)),
            document=v3,
            attributes=dict(v3.get("attributes") or {}),
        )
        result.nodes[path] = node
        return node
    for name, kind in ((V2_ARRAY, "array"), (V2_GROUP, "group")):
        document = result.documents.get(join(path, name))
        if document is not None:
            attrs = result.documents.get(join(path, V2_ATTRS)) or {}
            node = Node(path, kind, int(document.get("zarr_format", 2)), document, dict(attrs))  # type: ignore[arg-type]
            result.nodes[path] = node
            return node
    return None


def _note_missing_group_documents(result: Hierarchy) -> None:
    missing: set[str] = set()
    for path in result.nodes:
        above = path
        while "/" in above:
            above = parent(above)
            if above not in result.nodes and not _has_any(result, above):
                missing.add(above)
        if path and "/" not in path and "" not in result.nodes and not _has_any(result, ""):
            missing.add("")
    result.folders_without_document = sorted(missing)
