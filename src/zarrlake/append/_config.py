"""Append configuration: zappend's keys, unchanged, plus zarrlake's own.

An existing zappend config file works as it is. zarrlake adds ``zarr_format``,
``on_existing``, ``lock``, and per-variable ``compression`` (a spec string) and
``packing`` (a fixed CF packing range). Unknown keys are errors, so a typo never
silently does nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from zarrlake.config import ConfigSource, merge_configs, validation_error
from zarrlake.encoding import CompressionSpec, PackingSpec
from zarrlake.txn import LockOptions

__all__ = [
    "AppendConfig",
    "EncodingConfig",
    "SlicePollingConfig",
    "VariableConfig",
    "load_append_config",
]

_STRICT = ConfigDict(extra="forbid", populate_by_name=True)


class EncodingConfig(BaseModel):
    """How a variable is stored (zappend's encoding keys plus compression and packing)."""

    model_config = _STRICT

    dtype: str | None = Field(None, description="storage dtype, e.g. float32, int16")
    chunks: list[int | None] | None = Field(
        None,
        description="chunk size per dim (null entries: the whole dim); null: one chunk. "
        "Default: the slice's length along the append dim, whole dims otherwise",
    )
    shards: list[int] | None = Field(
        None,
        description="shard size per dim, each a multiple of the chunk (Zarr format 3: one "
        "object holds several chunks; an append rewrites the shards it touches). "
        "Default: none",
    )
    fill_value: float | int | str | None = Field(
        None, description="the _FillValue; 'NaN' for NaN; null: none"
    )
    scale_factor: float | None = Field(None, description="CF scale_factor")
    add_offset: float | None = Field(None, description="CF add_offset")
    units: str | None = Field(None, description="CF units, e.g. 'days since 1970-01-01' for time")
    calendar: str | None = Field(None, description="CF calendar of a time variable")
    compressor: dict[str, Any] | None = Field(
        None, description="a numcodecs compressor config, e.g. {id: blosc, cname: zstd, clevel: 5}"
    )
    filters: list[dict[str, Any]] | None = Field(
        None, description="numcodecs filter configs (Zarr format 2 only)"
    )
    compression: str | None = Field(
        None, description="zarrlake compression spec, e.g. 'blosc:zstd:3' (instead of compressor)"
    )
    packing: PackingSpec | None = Field(None, description="CF packing over a fixed range")

    @field_validator("compression")
    @classmethod
    def _valid_spec(cls, value: str | None) -> str | None:
        if value is not None:
            CompressionSpec.parse(value)
        return value

    @field_validator("packing")
    @classmethod
    def _fixed_range(cls, value: PackingSpec | None) -> PackingSpec | None:
        if value is not None and value.margin:
            raise ValueError(
                "margin widens a range found by scanning the inputs, which append does not "
                "do: give valid_min and valid_max (or the variable's valid_min/valid_max)"
            )
        return value

    @field_validator("fill_value")
    @classmethod
    def _valid_fill(cls, value: float | int | str | None) -> float | int | str | None:
        if isinstance(value, str) and value.lower() != "nan":
            raise ValueError("fill_value must be a number, 'NaN' or null")
        return value

    @model_validator(mode="after")
    def _one_compressor(self) -> EncodingConfig:
        if self.compression is not None and "compressor" in self.model_fields_set:
            raise ValueError("give either compression (a spec) or compressor (numcodecs), not both")
        return self


class VariableConfig(BaseModel):
    """Per-variable settings; the key ``*`` sets defaults for every variable."""

    model_config = _STRICT

    dims: list[str] | None = Field(None, description="expected dimensions, in order")
    encoding: EncodingConfig | None = Field(None, description="storage encoding")
    attrs: dict[str, Any] | None = Field(None, description="attributes set on the variable")


class SlicePollingConfig(BaseModel):
    """Wait for slices that do not exist yet or are still being written."""

    model_config = _STRICT

    interval: float = Field(2.0, gt=0, description="seconds between checks")
    timeout: float = Field(60.0, ge=0, description="seconds before giving up on a slice")


class AppendConfig(BaseModel):
    """Configuration of ``zarrlake append`` / ``zappend``."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, arbitrary_types_allowed=True)

    version: int = Field(1, description="config version (zappend compatibility)")
    target_dir: str | None = Field(None, description="the target archive's path or URL")
    target_storage_options: dict[str, Any] | None = Field(
        None, description="storage options of the target (s3: endpoint_url, key, secret, ...)"
    )
    zarr_format: Literal[2, 3] | None = Field(
        None,
        description="Zarr format of a new target (default 3; an existing target keeps its own)",
    )
    zarr_version: Literal[2, 3] | None = Field(None, description="zappend's name for zarr_format")
    append_dim: str = Field("time", description="the dimension slices are appended along")
    append_step: str | int | float | None = Field(
        None,
        description="'+' increasing labels, '-' decreasing, or the fixed step between labels "
        "(a number, or a time delta such as '1D', '6h')",
    )
    fixed_dims: dict[str, int] | None = Field(
        None, description="dimensions whose sizes every slice must have"
    )
    included_variables: list[str] | None = Field(None, description="write only these variables")
    excluded_variables: list[str] | None = Field(None, description="never write these variables")
    variables: dict[str, VariableConfig] | None = Field(
        None, description="per-variable dims, encoding and attrs ('*' for all)"
    )
    attrs: dict[str, Any] | None = Field(None, description="global attributes set on the target")
    attrs_update_mode: Literal["keep", "replace", "update", "ignore"] = Field(
        "keep",
        description="how slice attributes change the target's: keep (the first slice's), "
        "replace, update, ignore; configured attrs are applied last in every mode",
    )
    permit_eval: bool = Field(
        False,
        description="evaluate '{{ expression }}' in attrs: ds is the target after the "
        "append; lower_bound(array, ref) and upper_bound(array, ref) as in zappend",
    )
    slice_engine: str | None = Field(None, description="xarray engine for slice files")
    slice_storage_options: dict[str, Any] | None = Field(
        None, description="storage options of remote slices"
    )
    slice_polling: bool | SlicePollingConfig = Field(
        False,
        description="wait for missing or incomplete slices (true: 2 s interval, 60 s timeout)",
    )
    slice_source: str | Callable[..., Any] | None = Field(
        None, description="'module:function' (or a callable) turning each slice item into a dataset"
    )
    slice_source_kwargs: dict[str, Any] | None = Field(
        None, description="keyword arguments passed to slice_source"
    )
    persist_mem_slices: bool = Field(
        False, description="accepted for zappend compatibility (slices are always loaded)"
    )
    temp_dir: str | None = Field(
        None,
        description="accepted for zappend compatibility; zarrlake keeps its journal in the "
        "target's own store",
    )
    temp_storage_options: dict[str, Any] | None = Field(
        None, description="accepted for zappend compatibility (unused)"
    )
    force_new: bool = Field(False, description="replace an existing target")
    disable_rollback: bool = Field(
        False, description="accepted for zappend compatibility; appends are always transactions"
    )
    dry_run: bool = Field(False, description="validate and report; write nothing")
    on_existing: Literal["skip", "error", "replace"] = Field(
        "skip",
        description="a slice whose labels are already in the target: 'skip' it when its "
        "values equal what is stored (different values are an error), 'error' always, or "
        "'replace' those steps with it (one transaction)",
    )
    lock: LockOptions = Field(default_factory=LockOptions, description="the archive lock")
    profiling: Any = Field(None, description="accepted for zappend compatibility (unused)")
    logging: Any = Field(None, description="accepted for zappend compatibility (unused)")
    extra: dict[str, Any] | None = Field(None, description="free-form user data (ignored)")

    @field_validator("append_step")
    @classmethod
    def _valid_step(cls, value: str | int | float | None) -> str | int | float | None:
        if isinstance(value, str) and value not in ("+", "-"):
            import pandas as pd

            try:
                if pd.Timedelta(value) == pd.Timedelta(0):
                    raise ValueError("must not be zero")
            except ValueError as exc:
                raise ValueError(f"append_step {value!r} is not '+', '-' or a time delta") from exc
        if isinstance(value, (int, float)) and value == 0:
            raise ValueError("append_step must not be 0")
        return value

    @property
    def format_for_new_target(self) -> Literal[2, 3]:
        """The Zarr format a new target gets."""
        return self.zarr_format or self.zarr_version or 3

    @property
    def polling(self) -> SlicePollingConfig | None:
        """Polling settings, or ``None`` when slices are not waited for."""
        if self.slice_polling is True:
            return SlicePollingConfig()
        if isinstance(self.slice_polling, SlicePollingConfig):
            return self.slice_polling
        return None

    def variable(self, name: str) -> VariableConfig:
        """Return the settings of ``name``: its own, merged over the ``*`` defaults."""
        variables = self.variables or {}
        default = variables.get("*")
        own = variables.get(name)
        if default is None:
            return own or VariableConfig()
        if own is None:
            return default
        merged = default.model_dump(exclude_unset=True)
        for key, value in own.model_dump(exclude_unset=True).items():
            if isinstance(value, dict) and isinstance(merged.get(key), dict):
                merged[key] = {**merged[key], **value}
            else:
                merged[key] = value
        return VariableConfig.model_validate(merged)


def load_append_config(
    config: ConfigSource | Sequence[ConfigSource] | AppendConfig | None = None,
    **overrides: Any,
) -> AppendConfig:
    """Build an :class:`AppendConfig` from files/dicts (merged in order) and overrides.

    Parameters
    ----------
    config
        A path/URL, dict, ``AppendConfig``, ``None``, or a list merged in order.
    **overrides
        Options that win over the config (``None`` values are ignored).

    Returns
    -------
    AppendConfig
        The validated configuration.

    Raises
    ------
    InvalidInputError
        Naming every unknown or invalid option.
    """
    if isinstance(config, AppendConfig):
        base: dict[str, Any] = config.model_dump(exclude_unset=True)
        config = [base]
    lock_override = overrides.pop("lock", None)
    raw = merge_configs(config, overrides)
    if isinstance(lock_override, LockOptions):
        raw["lock"] = {
            **dict(raw.get("lock") or {}),
            **lock_override.model_dump(exclude_unset=True),
        }
    elif isinstance(lock_override, Mapping):
        raw["lock"] = {**dict(raw.get("lock") or {}), **lock_override}
    try:
        return AppendConfig.model_validate(raw)
    except ValidationError as exc:
        raise validation_error(exc, where="append configuration") from None
