"""``repair``: a fix for each fixable finding, backed up first, applied as a transaction."""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from zarr.abc.store import Store
from zarr.core.buffer import default_buffer_prototype

from zarrlake.errors import InvalidInputError
from zarrlake.hierarchy import (
    CONSOLIDATED_V2,
    METADATA_NAMES,
    NODE_DOCUMENTS,
    V2_ATTRS,
    V2_GROUP,
    V3_DOCUMENT,
    Hierarchy,
    Node,
    aread_root_documents,
    awalk,
    build_consolidated,
    classify,
    document_name,
    dumps,
    join,
    node_path,
    parent,
)
from zarrlake.meta._backup import backup
from zarrlake.meta._ome import image_levels
from zarrlake.meta._rules import _grid_keys
from zarrlake.storage import open_store, run_sync, store_url
from zarrlake.storage.atomic import aread_bytes
from zarrlake.storage.listing import alist_keys
from zarrlake.storage.sidecar import sidecar
from zarrlake.txn import JOURNAL_KEY, LockOptions, Transaction, read_lock

__all__ = ["RepairResult", "repair"]


@dataclass
class RepairResult:
    """What a repair did (or, in a dry run, would do)."""

    url: str
    dry_run: bool
    actions: list[str] = field(default_factory=list)
    backup: str | None = None
    recovered: str = "clean"

    def __str__(self) -> str:
        verb = "would" if self.dry_run else "did"
        lines = [f"repair of {self.url} ({verb}):"] + [f"  - {a}" for a in self.actions]
        if self.backup:
            lines.append(f"  backup: {self.backup} (zarrlake meta restore puts it back)")
        return "\n".join(lines if self.actions else [f"{self.url}: nothing to repair"])


def _group_document(zarr_format: int) -> dict[str, tuple[str, dict[str, Any]]]:
    if zarr_format == 3:
        document = {"zarr_format": 3, "node_type": "group", "attributes": {}}
        return {V3_DOCUMENT: (V3_DOCUMENT, document)}
    return {V2_GROUP: (V2_GROUP, {"zarr_format": 2})}


def _consolidated_copies(
    root: Mapping[str, Any] | None, v2: Mapping[str, Any] | None
) -> dict[str, dict[str, Any]]:
    """Return the documents a consolidated copy holds, by key (``a/zarr.json``, ``a/.zattrs``)."""
    copies: dict[str, dict[str, Any]] = {}
    if root is not None:
        for path, doc in ((root.get("consolidated_metadata") or {}).get("metadata") or {}).items():
            copies[join(path, V3_DOCUMENT)] = doc
    if v2 is not None:
        copies.update(v2.get("metadata") or {})
    return copies


def _stored_copies(h: Hierarchy) -> dict[str, dict[str, Any]]:
    """Return the stored consolidated copies (an unusable v2 copy counts as none)."""
    v2 = None
    raw = h.raw.get(CONSOLIDATED_V2)
    if raw is not None:
        with contextlib.suppress(ValueError, KeyError, TypeError):
            v2 = json.loads(raw)
    return _consolidated_copies(h.documents.get(V3_DOCUMENT), v2)


def _restore_invalid(h: Hierarchy, writes: dict[str, dict[str, Any]], actions: list[str]) -> None:
    """Rebuild invalid documents from the consolidated copy, when it has them."""
    copies = _stored_copies(h)
    for key in sorted(h.invalid):
        if key == CONSOLIDATED_V2:
            continue  # rebuilt by reconsolidation
        if key in copies:
            document = dict(copies[key])
            if document.get("node_type") == "group":
                document.pop("consolidated_metadata", None)
            writes[key] = document
            actions.append(f"restore {key} from the consolidated metadata copy")
        else:
            actions.append(
                f"cannot rebuild {key}: no copy in consolidated metadata (restore a backup)"
            )


def _restore_dimension_names(
    h: Hierarchy, node: Node, copies: Mapping[str, dict[str, Any]]
) -> list[str] | None:
    if node.zarr_format == 3 and isinstance(node.attributes.get("_ARRAY_DIMENSIONS"), list):
        return list(node.attributes["_ARRAY_DIMENSIONS"])
    # The consolidated copy may be the only place that still holds them.
    if node.zarr_format == 3:
        kept = (copies.get(join(node.path, V3_DOCUMENT)) or {}).get("dimension_names")
    else:
        kept = (copies.get(join(node.path, V2_ATTRS)) or {}).get("_ARRAY_DIMENSIONS")
    shape = node.document.get("shape") or []
    if isinstance(kept, list) and len(kept) == len(shape) and all(kept):
        return [str(name) for name in kept]
    group = parent(node.path)
    name = document_name(node.path)
    if len(shape) == 1 and shape:
        return [name]
    coordinates = {
        document_name(path): other.document.get("shape", [None])[0]
        for path, other in h.arrays.items()
        if parent(path) == group and len(other.document.get("shape") or []) == 1
    }
    names = []
    for size in shape:
        matches = [n for n, s in coordinates.items() if s == size and n not in names]
        if len(matches) != 1:
            return None  # ambiguous or unknown: leave it to a person
        names.append(matches[0])
    return names


def _attributes(key: str, document: Mapping[str, Any]) -> Mapping[str, Any]:
    """Return a document's attributes: nested in format 3, the whole ``.zattrs`` in 2."""
    return document if document_name(key) == V2_ATTRS else document.get("attributes") or {}


def _lost_information(
    before: Mapping[str, dict[str, Any]], rebuilt: Mapping[str, dict[str, Any]]
) -> list[str]:
    """Name what the stored consolidated copy holds that a rebuilt one would not."""
    after = _consolidated_copies(rebuilt.get(V3_DOCUMENT), rebuilt.get(CONSOLIDATED_V2))
    lost = []
    for key, old in sorted(before.items()):
        new = after.get(key)
        if new is None:
            continue  # a node removed on purpose (orphans) is not information lost
        if old.get("dimension_names") and not new.get("dimension_names"):
            lost.append(f"the dimension names of {node_path(key) or 'the root'!r}")
        missing = sorted(set(_attributes(key, old)) - set(_attributes(key, new)))
        if missing:
            lost.append(f"attributes {missing} of {node_path(key) or 'the root'!r}")
    return lost


def _archives_below(h: Hierarchy) -> list[str]:
    """Top-level nodes of a root without a document that look like archives of their own."""
    if "" in h.nodes:
        return []
    return sorted(
        path
        for path, node in h.nodes.items()
        if "/" not in path
        and (path.endswith(".zarr") or "consolidated_metadata" in (node.document or {}))
    )


def _plan_structure(h: Hierarchy) -> tuple[dict[str, dict[str, Any]], list[str]]:
    writes: dict[str, dict[str, Any]] = {}
    actions: list[str] = []
    _restore_invalid(h, writes, actions)
    for folder in h.folders_without_document:
        for name, document in _group_document(h.zarr_format or 3).values():
            writes[join(folder, name)] = document
        actions.append(f"create the missing group document of {folder or 'the root'}")
    return writes, actions


def _plan_contents(
    h: Hierarchy,
    keys: Mapping[str, int],
    *,
    add_missing_attrs: bool,
    prune_orphans: bool,
    url: str,
) -> tuple[dict[str, dict[str, Any]], list[str], list[str]]:
    writes: dict[str, dict[str, Any]] = {}
    deletes: list[str] = []
    actions: list[str] = []
    levels = image_levels(h)  # named by their OME-Zarr image's axes
    copies = _stored_copies(h)  # parsed once: a format-2 .zmetadata can be large
    for path, node in sorted(h.arrays.items()):
        if path in levels:
            continue
        has_dims = (
            node.document.get("dimension_names") is not None
            if node.zarr_format == 3
            else isinstance(node.attributes.get("_ARRAY_DIMENSIONS"), list)
        )
        if has_dims:
            continue
        names = _restore_dimension_names(h, node, copies)
        if names is None:
            actions.append(f"cannot infer dimension names of {path!r}: set them by hand")
            continue
        if node.zarr_format == 3:
            writes[join(path, V3_DOCUMENT)] = {**node.document, "dimension_names": names}
        else:
            writes[join(path, V2_ATTRS)] = {**node.attributes, "_ARRAY_DIMENSIONS": names}
        actions.append(f"restore dimension names {names} of {path!r}")
    root = h.nodes.get("")
    if add_missing_attrs and root is not None and root.kind == "group" and not root.attributes:
        title = url.rstrip("/").rsplit("/", 1)[-1]
        attrs = {"title": title, "description": f"Zarr archive {title}"}
        if root.zarr_format == 3:
            writes[V3_DOCUMENT] = {**root.document, "attributes": attrs}
        else:
            writes[V2_ATTRS] = attrs
        actions.append(f"add root attributes {attrs}")
    if prune_orphans:
        deletes = _orphans(h, keys)
        if deletes:
            actions.append(f"delete {len(deletes)} orphan chunk key(s), e.g. {deletes[:3]}")
    return writes, deletes, actions


def _orphans(h: Hierarchy, keys: Mapping[str, int]) -> list[str]:
    orphans = []
    for path, node in sorted(h.arrays.items()):
        expected, _ = _grid_keys(node)
        if not expected:
            continue
        prefix = join(path, "")
        nested = [p for p in h.nodes if p != path and p.startswith(prefix)]
        for key in keys:
            if not key.startswith(prefix) or any(key.startswith(n + "/") for n in nested):
                continue
            rest = key[len(prefix) :]
            name = document_name(rest)
            if name in METADATA_NAMES or name.startswith("."):
                continue
            if rest not in expected:
                orphans.append(key)
    return sorted(orphans)


def _plan(
    h: Hierarchy,
    keys: Mapping[str, int],
    *,
    add_missing_attrs: bool,
    prune_orphans: bool,
    url: str,
) -> tuple[dict[str, dict[str, Any]], list[str], list[str], Hierarchy]:
    """Plan every fix; return writes, deletes, actions and the repaired hierarchy."""
    writes, actions = _plan_structure(h)
    repaired = _apply_writes(h, writes)
    more, deletes, more_actions = _plan_contents(
        repaired, keys, add_missing_attrs=add_missing_attrs, prune_orphans=prune_orphans, url=url
    )
    writes.update(more)
    return writes, deletes, actions + more_actions, _apply_writes(h, writes)


def _apply_writes(h: Hierarchy, writes: Mapping[str, dict[str, Any]]) -> Hierarchy:
    """Return the hierarchy as it will be after ``writes`` (for reconsolidation)."""
    updated = Hierarchy(zarr_format=h.zarr_format)
    updated.raw = dict(h.raw)  # the stored consolidated copy, for comparison
    updated.documents = {k: v for k, v in h.documents.items()}
    updated.documents.update(writes)
    for key in list(updated.documents):
        if document_name(key) in NODE_DOCUMENTS:
            classify(updated, node_path(key))
    return updated


async def _awalk_with_consolidated(store: Store) -> Hierarchy:
    hierarchy = await awalk(store)
    consolidated = await aread_bytes(store, CONSOLIDATED_V2)
    if consolidated is not None:
        hierarchy.raw[CONSOLIDATED_V2] = consolidated  # a copy of every v2 document
    return hierarchy


def _refuse_a_folder_of_archives(hierarchy: Hierarchy, url: str) -> None:
    """Refuse to repair a folder of archives: a group document would swallow them."""
    archives = _archives_below(hierarchy)
    if archives:
        more = f" and {len(archives) - 3} more" if len(archives) > 3 else ""
        raise InvalidInputError(
            f"{url} is a folder that holds Zarr archives ({', '.join(archives[:3])}{more}), "
            "not an archive: nothing was changed",
            subject=url,
            hint=f"repair each of them: zarrlake meta repair {url.rstrip('/')}/",
        )


def _plan_store(
    store: Store, url: str, add_missing_attrs: bool, prune_orphans: bool
) -> tuple[dict[str, dict[str, Any]], list[str], list[str], Hierarchy]:
    hierarchy = run_sync(_awalk_with_consolidated(store))
    archives = _archives_below(hierarchy)
    if archives:  # a group document here would swallow them into one hierarchy
        shown = ", ".join(archives[:3]) + (
            f" and {len(archives) - 3} more" if len(archives) > 3 else ""
        )
        raise InvalidInputError(
            f"{url} is a folder that holds Zarr archives ({shown}), not an archive: "
            "nothing was changed",
            subject=url,
            hint=f"repair each of them: zarrlake meta repair {url.rstrip('/')}/",
        )
    keys = run_sync(alist_keys(store)) if prune_orphans else {}
    return _plan(
        hierarchy, keys, add_missing_attrs=add_missing_attrs, prune_orphans=prune_orphans, url=url
    )


def repair(
    url: str | os.PathLike[str] | Store,
    *,
    dry_run: bool = False,
    add_missing_attrs: bool = False,
    prune_orphans: bool = False,
    break_stale_lock: bool = False,
    storage_options: Mapping[str, Any] | None = None,
) -> RepairResult:
    """Fix what validation finds fixable; back up first; apply as one transaction.

    Fixes: roll back (or finish) an interrupted write; rebuild invalid documents from the
    consolidated copy; create missing group documents; restore dimension names from
    xarray's ``_ARRAY_DIMENSIONS`` or from matching 1-D coordinate arrays; with
    ``add_missing_attrs``, give an attribute-less root a title and description; with
    ``prune_orphans``, delete chunk keys outside an array's grid; then reconsolidate.

    Parameters
    ----------
    url
        The archive's URL or an open store.
    dry_run
        Report the plan; change nothing.
    add_missing_attrs, prune_orphans
        Optional fixes (see above).
    break_stale_lock
        Break a stale lock left by a writer on another host.
    storage_options
        Options for remote stores.

    Returns
    -------
    RepairResult
        The actions taken (or planned) and where the backup went.
    """
    lock_options = LockOptions(break_stale=break_stale_lock, wait=False)
    store = open_store(url, mode="r" if dry_run else "r+", storage_options=storage_options)
    location = store_url(store)
    if not run_sync(aread_root_documents(store)):  # checked before any lock is written
        _refuse_a_folder_of_archives(run_sync(awalk(store)), location)
    result = RepairResult(url=location, dry_run=dry_run)
    if dry_run:
        side = sidecar(store)
        if run_sync(aread_bytes(side.store, side.key(JOURNAL_KEY))) is not None:
            result.actions.append("recover the interrupted write its journal describes")
        holder = run_sync(read_lock(store))
        if holder is not None and (holder.is_provably_dead() or break_stale_lock):
            result.actions.append(f"break the lock of {holder.describe()}")
        _, _, actions, _ = _plan_store(store, location, add_missing_attrs, prune_orphans)
        result.actions.extend(actions)
        result.actions.append("reconsolidate the metadata")
        return result
    with Transaction(
        store, operation="repair", lock_options=lock_options, consolidate=False
    ) as txn:
        result.recovered = txn.recovered
        if txn.recovered != "clean":
            result.actions.append(f"recovered an interrupted write ({txn.recovered})")
        writes, deletes, actions, after = _plan_store(
            store, location, add_missing_attrs, prune_orphans
        )
        result.actions.extend(actions)
        result.backup = backup(store)
        if "" in after.nodes and after.nodes[""].kind == "group":
            rebuilt = build_consolidated(after, location)
            lost = _lost_information(_stored_copies(after), rebuilt)
            if lost:
                result.actions.append(
                    "kept the consolidated metadata as it is: rebuilding it would lose "
                    + "; ".join(lost)
                    + " (set them in the documents, then run consolidate)"
                )
            else:
                writes = {**writes, **rebuilt}
        prototype = default_buffer_prototype()
        for key, document in writes.items():
            run_sync(txn.staging.set(key, prototype.buffer.from_bytes(dumps(document))))
        for key in deletes:
            run_sync(txn.staging.delete(key))
        commit = txn.commit()
        if commit.changed:
            result.actions.append("reconsolidated the metadata")
    return result
