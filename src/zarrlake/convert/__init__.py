"""Convert many NetCDF/HDF5 files into one Zarr archive: plan, template, regions, verify.

``run`` does it all; ``plan`` shows what would be written; ``create_template`` and
``write_region`` are the steps for callers that schedule the work themselves;
``verify`` checks the result; ``tune_process_memory`` sets a process that exists to
convert up as the command does (glibc allocator settings of the whole process).
zarrio's ``ZarrConverter`` over the same parts is in :mod:`zarrlake.compat.zarrio`.
"""

from zarrlake._malloc import tune_process_memory
from zarrlake.convert._config import ConvertConfig, load_convert_config
from zarrlake.convert._estimate import estimate_ratio
from zarrlake.convert._inputs import expand_inputs
from zarrlake.convert._planner import ConvertPlan, build_plan
from zarrlake.convert._run import ConvertResult, plan, run, scan
from zarrlake.convert._scan import FileScan, scan_template
from zarrlake.convert._template import create_template_from_plan
from zarrlake.convert._units import WorkUnit
from zarrlake.convert._verify import verify
from zarrlake.convert._writer import ArchiveWriter, ReadOptions, WriteStats
from zarrlake.errors import ConversionError, RetryLimitExceededError

__all__ = [
    "ArchiveWriter",
    "ConversionError",
    "ConvertConfig",
    "ConvertPlan",
    "ConvertResult",
    "FileScan",
    "ReadOptions",
    "RetryLimitExceededError",
    "WorkUnit",
    "WriteStats",
    "build_plan",
    "create_template_from_plan",
    "estimate_ratio",
    "expand_inputs",
    "load_convert_config",
    "plan",
    "run",
    "scan",
    "scan_template",
    "tune_process_memory",
    "verify",
]
