"""Convert many NetCDF/HDF5 files into one Zarr archive: plan, template, regions, verify.

``run`` does it all; ``plan`` shows what would be written; ``create_template`` and
``write_region`` are the steps for callers that schedule the work themselves;
``verify`` checks the result. ``ZarrConverter`` is zarrio's API over the same parts.
"""

from zarrlake.convert.config import ConvertConfig, PackingSettings, load_convert_config
from zarrlake.convert.legacy import (
    ChunkingConfig,
    CompressionConfig,
    PackingConfig,
    ZarrConverter,
    ZarrConverterConfig,
)
from zarrlake.convert.run import ConvertResult, plan, run, scan
from zarrlake.convert.verify import verify
from zarrlake.convert.writer import ArchiveWriter, ReadOptions, WriteStats
from zarrlake.errors import ConversionError, RetryLimitExceededError

__all__ = [
    "ArchiveWriter",
    "ChunkingConfig",
    "CompressionConfig",
    "ConversionError",
    "ConvertConfig",
    "ConvertResult",
    "PackingConfig",
    "PackingSettings",
    "ReadOptions",
    "RetryLimitExceededError",
    "WriteStats",
    "ZarrConverter",
    "ZarrConverterConfig",
    "load_convert_config",
    "plan",
    "run",
    "scan",
    "verify",
]
