"""OME-Zarr images of a plate's fields: pyramid levels, channel display, physical scale.

Protocol: each field of view is one multiscale image (axes ``c, z, y, x``). Level ``0``
is the data as given; each further level halves y and x, each pixel the mean of 2 x 2
(scikit-image's ``downscale_local_mean``, ome-zarr-py's ``local_mean`` method; odd sizes
repeat their last row or column), values rounded back to the data's dtype. How many
levels: ``pyramid="auto"`` (the default) halves until the image fits a 256 px tile;
``"none"`` writes level 0 only; a number asks for that many levels (fewer when y and x
reach 1 px). Level ``i`` has the scale transform ``[1, z_spacing, pixel_size_y * 2**i,
pixel_size_x * 2**i]`` (1 where no size was given), and the spatial axes carry ``unit``
when a size was given. The ``omero`` block names each channel (``channel_names``,
default ``channel 0``...), gives it a colour (``channel_colors`` or a default palette)
and a display window: ``start``/``end`` the channel's range in the field,
``min``/``max`` the dtype's range (the data's for floats). Options are checked before
anything is written; a bad one raises :class:`~zarrlake.errors.InvalidInputError` naming
it.
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from zarrlake._deps import require_dependency
from zarrlake.errors import InvalidInputError

__all__ = ["IMAGE_OPTIONS", "ImageOptions", "image_options", "pyramid_levels"]

IMAGE_OPTIONS = ("pyramid", "channel_names", "channel_colors", "pixel_size", "z_spacing", "unit")
TILE = 256
# blue, green, red, magenta, cyan, yellow, white: the usual order of fluorescence stains
_PALETTE = ("0000FF", "00FF00", "FF0000", "FF00FF", "00FFFF", "FFFF00", "FFFFFF")
_UNITS = {
    "angstrom", "attometer", "centimeter", "decimeter", "exameter", "femtometer", "foot",
    "gigameter", "hectometer", "inch", "kilometer", "megameter", "meter", "micrometer",
    "mile", "millimeter", "nanometer", "parsec", "petameter", "picometer", "terameter",
    "yard", "yoctometer", "yottameter", "zeptometer", "zettameter",
}  # fmt: skip
_UNIT_ALIASES = {"um": "micrometer", "µm": "micrometer", "nm": "nanometer", "mm": "millimeter"}


@dataclass(frozen=True)
class ImageOptions:
    """How the fields of a well are written as OME-Zarr images."""

    pyramid: str | int = "auto"
    channel_names: tuple[str, ...] | None = None
    channel_colors: tuple[str, ...] | None = None
    pixel_size: tuple[float, float] | None = None
    z_spacing: float | None = None
    unit: str = "micrometer"


def _bad(name: str, value: Any, wanted: str, hint: str) -> InvalidInputError:
    return InvalidInputError(
        f"save_batch option {name}={value!r} is not {wanted}", subject=name, hint=hint
    )


def _size(name: str, value: Any) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or not math.isfinite(value)
        or value <= 0
    ):
        raise _bad(name, value, "a positive size", f"pass {name} in units of unit=")
    return float(value)


def _per_channel(name: str, value: Any, n_channels: int) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise _bad(name, value, "a list", f"pass one string per channel ({n_channels})")
    items = tuple(value)
    if len(items) != n_channels or not all(isinstance(v, str) and v for v in items):
        raise _bad(name, value, f"{n_channels} non-empty strings", "pass one string per channel")
    return items


def image_options(kwargs: Mapping[str, Any], n_channels: int) -> ImageOptions:
    """Check the image options among ``save_batch``'s keywords (see the module docstring).

    Parameters
    ----------
    kwargs
        ``save_batch``'s keywords; those not in :data:`IMAGE_OPTIONS` are ignored here.
    n_channels
        The well's channel count, for per-channel options.

    Returns
    -------
    ImageOptions
        The options, with defaults for those not given.

    Raises
    ------
    InvalidInputError
        Naming the first option of a wrong value.
    """
    pyramid = kwargs.get("pyramid", "auto")
    if isinstance(pyramid, (str, bool)):
        levels_ok = pyramid in ("auto", "none")
    else:
        levels_ok = isinstance(pyramid, numbers.Integral) and int(pyramid) >= 1
    if not levels_ok:
        raise _bad("pyramid", pyramid, "'auto', 'none' or a level count from 1", "pass 'none'")
    names = kwargs.get("channel_names")
    colors = kwargs.get("channel_colors")
    if colors is not None:
        colors = tuple(
            c.lstrip("#").upper() for c in _per_channel("channel_colors", colors, n_channels)
        )
        if not all(re.fullmatch(r"[0-9A-F]{6}", c) for c in colors):
            raise _bad(
                "channel_colors", kwargs["channel_colors"], "RGB hex colours", "pass 'FF0000'"
            )
    size = kwargs.get("pixel_size")
    if size is not None:
        pair = (size, size) if isinstance(size, numbers.Real) else tuple(size)
        if len(pair) != 2:
            raise _bad("pixel_size", size, "one size or (y, x)", "pass 0.65 or (0.65, 0.65)")
        size = (_size("pixel_size", pair[0]), _size("pixel_size", pair[1]))
    z_spacing = kwargs.get("z_spacing")
    unit = kwargs.get("unit", "micrometer")
    unit = _UNIT_ALIASES.get(unit, unit) if isinstance(unit, str) else unit
    if unit not in _UNITS:
        raise _bad("unit", kwargs.get("unit"), "an OME-NGFF space unit", "pass 'micrometer'")
    return ImageOptions(
        pyramid=int(pyramid) if isinstance(pyramid, numbers.Integral) else str(pyramid),
        channel_names=None if names is None else _per_channel("channel_names", names, n_channels),
        channel_colors=colors,
        pixel_size=size,
        z_spacing=None if z_spacing is None else _size("z_spacing", z_spacing),
        unit=unit,
    )


def level_count(option: str | int, height: int, width: int) -> int:
    """Return how many pyramid levels an image of ``height`` x ``width`` gets."""
    if option == "none":
        return 1
    most = 1 + max(0, math.ceil(math.log2(max(height, width, 1))))  # down to 1 px
    if option == "auto":
        return 1 + max(0, math.ceil(math.log2(max(height, width) / TILE)))
    return min(int(option), most)


def pyramid_levels(data: np.ndarray, option: str | int) -> list[np.ndarray]:
    """Return the levels of one field (c, z, y, x): the data, then y/x halved each time."""
    count = level_count(option, data.shape[-2], data.shape[-1])
    levels = [data]
    if count == 1:
        return levels
    transform = require_dependency("skimage.transform", "hcs")
    for _ in range(1, count):
        previous = levels[-1]
        # odd sizes: repeat the last row/column, so the edge is not averaged with zeros
        pad = [(0, 0), (0, 0), (0, previous.shape[2] % 2), (0, previous.shape[3] % 2)]
        if pad[2][1] or pad[3][1]:
            previous = np.pad(previous, pad, mode="edge")
        smaller = transform.downscale_local_mean(previous, (1, 1, 2, 2))
        levels.append(_as_dtype(np.asarray(smaller), data.dtype))
    return levels


def _as_dtype(values: np.ndarray, dtype: np.dtype[Any]) -> np.ndarray:
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        return np.asarray(np.clip(np.rint(values), info.min, info.max).astype(dtype))
    return np.asarray(values.astype(dtype))


def datasets(options: ImageOptions, count: int) -> list[dict[str, Any]]:
    """Return the multiscales ``datasets`` of ``count`` levels with their scales."""
    y, x = options.pixel_size or (1.0, 1.0)
    z = options.z_spacing or 1.0
    return [
        {
            "path": str(level),
            "coordinateTransformations": [
                {"type": "scale", "scale": [1.0, z, y * 2**level, x * 2**level]}
            ],
        }
        for level in range(count)
    ]


def axes(options: ImageOptions) -> list[dict[str, str]]:
    """Return the axes ``c, z, y, x``, with units on those whose size was given."""
    found: list[dict[str, str]] = [
        {"name": "c", "type": "channel"},
        {"name": "z", "type": "space"},
        {"name": "y", "type": "space"},
        {"name": "x", "type": "space"},
    ]
    if options.z_spacing is not None:
        found[1]["unit"] = options.unit
    if options.pixel_size is not None:
        found[2]["unit"] = found[3]["unit"] = options.unit
    return found


def omero(data: np.ndarray, options: ImageOptions) -> dict[str, Any]:
    """Return the ``omero`` block of one field (c, z, y, x): names, colours, windows."""
    channels = data.shape[0]
    names = options.channel_names or tuple(f"channel {c}" for c in range(channels))
    colors = options.channel_colors or (
        ("FFFFFF",)
        if channels == 1
        else tuple(_PALETTE[c % len(_PALETTE)] for c in range(channels))
    )
    floating = not np.issubdtype(data.dtype, np.integer)
    result = []
    for channel in range(channels):
        plane = data[channel]
        if floating:
            finite = plane[np.isfinite(plane)]
            low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
            lowest, highest = low, high
        else:
            low, high = float(plane.min()), float(plane.max())
            info = np.iinfo(data.dtype)
            lowest, highest = float(info.min), float(info.max)
        result.append(
            {
                "label": names[channel],
                "color": colors[channel],
                "window": {"min": lowest, "max": highest, "start": low, "end": high},
                "active": True,
                "coefficient": 1.0,
                "family": "linear",
                "inverted": False,
            }
        )
    return {"channels": result, "rdefs": {"model": "color" if channels > 1 else "greyscale"}}
