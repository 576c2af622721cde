"""Label images per field, and whole plates checked by independent OME-Zarr validators.

Validators: ome_zarr_models (HCS, Image, ImageLabel; 0.4 and 0.5), yaozarrs'
``validate_zarr_store`` (structure and metadata; its warnings count as failures here),
ome-zarr-py's Reader (what napari's plugin uses) and ``zarrlake.meta.validate``.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaozarrs
import zarr

from zarrlake.backends import ZarrBackend, ZarrConfig
from zarrlake.errors import InvalidInputError
from zarrlake.meta import validate

FIELDS, CHANNELS, PLANES = 2, 2, 2
SHAPE = (600, 520)  # three levels: 600, 300, 150


def _images(seed: int, planes: int = PLANES, shape: tuple[int, int] = SHAPE) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [
        rng.integers(0, 4000, size=shape, dtype=np.uint16)
        for _ in range(FIELDS * CHANNELS * planes)
    ]


def _cells(seed: int, planes: int = PLANES, shape: tuple[int, int] = SHAPE) -> np.ndarray:
    """Blocky segmentation-like labels (fields, z, y, x), 0 = background."""
    rng = np.random.default_rng(seed)
    coarse = rng.integers(0, 40, size=(FIELDS, planes, shape[0] // 20, shape[1] // 20))
    return np.kron(coarse, np.ones((1, 1, 20, 20), dtype=np.int64)).astype(np.uint32)


def _save(backend: ZarrBackend, plate: Path, row: str, col: int, seed: int, **options: Any) -> None:
    planes = options.pop("planes", PLANES)
    images = options.pop("images", None) or _images(seed, planes)
    backend.save_batch(
        images,
        [plate / f"{row}{col:02d}_{i}.tif" for i in range(len(images))],
        n_fields=FIELDS,
        n_channels=CHANNELS,
        n_z=planes,
        row=row,
        col=col,
        **options,
    )


def _models(ngff: str) -> tuple[Any, Any, Any]:
    if ngff == "0.5":
        from ome_zarr_models.v05.hcs import HCS
        from ome_zarr_models.v05.image import Image
        from ome_zarr_models.v05.image_label import ImageLabel
    else:
        from ome_zarr_models.v04.hcs import HCS
        from ome_zarr_models.v04.image import Image
        from ome_zarr_models.v04.image_label import ImageLabel
    return HCS, Image, ImageLabel


def _yaozarrs_accepts(path: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a SHOULD it reports fails the test too
        yaozarrs.validate_zarr_store(str(path))


@pytest.mark.parametrize("ngff", ["0.5", "0.4"])
def test_plates_with_pyramids_fields_and_labels_pass_every_validator(
    tmp_path: Path, ngff: str
) -> None:
    plate = tmp_path / "plate.zarr"
    backend = ZarrBackend(ZarrConfig(ngff_version=ngff))
    cells = _cells(1)
    nuclei = [(c % 7).astype(np.uint16) for c in _cells(2)]  # one array per field
    _save(backend, plate, "B", 3, 1, pixel_size=0.65, labels={"cells": cells, "nuclei": nuclei})
    _save(backend, plate, "A", 1, 2, pixel_size=0.65)  # no labels
    _save(backend, plate, "H", 12, 3, pyramid="none", labels={"cells": _cells(3)})  # no sizes

    hcs_model, image_model, label_model = _models(ngff)
    group = zarr.open_group(plate, mode="r")
    hcs_model.from_zarr(group)
    for well in ("A/01", "B/03", "H/12"):
        for field in range(FIELDS):
            image_model.from_zarr(group[f"{well}/{field}"])
    for name in ("cells", "nuclei"):
        label_model.from_zarr(group[f"B/03/1/labels/{name}"])
    label_model.from_zarr(group["H/12/0/labels/cells"])
    assert "labels" not in group["A/01/0"]

    _yaozarrs_accepts(plate)
    for field in ("B/03/0", "B/03/1", "H/12/0"):
        _yaozarrs_accepts(plate / field)

    # zarrlake's own validation: only the note that H12's axes carry no unit
    report = validate(plate, deep=True)
    assert [(f.code, f.severity) for f in report.issues] == [("ZL172", "info")]
    assert "H/12" in report.issues[0].message

    from ome_zarr.io import parse_url
    from ome_zarr.reader import Label, Labels, Multiscales, Reader

    nodes = list(Reader(parse_url(str(plate / "B" / "03" / "1")))())
    assert any(isinstance(spec, Labels) for node in nodes for spec in node.specs)
    label_nodes = {
        node.metadata["name"]: node
        for node in nodes
        if any(isinstance(spec, Label) for spec in node.specs)
    }
    assert sorted(label_nodes) == ["cells", "nuclei"]
    image = next(n for n in nodes if any(isinstance(s, Multiscales) for s in n.specs))
    cells_node = label_nodes["cells"]
    # as many levels as the field, of the same sizes, scales and units
    assert [level.shape for level in cells_node.data] == [
        (1, *level.shape[1:]) for level in image.data
    ]
    assert (
        cells_node.metadata["coordinateTransformations"]
        == (image.metadata["coordinateTransformations"])
    )
    assert [a.get("unit") for a in cells_node.metadata["axes"]] == [
        a.get("unit") for a in image.metadata["axes"]
    ]
    # nearest neighbour: level 0 as given, each level keeps existing label values only
    levels = [np.asarray(level) for level in cells_node.data]
    np.testing.assert_array_equal(levels[0], cells[1][np.newaxis])
    np.testing.assert_array_equal(levels[1], cells[1][np.newaxis, :, ::2, ::2])
    np.testing.assert_array_equal(levels[2], cells[1][np.newaxis, :, ::4, ::4])
    assert levels[2].dtype == np.uint32
    assert set(np.unique(levels[2])) <= set(np.unique(cells[1]))
    np.testing.assert_array_equal(np.asarray(label_nodes["nuclei"].data[0])[0], nuclei[1])

    attrs = dict(group["B/03/1/labels/cells"].attrs)
    image_label = attrs["ome"]["image-label"] if ngff == "0.5" else attrs["image-label"]
    assert image_label["source"] == {"image": "../../"}

    # the virtual files still read the field's pixels, not the labels
    images = _images(1)
    np.testing.assert_array_equal(backend.load(plate / "B03_7.tif"), images[7])


def test_label_shapes_accepted_per_field_and_per_well(tmp_path: Path) -> None:
    plate = tmp_path / "plate.zarr"
    backend = ZarrBackend()
    flat = _cells(4, planes=1)  # (fields, 1, y, x)
    # one (y, x) per field when the well has one plane, or (fields, y, x) for the well
    _save(backend, plate, "C", 2, 4, planes=1, labels={"a": list(flat[:, 0]), "b": flat[:, 0]})
    group = zarr.open_group(plate, mode="r")
    for name in ("a", "b"):
        np.testing.assert_array_equal(group[f"C/02/1/labels/{name}/0"][...], flat[1][np.newaxis])


def test_replacing_a_well_drops_labels_it_no_longer_has(tmp_path: Path) -> None:
    plate = tmp_path / "plate.zarr"
    backend = ZarrBackend()
    _save(backend, plate, "B", 3, 1, labels={"cells": _cells(1)})
    _save(backend, plate, "B", 3, 2, overwrite=True)
    assert not (plate / "B" / "03" / "0" / "labels").exists()
    _yaozarrs_accepts(plate)


@pytest.mark.parametrize(
    ("labels", "subject", "message"),
    [
        ([1, 2], "labels", "not a mapping"),
        ({"a/b": _cells(0)}, "labels['a/b']", "not a path segment"),
        ({".hidden": _cells(0)}, "labels['.hidden']", "not a path segment"),
        ({"cells": _cells(0).astype(np.float32)}, "labels['cells']", "hold integers"),
        ({"cells": _cells(0).astype(bool)}, "labels['cells']", "hold integers"),
        ({"cells": _cells(0)[:, :, :300]}, "labels['cells']", "the well is 2 fields"),
        ({"cells": list(_cells(0))[:1]}, "labels['cells']", "1 images for 2 fields"),
        ({"cells": [c[0] for c in _cells(0)]}, "labels['cells']", "of field 0"),
        (
            {"cells": [_cells(0)[0], _cells(0)[1].astype(np.uint8)]},
            "labels['cells']",
            "mixes dtypes",
        ),
    ],
)
def test_bad_labels_are_refused_and_change_nothing(
    tmp_path: Path, labels: Any, subject: str, message: str
) -> None:
    plate = tmp_path / "plate.zarr"
    with pytest.raises(InvalidInputError, match=message) as raised:
        _save(ZarrBackend(), plate, "B", 3, 0, labels=labels)
    assert raised.value.subject == subject
    assert not plate.exists()


def test_labels_without_a_well_are_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="applies to a well") as raised:
        ZarrBackend().save_batch([np.zeros((2, 2))], [tmp_path / "a.npy"], labels={})
    assert raised.value.subject == "labels"
