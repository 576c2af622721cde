"""OME-Zarr high-content-screening plates: wells written safely, images read by file name.

Layout (NGFF 0.5 on Zarr 3, or 0.4 on Zarr 2; one version across the plate)::

    plate/                 plate metadata: every row and column of the plate layout,
                           the wells written, acquisition 0, field_count
    plate/B/03/            well metadata: one image per field of view; the virtual
                           file names of the well under attributes["zarrlake"]["files"]
    plate/B/03/0/          an image (multiscales: axes c, z, y, x; omero channels)
    plate/B/03/0/0         the array (channels, z-planes, y, x), read by file name
    plate/B/03/0/1 ...     pyramid levels, y and x halved (see _ome_image)
    plate/B/03/0/labels/cells/0 ...
                           optional label images of the field, as many levels
                           (see _ome_labels)

A well is written in two steps. Its chunks go straight into place under a lock of that
well only, so writers of different wells proceed in parallel; then, under the plate's
lock, one transaction adds the well's metadata documents, the plate metadata and the
consolidated metadata. Readers follow the metadata, so they see a well completely or
not at all, and a crash between the steps leaves invisible chunks that the next write
of the well deletes first. Replacing an existing well stages everything in that transaction.

The well's name (``B/03``) comes from the plate's layout alone
(:mod:`zarrlake.backends._hcs_layout`): it is resolved before the chunks are written and
again under the plate lock; if the two differ the chunks are removed and the well is
written again under the settled name. A write that fails before its commit removes the
chunks it wrote.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import zarr
from zarr.abc.store import Store
from zarr.core.buffer import Buffer

from zarrlake._deps import require_dependency
from zarrlake.backends import _ome_image as ome
from zarrlake.backends._config import ZarrChunkStrategy, ZarrConfig
from zarrlake.backends._formats import to_host
from zarrlake.backends._hcs_layout import PlateLayout, resolve_layout
from zarrlake.backends._hcs_read import (
    FileIndex,
    FileLocation,
    PlateDocuments,
    attributes,
    file_index,
    plate_documents,
    read_file_index,
    read_images,
)
from zarrlake.backends._ome_image import ImageOptions
from zarrlake.backends._ome_labels import label_levels
from zarrlake.errors import AlreadyExistsError, ConflictError, InvalidInputError
from zarrlake.hierarchy import (
    aread_document,
    is_metadata_key,
)
from zarrlake.storage import kind_of, local_root, run_sync
from zarrlake.txn import ArchiveLock, StagingStore, Transaction

__all__ = [
    "FileIndex",
    "FileLocation",
    "PlateLayout",
    "WellRequest",
    "read_file_index",
    "read_images",
    "remove_wells",
    "stack_well",
    "write_well",
]

_AUTO_WELL_LIMIT = 64 * 2**20


def _ome_writer() -> Any:
    return require_dependency("ome_zarr.writer", "hcs")


def _ome_format(ngff_version: str) -> Any:
    formats = require_dependency("ome_zarr.format", "hcs")
    return formats.FormatV05() if ngff_version == "0.5" else formats.FormatV04()


# -- writing a well -------------------------------------------------------------------


class _DocumentsOnlyStaging(StagingStore):
    """Stage metadata documents; write chunks straight to the base store."""

    async def set(self, key: str, value: Buffer) -> None:
        if is_metadata_key(key):
            await super().set(key, value)
        else:
            await self.base.set(key, value)


@dataclass
class WellRequest:
    """One well to write: its images as (fields, channels, z, y, x) and their names.

    ``labels`` maps a label name to the well's label images, (fields, z, y, x) integers.
    """

    row: str | int
    col: str | int
    data: np.ndarray
    names: list[str]
    overwrite: bool = False
    image: ImageOptions = dataclasses.field(default_factory=ImageOptions)
    labels: dict[str, np.ndarray] = dataclasses.field(default_factory=dict)


def stack_well(
    data_list: Sequence[Any], names: Sequence[str], n_fields: int, n_channels: int, n_z: int
) -> np.ndarray:
    """Stack images (ordered field, channel, z) into one (F, C, Z, Y, X) array."""
    expected = n_fields * n_channels * n_z
    if len(data_list) != expected:
        raise InvalidInputError(
            f"a well of {n_fields} fields x {n_channels} channels x {n_z} z-planes needs "
            f"{expected} images, got {len(data_list)}",
            subject="data_list",
            hint="pass every image of the well, ordered by field, then channel, then z",
        )
    if len(set(names)) != len(names):
        raise InvalidInputError(
            "two images of the well have the same file name",
            subject="output_paths",
            hint="give each image its own name",
        )
    images = [np.asarray(to_host(image)) for image in data_list]
    for name, image in zip(names, images, strict=True):
        if image.ndim != 2:
            raise InvalidInputError(
                f"image {name} is {image.ndim}-D, shape {image.shape}; a well takes 2-D "
                "(y, x) images",
                subject=name,
                hint="pass each plane as its own image, ordered by field, channel, then z",
            )
    first, first_name = images[0], names[0]
    for name, image in zip(names, images, strict=True):
        if image.shape != first.shape or image.dtype != first.dtype:
            raise InvalidInputError(
                f"image {name} is {image.shape} {image.dtype}; the well's first image "
                f"{first_name} is {first.shape} {first.dtype}",
                subject=name,
                hint="every image of a well must have the same shape and dtype",
            )
    return np.stack(images).reshape(n_fields, n_channels, n_z, *first.shape)


def _chunking(config: ZarrConfig, shape: tuple[int, ...], itemsize: int) -> dict[str, Any]:
    channels, planes, height, width = shape
    plane = (1, 1, height, width)
    strategy = config.chunk_strategy
    if strategy is ZarrChunkStrategy.WELL:
        return {"chunks": shape}
    if strategy is ZarrChunkStrategy.FILE:
        return {"chunks": plane}
    if config.format == 3:
        return {"chunks": plane, "shards": shape}
    field_bytes = channels * planes * height * width * itemsize
    return {"chunks": shape if field_bytes <= _AUTO_WELL_LIMIT else plane}


def _write_arrays(
    staging: StagingStore, request: WellRequest, well: str, config: ZarrConfig
) -> None:
    spec = config.compression_spec()
    fields = request.data.shape[0]
    extra: dict[str, Any] = {}
    if config.format == 3:
        extra["dimension_names"] = ["c", "z", "y", "x"]
    else:
        extra["chunk_key_encoding"] = {"name": "v2", "separator": "/"}
    arrays: list[tuple[str, np.ndarray]] = []
    for field in range(fields):
        levels = ome.pyramid_levels(request.data[field], request.image.pyramid)
        arrays += [(f"{well}/{field}/{level}", data) for level, data in enumerate(levels)]
        for name, labels in request.labels.items():
            field_labels = labels[field][np.newaxis]  # one channel: (1, z, y, x)
            arrays += [
                (f"{well}/{field}/labels/{name}/{level}", data)
                for level, data in enumerate(label_levels(field_labels, len(levels)))
            ]
    for path, data in arrays:
        array = zarr.create_array(
            staging,
            name=path,
            shape=data.shape,
            dtype=data.dtype,
            zarr_format=config.format,
            overwrite=True,
            fill_value=0,
            **_chunking(config, data.shape, data.dtype.itemsize),
            **spec.zarr_kwargs(config.format),
            **extra,
        )
        array[...] = data


def _existing_wells(nodes: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {
        path: attributes(document)
        for path, document in nodes.items()
        if path.count("/") == 1
        and ("well" in attributes(document) or "well" in (attributes(document).get("ome") or {}))
    }


def _plate_attrs(attributes: dict[str, Any]) -> dict[str, Any]:
    return dict(attributes.get("plate") or (attributes.get("ome") or {}).get("plate") or {})


def write_well(store: Store, request: WellRequest, config: ZarrConfig, where: str) -> str:
    """Write one well into the plate at ``store``'s root; return the well's path.

    The well's name comes from the plate's layout (see
    :mod:`zarrlake.backends._hcs_layout`), resolved before the chunks are written and
    again under the plate lock. Should the two differ (the plate was created or
    emptied meanwhile with another column width), the chunks are removed and the well
    is written again under the settled name. A write that fails before its commit
    removes the chunks it wrote, so no orphan data stays behind.

    Parameters
    ----------
    store
        The plate's store (its root is the plate).
    request
        The well.
    config
        Compression, chunking, NGFF version, plate size, lock options.
    where
        The plate's location, for messages.

    Returns
    -------
    str
        The well's path inside the plate (``"B/03"``).

    Raises
    ------
    AlreadyExistsError
        When the well, or one of its file names in another well, exists and
        ``overwrite`` is False. Nothing is written then.
    InvalidInputError
        When the well is outside the plate, ``row``/``col`` are not a row and column,
        or the plate is of another NGFF version or size than ``config``.
    ConflictError
        When the plate's naming kept changing under the writer (never in practice).
    """
    for _ in range(_NAME_ATTEMPTS):
        current = run_sync(plate_documents(store))
        _check_format(current, config, where)
        row, column = _layout(current, config, request, where).well(request.row, request.col)
        try:
            return _write_named_well(store, request, config, where, f"{row}/{column}", current)
        except _Renamed:
            continue
    raise ConflictError(
        f"the well row={request.row!r}, col={request.col!r} of {where} was renamed "
        f"{_NAME_ATTEMPTS} times while being written",
        subject=where,
        hint="do not empty or recreate the plate while writing wells into it; retry",
    )


_NAME_ATTEMPTS = 5


class _Renamed(Exception):
    """The well's name under the plate lock differs from the one its chunks went to."""


def _write_named_well(
    store: Store,
    request: WellRequest,
    config: ZarrConfig,
    where: str,
    well: str,
    current: PlateDocuments | None,
) -> str:
    writer = _ome_writer()
    fmt = _ome_format(config.ngff_version)
    well_lock = ArchiveLock(store, config.lock, key=f"hcs/{well.replace('/', '')}.lock")
    with well_lock:
        existed = run_sync(aread_document(store, f"{well}/zarr.json")) or run_sync(
            aread_document(store, f"{well}/.zgroup")
        )
        if existed is not None and not request.overwrite:
            raise _well_exists(well, where)
        _check_names(file_index(current) or {}, request, well, where)
        replacing = existed is not None
        # a new well's chunks go straight into place (nothing there is visible); a
        # replaced well's are staged and committed with its metadata
        staging = StagingStore(store) if replacing else _DocumentsOnlyStaging(store)
        committing = False
        try:
            if not replacing:  # what a crashed writer of this well left: never visible
                run_sync(store.delete_dir(well))
            _write_arrays(staging, request, well, config)
            with Transaction(store, operation="hcs-well", lock_options=config.lock) as txn:
                found = run_sync(plate_documents(txn.store))  # fresh: other wells may have landed
                _check_format(found, config, where)
                layout = _layout(found, config, request, where)
                if "/".join(layout.well(request.row, request.col)) != well:
                    raise _Renamed
                nodes = found[1] if found else {}
                wells = _existing_wells(nodes)
                if well in wells and not request.overwrite:
                    raise _well_exists(well, where)
                _check_names(file_index(found) or {}, request, well, where)
                if replacing:  # nothing of the old well stays: fields, levels, chunks
                    run_sync(txn.staging.delete_dir(well))
                for key, value in staging.staged.items():
                    if is_metadata_key(key) or replacing:
                        run_sync(txn.staging.set(key, value))
                _stage_metadata(txn.staging, writer, fmt, config, layout, request, well, wells)
                committing = True  # from here the journal decides: recovery rolls back or on
                txn.commit()
            if replacing:  # folders of fields or levels the new well no longer has
                kind_of(store).prune_empty_dirs(well)
        except BaseException:
            if not replacing and not committing:
                _remove_uncommitted(store, well)
            raise
    return well


def _remove_uncommitted(store: Store, well: str) -> None:
    """Delete the chunks a failed write of a new well put under ``well``.

    Called under the well's lock, for a well without metadata: no reader sees these
    keys and no other writer writes them. On a local disk the row's folder goes too
    when no other well is in it (an empty folder makes zarr warn); only that folder
    is tried, never a walk through other wells' folders, which may be in the making.
    """
    run_sync(store.delete_dir(well))
    root = local_root(store)
    if root is not None:
        with contextlib.suppress(OSError):  # not empty: other wells of the row
            (root / well.split("/")[0]).rmdir()


def _layout(
    found: PlateDocuments | None, config: ZarrConfig, request: WellRequest, where: str
) -> PlateLayout:
    root = attributes(found[1].get("", {})) if found else {}
    saved = (root.get("zarrlake") or {}).get("plate_layout")
    return resolve_layout(saved, config, request.row, request.col, where)


def _check_format(found: PlateDocuments | None, config: ZarrConfig, where: str) -> None:
    if found is not None and found[0] != config.format:
        raise InvalidInputError(
            f"the plate at {where} is Zarr format {found[0]}; this backend writes "
            f"NGFF {config.ngff_version} (Zarr {config.format})",
            subject=where,
            hint="set ZarrConfig(ngff_version=...) to the plate's version",
        )


def _well_exists(well: str, where: str) -> AlreadyExistsError:
    return AlreadyExistsError(
        f"well {well.replace('/', '')} already exists in the plate {where}",
        subject=f"{where}/{well}",
        hint="pass overwrite=True to replace the well",
    )


def _check_names(index: FileIndex, request: WellRequest, well: str, where: str) -> None:
    for name in request.names:
        location = index.get(name)
        if location is not None and location.well != well:
            raise AlreadyExistsError(
                f"file {name} already exists in well {location.well.replace('/', '')} of {where}",
                subject=f"{where}/{name}",
                hint="give the images of each well their own names",
            )


def _stage_metadata(
    staging: StagingStore,
    writer: Any,
    fmt: Any,
    config: ZarrConfig,
    layout: PlateLayout,
    request: WellRequest,
    well: str,
    wells: dict[str, dict[str, Any]],
) -> None:
    fields, channels, planes = request.data.shape[:3]
    root = zarr.open_group(staging, mode="a", zarr_format=config.format)
    well_group = zarr.open_group(staging, path=well, mode="a", zarr_format=config.format)
    for field in range(fields):
        image = zarr.open_group(
            staging, path=f"{well}/{field}", mode="a", zarr_format=config.format
        )
        data = request.data[field]
        levels = ome.level_count(request.image.pyramid, data.shape[-2], data.shape[-1])
        writer.write_multiscales_metadata(
            image,
            ome.datasets(request.image, levels),
            fmt=fmt,
            axes=ome.axes(request.image),
            name=f"{well.replace('/', '')} field {field}",
            metadata={"omero": ome.omero(data, request.image)},
        )
        if request.labels:
            _stage_labels(staging, writer, fmt, config, request, f"{well}/{field}", levels)
    writer.write_well_metadata(
        well_group, [{"path": str(f), "acquisition": 0} for f in range(fields)], fmt=fmt
    )
    files = {
        name: [i // (channels * planes), (i // planes) % channels, i % planes]
        for i, name in enumerate(request.names)
    }
    well_group.attrs["zarrlake"] = {
        "files": files,
        "dimensions": {"n_fields": fields, "n_channels": channels, "n_z": planes},
    }
    field_counts = {path: _field_count(attrs) for path, attrs in wells.items()}
    field_counts[well] = fields
    names = sorted(field_counts, key=lambda p: (layout.rows.index(p.split("/")[0]), p))
    plate_wells = [
        {
            "path": path,
            "rowIndex": layout.rows.index(path.split("/")[0]),
            "columnIndex": layout.columns.index(path.split("/")[1]),
        }
        for path in names
    ]
    most = max(field_counts.values())
    previous = _plate_attrs(attributes({"attributes": dict(root.attrs)}))
    writer.write_plate_metadata(
        root,
        layout.rows,
        layout.columns,
        plate_wells,
        fmt=fmt,
        acquisitions=[{"id": 0, "name": config.acquisition_name, "maximumfieldcount": most}],
        field_count=most,
        name=config.plate_name or previous.get("name") or "plate",
    )
    root.attrs["zarrlake"] = {
        "plate_layout": {"size": layout.size, "column_width": layout.column_width}
    }


def _stage_labels(
    staging: StagingStore,
    writer: Any,
    fmt: Any,
    config: ZarrConfig,
    request: WellRequest,
    image: str,
    levels: int,
) -> None:
    """Write the ``labels`` group of the field at ``image`` and its label images' metadata."""
    labels = zarr.open_group(staging, path=f"{image}/labels", mode="a", zarr_format=config.format)
    for name in request.labels:
        label = zarr.open_group(
            staging, path=f"{image}/labels/{name}", mode="a", zarr_format=config.format
        )
        writer.write_multiscales_metadata(
            label,
            ome.datasets(request.image, levels),
            fmt=fmt,
            axes=ome.axes(request.image),
            name=name,
        )
        writer.write_label_metadata(labels, name, fmt=fmt, source={"image": "../../"})
    if config.format == 3:  # NGFF 0.5: every "ome" block carries its version
        written: Any = labels.attrs.asdict()["ome"]
        labels.attrs["ome"] = {**written, "version": fmt.version}


def _field_count(attributes: dict[str, Any]) -> int:
    well = attributes.get("well") or (attributes.get("ome") or {}).get("well") or {}
    return len(well.get("images", [])) or 1


def remove_wells(store: Store, prefix: str, config: ZarrConfig, where: str) -> list[str]:
    """Remove the wells at or under ``prefix`` (a row ``B`` or a well ``B/03``).

    One transaction under the plate lock deletes the wells and rewrites the plate
    metadata (and the consolidated metadata) without them. Removing the last well
    leaves an empty group without plate metadata.

    Returns
    -------
    list of str
        The paths of the wells removed.
    """
    writer = _ome_writer()
    with Transaction(store, operation="hcs-remove", lock_options=config.lock) as txn:
        found = run_sync(plate_documents(txn.store))
        if found is None:
            return []
        zarr_format, nodes = found
        wells = _existing_wells(nodes)
        doomed = sorted(w for w in wells if w == prefix or w.startswith(prefix + "/"))
        if not doomed:
            return []
        for well in doomed:
            run_sync(txn.staging.delete_dir(well))
        for row in {w.split("/")[0] for w in doomed}:
            if all(w in doomed for w in wells if w.startswith(row + "/")):
                run_sync(txn.staging.delete_dir(row))
        root = zarr.open_group(txn.staging, mode="a", zarr_format=zarr_format)  # type: ignore[arg-type]
        attributes = dict(root.attrs)
        plate = _plate_attrs(attributes)
        remaining = [w for w in plate.get("wells", []) if w["path"] not in doomed]
        if remaining:
            fmt = _ome_format("0.5" if zarr_format == 3 else "0.4")
            counts = [_field_count(wells[w["path"]]) for w in remaining if w["path"] in wells]
            most = max(counts or [1])
            writer.write_plate_metadata(
                root,
                [r["name"] for r in plate["rows"]],
                [c["name"] for c in plate["columns"]],
                remaining,
                fmt=fmt,
                acquisitions=[
                    {**a, "maximumfieldcount": most} for a in plate.get("acquisitions", [])
                ]
                or None,
                field_count=most,
                name=plate.get("name"),
            )
        else:
            root.attrs.clear()
        txn.commit()
    return doomed
