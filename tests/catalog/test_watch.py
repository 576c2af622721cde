from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.catalog.files import write_fits, write_netcdf
from zarrlake.catalog import Catalog, count
from zarrlake.catalog._watch import CatalogWatcher
from zarrlake.errors import NotFoundError, PathNotFoundError


def eventually(check: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise AssertionError("condition not reached in time")


def known(catalog: Catalog, path: Path) -> dict | None:
    try:
        return catalog.get(str(path))
    except NotFoundError:
        return None


def test_watch_sees_create_modify_move_and_delete(sqlite_catalog: Catalog, tmp_path: Path) -> None:
    root = tmp_path / "incoming"
    root.mkdir()
    db = sqlite_catalog
    with CatalogWatcher(db, root, settle=0.3) as watcher:
        write_fits(root / "a.fits", OBJECT="M1")
        eventually(lambda: (known(db, root / "a.fits") or {}).get("target_object") == "M1")
        first_id = db.get(str(root / "a.fits"))["id"]

        write_fits(root / "a.fits", OBJECT="M2", EXPTIME=99.0)  # modify
        eventually(lambda: db.get(str(root / "a.fits"))["target_object"] == "M2")

        (root / "sub").mkdir()
        (root / "a.fits").rename(root / "sub" / "b.fits")  # move keeps the record
        eventually(lambda: known(db, root / "sub" / "b.fits") is not None)
        assert db.get(str(root / "sub" / "b.fits"))["id"] == first_id
        assert known(db, root / "a.fits") is None

        (root / "sub" / "b.fits").unlink()  # delete marks missing
        eventually(lambda: db.get(str(root / "sub" / "b.fits"))["missing"] is True)
        assert count(db) == 0 and count(db, include_missing=True) == 1
        assert watcher.errors == []
    runs = db.runs()
    assert runs[0]["kind"] == "watch"


def test_a_growing_file_is_extracted_once_complete(sqlite_catalog: Catalog, tmp_path: Path) -> None:
    root = tmp_path / "in"
    root.mkdir()
    full = write_netcdf(tmp_path / "full.nc", days=[float(d) for d in range(200)])
    data = full.read_bytes()
    target = root / "slow.nc"
    with CatalogWatcher(sqlite_catalog, root, settle=0.5) as watcher:
        with target.open("wb") as handle:  # copied in slowly, in pieces
            for start in range(0, len(data), len(data) // 8 + 1):
                handle.write(data[start : start + len(data) // 8 + 1])
                handle.flush()
                time.sleep(0.15)
        eventually(lambda: known(sqlite_catalog, target) is not None)
        assert watcher.wait_idle()
    record = sqlite_catalog.get(str(target))
    assert record["extraction_error"] is None and record["file_size"] == len(data)
    assert record["mission_specific"]["dimensions"]["time"] == 200


def test_restart_catches_up_with_a_rescan(sqlite_catalog: Catalog, tmp_path: Path) -> None:
    root = tmp_path / "in"
    root.mkdir()
    write_fits(root / "before.fits")
    with CatalogWatcher(sqlite_catalog, root, settle=0.2) as watcher:
        assert watcher.wait_idle()
        eventually(lambda: known(sqlite_catalog, root / "before.fits") is not None)
    write_fits(root / "while_down.fits")  # nobody is watching
    (root / "before.fits").unlink()
    with CatalogWatcher(sqlite_catalog, root, settle=0.2) as watcher:
        eventually(lambda: known(sqlite_catalog, root / "while_down.fits") is not None)
        eventually(lambda: sqlite_catalog.get(str(root / "before.fits"))["missing"] is True)


def test_zarr_archives_are_one_record_and_follow_appends(
    sqlite_catalog: Catalog, tmp_path: Path
) -> None:
    from tests.catalog.files import write_zarr

    root = tmp_path / "in"
    root.mkdir()
    with CatalogWatcher(sqlite_catalog, root, settle=0.3):
        write_zarr(tmp_path / "staged.zarr", steps=3)
        shutil.move(str(tmp_path / "staged.zarr"), root / "cube.zarr")
        eventually(lambda: known(sqlite_catalog, root / "cube.zarr") is not None)
        write_zarr(root / "cube.zarr", steps=9)
        eventually(
            lambda: (
                sqlite_catalog.get(str(root / "cube.zarr"))["mission_specific"]["variables"]["sst"][
                    "shape"
                ]
                == [9, 2]
            )
        )
    assert count(sqlite_catalog) == 1


def test_watching_a_missing_folder_is_an_error(sqlite_catalog: Catalog, tmp_path: Path) -> None:
    with pytest.raises(PathNotFoundError, match="not a folder"):
        CatalogWatcher(sqlite_catalog, tmp_path / "absent")
