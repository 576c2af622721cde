"""Encoding: compression spec strings, chunk planning and CF packing."""

from zarrlake.encoding.chunks import (
    DEFAULT_TARGET_CHUNK_BYTES,
    MIN_TARGET_CHUNK_BYTES,
    AccessPattern,
    ChunkPlan,
    plan_chunks,
)
from zarrlake.encoding.compression import (
    CompressionSpec,
    ZarrFormat,
    describe_codecs,
    parse_compression,
)
from zarrlake.encoding.packing import (
    OutOfRangePolicy,
    Packing,
    choose_packing,
    packing_from_attrs,
)

__all__ = [
    "DEFAULT_TARGET_CHUNK_BYTES",
    "MIN_TARGET_CHUNK_BYTES",
    "AccessPattern",
    "ChunkPlan",
    "CompressionSpec",
    "OutOfRangePolicy",
    "Packing",
    "ZarrFormat",
    "choose_packing",
    "describe_codecs",
    "packing_from_attrs",
    "parse_compression",
    "plan_chunks",
]
