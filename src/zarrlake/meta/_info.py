"""Describe a Zarr store: its tree, arrays, codecs and stored bytes (``zarrlake info``)."""

from __future__ import annotations

import asyncio
import base64
import math
import os
from collections.abc import Mapping
from typing import Any, Literal

import numpy as np
import zarr.api.asynchronous as zasync
from pydantic import BaseModel, Field
from zarr.abc.store import Store
from zarr.core.array import AsyncArray
from zarr.core.group import AsyncGroup

from zarrlake.encoding import describe_codecs
from zarrlake.errors import NotFoundError
from zarrlake.hierarchy import (
    CONSOLIDATED_V2,
    V2_ARRAY,
    V2_ATTRS,
    V3_DOCUMENT,
    aread_root_documents,
    format_of,
    join,
    loads,
)
from zarrlake.hierarchy import parent as hierarchy_parent
from zarrlake.storage import open_store, run_sync, store_url
from zarrlake.storage.listing import alist_keys

__all__ = ["ArrayInfo", "GroupInfo", "StoreInfo", "ainspect_store", "inspect_store"]


class ArrayInfo(BaseModel):
    """One array of a store."""

    kind: Literal["array"] = "array"
    path: str
    shape: tuple[int, ...]
    dtype: str
    chunks: tuple[int, ...]
    shards: tuple[int, ...] | None = None
    dimension_names: tuple[str | None, ...] | None = None
    compression: str
    filters: list[str] = Field(default_factory=list)
    fill_value: Any = None
    cf_fill_value: Any = Field(default=None, description="the CF _FillValue attribute, if any")
    zarr_format: int
    nbytes: int
    stored_bytes: int = Field(description="bytes of chunk objects (metadata documents excluded)")
    metadata_bytes: int = 0
    chunks_written: int
    chunks_total: int

    @property
    def ratio(self) -> float | None:
        """Uncompressed over stored bytes (``None`` when nothing is stored)."""
        return self.nbytes / self.stored_bytes if self.stored_bytes else None


class GroupInfo(BaseModel):
    """One group of a store, with its children."""

    kind: Literal["group"] = "group"
    path: str
    zarr_format: int
    attributes: int = 0
    children: list[GroupInfo | ArrayInfo] = Field(default_factory=list)


class StoreInfo(BaseModel):
    """What ``zarrlake info`` reports about a store."""

    url: str
    zarr_format: int
    consolidated: bool
    root: GroupInfo | ArrayInfo
    n_groups: int
    n_arrays: int
    nbytes: int
    stored_bytes: int

    @property
    def ratio(self) -> float | None:
        """Uncompressed over stored bytes for all arrays together."""
        return self.nbytes / self.stored_bytes if self.stored_bytes else None


def inspect_store(
    url: str | os.PathLike[str] | Store, *, storage_options: Mapping[str, Any] | None = None
) -> StoreInfo:
    """Describe the Zarr hierarchy at ``url`` from its real metadata documents.

    Parameters
    ----------
    url
        A store URL (local, ``memory://``, ``s3://``) or an open store.
    storage_options
        Options for remote stores.

    Returns
    -------
    StoreInfo
        The tree, with per-array shape, dtype, chunks, codecs, fill value and bytes.

    Raises
    ------
    NotFoundError
        When no Zarr group or array is at the URL.
    CorruptError
        When the root metadata document is not valid JSON.
    """
    store = open_store(url, mode="r", storage_options=storage_options)
    return run_sync(ainspect_store(store))


async def ainspect_store(store: Store) -> StoreInfo:
    """Asynchronous :func:`inspect_store` on an open store."""
    url = store_url(store)
    zarr_format, consolidated = await _root_format(store, url)
    node = await zasync.open(store=store, mode="r", zarr_format=zarr_format, use_consolidated=False)
    if isinstance(node, AsyncArray):
        sizes = await alist_keys(store, "")
        root: GroupInfo | ArrayInfo = _array_info(node, "", sizes)
        arrays: list[GroupInfo | ArrayInfo] = [root]
        groups: list[GroupInfo] = []
    else:
        root, array_infos, groups = await _group_tree(node, store)
        arrays = list(array_infos)
    return StoreInfo(
        url=url,
        zarr_format=zarr_format,
        consolidated=consolidated,
        root=root,
        n_groups=len(groups),
        n_arrays=len(arrays),
        nbytes=sum(a.nbytes for a in arrays if isinstance(a, ArrayInfo)),
        stored_bytes=sum(a.stored_bytes for a in arrays if isinstance(a, ArrayInfo)),
    )


async def _root_format(store: Store, url: str) -> tuple[Literal[2, 3], bool]:
    documents = await aread_root_documents(store, consolidated=True)
    zarr_format = format_of(documents)
    if zarr_format == 3:
        document = loads(documents[V3_DOCUMENT], key=V3_DOCUMENT, store=store)
        return 3, bool(document.get("consolidated_metadata"))
    if zarr_format == 2:
        return 2, CONSOLIDATED_V2 in documents
    raise NotFoundError(
        f"no Zarr group or array at {url}: neither zarr.json nor .zgroup/.zarray exists",
        subject=url,
        hint="check the URL points at the archive's root",
    )


async def _collect(iterator: Any) -> list[Any]:
    return [item async for item in iterator]


def _attribute_keys(sizes: Mapping[str, int], array_paths: set[str]) -> dict[str, dict[str, int]]:
    """Give each key to the array whose folder holds it (keys of groups are dropped)."""
    by_array: dict[str, dict[str, int]] = {}
    for key, size in sizes.items():
        parent = key
        while "/" in parent:
            parent = parent.rsplit("/", 1)[0]
            if parent in array_paths:
                by_array.setdefault(parent, {})[key] = size
                break
    return by_array


async def _group_tree(
    root_group: AsyncGroup, store: Store
) -> tuple[GroupInfo, list[ArrayInfo], list[GroupInfo]]:
    root = GroupInfo(
        path="", zarr_format=root_group.metadata.zarr_format, attributes=len(root_group.attrs)
    )
    members, all_sizes = await asyncio.gather(
        _collect(root_group.members(max_depth=None, use_consolidated_for_children=False)),
        alist_keys(store, ""),
    )
    members.sort(key=lambda item: item[0])
    array_nodes = [(p, n) for p, n in members if isinstance(n, AsyncArray)]
    sizes_by_array = _attribute_keys(all_sizes, {p for p, _ in array_nodes})
    described = [_array_info(n, p, sizes_by_array.get(p, {})) for p, n in array_nodes]
    by_path: dict[str, GroupInfo | ArrayInfo] = {"": root}
    groups: list[GroupInfo] = []
    for path, node in members:
        if isinstance(node, AsyncGroup):
            info = GroupInfo(
                path=path, zarr_format=node.metadata.zarr_format, attributes=len(node.attrs)
            )
            groups.append(info)
            by_path[path] = info
    for array_info in described:
        by_path[array_info.path] = array_info
    for path, _ in members:
        parent = by_path.get(hierarchy_parent(path))
        if isinstance(parent, GroupInfo):
            parent.children.append(by_path[path])
    return root, list(described), groups


def _array_info(node: AsyncArray[Any], path: str, key_sizes: Mapping[str, int]) -> ArrayInfo:
    metadata = node.metadata
    zarr_format = metadata.zarr_format
    if zarr_format == 3:
        names = getattr(metadata, "dimension_names", None)
        meta_keys = {join(path, V3_DOCUMENT)}
    else:
        raw = node.attrs.get("_ARRAY_DIMENSIONS")
        names = tuple(raw) if isinstance(raw, list) else None
        meta_keys = {join(path, V2_ARRAY), join(path, V2_ATTRS)}
    chunk_keys = [k for k in key_sizes if k not in meta_keys and not _is_hidden(k)]
    itemsize = np.dtype(str(node.dtype)).itemsize if _is_numpy_dtype(node) else 0
    grid = node.shards or node.chunks
    return ArrayInfo(
        path=path,
        shape=tuple(node.shape),
        dtype=str(node.dtype),
        chunks=tuple(node.chunks),
        shards=node.shards,
        dimension_names=tuple(names) if names is not None else None,
        compression=str(describe_codecs(node.compressors)),
        filters=[str(getattr(f, "codec_id", None) or type(f).__name__) for f in node.filters],
        fill_value=_jsonable(node.metadata.fill_value),
        cf_fill_value=_jsonable(_cf_fill_value(node.attrs.get("_FillValue"), itemsize, node)),
        zarr_format=zarr_format,
        nbytes=math.prod(node.shape) * itemsize,
        stored_bytes=sum(key_sizes[k] for k in chunk_keys),
        metadata_bytes=sum(size for k, size in key_sizes.items() if k in meta_keys),
        chunks_written=len(chunk_keys),
        chunks_total=math.prod(
            math.ceil(s / c) if c else 0 for s, c in zip(node.shape, grid, strict=True)
        ),
    )


def _cf_fill_value(value: Any, itemsize: int, node: AsyncArray[Any]) -> Any:
    """Decode xarray's base64 form of float ``_FillValue`` attributes (Zarr format 3)."""
    if not isinstance(value, str) or not itemsize:
        return value
    try:
        raw = base64.b64decode(value, validate=True)
    except ValueError:
        return value
    # xarray writes the value as the array's dtype, or as float64 for float arrays
    for dtype in (np.dtype(str(node.dtype)), np.dtype("<f8")):
        if len(raw) == dtype.itemsize:
            return np.frombuffer(raw, dtype=dtype)[0]
    return value


def _is_hidden(key: str) -> bool:
    return key.rsplit("/", 1)[-1].startswith(".")


def _is_numpy_dtype(node: AsyncArray[Any]) -> bool:
    try:
        np.dtype(str(node.dtype))
    except TypeError:
        return False
    return True


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, (bytes, bytearray)):
        return value.hex()
    if isinstance(value, complex):
        return [value.real, value.imag]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)
