from __future__ import annotations

import numpy as np
import pytest
import zarr

from tests.conftest import StoreTarget
from zarrlake.encoding import CompressionSpec, describe_codecs, parse_compression
from zarrlake.errors import InvalidInputError

SPECS = {
    "none": "none",
    "zstd:3": "zstd:3",
    "gzip:5": "gzip:5",
    "lz4": "lz4:1",
    "blosc:zstd:3": "blosc:zstd:3:shuffle",
    "blosc:lz4:5:bitshuffle": "blosc:lz4:5:bitshuffle",
    " BLOSC:ZSTD:3 ": "blosc:zstd:3:shuffle",
    "blosc": "blosc:zstd:5:shuffle",
    "zstd": "zstd:3",
}


@pytest.mark.parametrize(("spec", "canonical"), SPECS.items())
def test_canonical_form(spec: str, canonical: str) -> None:
    assert str(parse_compression(spec)) == canonical
    assert parse_compression(canonical) == parse_compression(spec)


@pytest.mark.parametrize("zarr_format", [2, 3])
@pytest.mark.parametrize(
    "spec", ["none", "zstd:3", "gzip:5", "lz4", "blosc:zstd:3", "blosc:lz4:5:bitshuffle"]
)
def test_spec_is_what_gets_stored(store_target: StoreTarget, spec: str, zarr_format: int) -> None:
    """Write a real array with the spec, reopen it, and read the stored codec back."""
    parsed = CompressionSpec.parse(spec)
    store = store_target.open("a")
    data = np.repeat(np.arange(100, dtype="float32"), 80)  # compressible by every codec
    array = zarr.create_array(
        store,
        name="x",
        shape=data.shape,
        chunks=(2000,),
        dtype="float32",
        zarr_format=zarr_format,
        **parsed.zarr_kwargs(zarr_format),
    )
    array[:] = data
    reopened = zarr.open_array(store_target.open("r"), path="x", mode="r")
    assert describe_codecs(reopened.compressors) == parsed
    np.testing.assert_array_equal(reopened[:], data)
    if parsed.method != "none":
        assert reopened.nbytes_stored() < data.nbytes / 2  # it really compressed


@pytest.mark.parametrize(
    ("spec", "match"),
    [
        ("snappy", "unknown compression spec 'snappy'"),
        ("blosc:zstd:high", "level 'high' is not an integer"),
        ("blosc:zstd:11", "level 11 is outside 0..9"),
        ("gzip:12", "level 12 is outside 0..9"),
        ("zstd:3:4", "at most 1 allowed"),
        ("blosc:zstd:3:shuffle:extra", "at most 3 allowed"),
        ("blosc:brotli:3", "unknown blosc compressor 'brotli'"),
        ("blosc:zstd:3:byteshuffle", "unknown shuffle 'byteshuffle'"),
        ("", "unknown compression spec ''"),
        ("none:1", "unknown compression spec"),
    ],
)
def test_bad_specs_are_errors_never_silent(spec: str, match: str) -> None:
    with pytest.raises(InvalidInputError, match=match) as info:
        parse_compression(spec)
    assert info.value.subject == "compression"


def test_non_string_spec() -> None:
    with pytest.raises(InvalidInputError, match="must be a string"):
        parse_compression(3)  # type: ignore[arg-type]


def test_none_means_no_compression_only_when_asked() -> None:
    assert parse_compression(None).codecs(3) == []
    assert parse_compression("none").zarr_kwargs(2) == {"compressors": None}


def test_unknown_format() -> None:
    with pytest.raises(InvalidInputError, match="zarr_format"):
        parse_compression("zstd").codecs(4)  # type: ignore[arg-type]


def test_describe_unknown_codec_is_readable() -> None:
    from zarr.codecs import Crc32cCodec

    assert describe_codecs([Crc32cCodec()]) == "Crc32cCodec"
