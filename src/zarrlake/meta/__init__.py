"""Metadata health: inspect, consolidate, validate (rules -> findings), repair, back up.

The original zarr-utils names are offered too: ``consolidate_metadata``,
``validate_metadata``, ``repair_metadata`` and ``list_zarr_arrays``.
"""

from zarrlake.hierarchy import Hierarchy, awalk, build_consolidated
from zarrlake.meta.backup import backup, restore
from zarrlake.meta.consolidate import consolidate, list_arrays
from zarrlake.meta.info import ArrayInfo, GroupInfo, StoreInfo, ainspect_store, inspect_store
from zarrlake.meta.repair import RepairResult, repair
from zarrlake.meta.report import Finding, Report
from zarrlake.meta.rules import Context
from zarrlake.meta.validate import validate

consolidate_metadata = consolidate
validate_metadata = validate
list_zarr_arrays = list_arrays
repair_metadata = repair

__all__ = [
    "ArrayInfo",
    "Context",
    "Finding",
    "GroupInfo",
    "Hierarchy",
    "RepairResult",
    "Report",
    "StoreInfo",
    "ainspect_store",
    "awalk",
    "backup",
    "build_consolidated",
    "consolidate",
    "consolidate_metadata",
    "inspect_store",
    "list_arrays",
    "list_zarr_arrays",
    "repair",
    "repair_metadata",
    "restore",
    "validate",
    "validate_metadata",
]
