"""OME-Zarr images in a hierarchy: which arrays are levels of one image, and their rules.

Protocol: a group whose attributes carry ``multiscales`` (NGFF 0.4, at the top level;
NGFF 0.5, under ``ome``) is an image; each of its ``datasets`` paths, relative to the
group, is one resolution level of that image, and the image's ``axes`` name the
dimensions of every level and carry their units. So the levels of one image
legitimately differ in size along the same dimension names (they are not one
dataset's variables), their dimension names come from the axes when the arrays carry
none (NGFF 0.4 on Zarr 2), and their units are the axes' units, not a CF ``units``
attribute (the pixel values of a microscope image have none). The generic rules skip
such arrays (:func:`image_levels`); :func:`ome_rules` checks what belongs to images:

- ZL170 (error): a level listed in ``datasets`` is not an array of the hierarchy, or
  its number of dimensions differs from the image's axes.
- ZL171 (warning): a level is larger than the level before it along some axis
  (NGFF orders levels from the highest resolution down).
- ZL172 (info, one finding for the hierarchy): images whose space axes carry no unit,
  so viewers show their scale in pixels.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from zarrlake.hierarchy import Hierarchy, join
from zarrlake.meta._report import Finding

if TYPE_CHECKING:
    from zarrlake.meta._rules import Context

__all__ = ["OmeImage", "image_levels", "ome_images", "ome_rules"]


@dataclass(frozen=True)
class OmeImage:
    """One multiscales image: its group, axes and level paths (full paths)."""

    path: str
    axes: tuple[dict[str, Any], ...]
    levels: tuple[str, ...]


def _multiscales(attributes: dict[str, Any]) -> list[Any] | None:
    found = attributes.get("multiscales")
    if found is None:
        found = (attributes.get("ome") or {}).get("multiscales")
    return found if isinstance(found, list) else None


def ome_images(hierarchy: Hierarchy) -> list[OmeImage]:
    """Return the OME-Zarr multiscales images of ``hierarchy`` (one per multiscales entry).

    Parameters
    ----------
    hierarchy
        A walked hierarchy.

    Returns
    -------
    list of OmeImage
        Each image's group path, axes (as written; names of strings are kept as names)
        and the full paths of its levels, in the order listed.
    """
    images = []
    for path, node in sorted(hierarchy.groups.items()):
        for entry in _multiscales(node.attributes) or []:
            if not isinstance(entry, dict):
                continue
            axes = tuple(
                axis if isinstance(axis, dict) else {"name": str(axis)}
                for axis in entry.get("axes") or []
            )
            levels = tuple(
                join(path, str(dataset["path"]))
                for dataset in entry.get("datasets") or []
                if isinstance(dataset, dict) and "path" in dataset
            )
            images.append(OmeImage(path, axes, levels))
    return images


def image_levels(hierarchy: Hierarchy) -> dict[str, OmeImage]:
    """Return the arrays that are levels of an OME-Zarr image, each with its image."""
    return {
        level: image
        for image in ome_images(hierarchy)
        for level in image.levels
        if level in hierarchy.arrays
    }


def _name(path: str) -> str:
    return f"'{path}'" if path else "the root group"


def ome_rules(ctx: Context) -> Iterator[Finding]:
    """ZL170 missing or misshapen levels, ZL171 growing levels, ZL172 axes without units."""
    hierarchy = ctx.hierarchy
    unitless: list[str] = []
    for image in ome_images(hierarchy):
        previous: list[int] | None = None
        for level in image.levels:
            node = hierarchy.arrays.get(level)
            if node is None:
                yield Finding(
                    "ZL170",
                    "error",
                    image.path,
                    f"OME-Zarr image {_name(image.path)} lists the level {level!r}, "
                    "which is not an array",
                    "write the level, or remove it from the image's multiscales datasets",
                )
                previous = None
                continue
            shape = [int(s) for s in node.document.get("shape", [])]
            if image.axes and len(shape) != len(image.axes):
                yield Finding(
                    "ZL170",
                    "error",
                    level,
                    f"level {level!r} of OME-Zarr image {_name(image.path)} has "
                    f"{len(shape)} dimensions; the image's axes are "
                    f"{[a.get('name') for a in image.axes]}",
                    "rewrite the level with one dimension per axis",
                )
            elif previous is not None and len(previous) == len(shape):
                grown = [
                    str(axis.get("name", i))
                    for i, (axis, before, now) in enumerate(
                        zip(image.axes or [{}] * len(shape), previous, shape, strict=True)
                    )
                    if now > before
                ]
                if grown:
                    yield Finding(
                        "ZL171",
                        "warning",
                        level,
                        f"level {level!r} of OME-Zarr image {_name(image.path)} is larger "
                        f"than the level before it along {grown}",
                        "list the levels from the highest resolution down",
                    )
            previous = shape
        space = [a for a in image.axes if a.get("type") == "space"]
        if space and not any(a.get("unit") for a in space):
            unitless.append(image.path)
    if unitless:
        yield Finding(
            "ZL172",
            "info",
            "",
            f"{len(unitless)} OME-Zarr image(s) give no unit for their space axes, so "
            f"viewers show their scale in pixels: {unitless[:3]}",
            "write the images with their physical pixel size and unit "
            "(zarrlake: save_batch(..., pixel_size=..., unit=...))",
        )
