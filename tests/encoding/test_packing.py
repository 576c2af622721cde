from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import StoreTarget
from zarrlake.encoding import choose_packing, packing_from_attrs
from zarrlake.errors import InvalidInputError, OutOfRangeError


@pytest.mark.parametrize("dtype", ["int8", "int16", "int32"])
def test_parameters_follow_the_cf_rule(dtype: str) -> None:
    bits = np.dtype(dtype).itemsize * 8
    packing = choose_packing(-10.0, 30.0, dtype, unpacked_dtype="float64")
    assert packing.scale_factor == pytest.approx(40.0 / (2**bits - 2))
    assert packing.add_offset == 10.0
    assert packing.fill_value == -(2 ** (bits - 1))
    codes = packing.pack(np.array([-10.0, 30.0]))
    assert list(codes) == [
        -(2 ** (bits - 1) - 1),
        2 ** (bits - 1) - 1,
    ]  # the fill code is never used


@pytest.mark.parametrize("dtype", ["int8", "int16", "int32"])
def test_error_bound_float64(dtype: str) -> None:
    packing = choose_packing(200.0, 330.0, dtype, unpacked_dtype="float64")
    values = np.linspace(200.0, 330.0, 200_001)
    error = np.abs(packing.unpack(packing.pack(values)) - values).max()
    assert error <= packing.max_abs_error * (1 + 1e-9)
    assert error > packing.max_abs_error * 0.9  # the bound is tight, not vacuous


@pytest.mark.parametrize("dtype", ["int8", "int16"])
def test_error_bound_float32(dtype: str) -> None:
    packing = choose_packing(200.0, 330.0, dtype, unpacked_dtype="float32")
    values = np.linspace(200.0, 330.0, 200_001).astype("float32")
    decoded = packing.unpack(packing.pack(values))
    assert decoded.dtype == np.float32
    error = np.abs(decoded.astype("float64") - values.astype("float64")).max()
    # half a step, plus the float32 rounding of the decoded value
    assert error <= packing.max_abs_error + np.spacing(np.float32(330.0))


@settings(max_examples=200, deadline=None)
@given(
    low=st.floats(-1e6, 1e6),
    width=st.floats(1e-3, 1e6),
    fraction=st.lists(st.floats(0, 1), min_size=1, max_size=50),
    dtype=st.sampled_from(["int8", "int16", "int32"]),
)
def test_round_trip_law(low: float, width: float, fraction: list[float], dtype: str) -> None:
    high = low + width
    packing = choose_packing(low, high, dtype, unpacked_dtype="float64")
    values = np.clip(low + np.array(fraction) * width, low, high)
    error = np.abs(packing.unpack(packing.pack(values)) - values)
    assert (error <= packing.max_abs_error * (1 + 1e-6) + 1e-9 * max(abs(low), abs(high))).all()


def test_nan_is_fill_value_both_ways() -> None:
    packing = choose_packing(0, 1, "int16")
    codes = packing.pack(np.array([0.5, np.nan]))
    assert codes[1] == packing.fill_value == -32768
    assert np.isnan(packing.unpack(codes)[1])


def test_out_of_range_error_names_variable_and_file() -> None:
    packing = choose_packing(200, 330, "int16")
    with pytest.raises(OutOfRangeError) as info:
        packing.pack(np.array([250.0, 180.2, 340.1, np.nan]), name="t2m", where="jan.nc")
    message = str(info.value)
    assert "'t2m'" in message and "jan.nc" in message
    assert "2 value(s)" in message and "180.2" in message and "340.1" in message
    assert info.value.subject == "t2m"


def test_clip_and_mask_policies() -> None:
    packing = choose_packing(0, 10, "int16", unpacked_dtype="float64")
    values = np.array([-5.0, 5.0, 15.0])
    clipped = packing.unpack(packing.pack(values, policy="clip"))
    np.testing.assert_allclose(clipped, [0, 5, 10], atol=packing.max_abs_error)
    masked = packing.unpack(packing.pack(values, policy="mask"))
    assert np.isnan(masked[0]) and np.isnan(masked[2]) and masked[1] == pytest.approx(5)


def test_unknown_policy() -> None:
    with pytest.raises(InvalidInputError, match="out-of-range policy 'wrap'"):
        choose_packing(0, 1).pack(np.array([0.5]), policy="wrap")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("low", "high", "dtype", "match"),
    [
        (1, 1, "int16", "empty or not finite"),
        (2, 1, "int16", "empty or not finite"),
        (0, np.inf, "int16", "empty or not finite"),
        (0, 1, "uint16", "cannot pack into 'uint16'"),
        (0, 1, 12, "cannot pack into 12"),
    ],
)
def test_bad_packing_requests(low: float, high: float, dtype: str | int, match: str) -> None:
    with pytest.raises(InvalidInputError, match=match):
        choose_packing(low, high, dtype, name="sst")


def test_bits_are_accepted() -> None:
    assert choose_packing(0, 1, 8).dtype == "int8"


def test_range_from_attributes() -> None:
    assert packing_from_attrs({"units": "K"}) is None
    assert packing_from_attrs({"valid_min": 1, "valid_max": 2}).valid_max == 2.0
    assert packing_from_attrs({"valid_range": [5, 7]}).valid_min == 5.0


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_xarray_round_trip_through_zarr(store_target: StoreTarget, zarr_format: int) -> None:
    """Packing encodings written by xarray decode within the bound on every store."""
    rng = np.random.default_rng(1)
    values = rng.uniform(250, 300, (6, 5, 4)).astype("float32")
    values[0, 0, 0] = np.nan
    ds = xr.Dataset({"t": (("time", "y", "x"), values)})
    packing = {"t": choose_packing(240, 310, "int16")}
    encoding = {"t": packing["t"].encoding()}
    ds.to_zarr(
        store_target.open("a"), encoding=encoding, zarr_format=zarr_format, consolidated=True
    )
    back = xr.open_zarr(store_target.open("r"), consolidated=True)["t"].values
    assert np.isnan(back[0, 0, 0])
    mask = ~np.isnan(values)
    assert np.abs(back[mask] - values[mask]).max() <= packing["t"].max_abs_error + 3e-5


def test_policy_names_file_and_keeps_input() -> None:
    values = np.array([1.0, 99.0])
    packing = choose_packing(0, 10)
    with pytest.raises(OutOfRangeError, match="'t' in in.nc"):
        packing.check_range(values, name="t", where="in.nc")
    clipped = packing.check_range(values, policy="clip", name="t")
    assert clipped.tolist() == [1.0, 10.0]
    assert values.tolist() == [1.0, 99.0]  # the input is not modified
