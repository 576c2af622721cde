"""The options of ``save_batch`` for a well: each one used, or refused by name.

Protocol: a call with ``row`` or ``col`` saves a well and takes exactly the options in
:data:`WELL_OPTIONS` (the image options are described in
:mod:`zarrlake.backends._ome_image`, labels in :mod:`zarrlake.backends._ome_labels`); any
other keyword is refused with an error naming it (and the
closest supported name), before anything is written. A call without ``row`` and
``col`` saves plain files; well-only options there are refused too, since they would
silently do nothing.
"""

from __future__ import annotations

import dataclasses
import difflib
import numbers
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from zarrlake.backends._ome_image import IMAGE_OPTIONS, ImageOptions, image_options
from zarrlake.backends._ome_labels import label_names
from zarrlake.errors import InvalidInputError

__all__ = ["WELL_OPTIONS", "WellOptions", "well_options"]

_REQUIRED = ("row", "col", "n_fields", "n_channels", "n_z")
# polystore passes chunk_name (its name for the well); the well's name comes from
# row/col here, so it is accepted and not used
_COMPAT = ("chunk_name",)
WELL_OPTIONS = (*_REQUIRED, "overwrite", *IMAGE_OPTIONS, "labels", *_COMPAT)
# options of plain saves that a well takes from ZarrConfig instead
_FROM_CONFIG = {
    "chunks": "ZarrConfig(chunk_strategy=...)",
    "compressor": "ZarrConfig(compression=...)",
}
# other tools' names for what a well takes under another name
_INSTEAD = {
    "scaler": "pyramid",
    "scale_factors": "pyramid",
    "levels": "pyramid",
    "pixel_size_um": "pixel_size (with unit='micrometer', the default)",
    "units": "unit",
    "channels": "channel_names",
    "colors": "channel_colors",
    "label_images": "labels",
    "masks": "labels",
    "segmentation": "labels",
}


@dataclass(frozen=True)
class WellOptions:
    """The options of one well's ``save_batch``, checked."""

    row: Any
    col: Any
    n_fields: int
    n_channels: int
    n_z: int
    overwrite: bool = False
    image: ImageOptions = dataclasses.field(default_factory=ImageOptions)
    labels: Mapping[str, Any] | None = None


def _count(name: str, value: Any) -> int:
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or int(value) < 1:
        raise InvalidInputError(
            f"save_batch option {name}={value!r} is not a positive whole number",
            subject=name,
            hint=f"pass {name} as a number from 1 (the well's {name[2:]} count)",
        )
    return int(value)


def _refuse(name: str, well: bool) -> InvalidInputError:
    if not well:
        return InvalidInputError(
            f"save_batch option {name} applies to a well, and no row/col was given",
            subject=name,
            hint="pass row= and col= to save a well of a plate, or drop " + name,
        )
    if name in _FROM_CONFIG:
        hint = f"a well's {name} come from {_FROM_CONFIG[name]}; drop {name}"
    elif name in _INSTEAD:
        hint = f"use {_INSTEAD[name]}"
    else:
        close = difflib.get_close_matches(name, WELL_OPTIONS, n=1)
        hint = (f"did you mean {close[0]}? " if close else "") + (
            "a well takes " + ", ".join(WELL_OPTIONS)
        )
    return InvalidInputError(
        f"save_batch of a well does not take the option {name}", subject=name, hint=hint
    )


def well_options(kwargs: Mapping[str, Any]) -> WellOptions | None:
    """Check ``save_batch``'s keywords; return the well's options, or None for plain files.

    Parameters
    ----------
    kwargs
        The keywords ``save_batch`` was called with.

    Returns
    -------
    WellOptions or None
        None when neither ``row`` nor ``col`` is given (plain files).

    Raises
    ------
    InvalidInputError
        Naming the first option not supported, missing, or of a wrong value.
    """
    if kwargs.get("row") is None and kwargs.get("col") is None:
        for name in kwargs:
            if name in WELL_OPTIONS and name not in ("row", "col", "overwrite"):
                raise _refuse(name, well=False)
        return None
    for name in kwargs:
        if name not in WELL_OPTIONS:
            raise _refuse(name, well=True)
    missing = [name for name in _REQUIRED if kwargs.get(name) is None]
    if missing:
        raise InvalidInputError(
            f"save_batch of a well needs {', '.join(missing)}",
            subject=missing[0],
            hint="pass row=, col=, n_fields=, n_channels= and n_z=",
        )
    overwrite = kwargs.get("overwrite", False)
    if not isinstance(overwrite, (bool, np.bool_)):
        raise InvalidInputError(
            f"save_batch option overwrite={overwrite!r} is not True or False",
            subject="overwrite",
            hint="pass overwrite=True to replace an existing well",
        )
    n_channels = _count("n_channels", kwargs["n_channels"])
    labels = kwargs.get("labels")
    if labels is not None:
        label_names(labels)  # shapes are checked against the images (label_stacks)
    return WellOptions(
        row=kwargs["row"],
        col=kwargs["col"],
        n_fields=_count("n_fields", kwargs["n_fields"]),
        n_channels=n_channels,
        n_z=_count("n_z", kwargs["n_z"]),
        overwrite=bool(overwrite),
        image=image_options(kwargs, n_channels),
        labels=labels,
    )
