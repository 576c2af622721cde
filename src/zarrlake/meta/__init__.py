"""Metadata health: inspect, consolidate, validate (rules -> findings), repair, back up.

zarr-utils' names (``consolidate_metadata``, ...) are in :mod:`zarrlake.compat.zarr_utils`.
"""

from zarrlake.hierarchy import Hierarchy, awalk, build_consolidated
from zarrlake.meta.backup import backup, restore
from zarrlake.meta.consolidate import consolidate, list_arrays
from zarrlake.meta.info import ArrayInfo, GroupInfo, StoreInfo, ainspect_store, inspect_store
from zarrlake.meta.repair import RepairResult, repair
from zarrlake.meta.report import Finding, Report
from zarrlake.meta.rules import Context
from zarrlake.meta.validate import validate

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
    "inspect_store",
    "list_arrays",
    "repair",
    "restore",
    "validate",
]
