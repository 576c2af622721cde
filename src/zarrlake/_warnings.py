"""Warnings zarrlake's own entry points silence on purpose."""

from __future__ import annotations

import warnings


def silence_known_zarr_warnings() -> None:
    """Hide zarr's notices about features zarrlake uses deliberately.

    Consolidated metadata in Zarr format 3 and numcodecs codecs in format 3 are not yet
    in the v3 specification; zarrlake writes both on purpose and documents it, so the
    CLI and demo do not repeat zarr's warning on every run. Library users keep them.
    """
    warnings.filterwarnings("ignore", message="Consolidated metadata is currently not part")
    warnings.filterwarnings("ignore", message="Numcodecs codecs are not in the Zarr version 3")
