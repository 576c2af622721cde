"""The Zarr backend: files as Zarr arrays, directories as groups, wells as OME-Zarr HCS.

Where things go: a path's *hierarchy* is the outermost run of Zarr groups enclosing it;
a file saved where no hierarchy encloses it starts one at its directory (polystore's
rule: the directory holding the images is the Zarr store). Arrays are stored under any
name (``A01.tif`` is an array named ``A01.tif``); other files (JSON, CSV, text, bytes)
are stored as plain objects beside the Zarr data, and never under a name Zarr itself
uses (``zarr.json``, ``.zarray``, ``.zgroup``, ``.zattrs``, ``.zmetadata``). A link is a
group whose ``_symlink`` attribute names its target inside the same hierarchy.

Paths are local paths or object-store URLs (``s3://bucket/plate.zarr/A01.tif``).
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import zarr
from zarr.core.buffer import default_buffer_prototype

from zarrlake.backends import _hcs as hcs
from zarrlake.backends._base import (
    PathLike,
    exists_error,
    is_directory_error,
    matches,
    not_directory_error,
    not_found_error,
    symlink_loop_error,
)
from zarrlake.backends._config import ZarrConfig
from zarrlake.backends._formats import decode, encode, is_array_like, to_host
from zarrlake.backends._hcs_options import well_options
from zarrlake.backends._ome_labels import label_stacks
from zarrlake.backends._zarr_space import Node, Space
from zarrlake.backends._zarr_tree import RESERVED_NAMES, ZarrTree
from zarrlake.encoding import (
    CompressionSpec,
    ZarrFormat,
    describe_codecs,
    parse_compression,
)
from zarrlake.errors import InvalidInputError, StorageResolutionError

__all__ = ["ZarrBackend"]

_PROTO = default_buffer_prototype()


def _compression(option: Any) -> CompressionSpec:
    """Return the spec ``save(compressor=...)`` asks for (a spec, a codec, None: none)."""
    if option is None:
        return parse_compression("none")
    if isinstance(option, (str, CompressionSpec)):
        return parse_compression(option)
    described = describe_codecs([option])
    if isinstance(described, CompressionSpec):
        return described
    raise InvalidInputError(
        f"compressor {option!r} is not one zarrlake can write to Zarr 2 and 3",
        subject="compressor",
        hint="pass a spec such as 'blosc:lz4:5' or 'zstd:3', a Blosc/Zstd/GZip/LZ4 codec, or None",
    )


class ZarrBackend(ZarrTree):
    """Files in Zarr hierarchies, with OME-Zarr HCS plates for wells.

    Parameters
    ----------
    zarr_config
        Compression, chunk strategy, NGFF version, plate size, lock and storage
        options (:class:`~zarrlake.backends.ZarrConfig`).
    config
        The same; either name is accepted.
    """

    name = "zarr"

    def __init__(
        self, zarr_config: ZarrConfig | None = None, *, config: ZarrConfig | None = None
    ) -> None:
        self.config = zarr_config or config or ZarrConfig()
        self.compression_level = self.config.compression_level
        self.compressor = self.config.compressor.create_compressor(self.config.compression_level)
        self._spaces: dict[str, Space] = {}

    # -- files ------------------------------------------------------------------------

    def save(
        self, data: Any, output_path: PathLike, *, overwrite: bool = False, **kwargs: Any
    ) -> None:
        """Store ``data`` at ``output_path``: arrays as Zarr arrays, other values beside.

        Parameters
        ----------
        data
            An array (any name) or a value for the path's extension.
        output_path
            Where.
        overwrite
            Replace an existing file.
        **kwargs
            ``chunks`` (default: one chunk up to 16 MiB, else zarr's choice) and
            ``compressor`` (a spec such as ``"zstd:5"``, a numcodecs or zarr codec, or
            None for none; default: the config's).
        """
        space, key = self._locate(output_path)
        name = posixpath.basename(key)
        if name in RESERVED_NAMES:
            raise InvalidInputError(
                f"{output_path}: {name} is a name Zarr or zarrlake uses for itself",
                subject=os.fspath(output_path),
                hint="choose another file name",
            )
        existing = self._node(space, key)
        if existing.kind in ("group", "plain"):
            raise is_directory_error(output_path)
        if existing.kind != "missing" and not overwrite:
            raise exists_error(output_path)
        root, relative, fmt = self._parent_hierarchy(space, key, output_path)
        data = to_host(data)
        if is_array_like(data):
            self._save_array(space, root, relative, fmt, np.asarray(data), existing, kwargs)
        else:
            content = encode(data, output_path)
            if existing.kind != "missing":
                self._remove(space, existing)
            store = space.hierarchy(root)
            zarr.open_group(store, mode="a", zarr_format=fmt)
            parent = posixpath.dirname(relative)
            if parent:
                zarr.open_group(store, path=parent, mode="a", zarr_format=fmt)
            space.put(key, content)
        self._refresh(space, root)

    def _save_array(
        self,
        space: Space,
        root: str,
        relative: str,
        fmt: ZarrFormat,
        data: np.ndarray,
        existing: Node,
        options: dict[str, Any],
    ) -> None:
        spec = (
            _compression(options["compressor"])
            if "compressor" in options
            else self.config.compression_spec()
        )
        chunks: tuple[int, ...] | Literal["auto"] = options.get("chunks") or (
            data.shape if data.nbytes <= 16 * 2**20 else "auto"
        )
        if existing.kind not in ("missing", "array"):
            self._remove(space, existing)
        array = zarr.create_array(
            space.hierarchy(root),
            name=relative,
            shape=data.shape,
            dtype=data.dtype,
            chunks=chunks,
            zarr_format=fmt,
            overwrite=existing.kind == "array",
            **spec.zarr_kwargs(fmt),
        )
        array[...] = data

    def load(self, file_path: PathLike, **kwargs: Any) -> Any:
        """Return the file at ``file_path`` (links followed; plate images by name)."""
        space, node = self._resolve(file_path)
        if node.kind == "missing":
            raise not_found_error(file_path)
        if node.kind in ("group", "plain"):
            raise is_directory_error(file_path)
        if node.kind == "virtual":
            return self.load_batch([file_path])[0]
        if node.kind == "array":
            root = (
                self._root_of(space, posixpath.dirname(node.key))
                if posixpath.dirname(node.key)
                else ""
            )
            store = space.hierarchy(root)
            relative = node.key[len(root) :].lstrip("/")
            return zarr.open_array(store, path=relative, mode="r")[...]
        raw = space.get(node.key)
        if raw is None:
            raise not_found_error(file_path)
        return decode(raw, node.key)

    def save_batch(
        self, data_list: Sequence[Any], output_paths: Sequence[PathLike], **kwargs: Any
    ) -> None:
        """Save a well of a plate (with ``row``/``col``), or several files.

        Parameters
        ----------
        data_list
            The well's 2-D images, ordered by field, then channel, then z-plane.
        output_paths
            One virtual file path per image, all in the plate's directory.
        **kwargs
            ``row``, ``col``, ``n_fields``, ``n_channels``, ``n_z`` for a well
            (``chunk_name`` is accepted for polystore compatibility), ``overwrite``,
            and the image options ``pyramid``, ``channel_names``, ``channel_colors``,
            ``pixel_size``, ``z_spacing``, ``unit``, and ``labels`` (label images per
            field, see :mod:`zarrlake.backends._ome_labels`); any other option of a well
            is refused (see :mod:`zarrlake.backends._hcs_options`). Without
            ``row``/``col`` every item is saved with :meth:`save`.
        """
        options = well_options(kwargs)
        if options is None:
            super().save_batch(data_list, output_paths, **kwargs)
            return
        if len(data_list) != len(output_paths):
            raise InvalidInputError(
                f"save_batch got {len(data_list)} images for {len(output_paths)} paths",
                subject="output_paths",
                hint="pass one path per image",
            )
        if not output_paths:
            return
        located = [self._locate(p) for p in output_paths]
        space = located[0][0]
        plate = posixpath.dirname(located[0][1])
        if any(s is not space or posixpath.dirname(k) != plate for s, k in located):
            raise InvalidInputError(
                "the images of a well must all be in the plate's directory",
                subject=os.fspath(output_paths[0]),
                hint="give every output path the same directory (the plate)",
            )
        names = [posixpath.basename(k) for _, k in located]
        data = hcs.stack_well(data_list, names, options.n_fields, options.n_channels, options.n_z)
        enclosing = (
            self._root_of(space, posixpath.dirname(plate))
            if self._is_group(space, posixpath.dirname(plate))
            else None
        )
        if enclosing is not None and plate:
            raise InvalidInputError(
                f"{space.path(plate)} is inside the Zarr hierarchy {space.path(enclosing)}; "
                "a plate must be a hierarchy's root",
                subject=space.path(plate),
                hint="write the plate to a directory outside other Zarr data",
            )
        request = hcs.WellRequest(
            options.row,
            options.col,
            data,
            names,
            options.overwrite,
            options.image,
            label_stacks(options.labels, data.shape),
        )
        hcs.write_well(space.hierarchy(plate), request, self.config, space.path(plate))

    def load_batch(self, file_paths: Sequence[PathLike], **kwargs: Any) -> list[Any]:
        """Load files; plate images are read per well, each field once, concurrently."""
        results: list[Any] = [None] * len(file_paths)
        by_plate: dict[tuple[int, str], list[tuple[int, hcs.FileLocation]]] = {}
        indexes: dict[tuple[int, str], hcs.FileIndex] = {}
        spaces: dict[int, Space] = {}
        for position, path in enumerate(file_paths):
            space, key = self._locate(path)
            plate = posixpath.dirname(key)
            slot = (id(space), plate)
            spaces[id(space)] = space
            if slot not in indexes:
                indexes[slot] = self._plate_index(space, plate)
            location = indexes[slot].get(posixpath.basename(key))
            if location is None:
                results[position] = self.load(path)
            else:
                by_plate.setdefault(slot, []).append((position, location))
        for (space_id, plate), wanted in by_plate.items():
            images = hcs.read_images(spaces[space_id].hierarchy(plate), [loc for _, loc in wanted])
            for (position, _), image in zip(wanted, images, strict=True):
                results[position] = image
        return results

    # -- directories and entries ----------------------------------------------------------

    def list_dir(self, path: PathLike) -> list[str]:
        """Return the entry names in ``path`` (Zarr's own documents are not entries)."""
        self.is_dir(path)
        space, node = self._resolve(path)
        return self._entries(space, node.key)

    def list_files(
        self,
        directory: PathLike,
        pattern: str | None = None,
        extensions: Iterable[str] | None = None,
        recursive: bool = False,
    ) -> list[Path]:
        """List files in ``directory``; in a plate, its images by their virtual names."""
        self.is_dir(directory)
        space, node = self._resolve(directory)
        shown = os.fspath(directory).rstrip("/")
        found: list[Path] = []
        pending = [(node.key, shown)]
        while pending:
            key, display = pending.pop()
            index = self._plate_index(space, key)
            for name in index:
                if matches(name, pattern, extensions):
                    found.append(Path(posixpath.join(display, name)))
            for name in self._entries(space, key):
                child = posixpath.join(key, name)
                if index and self._is_group(space, child) is not None:
                    continue  # the plate's rows and wells: their images are listed above
                kind = self._kind(space.path(child))
                if kind == "directory":
                    if recursive:
                        pending.append((child, posixpath.join(display, name)))
                elif kind == "file" and matches(name, pattern, extensions):
                    found.append(Path(posixpath.join(display, name)))
        return sorted(found)

    def is_symlink(self, path: PathLike) -> bool:
        """Whether ``path`` is a link (a group with a ``_symlink`` attribute)."""
        space, key = self._locate(path)
        return self._node(space, key).kind == "link"

    def stat(self, path: PathLike) -> dict[str, Any]:
        """Describe ``path`` (see :meth:`StorageBackend.stat`)."""
        space, key = self._locate(path)
        node = self._node(space, key)
        info: dict[str, Any] = {"key": key, "store": space.base}
        if node.kind == "link":
            return {
                **info,
                "type": "symlink",
                "target": node.attrs["_symlink"],
                "exists": self.exists(path),
            }
        if node.kind in ("group", "plain"):
            return {**info, "type": "directory", "exists": True}
        if node.kind == "raw":
            return {**info, "type": "file", "exists": True, "size": len(space.get(key) or b"")}
        if node.kind == "array":
            size = sum(len(space.get(k) or b"") for k in space.keys_under(key))
            return {**info, "type": "file", "exists": True, "size": size}
        if node.kind == "virtual":
            return {**info, "type": "file", "exists": True}
        return {**info, "type": "missing", "exists": False}

    def _remove(self, space: Space, node: Node) -> None:
        space.delete_tree(node.key)

    def _virtual_error(self, path: PathLike) -> StorageResolutionError:
        return StorageResolutionError(
            f"{path} is an image inside a plate well; it cannot be changed on its own",
            subject=os.fspath(path),
            hint="save_batch the well again with overwrite=True, or delete_all the well",
        )

    def delete(self, path: PathLike) -> None:
        """Delete a file, a link or an empty group."""
        space, node = self._changeable(path, follow=False)
        key = node.key
        if node.kind in ("group", "plain") and self._entries(space, key):
            raise is_directory_error(path, "is a directory that is not empty")
        root = self._hierarchy_root(space, key)
        space.delete_tree(key)
        if root is not None:
            self._refresh(space, root)

    def delete_all(self, path: PathLike) -> None:
        """Delete a file or a directory with everything in it.

        Inside a plate, deleting a row or a well also removes it from the plate
        metadata; parts of a well (its images, fields) are not deleted on their own.
        """
        space, node = self._changeable(path, follow=False)
        key = node.key
        root = self._hierarchy_root(space, key)
        if root is not None and hcs.read_file_index(space.hierarchy(root)) is not None:
            inside = key[len(root) :].lstrip("/")
            if inside.count("/") > 1:
                raise self._virtual_error(path)
            hcs.remove_wells(space.hierarchy(root), inside, self.config, space.path(root))
            if space.is_plain_dir(key) or self._node(space, key).kind != "missing":
                space.delete_tree(key)
            return
        space.delete_tree(key)
        if root is not None:
            self._refresh(space, root)

    def _transfer(self, src: PathLike, dst: PathLike, *, follow: bool) -> tuple[Space, Node, str]:
        space, source = self._changeable(src, follow=follow)
        target_space, target = self._locate(dst)
        if target_space is not space:
            raise InvalidInputError(
                f"cannot move or copy {src} to another bucket or filesystem ({dst})",
                subject=os.fspath(dst),
                hint="load and save the file instead",
            )
        if self._node(space, target).kind != "missing":
            raise exists_error(dst)
        if (target + "/").startswith(source.key + "/"):
            raise StorageResolutionError(
                f"cannot put {src} inside itself ({dst})", subject=os.fspath(src)
            )
        if source.kind in ("array", "group", "link"):
            root, _, fmt = self._parent_hierarchy(space, target, dst)
            if fmt != (source.zarr_format or fmt):
                raise InvalidInputError(
                    f"{src} is Zarr {source.zarr_format}, {dst} is in a Zarr {fmt} hierarchy",
                    subject=os.fspath(dst),
                    hint="load and save the data instead",
                )
            zarr.open_group(space.hierarchy(root), mode="a", zarr_format=fmt)
            parent = target[len(root) :].lstrip("/").rpartition("/")[0]
            if parent:
                zarr.open_group(space.hierarchy(root), path=parent, mode="a", zarr_format=fmt)
        else:
            self._parent_hierarchy(space, target, dst)
        space.copy_tree(source.key, target)
        return space, source, target

    def _changeable(self, path: PathLike, *, follow: bool) -> tuple[Space, Node]:
        """Return the node a change at ``path`` acts on; refuse missing paths and plate images."""
        if follow:
            space, node = self._resolve(path)
        else:
            space, key = self._locate(path)
            node = self._node(space, key)
        if node.kind == "missing":
            raise not_found_error(path)
        if node.kind == "virtual":
            raise self._virtual_error(path)
        return space, node

    def move(self, src: PathLike, dst: PathLike) -> None:
        """Move a file, link or directory to the new path ``dst`` (same bucket or disk)."""
        space, source, target = self._transfer(src, dst, follow=False)
        old_root = self._hierarchy_root(space, source.key)
        space.delete_tree(source.key)
        for root in {old_root, self._hierarchy_root(space, target)} - {None}:
            self._refresh(space, str(root))

    def copy(self, src: PathLike, dst: PathLike) -> None:
        """Copy a file or directory (links followed) to the new path ``dst``."""
        space, _, target = self._transfer(src, dst, follow=True)
        root = self._hierarchy_root(space, target)
        if root is not None:
            self._refresh(space, root)

    def create_symlink(
        self, source: PathLike, link_name: PathLike, overwrite: bool = False
    ) -> None:
        """Create a link group at ``link_name`` naming ``source`` (same hierarchy)."""
        space, link_key = self._locate(link_name)
        source_space, source_key = self._locate(source)
        if not self.exists(source):
            raise not_found_error(source, "link source")
        existing = self._node(space, link_key)
        if existing.kind != "missing":
            if not overwrite:
                raise exists_error(link_name)
            if existing.kind in ("group", "plain"):
                raise is_directory_error(link_name)
        root, relative, fmt = self._parent_hierarchy(space, link_key, link_name)
        inside = source_space is space and (source_key + "/").startswith(root + "/" if root else "")
        if not inside:
            raise InvalidInputError(
                f"a Zarr link must point inside its own hierarchy ({space.path(root)}); "
                f"{source} is outside it",
                subject=os.fspath(source),
                hint="link within one hierarchy, or use the disk backend for cross-tree links",
            )
        target = source_key[len(root) :].lstrip("/")
        chain = [link_key]
        node = self._node(space, source_key)
        while node.kind == "link":
            if node.key in chain:
                raise symlink_loop_error(link_name, chain)
            chain.append(node.key)
            node = self._node(space, posixpath.join(root, node.attrs["_symlink"]))
        if node.key == link_key:
            raise symlink_loop_error(link_name, chain)
        if existing.kind != "missing":
            space.delete_tree(link_key)
        group = zarr.open_group(space.hierarchy(root), path=relative, mode="a", zarr_format=fmt)
        group.attrs["_symlink"] = target
        self._refresh(space, root)

    def ensure_directory(self, directory: PathLike) -> Path:
        """Create ``directory`` as a Zarr group (a new hierarchy when none encloses it)."""
        space, key = self._locate(directory)
        node = self._node(space, key)
        if node.kind in ("array", "raw", "virtual"):
            raise not_directory_error(directory)
        if node.kind in ("group", "link", "plain"):
            return Path(directory)  # an existing folder stays as it is
        root, _, fmt = self._parent_hierarchy(space, posixpath.join(key, "_"), directory)
        if root == key:
            zarr.open_group(space.hierarchy(key), mode="a", zarr_format=fmt)
        else:
            zarr.open_group(
                space.hierarchy(root), path=key[len(root) :].lstrip("/"), mode="a", zarr_format=fmt
            )
        return Path(directory)
