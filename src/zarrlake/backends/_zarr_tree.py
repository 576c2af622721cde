"""Where a path is in the Zarr backend's hierarchies: nodes, links, roots and plates.

The navigation half of :class:`~zarrlake.backends.ZarrBackend` (see its module for the
rules of where things go); the backend adds reading, writing and changing files.
"""

from __future__ import annotations

import os
import posixpath

from zarrlake.backends import _hcs as hcs
from zarrlake.backends._base import (
    MAX_LINK_DEPTH,
    PathLike,
    StorageBackend,
    not_directory_error,
    symlink_loop_error,
)
from zarrlake.backends._config import ZarrConfig
from zarrlake.backends._zarr_space import Kind, Node, Space, split_path
from zarrlake.encoding import ZarrFormat
from zarrlake.errors import InvalidInputError
from zarrlake.hierarchy import (
    CONSOLIDATED_V2,
    METADATA_NAMES,
    V2_ARRAY,
    V2_ATTRS,
    V2_GROUP,
    V3_DOCUMENT,
    ZARRLAKE_PREFIX,
)
from zarrlake.storage.listing import is_in_flight

__all__ = ["RESERVED_NAMES", "ZarrTree"]

RESERVED_NAMES = METADATA_NAMES | {ZARRLAKE_PREFIX.rstrip("/")}
"""Names that are never entries: Zarr's own documents and zarrlake's private folder."""


class ZarrTree(StorageBackend):
    """Locating paths in Zarr hierarchies (the base of the Zarr backend)."""

    config: ZarrConfig
    _spaces: dict[str, Space]

    # -- locating ---------------------------------------------------------------------

    def _locate(self, path: PathLike) -> tuple[Space, str]:
        base, key = split_path(path)
        if base not in self._spaces:
            self._spaces[base] = Space(base, self.config.storage_options)
        return self._spaces[base], key

    def _node(self, space: Space, key: str) -> Node:
        name = posixpath.basename(key)
        if name in RESERVED_NAMES:
            return Node("missing", key)
        document = space.json(posixpath.join(key, V3_DOCUMENT))
        if document is not None:
            attrs = dict(document.get("attributes") or {})
            kind: Kind = "array" if document.get("node_type") == "array" else "group"
            if kind == "group" and "_symlink" in attrs:
                kind = "link"
            return Node(kind, key, 3, attrs)
        if space.exists(posixpath.join(key, V2_ARRAY)):
            return Node("array", key, 2, space.json(posixpath.join(key, V2_ATTRS)) or {})
        if space.exists(posixpath.join(key, V2_GROUP)):
            attrs = space.json(posixpath.join(key, V2_ATTRS)) or {}
            return Node("link" if "_symlink" in attrs else "group", key, 2, attrs)
        if key and space.exists(key):
            return Node("raw", key)
        if space.is_plain_dir(key):
            return Node("plain", key)
        parent = posixpath.dirname(key)
        if self._plate_index(space, parent).get(name) is not None:
            return Node("virtual", key)
        return Node("missing", key)

    def _is_group(self, space: Space, key: str) -> ZarrFormat | None:
        document = space.json(posixpath.join(key, V3_DOCUMENT))
        if document is not None:
            return 3 if document.get("node_type") == "group" else None
        return 2 if space.exists(posixpath.join(key, V2_GROUP)) else None

    def _root_of(self, space: Space, key: str) -> str:
        """Return the outermost group of the run of groups that ends at the group ``key``."""
        root = key
        while root:
            parent = posixpath.dirname(root)
            if self._is_group(space, parent) is None:
                break
            root = parent
        return root

    def _plate_index(self, space: Space, key: str) -> hcs.FileIndex:
        if self._is_group(space, key) is None:
            return {}
        return hcs.read_file_index(space.hierarchy(key)) or {}

    def _resolve(self, path: PathLike) -> tuple[Space, Node]:
        space, key = self._locate(path)
        node = self._node(space, key)
        seen: list[str] = []
        while node.kind == "link":
            if node.key in seen or len(seen) > MAX_LINK_DEPTH:
                raise symlink_loop_error(path, seen)
            seen.append(node.key)
            target = posixpath.join(
                self._root_of(space, posixpath.dirname(node.key)), node.attrs["_symlink"]
            )
            node = self._node(space, target)
        return space, node

    def _kind(self, path: PathLike) -> str:
        node = self._resolve(path)[1]
        if node.kind in ("group", "plain"):
            return "directory"
        return "missing" if node.kind == "missing" else "file"

    def _parent_hierarchy(
        self, space: Space, key: str, shown: PathLike
    ) -> tuple[str, str, ZarrFormat]:
        """Return (hierarchy root, key relative to it, format) for a new node at ``key``."""
        ancestor = posixpath.dirname(key)
        while True:
            node = self._node(space, ancestor) if ancestor else Node("plain", "")
            if node.kind in ("array", "raw", "virtual"):
                raise not_directory_error(space.path(ancestor))
            if node.kind == "link":
                raise InvalidInputError(
                    f"{shown}: the Zarr backend does not follow links inside paths",
                    subject=os.fspath(shown),
                    hint="use the link's target directory",
                )
            if node.kind == "group":
                root = self._root_of(space, ancestor)
                fmt = self._is_group(space, root) or self.config.format
                return root, key[len(root) :].lstrip("/"), fmt
            if node.kind == "plain" or not ancestor:
                root = posixpath.dirname(key)
                return root, posixpath.basename(key), self.config.format
            ancestor = posixpath.dirname(ancestor)

    def _refresh(self, space: Space, root: str) -> None:
        """Keep a consolidated hierarchy's consolidated metadata fresh after a change."""
        document = space.json(posixpath.join(root, V3_DOCUMENT))
        consolidated = (
            bool(document.get("consolidated_metadata"))
            if document is not None
            else space.exists(posixpath.join(root, CONSOLIDATED_V2))
        )
        if consolidated:
            from zarrlake.meta import consolidate

            consolidate(space.hierarchy(root), lock=self.config.lock)

    def _entries(self, space: Space, key: str) -> list[str]:
        return [
            name
            for name in space.children(key)
            if name not in RESERVED_NAMES and not is_in_flight(name)
        ]

    def _hierarchy_root(self, space: Space, key: str) -> str | None:
        parent = posixpath.dirname(key)
        return self._root_of(space, parent) if self._is_group(space, parent) is not None else None
