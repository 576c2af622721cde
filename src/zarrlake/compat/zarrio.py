"""zarrio's API (``ZarrConverter`` and its config models) over :mod:`zarrlake.convert`.

The names and arguments of zarrio's parallel-processing document work unchanged; the
behaviour is zarrlake's: regions by exact label matching, partial chunks written under
locks (no lost steps), the compression asked for is the compression stored, and values
outside a packing range are an error naming the file and variable.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Literal

import numpy as np
import xarray as xr
from pydantic import BaseModel, ConfigDict, Field

from zarrlake.convert import (
    ArchiveWriter,
    ConvertConfig,
    ConvertResult,
    ReadOptions,
    WriteStats,
    build_plan,
    create_template_from_plan,
    load_convert_config,
    scan_template,
)
from zarrlake.convert import run as run_conversion
from zarrlake.convert import scan as scan_inputs
from zarrlake.encoding import PackingSpec
from zarrlake.errors import ConversionError, RetryLimitExceededError, ZarrlakeError
from zarrlake.storage import open_store
from zarrlake.storage.files import open_file_dataset
from zarrlake.storage.remote import is_object_store

__all__ = [
    "ChunkingConfig",
    "CompressionConfig",
    "PackingConfig",
    "ZarrConverter",
    "ZarrConverterConfig",
]


class ChunkingConfig(BaseModel):
    """Chunk size per dimension name, e.g. ``ChunkingConfig(time=100, lat=50, lon=100)``."""

    model_config = ConfigDict(extra="allow")

    def sizes(self) -> dict[str, int]:
        """Return the chunk sizes by dimension."""
        return {str(k): int(v) for k, v in (self.model_extra or {}).items() if v is not None}


class CompressionConfig(BaseModel):
    """A compressor: ``method`` is a spec (``blosc:zstd:3``) or a codec name (``zstd``)."""

    model_config = ConfigDict(extra="forbid")

    method: str = "blosc:zstd:3"
    clevel: int | None = None
    shuffle: Literal["shuffle", "bitshuffle", "noshuffle"] | None = None

    def spec(self) -> str:
        """Return the zarrlake compression spec this config means."""
        parts = self.method.split(":")
        if parts[0] == "blosc":
            cname = parts[1] if len(parts) > 1 else "zstd"
            level = self.clevel if self.clevel is not None else (parts[2] if len(parts) > 2 else 5)
            shuffle = self.shuffle or (parts[3] if len(parts) > 3 else "shuffle")
            return f"blosc:{cname}:{level}:{shuffle}"
        if self.clevel is not None and parts[0] != "none":
            return f"{parts[0]}:{self.clevel}"
        return self.method


class PackingConfig(BaseModel):
    """Packing of float variables into ``bits``-bit integers.

    The range is fixed for the whole archive. Without ``valid_min``/``valid_max`` (for
    every variable, or per variable in ``variables``) and without the variables' own
    ``valid_min``/``valid_max`` attributes, it is the data's range: the template's
    when a template dataset is given, so later files with more extreme values fail
    (``out_of_range: error``) unless ``margin`` widens it.
    """

    model_config = ConfigDict(extra="forbid")

    enabled: bool = False
    bits: Literal[8, 16, 32] = 16
    valid_min: float | None = None
    valid_max: float | None = None
    out_of_range: Literal["error", "clip", "mask"] = "error"
    margin: float = Field(0.0, ge=0)
    variables: dict[str, PackingSpec] = Field(default_factory=dict)


class ZarrConverterConfig(BaseModel):
    """zarrio's converter config, with zarrlake's extras (``zarr_format``, ``attrs``)."""

    model_config = ConfigDict(extra="forbid")

    chunking: ChunkingConfig = Field(default_factory=ChunkingConfig)
    compression: CompressionConfig | None = None
    packing: PackingConfig = Field(default_factory=PackingConfig)
    time_dim: str = "time"
    retries_on_missing: int = Field(0, ge=0)
    missing_check_vars: Literal["all"] | list[str] | None = "all"
    zarr_format: Literal[2, 3] = 3
    attrs: dict[str, Any] = Field(default_factory=dict)
    storage_options: dict[str, Any] | None = Field(
        None, description="fsspec options for remote inputs (zarrlake's extra)"
    )
    target_storage_options: dict[str, Any] | None = Field(
        None, description="fsspec options for a remote archive (zarrlake's extra)"
    )

    def to_convert_config(self, **overrides: Any) -> ConvertConfig:
        """Return the equivalent :class:`ConvertConfig`."""
        packing: bool | PackingSpec | dict[str, PackingSpec] = False
        if self.packing.enabled:
            packing = PackingSpec(
                bits=self.packing.bits,
                valid_min=self.packing.valid_min,
                valid_max=self.packing.valid_max,
                out_of_range=self.packing.out_of_range,
                margin=self.packing.margin,
            )
        if self.packing.variables:  # per variable; "*" (the settings above) for the rest
            others = {"*": packing} if isinstance(packing, PackingSpec) else {}
            packing = {**others, **self.packing.variables}
        raw: dict[str, Any] = {
            "concat_dim": self.time_dim,
            "chunks": self.chunking.sizes() or None,
            "packing": packing,
            "zarr_format": self.zarr_format,
            "attrs": self.attrs,
            "retries": max(self.retries_on_missing, 0),
            "storage_options": self.storage_options,
            "target_storage_options": self.target_storage_options,
        }
        if self.compression is not None:
            raw["compression"] = self.compression.spec()
        return load_convert_config(raw, **overrides)


def _many_files(template: Any) -> bool:
    """Whether a template argument names several files (a list, or a glob)."""
    if isinstance(template, (list, tuple)):
        return True
    return isinstance(template, str) and any(c in template for c in "*?[")


def _conversion_error(exc: ZarrlakeError) -> ConversionError:
    if isinstance(exc, ConversionError):
        return exc
    error = ConversionError(exc.message, subject=exc.subject, hint=exc.hint)
    error.__cause__ = exc
    return error


class ZarrConverter:
    """Convert NetCDF/HDF5 files into Zarr, zarrio style.

    Parameters
    ----------
    chunking
        Chunk size per dimension (``{"time": 100, "lat": 50}``).
    compression
        A compression spec (``"blosc:zstd:3"``) or a :class:`CompressionConfig`.
    packing
        ``True`` for 16-bit packing of float variables, or a :class:`PackingConfig`.
    config
        A full :class:`ZarrConverterConfig` (wins over the other arguments).
    **options
        Other :class:`ZarrConverterConfig` fields (``retries_on_missing``, ``zarr_format``...).
    """

    def __init__(
        self,
        chunking: Mapping[str, int] | ChunkingConfig | None = None,
        compression: str | CompressionConfig | None = None,
        packing: bool | PackingConfig = False,
        config: ZarrConverterConfig | None = None,
        **options: Any,
    ) -> None:
        if config is None:
            config = ZarrConverterConfig(
                chunking=chunking
                if isinstance(chunking, ChunkingConfig)
                else ChunkingConfig(**dict(chunking or {})),
                compression=CompressionConfig(method=compression)
                if isinstance(compression, str)
                else compression,
                packing=packing
                if isinstance(packing, PackingConfig)
                else PackingConfig(enabled=bool(packing)),
                **options,
            )
        self.config = config

    def _check_vars(self, writer: ArchiveWriter) -> list[str]:
        wanted = self.config.missing_check_vars
        if wanted is None:
            return []
        return (
            list(writer.variables)
            if wanted == "all"
            else [v for v in wanted if v in writer.variables]
        )

    def create_template(
        self,
        template_dataset: xr.Dataset | str | os.PathLike[str],
        output_path: str | os.PathLike[str],
        global_start: str | None = None,
        global_end: str | None = None,
        freq: str | None = None,
        compute: bool = False,
        intelligent_chunking: bool = False,
        access_pattern: Literal["temporal", "spatial", "balanced"] = "temporal",
        overwrite: bool = False,
    ) -> None:
        """Create a metadata-only archive over the whole range from a template dataset.

        Parameters
        ----------
        template_dataset
            A dataset (or a file) with the variables, grid and attributes of the inputs;
            or a list of files or a glob: then the archive's axis is the union of their
            labels (for monthly or irregular axes no ``freq`` describes), read from their
            coordinates only.
        output_path
            The archive to create.
        global_start, global_end, freq
            The archive's time range and step (default: the template's).
        compute
            Also write the template's own data into its region.
        intelligent_chunking
            Plan chunks for the whole archive with ``access_pattern`` (explicit
            chunking still wins for the dims it names).
        access_pattern
            ``temporal``, ``spatial`` or ``balanced``.

        Without a chunk size for the time dim, the time chunk is made for parallel
        :meth:`write_region` calls: the planner's choice (``balanced``, or
        ``access_pattern`` with ``intelligent_chunking``) is rounded down to a
        multiple of the steps per template file (below it, a divisor of it), and
        capped at one file's steps (with ``intelligent_chunking``: at a quarter of
        the axis, but at least one file), though never below 1 MiB per chunk of the
        largest variable's whole rows. So the whole axis is one chunk only for arrays
        of about 1 MiB or less; the other dims are then refit to the target.
        overwrite
            Replace an existing archive.

        Raises
        ------
        ConversionError
            For a template that cannot be used, an existing archive, or a bad range.
        """
        overrides: dict[str, Any] = {
            "global_start": global_start,
            "global_end": global_end,
            "freq": freq,
        }
        if intelligent_chunking:
            overrides["access_pattern"] = access_pattern

        def time_chunked(scanned: Any, settings: ConvertConfig) -> ConvertConfig:
            """Return the settings with a time chunk fit for parallel write_region calls."""
            dim = settings.concat_dim
            if dim in (settings.chunks or {}):
                return settings  # the user's chunk wins
            if not intelligent_chunking:
                settings = settings.model_copy(update={"access_pattern": "balanced"})
            first = build_plan(scanned, settings)
            series = [v for v in first.variables.values() if v.series]
            steps = len(first.axis)
            if not series or steps <= 1:
                return settings
            lengths = sorted(len(f.labels) for f in scanned.files)
            per_file = max(1, max(set(lengths), key=lengths.count))  # the commonest
            largest = max(series, key=lambda v: v.raw_bytes)
            row = max(1, largest.raw_bytes // max(1, largest.shape[largest.dims.index(dim)]))
            files_cap = 1
            if intelligent_chunking:
                files_cap = max(1, steps // 4 // per_file)  # at least ~4 time chunks
            floor_files = -(-(2**20) // (row * per_file))  # files for a 1 MiB chunk row
            cap = per_file * max(files_cap, floor_files)
            ct = first.time_chunk
            if ct >= steps and cap >= steps:
                return settings  # a small array: one chunk
            if ct >= per_file:
                ct -= ct % per_file
            else:
                ct = max(d for d in range(1, ct + 1) if per_file % d == 0)
            ct = min(ct, cap, steps)
            chunks = {**(settings.chunks or {}), dim: max(1, ct)}
            return settings.model_copy(update={"chunks": chunks})

        try:
            settings = self.config.to_convert_config(**overrides)
            if _many_files(template_dataset):
                # The axis is the union of the files' labels (monthly, irregular axes).
                scanned = scan_inputs(template_dataset, settings)  # type: ignore[arg-type]
                plan = build_plan(
                    scanned,
                    time_chunked(scanned, settings),
                    object_store=is_object_store(os.fspath(output_path)),
                )
                store = open_store(
                    os.fspath(output_path),
                    mode="a",
                    storage_options=settings.target_storage_options,
                )
                create_template_from_plan(
                    plan,
                    store,
                    overwrite=overwrite,
                    engine=settings.engine,
                    storage_options=settings.storage_options,
                )
                return
            with self._template(template_dataset, settings) as (ds, name):
                scanned = scan_template(ds, name, settings)
                plan = build_plan(
                    scanned,
                    time_chunked(scanned, settings),
                    object_store=is_object_store(os.fspath(output_path)),
                )
                store = open_store(
                    os.fspath(output_path),
                    mode="a",
                    storage_options=settings.target_storage_options,
                )
                static = {
                    n: ds[n].variable
                    for n in plan.variables
                    if n in ds and settings.concat_dim not in ds[n].dims
                }
                create_template_from_plan(plan, store, overwrite=overwrite, static=static)
                if compute:
                    ArchiveWriter(store).write_dataset(ds, name, ReadOptions())
        except ZarrlakeError as exc:
            raise _conversion_error(exc) from exc

    @staticmethod
    @contextlib.contextmanager
    def _template(
        template: xr.Dataset | str | os.PathLike[str], settings: ConvertConfig
    ) -> Iterator[tuple[xr.Dataset, str]]:
        if isinstance(template, xr.Dataset):
            yield template, "the template dataset"
            return
        path = os.fspath(template)
        with open_file_dataset(
            path, engine=settings.engine, storage_options=settings.storage_options
        ) as ds:
            yield ds, path

    def write_region(
        self,
        input_file: str | os.PathLike[str],
        zarr_path: str | os.PathLike[str],
        region: Mapping[str, slice] | None = None,
    ) -> WriteStats:
        """Write one file into its region of a template (found by exact label matching).

        Parameters
        ----------
        input_file
            The NetCDF/HDF5 file.
        zarr_path
            The archive (made by :meth:`create_template` or ``convert run``).
        region
            ``{"time": slice(a, b)}`` to place the file explicitly.

        Returns
        -------
        WriteStats
            What was written.

        Raises
        ------
        ConversionError
            When the file does not fit the archive (naming the file and the cause).
        RetryLimitExceededError
            When reading kept failing, or the written values kept differing from the
            file after ``retries_on_missing`` rewrites.
        """
        path = os.fspath(input_file)
        read = ReadOptions(
            storage_options=self.config.storage_options, retries=self.config.retries_on_missing
        )
        try:
            writer = ArchiveWriter(os.fspath(zarr_path), self.config.target_storage_options)
            stats = writer.write_file(path, read, region)
            check = self._check_vars(writer) if self.config.retries_on_missing else []
            for _ in range(self.config.retries_on_missing):
                if not check or not self._missing(
                    writer, path, region, check, self.config.storage_options
                ):
                    return stats
                stats = writer.write_file(path, read, region)
            if check and self._missing(writer, path, region, check, self.config.storage_options):
                raise RetryLimitExceededError(
                    f"values of {path} are still missing from {zarr_path} after "
                    f"{self.config.retries_on_missing} rewrites",
                    subject=path,
                )
            return stats
        except ZarrlakeError as exc:
            raise _conversion_error(exc) from exc

    @staticmethod
    def _missing(
        writer: ArchiveWriter,
        path: str,
        region: Mapping[str, slice] | None,
        names: list[str],
        storage_options: Mapping[str, Any] | None = None,
    ) -> bool:
        """Whether any written step reads back as missing where the file has data."""
        with open_file_dataset(path, storage_options=storage_options) as ds:
            positions = writer.region_positions(ds, path, region)
            for name in names:
                source, values = writer.read_back(ds, name, positions)
                both_float = source.dtype.kind == "f" and values.dtype.kind == "f"
                if both_float and np.any(np.isnan(values) & ~np.isnan(source)):
                    return True
        return False

    def convert(
        self,
        inputs: str | Iterable[str],
        output_path: str | os.PathLike[str],
        **options: Any,
    ) -> ConvertResult:
        """Convert files into one archive (``zarrlake.convert.run`` with this config)."""
        try:
            return run_conversion(
                inputs, os.fspath(output_path), self.config.to_convert_config(), **options
            )
        except ZarrlakeError as exc:
            raise _conversion_error(exc) from exc
