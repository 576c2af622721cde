"""save_batch of a well: every option is used or refused by name, before anything is written."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from zarrlake.backends import ZarrBackend
from zarrlake.errors import InvalidInputError

WELL = {"row": "B", "col": 3, "n_fields": 1, "n_channels": 2, "n_z": 1}


def _images(shape: tuple[int, ...] = (8, 8)) -> list[np.ndarray]:
    return [np.full(shape, i, dtype=np.uint16) for i in range(2)]


def _paths(plate: Path) -> list[Path]:
    return [plate / f"B03_c{c}.tif" for c in range(2)]


@pytest.mark.parametrize(
    ("option", "message", "hint"),
    [
        ("channel_name", "does not take the option channel_name", "did you mean channel_names"),
        ("pixel_size_um", "does not take the option pixel_size_um", "use pixel_size"),
        ("scaler", "does not take the option scaler", "use pyramid"),
        ("masks", "does not take the option masks", "use labels"),
        ("lables", "does not take the option lables", "did you mean labels"),
        ("n_field", "does not take the option n_field", "did you mean n_fields"),
        ("compressor", "does not take the option compressor", "ZarrConfig"),
        ("chunks", "does not take the option chunks", "ZarrConfig"),
    ],
)
def test_unknown_well_options_are_refused_by_name(
    tmp_path: Path, option: str, message: str, hint: str
) -> None:
    plate = tmp_path / "plate.zarr"
    with pytest.raises(InvalidInputError, match=message) as raised:
        ZarrBackend().save_batch(_images(), _paths(plate), **WELL, **{option: ["x"]})
    assert raised.value.subject == option
    assert hint in (raised.value.hint or "")
    assert not plate.exists()


@pytest.mark.parametrize(
    ("options", "subject", "message"),
    [
        ({"n_fields": 0}, "n_fields", "n_fields=0 is not a positive whole number"),
        ({"n_z": "two"}, "n_z", "n_z='two' is not a positive whole number"),
        ({"n_channels": 2.0}, "n_channels", "n_channels=2.0 is not a positive whole number"),
        ({"overwrite": "yes"}, "overwrite", "overwrite='yes' is not True or False"),
    ],
)
def test_bad_well_option_values_are_refused(
    tmp_path: Path, options: dict[str, Any], subject: str, message: str
) -> None:
    plate = tmp_path / "plate.zarr"
    with pytest.raises(InvalidInputError, match=message) as raised:
        ZarrBackend().save_batch(_images(), _paths(plate), **{**WELL, **options})
    assert raised.value.subject == subject
    assert not plate.exists()


def test_well_options_without_row_and_col_are_refused(tmp_path: Path) -> None:
    plate = tmp_path / "plate.zarr"
    with pytest.raises(InvalidInputError, match="n_channels applies to a well") as raised:
        ZarrBackend().save_batch(_images(), _paths(plate), n_channels=2)
    assert raised.value.subject == "n_channels"
    assert not plate.exists()


def test_supported_spellings_still_work(tmp_path: Path) -> None:
    plate = tmp_path / "plate.zarr"
    backend = ZarrBackend()
    backend.save_batch(_images(), _paths(plate), **{**WELL, "n_channels": "2"}, chunk_name="B03")
    backend.save_batch(_images(), _paths(plate), **WELL, overwrite=np.bool_(True))
    np.testing.assert_array_equal(backend.load(plate / "B03_c1.tif"), _images()[1])


def test_a_3d_image_is_named_with_its_shape(tmp_path: Path) -> None:
    plate = tmp_path / "plate.zarr"
    images = [np.zeros((2, 8, 8), np.uint16), np.zeros((8, 8), np.uint16)]
    with pytest.raises(InvalidInputError, match=r"B03_c0\.tif is 3-D, shape \(2, 8, 8\)"):
        ZarrBackend().save_batch(images, _paths(plate), **WELL)
    odd = [np.zeros((8, 8), np.uint16), np.zeros((8, 9), np.uint16)]
    with pytest.raises(
        InvalidInputError,
        match=r"B03_c1\.tif is \(8, 9\) uint16; the well's first image B03_c0\.tif is \(8, 8\)",
    ):
        ZarrBackend().save_batch(odd, _paths(plate), **WELL)
    assert not plate.exists()
