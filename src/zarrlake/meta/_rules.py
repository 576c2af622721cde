"""Validation rules: each has a stable code and yields findings.

A rule is a function ``rule(ctx: Context) -> Iterable[Finding]``. Custom rules are
plain functions passed to :func:`zarrlake.meta.validate` or registered under the
``zarrlake.rules`` entry-point group.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numcodecs
import numpy as np
from zarr.abc.store import Store

from zarrlake.hierarchy import (
    METADATA_NAMES,
    V2_ARRAY,
    V2_ATTRS,
    V2_GROUP,
    Hierarchy,
    Node,
    document_name,
)
from zarrlake.meta._ome import image_levels, ome_rules
from zarrlake.meta._report import Finding
from zarrlake.txn import LockOwner

__all__ = ["BUILTIN_RULES", "Context", "Rule"]


@dataclass
class Context:
    """What rules look at."""

    store: Store
    url: str
    hierarchy: Hierarchy
    consolidated_v2: bytes | None
    journal: bytes | None
    lock: LockOwner | None
    stale_after: float
    deep: bool = False
    keys: dict[str, int] = field(default_factory=dict)
    sidecar_url: str = ""
    """Where zarrlake keeps the archive's bookkeeping (lock, journal)."""
    inside_bookkeeping: bool = False
    """Whether an older zarrlake left bookkeeping inside the archive (``.zarrlake/``)."""

    @property
    def fix_consolidate(self) -> str:
        """The command that re-consolidates this store."""
        return f"zarrlake meta consolidate {self.url}"


Rule = Callable[[Context], Iterable[Finding]]


def _name(path: str) -> str:
    return f"'{path}'" if path else "the root group"


def _group_name(path: str) -> str:
    return f"group {path!r}" if path else "the root group"


def consolidated_rules(ctx: Context) -> Iterator[Finding]:
    """ZL100 missing, ZL101 stale, ZL102 unreadable consolidated metadata."""
    h = ctx.hierarchy
    root = h.nodes.get("")
    if root is None or root.kind != "group":
        return
    if root.zarr_format == 2:
        if ctx.consolidated_v2 is None:
            yield Finding(
                "ZL100",
                "warning",
                "",
                "consolidated metadata (.zmetadata) is missing",
                ctx.fix_consolidate,
            )
            return
        try:
            entries = json.loads(ctx.consolidated_v2)["metadata"]
            assert isinstance(entries, dict)
        except (ValueError, KeyError, TypeError, AssertionError) as exc:
            yield Finding(
                "ZL102",
                "error",
                ".zmetadata",
                f"invalid JSON in .zmetadata: {exc}",
                f"delete .zmetadata and run {ctx.fix_consolidate}",
            )
            return
        real = {
            k: d
            for k, d in h.documents.items()
            if document_name(k) in (V2_ARRAY, V2_GROUP, V2_ATTRS)
        }
        yield from _compare("", entries, real, ctx)
        return
    inline = (root.document.get("consolidated_metadata") or {}).get("metadata")
    if inline is None:
        yield Finding(
            "ZL100",
            "warning",
            "",
            "consolidated metadata is missing from the root zarr.json",
            ctx.fix_consolidate,
        )
        return
    if not isinstance(inline, dict):
        yield Finding(
            "ZL102",
            "error",
            "zarr.json",
            "the consolidated metadata in zarr.json is malformed",
            ctx.fix_consolidate,
        )
        return
    for path, node in h.groups.items():
        nested = (node.document.get("consolidated_metadata") or {}).get("metadata")
        if path and nested is None:
            continue
        group_inline = inline if not path else nested
        if not isinstance(group_inline, dict):
            continue
        real = {
            other[len(path) + 1 :] if path else other: n.document
            for other, n in h.nodes.items()
            if other and (not path or other.startswith(path + "/"))
        }
        yield from _compare(path, group_inline, real, ctx)


def _normalize(document: Any) -> Any:
    # Groups' own consolidated copies are not part of a member's identity (and zarr 3
    # even writes one into nested format-2 .zgroup entries).
    if isinstance(document, dict) and "consolidated_metadata" in document:
        return {k: v for k, v in document.items() if k != "consolidated_metadata"}
    return document


def _compare(
    group: str, consolidated: dict[str, Any], real: dict[str, Any], ctx: Context
) -> Iterator[Finding]:
    missing = sorted(set(real) - set(consolidated))
    extra = sorted(set(consolidated) - set(real))
    different = sorted(
        k
        for k in set(real) & set(consolidated)
        if _normalize(real[k]) != _normalize(consolidated[k])
    )
    where = f"of group {_name(group)} " if group else ""
    parts = []
    if missing:
        parts.append(f"missing {missing[:10]}")
    if extra:
        parts.append(f"listing members that no longer exist {extra[:10]}")
    if different:
        parts.append(f"different from the real documents for {different[:10]}")
    if parts:
        yield Finding(
            "ZL101",
            "error",
            group,
            f"consolidated metadata {where}is stale: " + "; ".join(parts),
            ctx.fix_consolidate,
        )


def document_rules(ctx: Context) -> Iterator[Finding]:
    """ZL110 invalid JSON, ZL111 missing group documents, ZL112 mixed formats."""
    h = ctx.hierarchy
    for key, error in sorted(h.invalid.items()):
        yield Finding(
            "ZL110",
            "error",
            key,
            f"invalid JSON in {key}: {error}",
            "restore it from a backup (zarrlake meta restore), or rewrite it",
        )
    for folder in h.folders_without_document:
        yield Finding(
            "ZL111",
            "error",
            folder,
            f"{_group_name(folder)} holds nodes but has no group document",
            f"zarrlake meta repair {ctx.url}",
        )
    formats = {n.zarr_format for n in h.nodes.values()}
    if len(formats) > 1:
        odd = sorted(p or "/" for p, n in h.nodes.items() if n.zarr_format != h.zarr_format)
        yield Finding(
            "ZL112",
            "error",
            "",
            f"the hierarchy mixes Zarr formats {sorted(formats)}; "
            f"format {h.zarr_format} at the root, others at {odd[:10]}",
            "rewrite the odd nodes in the root's format",
        )


def _dims(node: Node) -> list[str] | None:
    if node.zarr_format == 3:
        names = node.document.get("dimension_names")
    else:
        names = node.attributes.get("_ARRAY_DIMENSIONS")
    return list(names) if isinstance(names, list) else None


def _shape(node: Node) -> list[int]:
    return [int(s) for s in node.document.get("shape", [])]


def _dtype(node: Node) -> np.dtype[Any] | None:
    raw = node.document.get("data_type" if node.zarr_format == 3 else "dtype")
    try:
        return np.dtype(raw) if isinstance(raw, str) else None
    except TypeError:
        return None


def array_rules(ctx: Context) -> Iterator[Finding]:
    """ZL120-ZL124 dimension names and sizes, fill values, CF conflicts; ZL130 codecs.

    The levels of an OME-Zarr image are named by the image's axes and differ in size
    by design: ZL120 and ZL121 leave them to :func:`~zarrlake.meta._ome.ome_rules`.
    """
    sizes: dict[str, dict[int, list[str]]] = {}
    levels = image_levels(ctx.hierarchy)
    for path, node in sorted(ctx.hierarchy.arrays.items()):
        dims = _dims(node)
        shape = _shape(node)
        if path in levels:
            pass  # named by its image's axes; sizes differ from level to level
        elif dims is None and shape:  # a 0-d array has no dimension to name
            yield Finding(
                "ZL120",
                "warning",
                path,
                f"array {_name(path)} has no dimension names",
                f"zarrlake meta repair {ctx.url} (restores them from CF/xarray attributes)",
            )
        elif dims is not None and len(dims) == len(shape):
            for dim, size in zip(dims, shape, strict=True):
                sizes.setdefault(dim, {}).setdefault(size, []).append(path)
        dtype = _dtype(node)
        fill = node.document.get("fill_value")
        if dtype is not None and not _fill_ok(fill, dtype):
            yield Finding(
                "ZL122",
                "error",
                path,
                f"array {_name(path)}: fill value {fill!r} is not valid for dtype {dtype}",
                "rewrite fill_value in the array's metadata",
            )
        cf_fill = node.attributes.get("_FillValue")
        comparable = dtype is not None and fill is not None and cf_fill is not None
        if comparable and not isinstance(cf_fill, str) and not _same_value(cf_fill, fill):
            yield Finding(
                "ZL123",
                "warning",
                path,
                f"array {_name(path)}: CF _FillValue {cf_fill!r} differs from the Zarr "
                f"fill_value {fill!r}; never-written chunks read as {fill!r}, not as missing",
                "set the Zarr fill_value to the CF _FillValue",
            )
        if (
            dtype is not None
            and dtype.kind == "f"
            and any(k in node.attributes for k in ("scale_factor", "add_offset"))
        ):
            yield Finding(
                "ZL124",
                "warning",
                path,
                f"array {_name(path)} is stored as {dtype} but carries CF packing "
                "attributes (scale_factor/add_offset)",
                "drop them, or store the packed integers",
            )
        for codec in _unknown_codecs(node):
            yield Finding(
                "ZL130",
                "error",
                path,
                f"array {_name(path)} uses codec {codec!r}, which this installation cannot decode",
                "install the package that provides it",
            )
    for dim, by_size in sorted(sizes.items()):
        if len(by_size) > 1:
            detail = "; ".join(f"{size} in {paths[:3]}" for size, paths in sorted(by_size.items()))
            yield Finding(
                "ZL121",
                "error",
                "",
                f"dimension {dim!r} has different sizes: {detail}",
                "rename one of the dimensions, or fix the shapes",
            )


def _fill_ok(fill: Any, dtype: np.dtype[Any]) -> bool:
    if fill is None:
        return True
    if dtype.kind == "f":
        if isinstance(fill, bool):
            return False
        if isinstance(fill, (int, float)):
            return True
        return isinstance(fill, str) and (
            fill in ("NaN", "Infinity", "-Infinity") or fill.startswith("0x")
        )
    if dtype.kind in "iu":
        if isinstance(fill, bool) or not isinstance(fill, (int, float)):
            return False
        info = np.iinfo(dtype)
        return float(fill).is_integer() and info.min <= fill <= info.max
    if dtype.kind == "b":
        return isinstance(fill, bool) or fill in (0, 1)
    return True


def _same_value(a: Any, b: Any) -> bool:
    try:
        fa, fb = float(a), float(b)
    except (TypeError, ValueError):
        return bool(a == b)
    return (math.isnan(fa) and math.isnan(fb)) or fa == fb


def _unknown_codecs(node: Node) -> list[str]:
    unknown = []
    if node.zarr_format == 3:
        from zarr.registry import get_codec_class

        for codec in node.document.get("codecs") or []:
            name = codec.get("name") if isinstance(codec, dict) else codec
            try:
                get_codec_class(str(name))
            except KeyError:
                unknown.append(str(name))
        return unknown
    configs = [node.document.get("compressor"), *(node.document.get("filters") or [])]
    for config in configs:
        if config is None:
            continue
        try:
            numcodecs.get_codec(dict(config))
        except (ValueError, KeyError, TypeError):
            unknown.append(str(config.get("id") if isinstance(config, dict) else config))
    return unknown


def transaction_rules(ctx: Context) -> Iterator[Finding]:
    """ZL150 uncommitted journal, ZL151 stale or dead lock, ZL152 bookkeeping inside."""
    if ctx.journal is not None:
        yield Finding(
            "ZL150",
            "error",
            f"{ctx.sidecar_url}/journal.json",
            "an interrupted write left its journal: the archive may hold half of a change",
            f"zarrlake recover {ctx.url}",
        )
    lock = ctx.lock
    if lock is not None:
        if lock.is_provably_dead():
            yield Finding(
                "ZL151",
                "warning",
                f"{ctx.sidecar_url}/lock",
                f"the lock is held by a dead writer: {lock.describe()}",
                f"zarrlake recover {ctx.url} (breaks it automatically)",
            )
        elif lock.age() > ctx.stale_after:
            yield Finding(
                "ZL151",
                "warning",
                f"{ctx.sidecar_url}/lock",
                f"the lock is stale: {lock.describe()}",
                f"zarrlake recover {ctx.url} --break-lock, if that writer is gone",
            )
    if ctx.inside_bookkeeping:
        yield Finding(
            "ZL152",
            "warning",
            ".zarrlake",
            "an older zarrlake kept its bookkeeping inside the archive, where Zarr readers "
            "warn that '.zarrlake' is not a component of the hierarchy",
            f"zarrlake recover {ctx.url} (moves it to {ctx.sidecar_url})",
        )


def attribute_rules(ctx: Context) -> Iterator[Finding]:
    """ZL160 missing units, ZL161 missing descriptions.

    The levels of an OME-Zarr image take their units from the image's axes (see
    :func:`~zarrlake.meta._ome.ome_rules`, ZL172), not from a ``units`` attribute.
    """
    root = ctx.hierarchy.nodes.get("")
    if root is not None and root.kind == "group" and not root.attributes:
        yield Finding(
            "ZL161",
            "info",
            "",
            "the root group has no attributes (title, description)",
            f"zarrlake meta repair {ctx.url} --add-missing-attrs",
        )
    # CF bounds variables take their parent's units (CF 7.1): they need none of their own.
    bounds = {
        f"{path.rpartition('/')[0]}/{node.attributes['bounds']}".lstrip("/")
        for path, node in ctx.hierarchy.arrays.items()
        if isinstance(node.attributes.get("bounds"), str)
    }
    levels = image_levels(ctx.hierarchy)
    for path, node in sorted(ctx.hierarchy.arrays.items()):
        dtype = _dtype(node)
        if path in levels:
            continue
        if path.lstrip("/") in bounds or {"grid_mapping_name", "cf_role"} & set(node.attributes):
            continue  # bounds, grid mappings and mesh topologies carry no units
        if "units" not in node.attributes and (dtype is None or dtype.kind in "iuf"):
            yield Finding(
                "ZL160",
                "warning",
                path,
                f"array {_name(path)}: no units specified in attributes",
                "add a 'units' attribute",
            )


def _grid_keys(node: Node) -> tuple[set[str], str]:
    shape = _shape(node)
    document = node.document
    if node.zarr_format == 3:
        grid = document["chunk_grid"]["configuration"]["chunk_shape"]  # shards when sharded
        encoding = document.get("chunk_key_encoding") or {"name": "default"}
        separator = (encoding.get("configuration") or {}).get("separator", "/")
        prefix = "c" + separator if encoding.get("name") == "default" else ""
    else:
        grid = document["chunks"]
        separator = document.get("dimension_separator") or "."
        prefix = ""
    counts = [math.ceil(s / c) if c else 0 for s, c in zip(shape, grid, strict=True)]
    if not counts:  # a 0-d array has one chunk
        return {"c" if node.zarr_format == 3 else "0"}, separator
    if math.prod(counts) > 10**6:
        return set(), separator  # too many to enumerate; orphan/unwritten counts are skipped
    return {prefix + separator.join(map(str, idx)) for idx in np.ndindex(*counts)}, separator


def deep_rules(ctx: Context) -> Iterator[Finding]:
    """ZL140 orphan chunks, ZL141 never-written chunks, ZL142 chunks that fail to decode."""
    if not ctx.deep:
        return
    import zarr

    for path, node in sorted(ctx.hierarchy.arrays.items()):
        prefix = f"{path}/" if path else ""
        present = {
            k[len(prefix) :]
            for k in ctx.keys
            if k.startswith(prefix)
            and k[len(prefix) :] not in METADATA_NAMES
            and not k.rsplit("/", 1)[-1].startswith(".")
            and not any(
                k.startswith(f"{other}/")
                for other in ctx.hierarchy.nodes
                if other != path and other.startswith(prefix)
            )
        }
        expected, _ = _grid_keys(node)
        if expected:
            orphans = sorted(present - expected)
            if orphans:
                yield Finding(
                    "ZL140",
                    "warning",
                    path,
                    f"array {_name(path)} has {len(orphans)} chunk key(s) outside "
                    f"its grid, e.g. {orphans[:3]}",
                    f"zarrlake meta repair {ctx.url} --prune-orphans",
                )
            unwritten = len(expected - present)
            if unwritten:
                yield Finding(
                    "ZL141",
                    "info",
                    path,
                    f"array {_name(path)}: {unwritten} of {len(expected)} chunk(s) "
                    "were never written (they read as the fill value)",
                )
        try:
            array = zarr.open_array(
                ctx.store, path=path, mode="r", zarr_format=3 if node.zarr_format == 3 else 2
            )
        except Exception as exc:
            yield Finding("ZL142", "error", path, f"array {_name(path)} cannot be opened: {exc}")
            continue
        # blocks index whole stored objects: shards where the array is sharded
        stored = array.shards or array.chunks
        grid = [math.ceil(s / c) if c else 0 for s, c in zip(array.shape, stored, strict=True)]
        for index in np.ndindex(*grid):
            try:
                array.blocks[index]
            except Exception as exc:
                yield Finding(
                    "ZL142",
                    "error",
                    path,
                    f"array {_name(path)}: chunk {index} fails to decode: {exc}",
                    "restore it from a backup, or rewrite that region",
                )


BUILTIN_RULES: tuple[Rule, ...] = (
    document_rules,
    consolidated_rules,
    array_rules,
    transaction_rules,
    attribute_rules,
    ome_rules,
    deep_rules,
)
