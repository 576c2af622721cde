"""One reading of packed variables for convert and append: ``packing_from_encoding``."""

from __future__ import annotations

import numpy as np

from zarrlake.encoding._packing import packing_from_encoding


def test_an_era5_style_int16_encoding() -> None:
    encoding = {
        "dtype": np.dtype("int16"),
        "scale_factor": 0.25,
        "add_offset": 1e5,
        "_FillValue": np.int16(-32767),
    }
    packing = packing_from_encoding(encoding, unpacked_dtype="float64")
    assert packing is not None
    assert (packing.dtype, packing.fill_value) == ("int16", -32767)
    assert (packing.valid_min, packing.valid_max) == (1e5 - 32767 * 0.25, 1e5 + 32767 * 0.25)
    codes = np.array([-20000, 0, 19999, -32767], dtype="int16")
    np.testing.assert_array_equal(packing.pack_in_range(packing.unpack(codes)), codes)


def test_missing_value_and_valid_range_attributes() -> None:
    encoding = {"dtype": "int8", "scale_factor": -0.5, "missing_value": -128}
    packing = packing_from_encoding(encoding, {"valid_min": -10.0, "valid_max": 10.0})
    assert packing is not None
    assert (packing.fill_value, packing.valid_min, packing.valid_max) == (-128, -10.0, 10.0)
    reversed_scale = packing_from_encoding(encoding)
    assert reversed_scale is not None and reversed_scale.valid_min < reversed_scale.valid_max


def test_not_packed() -> None:
    assert packing_from_encoding({"dtype": "float32"}) is None
    assert packing_from_encoding({"dtype": "uint8", "scale_factor": 0.1}) is None
    assert packing_from_encoding({"scale_factor": 0.1}) is None  # dtype unknown
