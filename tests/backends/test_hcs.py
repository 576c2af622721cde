"""OME-Zarr HCS plates written by the Zarr backend, checked by independent readers."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import zarr

from zarrlake.backends import (
    ZarrBackend,
    ZarrChunkStrategy,
    ZarrCompressor,
    ZarrConfig,
    get_backend_instance,
)
from zarrlake.compat.polystore import ZarrStorageBackend
from zarrlake.errors import AlreadyExistsError, InvalidInputError, StorageResolutionError

FIELDS, CHANNELS, PLANES = 2, 3, 2


def well_images(seed: int, shape: tuple[int, int] = (32, 48)) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    count = FIELDS * CHANNELS * PLANES
    return [rng.integers(0, 4000, size=shape, dtype=np.uint16) for _ in range(count)]


def well_names(row: str, col: str) -> list[str]:
    return [
        f"{row}{col}_f{f}_c{c}_z{z}.tif"
        for f in range(FIELDS)
        for c in range(CHANNELS)
        for z in range(PLANES)
    ]


def save_well(backend: ZarrBackend, plate: Path, row: str, col: str, seed: int, **extra) -> None:
    backend.save_batch(
        well_images(seed),
        [plate / name for name in well_names(row, col)],
        chunk_name=f"{row}{col}",
        n_fields=FIELDS,
        n_channels=CHANNELS,
        n_z=PLANES,
        row=row,
        col=col,
        **extra,
    )


@pytest.mark.parametrize(
    ("ngff", "strategy"),
    [
        ("0.5", ZarrChunkStrategy.AUTO),
        ("0.5", ZarrChunkStrategy.WELL),
        ("0.4", ZarrChunkStrategy.FILE),
        ("0.4", ZarrChunkStrategy.AUTO),
    ],
)
def test_plate_is_valid_for_independent_readers(
    tmp_path: Path, ngff: str, strategy: ZarrChunkStrategy
) -> None:
    plate = tmp_path / "plate.zarr"
    backend = ZarrStorageBackend(
        zarr_config=ZarrConfig(
            compressor=ZarrCompressor.BLOSC,
            compression_level=5,
            chunk_strategy=strategy,
            ngff_version=ngff,
        )
    )
    wells = [("B", "03", 1), ("A", "01", 2), ("H", "12", 3)]
    for row, col, seed in wells:
        save_well(backend, plate, row, col, seed)

    group = zarr.open_group(plate, mode="r")
    assert group.metadata.zarr_format == (3 if ngff == "0.5" else 2)
    if ngff == "0.5":
        from ome_zarr_models.v05.hcs import HCS
    else:
        from ome_zarr_models.v04.hcs import HCS
    hcs = HCS.from_zarr(group)
    plate_meta = hcs.attributes.ome.plate if ngff == "0.5" else hcs.attributes.plate
    # every physical row and column of a 96-well plate, not only those with data
    assert [r.name for r in plate_meta.rows] == list("ABCDEFGH")
    assert [c.name for c in plate_meta.columns] == [f"{i:02d}" for i in range(1, 13)]
    assert sorted(w.path for w in plate_meta.wells) == ["A/01", "B/03", "H/12"]
    assert plate_meta.field_count == FIELDS
    assert plate_meta.acquisitions[0].id == 0

    import warnings

    import yaozarrs

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # its SHOULD warnings fail too
        yaozarrs.validate_zarr_store(str(plate))

    from ome_zarr.io import parse_url
    from ome_zarr.reader import Plate, Reader

    nodes = list(Reader(parse_url(str(plate)))())
    assert any(isinstance(spec, Plate) for spec in nodes[0].specs)

    # one NGFF version across the hierarchy
    versions = set()
    for path in ["", "B", "B/03", "B/03/0"]:
        attrs = dict(zarr.open_group(plate, path=path, mode="r").attrs)
        if ngff == "0.5":
            if "ome" in attrs:
                versions.add(attrs["ome"]["version"])
        else:
            for key in ("plate", "well"):
                if key in attrs:
                    versions.add(attrs[key]["version"])
            for multiscale in attrs.get("multiscales", []):
                versions.add(multiscale["version"])
    assert versions == {ngff}

    # pixel values equal what was saved, read back by an independent reader (zarr)
    for row, col, seed in wells:
        images = well_images(seed)
        for field in range(FIELDS):
            stored = zarr.open_array(plate, path=f"{row}/{col}/{field}/0", mode="r")[...]
            expected = np.stack(
                images[field * CHANNELS * PLANES : (field + 1) * CHANNELS * PLANES]
            ).reshape(CHANNELS, PLANES, 32, 48)
            np.testing.assert_array_equal(stored, expected)

    # and by the backend, by virtual file name, in any order and across wells
    names = well_names("H", "12")[::-1] + well_names("A", "01")[:3]
    loaded = backend.load_batch([plate / n for n in names])
    by_name = dict(zip(well_names("H", "12"), well_images(3), strict=True)) | dict(
        zip(well_names("A", "01"), well_images(2), strict=True)
    )
    for name, image in zip(names, loaded, strict=True):
        np.testing.assert_array_equal(image, by_name[name])
    np.testing.assert_array_equal(backend.load(plate / names[0]), by_name[names[0]])
    listed = backend.list_files(plate)
    assert len(listed) == 3 * FIELDS * CHANNELS * PLANES
    assert plate / "B03_f1_c2_z1.tif" in listed
    assert backend.list_files(plate, pattern="A01_*_c0_*") == sorted(
        plate / n for n in well_names("A", "01") if "_c0_" in n
    )
    assert backend.exists(plate / "B03_f0_c0_z0.tif")
    assert backend.is_file(plate / "B03_f0_c0_z0.tif")


def test_consolidated_metadata_stays_fresh(tmp_path: Path) -> None:
    plate = tmp_path / "plate.zarr"
    backend = ZarrBackend(ZarrConfig())
    save_well(backend, plate, "A", "01", 1)
    save_well(backend, plate, "C", "05", 2)
    consolidated = zarr.open_group(plate, mode="r", use_consolidated=True)
    plain = zarr.open_group(plate, mode="r", use_consolidated=False)
    assert dict(consolidated["C/05"].attrs) == dict(plain["C/05"].attrs)
    assert dict(consolidated.attrs)["ome"]["plate"] == dict(plain.attrs)["ome"]["plate"]
    from zarrlake.meta import validate

    report = validate(plate)
    assert report.valid, report.findings


def test_existing_well_is_refused_unless_overwrite(tmp_path: Path) -> None:
    plate = tmp_path / "plate.zarr"
    backend = ZarrBackend()
    save_well(backend, plate, "A", "01", 1)
    before = sorted(p.relative_to(plate) for p in plate.rglob("*"))
    with pytest.raises(AlreadyExistsError, match="well A01 already exists"):
        save_well(backend, plate, "A", "01", 9)
    after = sorted(p.relative_to(plate) for p in plate.rglob("*"))
    assert before == after
    np.testing.assert_array_equal(backend.load(plate / well_names("A", "01")[0]), well_images(1)[0])
    save_well(backend, plate, "A", "01", 9, overwrite=True)
    np.testing.assert_array_equal(backend.load(plate / well_names("A", "01")[5]), well_images(9)[5])


def test_bad_well_input_is_refused_and_changes_nothing(tmp_path: Path) -> None:
    plate = tmp_path / "plate.zarr"
    backend = ZarrBackend(ZarrConfig(plate_size=24))
    paths = [plate / name for name in well_names("A", "01")]
    base = {"n_fields": FIELDS, "n_channels": CHANNELS, "n_z": PLANES, "row": "A", "col": "01"}
    with pytest.raises(InvalidInputError, match="needs 12 images, got 11"):
        backend.save_batch(well_images(1)[:11], paths[:11], **base)
    with pytest.raises(InvalidInputError, match="n_z"):
        backend.save_batch(well_images(1), paths, **{k: v for k, v in base.items() if k != "n_z"})
    with pytest.raises(InvalidInputError, match="outside the 24-well plate"):
        backend.save_batch(well_images(1), paths, **{**base, "row": "E"})
    odd = well_images(1)
    odd[4] = odd[4][:10]
    with pytest.raises(InvalidInputError, match=r"A01_f0_c2_z0\.tif is \(10, 48\)"):
        backend.save_batch(odd, paths, **base)
    assert not plate.exists() or not any(p.name == "zarr.json" for p in plate.rglob("*"))
    save_well(backend, plate, "A", "01", 1)
    with pytest.raises(AlreadyExistsError, match="A01_f0_c0_z0.tif already exists in well A01"):
        backend.save_batch(well_images(2), paths, **{**base, "row": "B"})


def test_plate_grows_to_the_plate_that_holds_the_wells(tmp_path: Path) -> None:
    plate = tmp_path / "plate.zarr"
    backend = ZarrBackend()
    save_well(backend, plate, "A", "1", 1)
    save_well(backend, plate, "P", "24", 2)  # only a 384-well plate has row P
    attrs = json.loads((plate / "zarr.json").read_text())["attributes"]["ome"]["plate"]
    assert len(attrs["rows"]) == 16 and len(attrs["columns"]) == 24
    assert {w["path"]: (w["rowIndex"], w["columnIndex"]) for w in attrs["wells"]} == {
        "A/01": (0, 0),  # col "1" names column 01, whatever came first
        "P/24": (15, 23),
    }
    from ome_zarr_models.v05.hcs import HCS

    HCS.from_zarr(zarr.open_group(plate, mode="r"))


def test_plate_of_another_ngff_version_is_refused(tmp_path: Path) -> None:
    plate = tmp_path / "plate.zarr"
    save_well(ZarrBackend(ZarrConfig(ngff_version="0.4")), plate, "A", "01", 1)
    with pytest.raises(InvalidInputError, match="Zarr format 2"):
        save_well(ZarrBackend(ZarrConfig(ngff_version="0.5")), plate, "B", "01", 2)


def test_plate_on_object_storage(s3_server, tmp_path: Path) -> None:
    bucket = s3_server.create_bucket()
    backend = ZarrBackend(ZarrConfig(storage_options=s3_server.storage_options))
    plate = f"s3://{bucket}/screen/plate.zarr"
    names = well_names("A", "01")
    backend.save_batch(
        well_images(4),
        [f"{plate}/{n}" for n in names],
        n_fields=FIELDS,
        n_channels=CHANNELS,
        n_z=PLANES,
        row="A",
        col="01",
    )
    loaded = backend.load_batch([f"{plate}/{n}" for n in names])
    for image, expected in zip(loaded, well_images(4), strict=True):
        np.testing.assert_array_equal(image, expected)
    assert [p.name for p in backend.list_files(plate)] == sorted(names)


def test_registry_and_polystore_names() -> None:
    from zarrlake.backends import DiskBackend, get_backend, register_backend

    assert get_backend_instance("disk") is get_backend_instance("disk")
    assert isinstance(get_backend_instance("disk"), DiskBackend)
    configured = get_backend("zarr", config=ZarrConfig(chunk_strategy="file"))
    assert configured.config.chunk_strategy is ZarrChunkStrategy.FILE
    assert ZarrStorageBackend is ZarrBackend
    with pytest.raises(FileExistsError, match="already registered"):
        register_backend("disk", ZarrBackend)
    with pytest.raises(KeyError, match="no storage backend named 'tape'"):
        get_backend("tape")
    with pytest.raises(ValueError, match="ngff_version"):
        ZarrConfig(ngff_version="0.5", zarr_format=2)
    with pytest.raises(ValueError, match="not a standard plate"):
        ZarrConfig(plate_size=100)


def test_deleting_wells_updates_the_plate(tmp_path: Path) -> None:
    plate = tmp_path / "plate.zarr"
    backend = ZarrBackend()
    for row, col, seed in [("A", "01", 1), ("A", "02", 2), ("B", "01", 3)]:
        save_well(backend, plate, row, col, seed)
    with pytest.raises(StorageResolutionError, match="inside a plate well"):
        backend.delete_all(plate / "A" / "01" / "0")
    backend.delete_all(plate / "A" / "02")
    from ome_zarr_models.v05.hcs import HCS

    group = zarr.open_group(plate, mode="r")
    meta = HCS.from_zarr(group).attributes.ome.plate
    assert [w.path for w in meta.wells] == ["A/01", "B/01"]
    assert len(meta.rows) == 8  # the physical layout stays
    assert not backend.exists(plate / "A02_f0_c0_z0.tif")
    assert backend.exists(plate / "A01_f0_c0_z0.tif")
    backend.delete_all(plate / "A")
    backend.delete_all(plate / "B" / "01")
    assert backend.list_files(plate) == []
    assert "ome" not in dict(zarr.open_group(plate, mode="r").attrs)
    save_well(backend, plate, "C", "03", 4)  # the emptied plate takes wells again
    HCS.from_zarr(zarr.open_group(plate, mode="r"))
