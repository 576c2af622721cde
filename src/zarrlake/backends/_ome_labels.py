"""Label images of a plate's fields (segmentations), as OME-NGFF ``labels``.

Protocol: ``save_batch(..., labels={"cells": ..., "nuclei": ...})`` gives each field of
the well one label image per name. Each is written under the field's image as
``<field>/labels/<name>/`` (NGFF 0.4 and 0.5 alike): the ``labels`` group lists the
names (``{"labels": [...]}``), each label image is a multiscale image with the field's
axes ``c, z, y, x`` (one channel), the field's scales and units, and ``image-label``
metadata pointing back at the field (``source.image = "../../"``). A label image has
as many levels as its field, of the same y/x sizes, downsampled by nearest neighbour:
each pixel of a level is the top-left pixel of its 2 x 2 block in the level above
(numpy strides), so no label value is invented or averaged away and every integer
width, up to 64 bits, stays exact.

What a name takes, per field: an integer array (bool is refused: cast it) of the
field's y/x size, either one per field (a sequence of ``n_fields`` arrays, each
``(z, y, x)``, or ``(y, x)`` when ``n_z`` is 1) or one array for the well
``(n_fields, z, y, x)`` (``(n_fields, y, x)`` when ``n_z`` is 1, ``(z, y, x)`` or
``(y, x)`` for a well of one field). Names are path segments: letters, digits, ``_``,
``-`` and ``.``, not starting with ``.``. Anything else is refused before anything is
written, with an error naming ``labels[...]``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from zarrlake.backends._formats import to_host
from zarrlake.errors import InvalidInputError

__all__ = ["label_levels", "label_names", "label_stacks"]

_NAME = re.compile(r"[A-Za-z0-9_\-][A-Za-z0-9_.\-]*")


def label_names(value: Any) -> tuple[str, ...]:
    """Check the ``labels`` option's names (before the images are looked at).

    Parameters
    ----------
    value
        ``save_batch``'s ``labels``: a mapping of label name to label data.

    Returns
    -------
    tuple of str
        The names, in the order given.

    Raises
    ------
    InvalidInputError
        When ``labels`` is not a mapping, or a name is not a path segment.
    """
    if not isinstance(value, Mapping):
        raise InvalidInputError(
            f"save_batch option labels={type(value).__name__} is not a mapping of name "
            "to label image",
            subject="labels",
            hint="pass labels={'cells': label_array}",
        )
    for name in value:
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            raise InvalidInputError(
                f"label name {name!r} is not a path segment",
                subject=f"labels[{name!r}]",
                hint="name labels with letters, digits, '_', '-' and '.' (not first)",
            )
    return tuple(value)


def _integer(name: str, array: np.ndarray) -> np.ndarray:
    if array.dtype.kind not in "iu":
        raise InvalidInputError(
            f"labels[{name!r}] is {array.dtype}; label images hold integers",
            subject=f"labels[{name!r}]",
            hint="cast it, e.g. labels.astype('uint32') (0 = background)",
        )
    return array


def _one(name: str, value: Any, shape: tuple[int, int, int, int]) -> np.ndarray:
    """Return one name's labels as (fields, z, y, x), or refuse them naming ``name``."""
    fields, planes, height, width = shape
    plane = (height, width)
    if isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        if len(value) != fields:
            raise InvalidInputError(
                f"labels[{name!r}] has {len(value)} images for {fields} fields",
                subject=f"labels[{name!r}]",
                hint="pass one label image per field, or one array (fields, z, y, x)",
            )
        per_field = [_integer(name, np.asarray(to_host(v))) for v in value]
        shapes = {(planes, *plane)} | ({plane} if planes == 1 else set())
        for field, array in enumerate(per_field):
            if array.shape not in shapes:
                raise InvalidInputError(
                    f"labels[{name!r}] of field {field} is {array.shape}; the field's "
                    f"planes are {planes} x {height} x {width}",
                    subject=f"labels[{name!r}]",
                    hint=f"pass (z, y, x) = {(planes, *plane)}"
                    + (f" or (y, x) = {plane}" if planes == 1 else ""),
                )
        if len({a.dtype for a in per_field}) > 1:
            raise InvalidInputError(
                f"labels[{name!r}] mixes dtypes {sorted({str(a.dtype) for a in per_field})}",
                subject=f"labels[{name!r}]",
                hint="give every field's label image the same integer dtype",
            )
        return np.stack([a.reshape(planes, *plane) for a in per_field])
    array = _integer(name, np.asarray(to_host(value)))
    accepted: set[tuple[int, ...]] = {(fields, planes, *plane)}
    if fields == 1:
        accepted.add((planes, *plane))
    if planes == 1:
        accepted.add((fields, *plane))
    if fields == 1 and planes == 1:
        accepted.add(plane)
    if array.shape not in accepted:
        raise InvalidInputError(
            f"labels[{name!r}] is {array.shape}; the well is {fields} fields x {planes} "
            f"planes x {height} x {width}",
            subject=f"labels[{name!r}]",
            hint=f"pass one array {(fields, planes, *plane)} or one (z, y, x) per field",
        )
    return array.reshape(fields, planes, *plane)


def label_stacks(value: Mapping[str, Any] | None, shape: tuple[int, ...]) -> dict[str, Any]:
    """Return each label name's images as (fields, z, y, x), checked against the well.

    Parameters
    ----------
    value
        ``save_batch``'s ``labels`` (None: no labels).
    shape
        The well's images, (fields, channels, z, y, x).

    Returns
    -------
    dict
        Label name to an integer array (fields, z, y, x).

    Raises
    ------
    InvalidInputError
        Naming ``labels[name]`` when its count, shape or dtype does not fit the well.
    """
    if not value:
        return {}
    fields, _, planes, height, width = shape
    return {
        name: _one(name, value[name], (fields, planes, height, width))
        for name in label_names(value)
    }


def label_levels(labels: np.ndarray, count: int) -> list[np.ndarray]:
    """Return ``count`` levels of one field's labels (c=1, z, y, x), nearest neighbour.

    Level ``i + 1`` keeps the top-left pixel of each 2 x 2 block of level ``i``, so its
    size is ``ceil(n / 2)`` like the image's levels.
    """
    levels = [labels]
    for _ in range(1, count):
        levels.append(np.ascontiguousarray(levels[-1][..., ::2, ::2]))
    return levels
