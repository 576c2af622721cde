"""Encoding: compression specs, chunk planning, CF packing and exact CF times."""

from zarrlake.encoding._chunks import (
    DEFAULT_TARGET_CHUNK_BYTES,
    MIN_TARGET_CHUNK_BYTES,
    AccessPattern,
    ChunkPlan,
    parse_size,
    plan_chunks,
)
from zarrlake.encoding._compression import (
    CompressionSpec,
    ZarrFormat,
    describe_codecs,
    parse_compression,
)
from zarrlake.encoding._packing import (
    OutOfRangePolicy,
    Packing,
    align_fill_value,
    choose_packing,
    packing_from_attrs,
    packing_from_encoding,
)
from zarrlake.encoding._packing_spec import PackingSpec
from zarrlake.encoding._shards import (
    DEFAULT_TARGET_SHARD_BYTES,
    plan_shards,
    require_sharding_format,
    resolve_shards,
    step_selection,
)
from zarrlake.encoding._times import (
    TimeEncoding,
    choose_time_encoding,
    describe_duration,
    is_time_like,
    join_hint,
    label_key,
    label_text,
    time_dimensions,
)

__all__ = [
    "DEFAULT_TARGET_CHUNK_BYTES",
    "DEFAULT_TARGET_SHARD_BYTES",
    "MIN_TARGET_CHUNK_BYTES",
    "AccessPattern",
    "ChunkPlan",
    "CompressionSpec",
    "OutOfRangePolicy",
    "Packing",
    "PackingSpec",
    "TimeEncoding",
    "ZarrFormat",
    "align_fill_value",
    "choose_packing",
    "choose_time_encoding",
    "describe_codecs",
    "describe_duration",
    "is_time_like",
    "join_hint",
    "label_key",
    "label_text",
    "packing_from_attrs",
    "packing_from_encoding",
    "parse_compression",
    "parse_size",
    "plan_chunks",
    "plan_shards",
    "require_sharding_format",
    "resolve_shards",
    "step_selection",
    "time_dimensions",
]
