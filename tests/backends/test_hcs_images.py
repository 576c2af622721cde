"""Fields as viewers want them: pyramid levels, named coloured channels, physical scale.

Checked with independent readers: ome-zarr-py's Reader (what napari's plugin uses) and
ome_zarr_models' image and plate models, for NGFF 0.5 and 0.4.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import zarr

from zarrlake.backends import ZarrBackend, ZarrConfig
from zarrlake.errors import InvalidInputError

CHANNELS, PLANES = 3, 2


def _images(shape: tuple[int, int], seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [
        rng.integers(100 * (i + 1), 4000, size=shape, dtype=np.uint16)
        for i in range(CHANNELS * PLANES)
    ]


def _save(backend: ZarrBackend, plate: Path, images: list[np.ndarray], **options: Any) -> None:
    backend.save_batch(
        images,
        [plate / f"B03_{i}.tif" for i in range(len(images))],
        n_fields=1,
        n_channels=CHANNELS,
        n_z=PLANES,
        row="B",
        col=3,
        **options,
    )


@pytest.mark.parametrize("ngff", ["0.5", "0.4"])
def test_viewers_see_levels_channels_and_scale(tmp_path: Path, ngff: str) -> None:
    plate = tmp_path / "plate.zarr"
    backend = ZarrBackend(ZarrConfig(ngff_version=ngff))
    images = _images((600, 520))
    _save(
        backend,
        plate,
        images,
        channel_names=["DAPI", "GFP", "RFP"],
        pixel_size=0.65,
        z_spacing=2.0,
        unit="um",
    )
    from ome_zarr.io import parse_url
    from ome_zarr.reader import Reader

    node = next(iter(Reader(parse_url(str(plate / "B" / "03" / "0")))()))
    # halved until the image fits a 256 px tile: 600 -> 300 -> 150
    assert [level.shape for level in node.data] == [
        (CHANNELS, PLANES, 600, 520),
        (CHANNELS, PLANES, 300, 260),
        (CHANNELS, PLANES, 150, 130),
    ]
    meta = node.metadata
    assert meta["channel_names"] == ["DAPI", "GFP", "RFP"]
    assert [t[0]["scale"] for t in meta["coordinateTransformations"]] == [
        [1.0, 2.0, 0.65, 0.65],
        [1.0, 2.0, 1.3, 1.3],
        [1.0, 2.0, 2.6, 2.6],
    ]
    assert [a.get("unit") for a in meta["axes"]] == [None, *["micrometer"] * 3]
    stack = np.stack(images).reshape(CHANNELS, PLANES, 600, 520)
    assert meta["contrast_limits"] == [
        [float(stack[c].min()), float(stack[c].max())] for c in range(CHANNELS)
    ]
    assert len({tuple(map(tuple, c)) for c in meta["colormap"]}) == CHANNELS  # not all grey

    # level 1 is a smoothed half of level 0, in the data's dtype
    level1 = np.asarray(node.data[1])
    assert level1.dtype == np.uint16
    assert abs(float(level1.mean()) - float(stack.mean())) < 0.01 * float(stack.mean())

    # the plate view (a grid of fields) offers the same levels, for a fast overview
    plate_node = next(iter(Reader(parse_url(str(plate)))()))
    assert [level.shape[-2:] for level in plate_node.data] == [
        (8 * 600, 12 * 520),
        (8 * 300, 12 * 260),
        (8 * 150, 12 * 130),
    ]

    group = zarr.open_group(plate, mode="r")
    if ngff == "0.5":
        from ome_zarr_models.v05.hcs import HCS
        from ome_zarr_models.v05.image import Image
    else:
        from ome_zarr_models.v04.hcs import HCS
        from ome_zarr_models.v04.image import Image
    HCS.from_zarr(group)
    Image.from_zarr(group["B/03/0"])
    # virtual files still read the full resolution
    np.testing.assert_array_equal(backend.load(plate / "B03_5.tif"), images[5])


@pytest.mark.parametrize(("pyramid", "levels"), [("none", 1), (2, 2), (30, 11), ("auto", 3)])
def test_pyramid_levels_are_configurable(tmp_path: Path, pyramid: Any, levels: int) -> None:
    plate = tmp_path / "plate.zarr"
    _save(ZarrBackend(), plate, _images((600, 300)), pyramid=pyramid)
    field = zarr.open_group(plate / "B" / "03" / "0", mode="r")
    datasets = dict(field.attrs)["ome"]["multiscales"][0]["datasets"]
    assert [d["path"] for d in datasets] == [str(i) for i in range(levels)]
    assert sorted(field.array_keys()) == sorted(str(i) for i in range(levels))
    # 30 levels stop at 1 px (600 -> 300 -> ... -> 1: 11 levels); a small image keeps
    # one level; channels get default names and no unit without sizes
    small = tmp_path / "small.zarr"
    _save(ZarrBackend(), small, _images((32, 48)))
    attrs = dict(zarr.open_group(small / "B" / "03" / "0", mode="r").attrs)["ome"]
    assert len(attrs["multiscales"][0]["datasets"]) == 1
    assert [c["label"] for c in attrs["omero"]["channels"]] == [
        "channel 0",
        "channel 1",
        "channel 2",
    ]
    assert "unit" not in attrs["multiscales"][0]["axes"][2]


def test_replacing_a_well_drops_levels_it_no_longer_has(tmp_path: Path) -> None:
    plate = tmp_path / "plate.zarr"
    backend = ZarrBackend()
    _save(backend, plate, _images((600, 520)))
    _save(backend, plate, _images((600, 520), seed=1), pyramid="none", overwrite=True)
    field = zarr.open_group(plate / "B" / "03" / "0", mode="r")
    assert sorted(field.array_keys()) == ["0"]
    assert not (plate / "B" / "03" / "0" / "1").exists()
    from ome_zarr_models.v05.hcs import HCS
    from ome_zarr_models.v05.image import Image

    HCS.from_zarr(zarr.open_group(plate, mode="r"))
    Image.from_zarr(field)
    np.testing.assert_array_equal(backend.load(plate / "B03_2.tif"), _images((600, 520), 1)[2])


@pytest.mark.parametrize(
    ("options", "subject"),
    [
        ({"pixel_size": -1}, "pixel_size"),
        ({"pixel_size": (0.5, 0.5, 2.0)}, "pixel_size"),
        ({"z_spacing": "2"}, "z_spacing"),
        ({"unit": "parsecs"}, "unit"),
        ({"channel_names": ["DAPI", "GFP"]}, "channel_names"),
        ({"channel_names": "DAPI"}, "channel_names"),
        ({"channel_colors": ["red", "00FF00", "0000FF"]}, "channel_colors"),
        ({"pyramid": "yes"}, "pyramid"),
        ({"pyramid": 0}, "pyramid"),
    ],
)
def test_bad_image_options_are_refused(
    tmp_path: Path, options: dict[str, Any], subject: str
) -> None:
    plate = tmp_path / "plate.zarr"
    with pytest.raises(InvalidInputError, match=f"save_batch option {subject}=") as raised:
        _save(ZarrBackend(), plate, _images((16, 16)), **options)
    assert raised.value.subject == subject
    assert not plate.exists()


def test_channel_colours_are_written_as_given(tmp_path: Path) -> None:
    plate = tmp_path / "plate.zarr"
    _save(ZarrBackend(), plate, _images((16, 16)), channel_colors=["#ff00ff", "00ff00", "FFFFFF"])
    omero = dict(zarr.open_group(plate / "B" / "03" / "0", mode="r").attrs)["ome"]["omero"]
    assert [c["color"] for c in omero["channels"]] == ["FF00FF", "00FF00", "FFFFFF"]
    window = omero["channels"][0]["window"]
    assert (window["min"], window["max"]) == (0.0, 65535.0)


def test_meta_validate_accepts_a_pyramid_plate(tmp_path: Path) -> None:
    from zarrlake.meta import validate

    plate = tmp_path / "plate.zarr"
    _save(ZarrBackend(), plate, _images((600, 520)), pixel_size=0.65)
    report = validate(plate, deep=True)
    assert report.valid, report.issues
    assert report.issues == []  # levels of one image may differ; the axes carry units
    # without a pixel size the axes have no unit: one note for the plate, no error
    bare = tmp_path / "bare.zarr"
    _save(ZarrBackend(ZarrConfig(ngff_version="0.4")), bare, _images((600, 520)))
    assert [(f.code, f.severity) for f in validate(bare).issues] == [("ZL172", "info")]
