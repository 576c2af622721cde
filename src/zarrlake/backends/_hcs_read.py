"""Reading an OME-Zarr plate: its documents, its virtual file index, its images.

Protocol: one read of the plate's consolidated metadata (the root ``zarr.json`` on Zarr 3,
``.zmetadata`` on Zarr 2) gives every node's document; each well lists its virtual file
names under ``attributes["zarrlake"]["files"]`` as ``[field, channel, z]``, so one read
finds any image. Images are read from level ``0`` of each field, each field array once,
all reads of a call concurrently.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import zarr
from zarr.abc.store import Store

from zarrlake.hierarchy import CONSOLIDATED_V2, V2_ARRAY, V2_ATTRS, V3_DOCUMENT, aread_document
from zarrlake.storage import run_sync

__all__ = [
    "FileIndex",
    "FileLocation",
    "PlateDocuments",
    "attributes",
    "file_index",
    "is_plate",
    "plate_documents",
    "read_file_index",
    "read_images",
]


@dataclass(frozen=True)
class FileLocation:
    """Where a virtual file of a plate is: its well, field, channel and z-plane."""

    well: str
    field: int
    channel: int
    z: int


FileIndex = dict[str, FileLocation]
PlateDocuments = tuple[int, dict[str, dict[str, Any]]]


async def plate_documents(store: Store) -> PlateDocuments | None:
    """Return the plate's Zarr format and its metadata documents by node path, or None."""
    root = await aread_document(store, V3_DOCUMENT)
    if root is not None:
        consolidated = (root.get("consolidated_metadata") or {}).get("metadata") or {}
        return 3, {"": root, **consolidated}
    consolidated_v2 = await aread_document(store, CONSOLIDATED_V2)
    if consolidated_v2 is None:
        return None
    nodes: dict[str, dict[str, Any]] = {}
    for key, document in consolidated_v2.get("metadata", {}).items():
        path, _, name = key.rpartition("/")
        node = nodes.setdefault(path, {"node_type": "group", "attributes": {}})
        if name == V2_ATTRS:
            node["attributes"] = document
        elif name == V2_ARRAY:
            node.update(document, node_type="array")
    return 2, nodes


def attributes(document: dict[str, Any]) -> dict[str, Any]:
    return dict(document.get("attributes") or {})


def is_plate(attributes: dict[str, Any]) -> bool:
    """Whether a group's attributes describe an OME-Zarr plate."""
    return "plate" in attributes or "plate" in (attributes.get("ome") or {})


def file_index(found: PlateDocuments | None) -> FileIndex | None:
    """Return the virtual files of a plate from its documents, or None if not a plate."""
    if found is None:
        return None
    _, nodes = found
    if not is_plate(attributes(nodes.get("", {}))):
        return None
    index: FileIndex = {}
    for path, document in nodes.items():
        files = (attributes(document).get("zarrlake") or {}).get("files")
        if isinstance(files, dict):
            for name, (field, channel, z) in files.items():
                index[name] = FileLocation(path, int(field), int(channel), int(z))
    return index


def read_file_index(store: Store) -> FileIndex | None:
    """Return the virtual files of the plate at ``store``'s root, or None if not a plate.

    One read (the consolidated root document) gives every well's file names.
    """
    return file_index(run_sync(plate_documents(store)))


def read_images(store: Store, locations: Sequence[FileLocation]) -> list[np.ndarray]:
    """Read the images at ``locations``, fetching each field array needed once.

    A field whose chunk holds the whole field is read whole; otherwise only the planes
    asked for are read. All reads of a call run concurrently.
    """
    group = zarr.open_group(store, mode="r", use_consolidated=True)
    arrays: dict[tuple[str, int], Any] = {}
    for location in locations:
        key = (location.well, location.field)
        if key not in arrays:
            arrays[key] = group[f"{location.well}/{location.field}/0"]

    async def fetch() -> list[np.ndarray]:
        whole: dict[tuple[str, int], Any] = {}
        jobs: list[Any] = []
        planes_wanted: dict[tuple[str, int], set[tuple[int, int]]] = {}
        for loc in locations:
            planes_wanted.setdefault((loc.well, loc.field), set()).add((loc.channel, loc.z))
        for key, array in arrays.items():
            # one read of the whole field when its chunk is the field, or when every
            # plane of it is wanted anyway
            every_plane = len(planes_wanted[key]) == array.shape[0] * array.shape[1]
            if every_plane or tuple(array.chunks[:2]) == tuple(array.shape[:2]):
                whole[key] = array._async_array.getitem(Ellipsis)
        keys = list(whole)
        plane_jobs = [
            arrays[(loc.well, loc.field)]._async_array.getitem((loc.channel, loc.z))
            for loc in locations
            if (loc.well, loc.field) not in whole
        ]
        jobs = [whole[k] for k in keys] + plane_jobs
        results = await asyncio.gather(*jobs)
        full = dict(zip(keys, results[: len(keys)], strict=True))
        planes = iter(results[len(keys) :])
        out: list[np.ndarray] = []
        for loc in locations:
            field = full.get((loc.well, loc.field))
            out.append(field[loc.channel, loc.z] if field is not None else next(planes))
        return out

    return run_sync(fetch())
