"""One packing settings model for convert and append: spellings and where the range comes from."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from zarrlake.encoding import PackingSpec
from zarrlake.errors import InvalidInputError


@pytest.mark.parametrize(
    ("given", "bits", "dtype"),
    [
        ({}, 16, "int16"),
        ({"bits": 8}, 8, "int8"),
        ({"dtype": "int32"}, 32, "int32"),
        ({"bits": 8, "dtype": "int8"}, 8, "int8"),
    ],
)
def test_bits_and_dtype_are_two_spellings_of_one_setting(
    given: dict[str, object], bits: int, dtype: str
) -> None:
    spec = PackingSpec.model_validate(given)
    assert (spec.bits, spec.dtype) == (bits, dtype)
    assert spec.resolve({}, data_range=(0.0, 1.0)).dtype == dtype


@pytest.mark.parametrize(
    ("given", "match"),
    [
        ({"bits": 8, "dtype": "int16"}, "bits=8 and dtype='int16' disagree"),
        ({"valid_min": 0.0}, "give both valid_min and valid_max"),
        ({"bits": 12}, "bits"),
        ({"dtype": "uint16"}, "dtype"),
        ({"margin": -0.1}, "margin"),
        ({"scale": 2}, "scale"),
    ],
)
def test_bad_settings_are_refused_by_name(given: dict[str, object], match: str) -> None:
    with pytest.raises(ValidationError, match=match):
        PackingSpec.model_validate(given)


def test_a_given_range_wins_over_declared_attributes_and_data() -> None:
    spec = PackingSpec(valid_min=-5.0, valid_max=5.0)
    packing = spec.resolve({"valid_range": [0, 100]}, data_range=(1.0, 2.0))
    assert (packing.valid_min, packing.valid_max) == (-5.0, 5.0)


@pytest.mark.parametrize(
    "attrs", [{"valid_range": [0.0, 100.0]}, {"valid_min": 0.0, "valid_max": 100.0}]
)
def test_declared_attributes_win_over_the_data(attrs: dict[str, object]) -> None:
    packing = PackingSpec(margin=0.5).resolve(attrs, data_range=(10.0, 20.0))
    assert (packing.valid_min, packing.valid_max) == (0.0, 100.0)


def test_a_data_range_is_widened_by_the_margin_on_each_side() -> None:
    packing = PackingSpec(margin=0.25).resolve({}, data_range=(10.0, 20.0))
    assert (packing.valid_min, packing.valid_max) == (7.5, 22.5)


def test_a_constant_field_still_gets_a_non_empty_range() -> None:
    packing = PackingSpec().resolve({}, data_range=(3.0, 3.0))
    assert (packing.valid_min, packing.valid_max) == (3.0, 4.0)


def test_no_range_at_all_is_an_error_naming_the_variable_and_key() -> None:
    with pytest.raises(InvalidInputError, match="variable 'sst': packing needs a fixed range") as e:
        PackingSpec().resolve({}, name="sst", where="variables.sst.encoding.packing")
    assert e.value.subject == "variables.sst.encoding.packing"
