"""Settings of the Zarr backend (polystore's ``ZarrConfig`` names, validated)."""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from zarrlake.encoding import CompressionSpec, ZarrFormat, parse_compression
from zarrlake.txn import LockOptions

__all__ = ["PLATE_SIZES", "ZarrChunkStrategy", "ZarrCompressor", "ZarrConfig"]

# standard microtiter plates: wells -> (rows, columns)
PLATE_SIZES: dict[int, tuple[int, int]] = {
    6: (2, 3),
    12: (3, 4),
    24: (4, 6),
    48: (6, 8),
    96: (8, 12),
    384: (16, 24),
    1536: (32, 48),
}


class ZarrCompressor(StrEnum):
    """Compressor names of the original ``ZarrConfig``; each stands for a compression spec."""

    BLOSC = "blosc"
    ZLIB = "zlib"
    LZ4 = "lz4"
    ZSTD = "zstd"
    NONE = "none"

    def spec(self, level: int | None = None) -> CompressionSpec:
        """Return the foundation's compression spec for this name and ``level``.

        ``BLOSC`` is Blosc with LZ4 inside and byte shuffle (fast to read back), ``ZLIB``
        is the gzip codec (zlib's format with a header; Zarr 3 has no bare zlib codec).
        """
        base = {
            ZarrCompressor.BLOSC: "blosc:lz4",
            ZarrCompressor.ZLIB: "gzip",
            ZarrCompressor.LZ4: "lz4",
            ZarrCompressor.ZSTD: "zstd",
            ZarrCompressor.NONE: "none",
        }[self]
        if level is None or self is ZarrCompressor.NONE:
            return parse_compression(base)
        if self is ZarrCompressor.BLOSC:
            return parse_compression(f"{base}:{level}:shuffle")
        return parse_compression(f"{base}:{level}")

    def create_compressor(self, level: int | None = None, shuffle: bool = True) -> Any:
        """Return a numcodecs codec (Zarr 2), or None for ``NONE`` (the original's method)."""
        codecs = self.spec(level).codecs(2)
        return codecs[0] if codecs else None


class ZarrChunkStrategy(StrEnum):
    """How a well's images are cut into stored chunks.

    ``WELL``: one chunk per field of view (all channels and z-planes of the field; NGFF
    keeps fields as separate images, so a well is one chunk per field). ``FILE``: one
    chunk per image plane (per virtual file). ``AUTO``: on Zarr 3, plane chunks inside
    one shard per field (one stored object per field, single planes still readable
    alone); on Zarr 2, ``WELL`` up to 64 MiB per field, ``FILE`` above.
    """

    WELL = "well"
    FILE = "file"
    AUTO = "auto"


class ZarrConfig(BaseModel):
    """Settings of :class:`~zarrlake.backends.ZarrBackend`.

    Examples
    --------
    >>> ZarrConfig(compressor=ZarrCompressor.ZSTD, compression_level=5).compression_spec()
    CompressionSpec(method='zstd', level=5, cname=None, shuffle=None)
    """

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    compressor: ZarrCompressor = Field(
        ZarrCompressor.BLOSC,
        description="compressor name (blosc, zlib, lz4, zstd, none); blosc is Blosc-LZ4 "
        "with byte shuffle: on microscopy images it stores less than zstd and reads 2x faster",
    )
    compression_level: int | None = Field(
        None, description="level for the compressor (default: the codec's, blosc 5)"
    )
    compression: str | None = Field(
        None,
        description="a compression spec such as 'blosc:zstd:5:bitshuffle'; overrides compressor",
    )
    chunk_strategy: ZarrChunkStrategy = Field(
        ZarrChunkStrategy.AUTO, description="well, file or auto (see ZarrChunkStrategy)"
    )
    ngff_version: Literal["0.5", "0.4"] = Field(
        "0.5", description="OME-NGFF version of plates: 0.5 on Zarr 3, 0.4 on Zarr 2"
    )
    zarr_format: ZarrFormat | None = Field(
        None, description="Zarr format of new hierarchies (default: the NGFF version's)"
    )
    plate_size: int | None = Field(
        None,
        description="wells of the plate (6, 12, 24, 48, 96, 384, 1536); default: the "
        "smallest of 96, 384, 1536 that holds the wells written, grown as wells arrive",
    )
    plate_name: str | None = Field(None, description="name written into plate metadata")
    acquisition_name: str = Field("acquisition 0", description="name of acquisition 0")
    storage_options: dict[str, Any] = Field(
        default_factory=dict, description="fsspec options for object-store URLs"
    )
    lock: LockOptions = Field(
        default_factory=lambda: LockOptions(timeout=600.0, poll_interval=0.02),
        description="how writers of one plate take its lock",
    )

    @field_validator("compression")
    @classmethod
    def _valid_spec(cls, value: str | None) -> str | None:
        if value is not None:
            parse_compression(value)
        return value

    @field_validator("plate_size")
    @classmethod
    def _standard_plate(cls, value: int | None) -> int | None:
        if value is not None and value not in PLATE_SIZES:
            sizes = ", ".join(str(size) for size in PLATE_SIZES)
            raise ValueError(f"plate_size {value} is not a standard plate ({sizes})")
        return value

    @model_validator(mode="after")
    def _format_matches_ngff(self) -> ZarrConfig:
        wanted = 3 if self.ngff_version == "0.5" else 2
        if self.zarr_format is not None and self.zarr_format != wanted:
            raise ValueError(
                f"OME-NGFF {self.ngff_version} needs Zarr format {wanted}, not "
                f"{self.zarr_format}; drop zarr_format or change ngff_version"
            )
        return self

    @property
    def format(self) -> ZarrFormat:
        """The Zarr format of new hierarchies."""
        return self.zarr_format or (3 if self.ngff_version == "0.5" else 2)

    def compression_spec(self) -> CompressionSpec:
        """Return the compression spec arrays are written with."""
        if self.compression is not None:
            return parse_compression(self.compression)
        return self.compressor.spec(self.compression_level)
