"""Metadata health: inspect, consolidate, validate (rules -> findings), repair, back up.

zarr-utils' names (``consolidate_metadata``, ...) are in :mod:`zarrlake.compat.zarr_utils`.
"""

from zarrlake.hierarchy import Hierarchy, awalk, build_consolidated
from zarrlake.meta._backup import backup, restore
from zarrlake.meta._batch import StoreOutcome, discover, junit_xml, run_many
from zarrlake.meta._consolidate import consolidate, list_arrays
from zarrlake.meta._info import ArrayInfo, GroupInfo, StoreInfo, ainspect_store, inspect_store
from zarrlake.meta._repair import RepairResult, repair
from zarrlake.meta._report import Finding, Report
from zarrlake.meta._rules import Context
from zarrlake.meta._validate import RULES, register_rule, validate

__all__ = [
    "RULES",
    "ArrayInfo",
    "Context",
    "Finding",
    "GroupInfo",
    "Hierarchy",
    "RepairResult",
    "Report",
    "StoreInfo",
    "StoreOutcome",
    "ainspect_store",
    "awalk",
    "backup",
    "build_consolidated",
    "consolidate",
    "discover",
    "inspect_store",
    "junit_xml",
    "list_arrays",
    "register_rule",
    "repair",
    "restore",
    "run_many",
    "validate",
]
