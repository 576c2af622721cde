"""zarr-utils' API: metadata health under the names its users know.

``consolidate_metadata``, ``validate_metadata``, ``repair_metadata`` and
``list_zarr_arrays`` are :func:`zarrlake.meta.consolidate`, :func:`~zarrlake.meta.validate`,
:func:`~zarrlake.meta.repair` and :func:`~zarrlake.meta.list_arrays`: formats 2 and 3,
metadata reads only, writes under the archive's lock as one transaction. The validation
report is a dict with zarr-utils' keys (``valid``, ``has_consolidated``, ``zarr_format``,
...) plus zarrlake's findings.
"""

from __future__ import annotations

from zarrlake.meta import Report, consolidate, list_arrays, repair, validate

__all__ = [
    "Report",
    "consolidate_metadata",
    "list_zarr_arrays",
    "repair_metadata",
    "validate_metadata",
]

consolidate_metadata = consolidate
validate_metadata = validate
repair_metadata = repair
list_zarr_arrays = list_arrays
