"""Validation of OME-Zarr images: pyramid levels are one image, axes carry the units."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import zarr

from zarrlake.meta import repair, validate


def _image(
    root: zarr.Group,
    path: str,
    shapes: list[tuple[int, ...]],
    *,
    ngff: str,
    unit: str | None = "micrometer",
    listed: list[str] | None = None,
) -> None:
    """Write a multiscales image by hand (zarr only), one array per shape."""
    group = root.create_group(path)
    axes: list[dict[str, Any]] = [
        {"name": "c", "type": "channel"},
        {"name": "y", "type": "space"},
        {"name": "x", "type": "space"},
    ]
    if unit:
        axes[1]["unit"] = axes[2]["unit"] = unit
    for level, shape in enumerate(shapes):
        extra = {"dimension_names": ["c", "y", "x"][: len(shape)]} if ngff == "0.5" else {}
        group.create_array(str(level), shape=shape, dtype="u2", **extra)[...] = 1
    multiscales = [
        {
            "axes": axes,
            "datasets": [
                {
                    "path": name,
                    "coordinateTransformations": [
                        {"type": "scale", "scale": [1.0, 2.0**i, 2.0**i]}
                    ],
                }
                for i, name in enumerate(listed or [str(i) for i in range(len(shapes))])
            ],
            **({"version": ngff} if ngff == "0.4" else {}),
        }
    ]
    if ngff == "0.5":
        group.attrs["ome"] = {"version": "0.5", "multiscales": multiscales}
    else:
        group.attrs["multiscales"] = multiscales


def _store(tmp_path: Path, ngff: str) -> zarr.Group:
    return zarr.open_group(
        tmp_path / "images.zarr",
        mode="w",
        zarr_format=3 if ngff == "0.5" else 2,
        attributes={"title": "images"},
    )


@pytest.mark.parametrize("ngff", ["0.5", "0.4"])
def test_pyramid_levels_with_axis_units_are_valid(tmp_path: Path, ngff: str) -> None:
    root = _store(tmp_path, ngff)
    _image(root, "a", [(2, 600, 520), (2, 300, 260), (2, 150, 130)], ngff=ngff)
    _image(root, "b", [(2, 64, 64)], ngff=ngff)  # another image, other sizes
    # a plain array beside the images keeps its own rules
    extra = {"dimension_names": ["x"]} if ngff == "0.5" else {}
    attrs = {"units": "m"} | ({"_ARRAY_DIMENSIONS": ["x"]} if ngff == "0.4" else {})
    root.create_array("profile", shape=(7,), dtype="f4", attributes=attrs, **extra)[...] = 1.0
    zarr.consolidate_metadata(root.store)
    report = validate(tmp_path / "images.zarr", deep=True)
    # no ZL121 (levels differ in size), ZL160 (axes carry units), ZL120 (axes name them)
    assert report.issues == []
    plan = repair(tmp_path / "images.zarr", dry_run=True)
    assert plan.actions == ["reconsolidate the metadata"]  # the axes name the levels


@pytest.mark.parametrize("ngff", ["0.5", "0.4"])
def test_images_without_axis_units_are_one_note(tmp_path: Path, ngff: str) -> None:
    root = _store(tmp_path, ngff)
    for name in ("a", "b"):
        _image(root, name, [(1, 64, 64), (1, 32, 32)], ngff=ngff, unit=None)
    zarr.consolidate_metadata(root.store)
    report = validate(tmp_path / "images.zarr")
    assert report.valid
    assert [(f.code, f.severity) for f in report.issues] == [("ZL172", "info")]
    assert "2 OME-Zarr image(s)" in report.issues[0].message
    assert "pixel_size" in (report.issues[0].fix or "")


@pytest.mark.parametrize("ngff", ["0.5", "0.4"])
def test_broken_images_are_named(tmp_path: Path, ngff: str) -> None:
    root = _store(tmp_path, ngff)
    _image(root, "missing", [(1, 64, 64)], ngff=ngff, listed=["0", "1"])
    _image(root, "flat", [(1, 64, 64), (32, 32)], ngff=ngff)
    _image(root, "growing", [(1, 32, 32), (1, 64, 64)], ngff=ngff)
    zarr.consolidate_metadata(root.store)
    report = validate(tmp_path / "images.zarr")
    found = {(f.code, f.path) for f in report.issues}
    assert found == {("ZL170", "missing"), ("ZL170", "flat/1"), ("ZL171", "growing/1")}
    assert not report.valid
    by_path = {f.path: f for f in report.issues}
    assert "'missing/1'" in by_path["missing"].message
    assert "['c', 'y', 'x']" in by_path["flat/1"].message
    assert "['y', 'x']" in by_path["growing/1"].message


def test_plain_arrays_still_conflict(tmp_path: Path) -> None:
    root = zarr.open_group(tmp_path / "plain.zarr", mode="w", attributes={"title": "t"})
    for name, size in (("a", 3), ("b", 4)):
        root.create_array(
            name, shape=(size,), dtype="f4", dimension_names=["x"], attributes={"units": "m"}
        )
    _image(root, "img", [(1, 8, 8)], ngff="0.5")
    zarr.consolidate_metadata(root.store)
    report = validate(tmp_path / "plain.zarr")
    conflicts = [f for f in report.issues if f.code == "ZL121"]
    assert len(conflicts) == 1
    assert "img" not in conflicts[0].message  # the image's x (8) is not compared


def test_the_same_arrays_without_ome_metadata_are_flagged(tmp_path: Path) -> None:
    """The same hierarchy without OME metadata is still flagged (the rules are not off)."""
    root = zarr.open_group(tmp_path / "bare.zarr", mode="w", attributes={"title": "t"})
    group = root.create_group("a")
    for level, size in enumerate((64, 32)):
        group.create_array(
            str(level), shape=(1, size, size), dtype="u2", dimension_names=["c", "y", "x"]
        )[...] = np.ones((1, size, size), dtype="u2")
    zarr.consolidate_metadata(root.store)
    assert {f.code for f in validate(tmp_path / "bare.zarr").issues} == {"ZL121", "ZL160"}
