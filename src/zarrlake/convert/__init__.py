"""Convert many NetCDF/HDF5 files into one Zarr archive: plan, template, regions, verify.

``run`` does it all; ``plan`` shows what would be written; ``create_template`` and
``write_region`` are the steps for callers that schedule the work themselves;
``verify`` checks the result. zarrio's ``ZarrConverter`` over the same parts is in
:mod:`zarrlake.compat.zarrio`.
"""

from zarrlake.convert.config import ConvertConfig, PackingSettings, load_convert_config
from zarrlake.convert.planner import build_plan
from zarrlake.convert.run import ConvertResult, plan, run, scan
from zarrlake.convert.scan import scan_template
from zarrlake.convert.template import create_template_from_plan
from zarrlake.convert.verify import verify
from zarrlake.convert.writer import ArchiveWriter, ReadOptions, WriteStats
from zarrlake.errors import ConversionError, RetryLimitExceededError

__all__ = [
    "ArchiveWriter",
    "ConversionError",
    "ConvertConfig",
    "ConvertResult",
    "PackingSettings",
    "ReadOptions",
    "RetryLimitExceededError",
    "WriteStats",
    "build_plan",
    "create_template_from_plan",
    "load_convert_config",
    "plan",
    "run",
    "scan",
    "scan_template",
    "verify",
]
