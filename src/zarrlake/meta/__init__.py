"""Metadata health: inspect, consolidate, validate (rules -> findings), list arrays.

The original zarr-utils names are offered too: ``consolidate_metadata``,
``validate_metadata`` and ``list_zarr_arrays``.
"""

from zarrlake.meta.consolidate import build_consolidated, consolidate, list_arrays
from zarrlake.meta.info import ArrayInfo, GroupInfo, StoreInfo, ainspect_store, inspect_store
from zarrlake.meta.report import Finding, Report
from zarrlake.meta.rules import Context
from zarrlake.meta.validate import validate
from zarrlake.meta.walk import Hierarchy, awalk

consolidate_metadata = consolidate
validate_metadata = validate
list_zarr_arrays = list_arrays

__all__ = [
    "ArrayInfo",
    "Context",
    "Finding",
    "GroupInfo",
    "Hierarchy",
    "Report",
    "StoreInfo",
    "ainspect_store",
    "awalk",
    "build_consolidated",
    "consolidate",
    "consolidate_metadata",
    "inspect_store",
    "list_arrays",
    "list_zarr_arrays",
    "validate",
    "validate_metadata",
]
