"""Observations as STAC items: properties, footprint geometry, assets and lineage links.

Items follow STAC 1.1.0, the version whose JSON schemas pystac bundles, so a client
can validate them without a network. Fields without a value are left out rather than
written as ``null`` (the schemas want strings where they are present).
"""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Any

from fastapi import Request
from sqlalchemy import select

from zarrlake.catalog import schema as s
from zarrlake.catalog._engine import read_connection
from zarrlake.catalog._repository import Catalog
from zarrlake.catalog.api.serialize import iso
from zarrlake.catalog.api.stac_geometry import footprint, footprint_geojson

STAC_VERSION = "1.1.0"
GEOJSON = "application/geo+json"
MEDIA_TYPES = {
    "fits": "image/fits",
    "netcdf": "application/netcdf",
    "hdf5": "application/x-hdf5",
    "csv": "text/csv",
    "zarr": "application/vnd+zarr",
}
# Lineage in STAC link relations: a calibration file is named as one; every other
# documented relationship means the item was made from its parent.
LINEAGE_RELS = {"calibration": "calibration"}


def base_url(request: Request) -> str:
    """Return the STAC API's root URL as the client reached it."""
    return str(request.base_url).rstrip("/") + "/stac"


def link(rel: str, href: str, media: str = "application/json", **extra: Any) -> dict[str, Any]:
    """Return a STAC link object."""
    return {"rel": rel, "href": href, "type": media, **extra}


def parents(catalog: Catalog, ids: list[int]) -> dict[int, list[tuple[int, str]]]:
    """Return each dataset's parents and the relationship type, for lineage links."""
    rel = s.dataset_relationships.c
    found: dict[int, list[tuple[int, str]]] = {}
    if not ids:
        return found
    query = (
        select(rel.child_dataset_id, rel.parent_dataset_id, rel.relationship_type)
        .where(rel.child_dataset_id.in_(ids))
        .order_by(rel.child_dataset_id, rel.id)
    )
    with read_connection(catalog.engine) as connection:
        for child, parent, kind in connection.execute(query):
            found.setdefault(int(child), []).append((int(parent), str(kind)))
    return found


def asset_href(path: str) -> str:
    """Return a data file's location as a URL: ``file://`` for local paths."""
    if "://" in path:
        return path
    posix = PurePosixPath(path)
    return posix.as_uri() if posix.is_absolute() else path


def item(
    request: Request, record: dict[str, Any], lineage: list[tuple[int, str]]
) -> dict[str, Any]:
    """Turn an observation into a STAC item.

    Parameters
    ----------
    request
        The request (links are absolute URLs on the host the client used).
    record
        The observation; it has an ``observation_timestamp``.
    lineage
        ``(parent id, relationship type)`` pairs.

    Returns
    -------
    dict
        A GeoJSON Feature: the footprint as ``geometry`` and ``bbox`` for Earth data,
        ``geometry: null`` (RA/Dec in properties) for sky data.
    """
    base = base_url(request)
    mission = record["mission_id"]
    start = record["observation_timestamp"]
    end = record["observation_end"] or start
    properties: dict[str, Any] = {
        "datetime": iso(start),
        "start_datetime": iso(start),
        "end_datetime": iso(end),
        "mission": mission,
        "platform": record["satellite_name"],
        "instruments": [record["instrument_type"]] if record["instrument_type"] else None,
        "zarrlake:target": record["target_object"],
        "zarrlake:quality": record["data_quality_score"],
        "zarrlake:calibration": record["calibration_status"],
        "zarrlake:processing_status": record["processing_status"],
        "zarrlake:ra": record["ra"],
        "zarrlake:dec": record["dec"],
        "created": iso(record["first_seen"]),
        "updated": iso(record["last_updated"]),
    }
    item_url = f"{base}/collections/{mission}/items/{record['id']}"
    links = [
        link("self", item_url, GEOJSON),
        link("collection", f"{base}/collections/{mission}"),
        link("parent", f"{base}/collections/{mission}"),
        link("root", base),
    ]
    links += [
        link(
            LINEAGE_RELS.get(kind, "derived_from"),
            f"{base}/items/{parent}",
            GEOJSON,
            **{"zarrlake:relationship": kind},
        )
        for parent, kind in lineage
    ]
    asset: dict[str, Any] = {
        "href": asset_href(record["file_path"]),
        "type": MEDIA_TYPES.get(record["format"] or "", "application/octet-stream"),
        "roles": ["data"],
        "zarrlake:file_size": record["file_size"],
    }
    feature: dict[str, Any] = {
        "type": "Feature",
        "stac_version": STAC_VERSION,
        "id": str(record["id"]),
        "collection": mission,
        "geometry": None,
        "properties": {k: v for k, v in properties.items() if v is not None},
        "links": links,
        "assets": {"data": {k: v for k, v in asset.items() if v is not None}},
    }
    box = footprint(record)
    if box is not None:
        feature["geometry"] = footprint_geojson(box)
        feature["bbox"] = list(box)
    return feature


DEFAULT_FIELDS = (
    "type",
    "stac_version",
    "id",
    "collection",
    "geometry",
    "bbox",
    "links",
    "assets",
    "properties.datetime",
)
"""The Fields extension's default set (its list plus ``stac_version`` and
``collection``, which a valid STAC item needs)."""


def select_fields(
    feature: dict[str, Any], include: list[str], exclude: list[str]
) -> dict[str, Any]:
    """Keep the parts of an item the Fields extension asks for.

    The extension's include/exclude rules: the default set (:data:`DEFAULT_FIELDS`,
    a valid STAC item) plus what ``include`` names, minus what ``exclude`` names; a
    field must be included and not excluded (``properties`` included with
    ``properties.created`` excluded gives the properties without ``created``).

    Parameters
    ----------
    feature
        The whole item.
    include
        Dotted paths to add to the default set.
    exclude
        Dotted paths to leave out.

    Returns
    -------
    dict
        The reduced item.
    """
    result: dict[str, Any] = {}
    for path in [*DEFAULT_FIELDS, *include]:
        _copy(feature, result, path.split("."))
    for path in exclude:
        _remove(result, path.split("."))
    return result


def _deep_copy(value: Any) -> Any:
    # Items are built fresh per request, but one part may be copied twice (a default
    # path and an included one); copies keep a removal from reaching the other.
    if isinstance(value, dict):
        return {k: _deep_copy(v) for k, v in value.items()}
    return value


def _copy(source: dict[str, Any], target: dict[str, Any], parts: list[str]) -> None:
    head, rest = parts[0], parts[1:]
    if head not in source:
        return
    if not rest:
        target[head] = _deep_copy(source[head])
    elif isinstance(source[head], dict):
        inner = target.setdefault(head, {})
        if isinstance(inner, dict):
            _copy(source[head], inner, rest)


def _remove(target: dict[str, Any], parts: list[str]) -> None:
    head, rest = parts[0], parts[1:]
    if not rest:
        target.pop(head, None)
    elif isinstance(target.get(head), dict):
        _remove(target[head], rest)
