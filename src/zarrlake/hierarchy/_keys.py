"""Keys of a Zarr hierarchy: which names are metadata documents, and where they live.

A node at ``path`` (``""`` is the root; paths are ``/``-joined, without leading or
trailing slash) keeps its metadata in documents named by the format: ``zarr.json``
(format 3), or ``.zarray`` / ``.zgroup`` plus ``.zattrs`` (format 2). The root's
consolidated metadata is ``.zmetadata`` (format 2) or inline in the root ``zarr.json``
(format 3). zarrlake keeps its own bookkeeping (locks, journals) beside an archive
(:mod:`zarrlake.storage.sidecar`); inside it, under ``.zarrlake/``, only where an archive
has no addressable sibling or an older zarrlake left it: such keys are never part of the
hierarchy. Everything here is pure: no I/O.
"""

from __future__ import annotations

from typing import Literal

from zarrlake.storage.protocol import INSIDE_PREFIX

__all__ = [
    "CONSOLIDATED_V2",
    "METADATA_NAMES",
    "NODE_DOCUMENTS",
    "V2_ARRAY",
    "V2_ATTRS",
    "V2_GROUP",
    "V3_DOCUMENT",
    "ZARRLAKE_PREFIX",
    "ZarrFormat",
    "ancestors",
    "commit_key",
    "document_name",
    "is_metadata_key",
    "is_private_key",
    "join",
    "node_path",
    "parent",
    "relative",
]

ZarrFormat = Literal[2, 3]
ZARRLAKE_PREFIX = INSIDE_PREFIX  # bookkeeping kept inside an archive
V3_DOCUMENT = "zarr.json"
V2_ARRAY = ".zarray"
V2_GROUP = ".zgroup"
V2_ATTRS = ".zattrs"
CONSOLIDATED_V2 = ".zmetadata"
NODE_DOCUMENTS = (V3_DOCUMENT, V2_ARRAY, V2_GROUP)
"""The documents that make a folder a node (attributes alone do not)."""
METADATA_NAMES = frozenset({*NODE_DOCUMENTS, V2_ATTRS, CONSOLIDATED_V2})


def join(path: str, name: str) -> str:
    """Return the key of ``name`` inside the node (or folder) at ``path``."""
    return f"{path}/{name}" if path else name


def parent(path: str) -> str:
    """Return the path of the group holding ``path`` (the root's parent is the root)."""
    return path.rsplit("/", 1)[0] if "/" in path else ""


def node_path(key: str) -> str:
    """Return the path of the node a document key belongs to (``a/b/zarr.json`` -> ``a/b``)."""
    return parent(key)


def document_name(key: str) -> str:
    """Return the last part of a key (``a/b/.zarray`` -> ``.zarray``)."""
    return key.rsplit("/", 1)[-1]


def relative(path: str, group: str) -> str | None:
    """Return ``path`` relative to ``group``, or ``None`` unless it lies strictly below it."""
    if not group:
        return path or None
    return path[len(group) + 1 :] if path.startswith(group + "/") else None


def ancestors(path: str) -> list[str]:
    """Return the groups above ``path``, nearest first, ending with the root ``""``."""
    found: list[str] = []
    while path:
        path = parent(path)
        found.append(path)
    return found


def is_metadata_key(key: str) -> bool:
    """Whether ``key`` is a Zarr metadata document (not a chunk)."""
    return document_name(key) in METADATA_NAMES


def is_private_key(key: str) -> bool:
    """Whether ``key`` is zarrlake bookkeeping kept inside an archive (``.zarrlake/``)."""
    return key.startswith(ZARRLAKE_PREFIX)


def commit_key(zarr_format: int) -> str:
    """Return the key whose write commits a transaction (the root consolidated document)."""
    return V3_DOCUMENT if zarr_format == 3 else CONSOLIDATED_V2
