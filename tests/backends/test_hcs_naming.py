"""Well names: decided by the plate, not by the order wells arrive or how ``col`` is spelled."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import zarr

from zarrlake.backends import ZarrBackend, ZarrConfig
from zarrlake.backends import _hcs as hcs
from zarrlake.backends._hcs_layout import PlateLayout
from zarrlake.errors import InvalidInputError, OutOfRangeError


def _images(seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 1000, size=(8, 8), dtype=np.uint16) for _ in range(2)]


def _save(backend: ZarrBackend, plate: Path, name: str, row: Any, col: Any, seed: int = 0) -> None:
    backend.save_batch(
        _images(seed),
        [plate / f"{name}_f{f}.tif" for f in range(2)],
        n_fields=2,
        n_channels=1,
        n_z=1,
        row=row,
        col=col,
    )


def _wells(plate: Path) -> list[str]:
    meta = zarr.open_group(plate, mode="r").attrs["ome"]["plate"]
    return sorted(w["path"] for w in meta["wells"])


def _folders(plate: Path) -> list[str]:
    return sorted(
        str(p.relative_to(plate))
        for p in plate.iterdir()
        if p.is_dir()
        for p in [p, *p.iterdir()]
        if p.is_dir()
    )


def test_two_digit_column_first_does_not_change_later_names(tmp_path: Path) -> None:
    plate = tmp_path / "plate.zarr"
    backend = ZarrBackend()
    _save(backend, plate, "H12", "H", "12")
    _save(backend, plate, "A01", "A", "01")
    _save(backend, plate, "A02", "a", 2)
    _save(backend, plate, "A03", 1, "3")  # row 1 is A: rows and columns both count from 1
    assert _wells(plate) == ["A/01", "A/02", "A/03", "H/12"]
    columns = zarr.open_group(plate, mode="r").attrs["ome"]["plate"]["columns"]
    assert [c["name"] for c in columns] == [f"{i:02d}" for i in range(1, 13)]


@pytest.mark.parametrize("col", [1, "1", "01", np.int64(1), " 01 "])
def test_every_spelling_of_a_column_is_the_same_well(tmp_path: Path, col: Any) -> None:
    plate = tmp_path / "plate.zarr"
    backend = ZarrBackend()
    _save(backend, plate, "A01", "A", "01")
    with pytest.raises(FileExistsError, match="well A01 already exists"):
        _save(backend, plate, "X", "A", col)


@pytest.mark.parametrize(
    ("row", "col", "error", "message"),
    [
        (0, 1, OutOfRangeError, "well row 0 is out of range: rows count from 1"),
        ("A", 0, OutOfRangeError, "well column 0 is out of range: columns count from 1"),
        ("A", -3, OutOfRangeError, "well column -3 is out of range"),
        ("A", 13, OutOfRangeError, r"well A13 \(row='A', col=13\) is outside the 96-well plate"),
        (9, 1, OutOfRangeError, r"well I1 \(row=9, col=1\) is outside the 96-well plate"),
        ("A", 1.0, InvalidInputError, "well column 1.0 is not a column number"),
        ("A", True, InvalidInputError, "well column True is not a column number"),
        ("A", "B", InvalidInputError, "well column 'B' is not a column number"),
        ("A1", 1, InvalidInputError, "well row 'A1' is not a row number"),
        ("ABC", 1, OutOfRangeError, "well row 'ABC' is not a plate row"),
    ],
)
def test_bad_rows_and_columns_are_refused_naming_them(
    tmp_path: Path, row: Any, col: Any, error: type[Exception], message: str
) -> None:
    plate = tmp_path / "plate.zarr"
    backend = ZarrBackend(ZarrConfig(plate_size=96))
    with pytest.raises(error, match=message) as raised:
        _save(backend, plate, "W", row, col)
    assert raised.value.subject  # type: ignore[attr-defined]
    assert not plate.exists() or not any(plate.rglob("zarr.json"))


def test_plate_size_that_disagrees_with_the_plate_is_refused(tmp_path: Path) -> None:
    plate = tmp_path / "plate.zarr"
    _save(ZarrBackend(), plate, "P24", "P", 24)  # grows the default plate to 384 wells
    with pytest.raises(InvalidInputError, match="is a 384-well plate, not 96 wells") as raised:
        _save(ZarrBackend(ZarrConfig(plate_size=96)), plate, "A01", "A", 1)
    assert raised.value.subject == "plate_size"
    assert _wells(plate) == ["P/24"]
    assert _folders(plate) == ["P", "P/24"]


def test_failed_write_leaves_no_chunks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    plate = tmp_path / "plate.zarr"
    backend = ZarrBackend()
    _save(backend, plate, "A01", "A", 1, seed=1)

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("disk full")

    with monkeypatch.context() as patch:
        patch.setattr(hcs, "_stage_metadata", broken)
        with pytest.raises(RuntimeError, match="disk full"):
            _save(backend, plate, "A02", "A", 2)
        with pytest.raises(RuntimeError, match="disk full"):
            _save(backend, plate, "C05", "C", 5)
    assert _folders(plate) == ["A", "A/01"]  # no A/02, no row C
    assert _wells(plate) == ["A/01"]
    _save(backend, plate, "A02", "A", 2, seed=2)
    np.testing.assert_array_equal(backend.load(plate / "A02_f1.tif"), _images(2)[1])


def test_name_settled_under_the_lock_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A writer whose first view of the plate was stale (it named the well A/1) finds
    the plate's naming under the lock, drops the chunks it wrote and writes A/01."""
    plate = tmp_path / "plate.zarr"
    backend = ZarrBackend()
    _save(backend, plate, "B01", "B", 1)
    real = hcs._layout
    calls: list[int] = []

    def stale_first(*args: Any) -> PlateLayout:
        calls.append(1)
        return PlateLayout(96, 1) if len(calls) == 1 else real(*args)

    monkeypatch.setattr(hcs, "_layout", stale_first)
    _save(backend, plate, "A01", "A", 1, seed=3)
    assert len(calls) == 4  # stale name; settled under the lock; the rewrite, checked again
    assert _wells(plate) == ["A/01", "B/01"]
    assert "A/1" not in _folders(plate)
    np.testing.assert_array_equal(backend.load(plate / "A01_f0.tif"), _images(3)[0])


def test_a_crashed_writers_leftovers_are_removed(tmp_path: Path) -> None:
    """Chunks a killed writer left under a well without metadata go with the next write."""
    plate = tmp_path / "plate.zarr"
    backend = ZarrBackend()
    _save(backend, plate, "A01", "A", 1)
    stray = plate / "A" / "02" / "7" / "0" / "c" / "0" / "0" / "0" / "0"
    stray.parent.mkdir(parents=True)
    stray.write_bytes(b"left by a killed writer")
    _save(backend, plate, "A02", "A", 2, seed=2)
    assert not (plate / "A" / "02" / "7").exists()
    assert sorted(p.name for p in (plate / "A" / "02").iterdir()) == ["0", "1", "zarr.json"]
    np.testing.assert_array_equal(backend.load(plate / "A02_f0.tif"), _images(2)[0])
