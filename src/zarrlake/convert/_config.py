"""Conversion configuration: one pydantic model, from a YAML/JSON file, a dict or flags.

Unknown keys are errors, so a typo never silently does nothing. ``packing`` is either
``true`` (16-bit packing of every float variable), a :class:`PackingSpec` for every
float variable, or a mapping of variable name to settings.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from zarrlake.config import ConfigSource, merge_configs, validation_error
from zarrlake.encoding import (
    DEFAULT_TARGET_CHUNK_BYTES,
    DEFAULT_TARGET_SHARD_BYTES,
    CompressionSpec,
    PackingSpec,
)

__all__ = ["ConvertConfig", "load_convert_config"]

_STRICT = ConfigDict(extra="forbid", populate_by_name=True)


class ConvertConfig(BaseModel):
    """How input files become one archive."""

    model_config = _STRICT

    concat_dim: str = Field("time", description="the dimension the files are joined along")
    chunks: dict[str, int] | None = Field(
        None,
        description="chunk size per dimension name (missing dims: planned, or whole); "
        "default: planned for the access pattern",
    )
    shards: dict[str, int] | Literal["auto", "none"] = Field(
        "auto",
        description="shard size per dimension name, a multiple of its chunk (Zarr format 3: "
        "one object holds several chunks); 'auto': planned when the target is an object "
        "store and chunks are small (an archive of thousands of objects, not millions), "
        "none on local disk; 'none': one object per chunk",
    )
    target_shard_size: int | str = Field(
        DEFAULT_TARGET_SHARD_BYTES,
        description="upper bound of a planned shard's uncompressed size, bytes or e.g. "
        "'128MiB' (a writer holds one shard in memory)",
    )
    access_pattern: Literal["temporal", "spatial", "balanced"] = Field(
        "balanced", description="the read pattern the chunk planner optimises for"
    )
    target_chunk_size: int | str = Field(
        DEFAULT_TARGET_CHUNK_BYTES,
        description="upper bound of one chunk's uncompressed size, bytes or e.g. '16MiB'",
    )
    compression: str = Field(
        "blosc:zstd:3", description="compression spec, e.g. blosc:zstd:3, zstd:5, gzip:4, none"
    )
    packing: bool | PackingSpec | dict[str, PackingSpec] = Field(
        False,
        description="true (16-bit packing of every float variable), settings for every float "
        "variable, or settings per variable name ('*': every other float variable)",
    )
    unpack: bool | list[str] = Field(
        False,
        description="store packed inputs (integers with scale_factor/add_offset) as floats: "
        "true for every variable or a list of names (default: keep the inputs' packing; "
        "inputs packed with different scales are stored unpacked, with a note)",
    )
    include: list[str] | None = Field(None, description="data variables to convert (default all)")
    exclude: list[str] = Field(default_factory=list, description="data variables to leave out")
    global_start: str | None = Field(
        None, description="first label of the archive (default: the inputs' first)"
    )
    global_end: str | None = Field(
        None, description="last label of the archive (default: the inputs' last)"
    )
    freq: str | float | None = Field(
        None,
        description="step of the concat dim, e.g. '1D', '6h', or a number for numeric labels "
        "(default: derived from the inputs)",
    )
    zarr_format: Literal[2, 3] = Field(3, description="Zarr format of the archive")
    attrs: dict[str, Any] = Field(default_factory=dict, description="global attributes to set")
    engine: str | None = Field(
        None, description="xarray engine for the inputs (default: chosen per file)"
    )
    storage_options: dict[str, Any] | None = Field(
        None, description="fsspec options for s3:// inputs"
    )
    target_storage_options: dict[str, Any] | None = Field(
        None, description="fsspec options for an s3:// target"
    )
    chunks_per_unit: int | None = Field(
        None,
        ge=1,
        description="chunks along the concat dim per work unit (default: as many as fit "
        "64 MiB of input)",
    )
    retries: int = Field(3, ge=0, description="retries of a transient read error per input")
    retry_backoff: float = Field(
        0.5, ge=0, description="seconds before the first retry; doubles each time"
    )
    verify_sample: int = Field(
        0,
        ge=0,
        description="inputs the final verify re-reads and compares with the archive (0: "
        "none; the default verify checks the fingerprints each unit recorded while writing)",
    )

    @field_validator("compression")
    @classmethod
    def _valid_compression(cls, value: str) -> str:
        CompressionSpec.parse(value)
        return value

    @field_validator("shards")
    @classmethod
    def _positive_shards(
        cls, value: dict[str, int] | Literal["auto", "none"]
    ) -> dict[str, int] | Literal["auto", "none"]:
        for dim, size in (value if isinstance(value, dict) else {}).items():
            if size < 1:
                raise ValueError(f"shard size of {dim!r} must be at least 1, not {size}")
        return value

    @field_validator("chunks")
    @classmethod
    def _positive_chunks(cls, value: dict[str, int] | None) -> dict[str, int] | None:
        for dim, size in (value or {}).items():
            if size < 1:
                raise ValueError(f"chunk size of {dim!r} must be at least 1, not {size}")
        return value

    def packing_for(self, name: str) -> PackingSpec | None:
        """Return the packing settings of a float variable, or ``None`` when not packed."""
        if self.packing is True:
            return PackingSpec()
        if isinstance(self.packing, PackingSpec):
            return self.packing
        if isinstance(self.packing, dict):
            return self.packing.get(name, self.packing.get("*"))
        return None

    def unpacks(self, name: str) -> bool:
        """Whether a packed input variable is stored unpacked."""
        return self.unpack is True or (isinstance(self.unpack, list) and name in self.unpack)

    def selects(self, name: str, *, coord: bool = False) -> bool:
        """Whether a variable is converted (coordinates: unless excluded)."""
        if name in self.exclude:
            return False
        return coord or self.include is None or name in self.include


def load_convert_config(
    sources: ConfigSource | Sequence[ConfigSource] | None = None,
    **overrides: Any,
) -> ConvertConfig:
    """Build a :class:`ConvertConfig` from files/dicts and keyword overrides.

    Parameters
    ----------
    sources
        Config file paths (YAML or JSON), dicts, or a sequence of them; later wins.
    **overrides
        Keys that win over every source (``None`` values are ignored).

    Returns
    -------
    ConvertConfig
        The validated configuration.

    Raises
    ------
    InvalidInputError
        Naming the key at fault, for unknown keys or invalid values.
    """
    merged = merge_configs(sources, overrides)
    try:
        return ConvertConfig.model_validate(merged)
    except ValidationError as exc:
        raise validation_error(exc, where="convert config") from None


def as_config(config: ConvertConfig | Mapping[str, Any] | None, **overrides: Any) -> ConvertConfig:
    """Return a validated config from a model, a dict or ``None``, with overrides applied."""
    if config is None or isinstance(config, Mapping):
        return load_convert_config(dict(config or {}), **overrides)
    if overrides and any(v is not None for v in overrides.values()):
        return load_convert_config(config.model_dump(exclude_unset=True), **overrides)
    return config
