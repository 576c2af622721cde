"""Compression spec strings and the zarr codecs they stand for.

Grammar (case-insensitive, ``:``-separated)::

    none
    zstd[:LEVEL]                      LEVEL -7..22, default 3
    gzip[:LEVEL]                      LEVEL 0..9, default 6
    lz4[:ACCELERATION]                ACCELERATION 1..65537, default 1
    blosc[:CNAME[:CLEVEL[:SHUFFLE]]]  CNAME blosclz|lz4|lz4hc|zlib|zstd (default zstd),
                                      CLEVEL 0..9 (default 5),
                                      SHUFFLE noshuffle|shuffle|bitshuffle (default shuffle)

Anything else is an :class:`~zarrlake.errors.InvalidInputError` naming the spec and the
part at fault; a spec never silently becomes "no compression".

Round-trip law: for every valid spec ``s`` and format ``f``,
``describe_codecs(CompressionSpec.parse(s).codecs(f)) == CompressionSpec.parse(s)``.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, cast

import numcodecs
from zarr.codecs import BloscCodec, GzipCodec, ZstdCodec

from zarrlake.errors import InvalidInputError

__all__ = ["CompressionSpec", "ZarrFormat", "describe_codecs", "parse_compression"]

ZarrFormat = Literal[2, 3]
Method = Literal["none", "zstd", "gzip", "lz4", "blosc"]

_BLOSC_CNAMES = ("blosclz", "lz4", "lz4hc", "zlib", "zstd")
_SHUFFLES = ("noshuffle", "shuffle", "bitshuffle")
_NUMCODECS_SHUFFLE = {"noshuffle": 0, "shuffle": 1, "bitshuffle": 2}
_LEVELS: dict[str, tuple[int, int, int]] = {  # method -> (min, max, default)
    "zstd": (-7, 22, 3),
    "gzip": (0, 9, 6),
    "lz4": (1, 65537, 1),
    "blosc": (0, 9, 5),
}
_GRAMMAR = (
    "use none, zstd[:LEVEL], gzip[:LEVEL], lz4[:ACCELERATION] or "
    "blosc[:CNAME[:CLEVEL[:SHUFFLE]]], e.g. 'blosc:zstd:3' or 'blosc:lz4:5:bitshuffle'"
)


@dataclass(frozen=True)
class CompressionSpec:
    """A parsed compression spec.

    Attributes
    ----------
    method
        ``none``, ``zstd``, ``gzip``, ``lz4`` or ``blosc``.
    level
        Compression level (acceleration for lz4); ``None`` for ``none``.
    cname
        Blosc's inner compressor; ``None`` unless ``method == "blosc"``.
    shuffle
        Blosc's shuffle; ``None`` unless ``method == "blosc"``.
    """

    method: Method
    level: int | None = None
    cname: str | None = None
    shuffle: str | None = None

    @classmethod
    def parse(cls, spec: str | CompressionSpec | None) -> CompressionSpec:
        """Parse a spec string (``None`` means ``none``).

        Parameters
        ----------
        spec
            A spec string, or an already parsed spec.

        Returns
        -------
        CompressionSpec
            The parsed spec with defaults filled in.

        Raises
        ------
        InvalidInputError
            For an unknown method, a malformed or out-of-range part, or extra parts.
        """
        if spec is None:
            return cls("none")
        if isinstance(spec, CompressionSpec):
            return spec
        if not isinstance(spec, str):
            raise InvalidInputError(
                f"compression spec must be a string, got {type(spec).__name__} {spec!r}",
                subject="compression",
                hint=_GRAMMAR,
            )
        text = spec.strip().lower()
        parts = [p.strip() for p in text.split(":")]
        method, args = parts[0], parts[1:]
        if method == "none" and not args:
            return cls("none")
        if method in ("zstd", "gzip", "lz4"):
            _expect_at_most(spec, args, 1)
            return cls(method, level=_level(spec, method, args[0] if args else None))  # type: ignore[arg-type]
        if method == "blosc":
            _expect_at_most(spec, args, 3)
            cname = args[0] if args else "zstd"
            if cname not in _BLOSC_CNAMES:
                raise InvalidInputError(
                    f"compression spec {spec!r}: unknown blosc compressor {cname!r}",
                    subject="compression",
                    hint=f"blosc compressors are {', '.join(_BLOSC_CNAMES)}",
                )
            level = _level(spec, "blosc", args[1] if len(args) > 1 else None)
            shuffle = args[2] if len(args) > 2 else "shuffle"
            if shuffle not in _SHUFFLES:
                raise InvalidInputError(
                    f"compression spec {spec!r}: unknown shuffle {shuffle!r}",
                    subject="compression",
                    hint=f"shuffle is one of {', '.join(_SHUFFLES)}",
                )
            return cls("blosc", level=level, cname=cname, shuffle=shuffle)
        raise InvalidInputError(
            f"unknown compression spec {spec!r}", subject="compression", hint=_GRAMMAR
        )

    def __str__(self) -> str:
        if self.method == "none":
            return "none"
        if self.method == "blosc":
            return f"blosc:{self.cname}:{self.level}:{self.shuffle}"
        return f"{self.method}:{self.level}"

    def codecs(self, zarr_format: ZarrFormat) -> list[Any]:
        """Return the compressor codecs for ``zarr_format`` (empty for ``none``).

        Parameters
        ----------
        zarr_format
            2 (numcodecs codecs) or 3 (zarr v3 bytes-to-bytes codecs).

        Returns
        -------
        list
            Zero or one codec, ready for ``compressors=`` of ``zarr.create_array``.
        """
        _check_format(zarr_format)
        if self.method == "none":
            return []
        level = self.level if self.level is not None else _LEVELS[self.method][2]
        if zarr_format == 2:
            if self.method == "blosc":
                return [
                    numcodecs.Blosc(
                        cname=self.cname,
                        clevel=level,
                        shuffle=_NUMCODECS_SHUFFLE[self.shuffle or "shuffle"],
                    )
                ]
            if self.method == "zstd":
                return [numcodecs.Zstd(level=level)]
            if self.method == "gzip":
                return [numcodecs.GZip(level=level)]
            return [numcodecs.LZ4(acceleration=level)]
        if self.method == "blosc":
            return [
                BloscCodec(
                    cname=cast(Any, self.cname), clevel=level, shuffle=cast(Any, self.shuffle)
                )
            ]
        if self.method == "zstd":
            return [ZstdCodec(level=level)]
        if self.method == "gzip":
            return [GzipCodec(level=level)]
        from zarr.codecs.numcodecs import LZ4

        with warnings.catch_warnings():
            # zarr v3 has no core lz4 codec; numcodecs' portable one is the standard choice.
            warnings.simplefilter("ignore", UserWarning)
            return [LZ4(acceleration=level)]

    def zarr_kwargs(self, zarr_format: ZarrFormat) -> dict[str, Any]:
        """Return ``{"compressors": ...}`` for ``zarr.create_array`` or xarray encoding.

        Parameters
        ----------
        zarr_format
            2 or 3.

        Returns
        -------
        dict
            ``compressors`` set to ``None`` (no compression), one numcodecs codec
            (format 2) or a list of one v3 codec (format 3).
        """
        codecs = self.codecs(zarr_format)
        if not codecs:
            return {"compressors": None}
        if zarr_format == 2:
            return {"compressors": codecs[0]}
        return {"compressors": codecs}


def parse_compression(spec: str | CompressionSpec | None) -> CompressionSpec:
    """Parse a compression spec string; see :class:`CompressionSpec` for the grammar.

    Parameters
    ----------
    spec
        e.g. ``"blosc:zstd:3"``.

    Returns
    -------
    CompressionSpec
        The parsed spec.
    """
    return CompressionSpec.parse(spec)


def _check_format(zarr_format: object) -> None:
    if zarr_format not in (2, 3):
        raise InvalidInputError(
            f"unknown zarr_format {zarr_format!r}", subject="zarr_format", hint="use 2 or 3"
        )


def _expect_at_most(spec: str, args: list[str], count: int) -> None:
    if len(args) > count:
        raise InvalidInputError(
            f"compression spec {spec!r} has {len(args)} parts after the method, "
            f"at most {count} allowed",
            subject="compression",
            hint=_GRAMMAR,
        )


def _level(spec: str, method: str, text: str | None) -> int:
    low, high, default = _LEVELS[method]
    if text is None:
        return default
    try:
        level = int(text)
    except ValueError:
        raise InvalidInputError(
            f"compression spec {spec!r}: level {text!r} is not an integer",
            subject="compression",
            hint=f"{method} levels are integers {low}..{high}",
        ) from None
    if not low <= level <= high:
        raise InvalidInputError(
            f"compression spec {spec!r}: level {level} is outside {low}..{high}",
            subject="compression",
            hint=f"{method} levels are integers {low}..{high}",
        )
    return level


def describe_codecs(codecs: Sequence[Any]) -> CompressionSpec | str:
    """Turn an array's compressor codecs back into a spec, when one expresses them.

    Parameters
    ----------
    codecs
        ``array.compressors`` of a zarr array (format 2 or 3).

    Returns
    -------
    CompressionSpec or str
        The spec, or a readable description for codecs no spec covers (several
        compressors, or other codecs).
    """
    if not codecs:
        return CompressionSpec("none")
    if len(codecs) > 1:
        return " + ".join(_codec_label(c) for c in codecs)
    codec = codecs[0]
    if isinstance(codec, BloscCodec):
        shuffle = codec.shuffle.value if codec.shuffle is not None else "shuffle"
        return CompressionSpec("blosc", codec.clevel, codec.cname.value, shuffle)
    if isinstance(codec, numcodecs.Blosc):
        shuffle = {v: k for k, v in _NUMCODECS_SHUFFLE.items()}.get(codec.shuffle, "shuffle")
        return CompressionSpec("blosc", codec.clevel, codec.cname, shuffle)
    if isinstance(codec, ZstdCodec):
        return CompressionSpec("zstd", codec.level)
    if isinstance(codec, numcodecs.Zstd):
        return CompressionSpec("zstd", codec.level)
    if isinstance(codec, (GzipCodec, numcodecs.GZip)):
        return CompressionSpec("gzip", codec.level)
    if isinstance(codec, numcodecs.LZ4):
        return CompressionSpec("lz4", codec.acceleration)
    config = getattr(codec, "codec_config", None)
    if getattr(codec, "codec_name", None) == "numcodecs.lz4" and isinstance(config, dict):
        return CompressionSpec("lz4", int(config.get("acceleration", 1)))
    return _codec_label(codec)


def _codec_label(codec: Any) -> str:
    name = getattr(codec, "codec_id", None) or getattr(codec, "codec_name", None)
    return str(name or type(codec).__name__)
