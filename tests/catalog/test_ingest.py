from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.catalog.files import write_csv, write_fits, write_hdf5, write_netcdf, write_zarr
from zarrlake.catalog import Catalog, count, search
from zarrlake.catalog._ingest import ingest
from zarrlake.catalog._validate import validate_catalog
from zarrlake.errors import InvalidInputError, NotFoundError, PathNotFoundError
from zarrlake.testing import LocalS3Server


def tree(root: Path) -> Path:
    (root / "2026" / "03").mkdir(parents=True)
    for i in range(6):
        write_fits(root / "2026" / "03" / f"img{i}.fits", OBJECT=f"T{i}")
    write_hdf5(root / "2026" / "spec.h5")
    write_netcdf(root / "clim.nc")
    write_zarr(root / "cube.zarr")
    write_csv(
        root / "list.csv", [{"mission_id": "SURVEY", "target_object": f"S{i}"} for i in range(3)]
    )
    (root / ".hidden.fits").write_bytes(b"x")
    (root / "notes.txt").write_text("ignored")
    return root


def test_ingest_is_incremental_and_idempotent(catalog: Catalog, tmp_path: Path) -> None:
    root = tree(tmp_path / "data")
    first = ingest(catalog, root)
    assert (first.seen, first.new, first.failed) == (10, 12, 0)  # 6 + h5 + nc + zarr + csv(3)
    again = ingest(catalog, root)
    assert (again.seen, again.new, again.updated, again.unchanged) == (10, 0, 0, 10)

    fits_file = root / "2026" / "03" / "img0.fits"
    write_fits(fits_file, OBJECT="CHANGED")
    os.utime(fits_file, ns=(1, 1))
    (root / "2026" / "03" / "img5.fits").unlink()
    write_csv(root / "list.csv", [{"mission_id": "SURVEY", "target_object": "S0"}])
    third = ingest(catalog, root)
    assert (third.updated, third.missing) == (2, 3)  # img0 + csv row 1; img5 + rows 2, 3
    assert catalog.get(str(fits_file))["target_object"] == "CHANGED"
    assert catalog.get(str(root / "2026" / "03" / "img5.fits"))["missing"] is True
    assert count(catalog) == 9 and count(catalog, include_missing=True) == 12

    write_fits(root / "2026" / "03" / "img5.fits", OBJECT="T5")
    fourth = ingest(catalog, root)
    assert catalog.get(str(root / "2026" / "03" / "img5.fits"))["missing"] is False
    assert fourth.updated == 1
    runs = catalog.runs()
    assert [r["kind"] for r in runs[:4]] == ["ingest"] * 4 and runs[0]["updated"] == 1


def test_parallel_ingest_equals_serial(tmp_path: Path) -> None:
    root = tmp_path / "many"
    root.mkdir()
    for i in range(80):
        write_fits(root / f"f{i:03d}.fits", OBJECT=f"T{i}", QUALITY=(i % 10) / 10)
    (root / "broken.fits").write_bytes(b"\x00" * 100)
    with Catalog(tmp_path / "serial.db") as serial, Catalog(tmp_path / "parallel.db") as parallel:
        a = ingest(serial, root, jobs=1)
        b = ingest(parallel, root, jobs=2)
        assert (a.new, a.failed) == (b.new, b.failed) == (81, 1)

        def rows(db: Catalog) -> list[tuple]:
            page = search(db, sort="file_path", limit=1000)
            return [
                (r["file_path"], r["target_object"], r["data_quality_score"]) for r in page.items
            ]

        assert rows(serial) == rows(parallel)

        def summaries(db: Catalog) -> list[dict]:  # float sums depend on the order of adds
            return [
                {**s, "mean_quality": round(s["mean_quality"], 9)}
                for s in db.summary()
                if s["mean_quality"] is not None
            ]

        assert summaries(serial) == summaries(parallel)


def test_a_record_the_database_cannot_store_fails_alone(catalog: Catalog, tmp_path: Path) -> None:
    root = tmp_path / "data"
    root.mkdir()
    for i in range(3):
        write_fits(root / f"img{i}.fits", OBJECT=f"T{i}")
    rows = "mission_id,target_object,NOTE\nSURVEY,A,x\nSURVEY,B\x00C,y\nSURVEY,D,z\x00\n"
    (root / "list.csv").write_text(rows + "SURVEY,E,w\n")
    summary = ingest(catalog, root)
    bad = [f"{root / 'list.csv'}#row=2", f"{root / 'list.csv'}#row=3"]
    assert (summary.new, summary.failed) == (7, 2), summary.failures
    assert sorted(path for path, _ in summary.failures) == bad
    assert all("NUL" in error for _, error in summary.failures)
    for path in bad:  # recorded with the error, the values the database refused left out
        record = catalog.get(path)
        assert "NUL" in record["extraction_error"] and record["target_object"] is None
    assert count(catalog, mission_id="SURVEY") == 2
    items = search(catalog, limit=10).items
    assert sorted(r["target_object"] for r in items if not r["extraction_error"]) == [
        "A",
        "E",
        "T0",
        "T1",
        "T2",
    ]
    (root / "paths.csv").write_text("file_path,mission_id\n/x/a\x00b.fits,PATHS\n/x/c.fits,PATHS\n")
    more = ingest(catalog, root)  # a NUL in a path: the row cannot even be recorded
    assert (more.failed, more.new) == (1, 1) and more.failures[0][0] == "/x/a\\x00b.fits"
    assert count(catalog, mission_id="PATHS") == 1


def test_reruns_report_only_this_runs_failures_and_change_nothing_unchanged(
    catalog: Catalog, tmp_path: Path
) -> None:
    root = tmp_path / "data"
    root.mkdir()
    write_fits(root / "a.fits")
    write_fits(root / "undated.fits", **{"DATE-OBS": None})  # incomplete: re-read by validate
    (root / "bad.fits").write_bytes(b"bad" * 10)
    os.symlink(root / "a.fits", root / "link.fits")  # one file, two names: one record
    (root / "sub").mkdir()
    os.symlink(root / "undated.fits", root / "sub" / "alias.fits")
    first = ingest(catalog, root)
    assert (first.seen, first.new, first.failed) == (3, 3, 1), first.failures
    assert count(catalog, include_missing=True) == 3
    with pytest.raises(NotFoundError):
        catalog.get(str(root / "link.fits"))
    again = ingest(catalog, root)
    assert (again.failed, again.failures, again.unchanged) == (0, [], 2)
    assert [path for path, _ in again.known_bad] == [str(root / "bad.fits")]
    assert "FITS" in again.known_bad[0][1]  # the error it failed with
    before = {r["file_path"]: r["last_updated"] for r in search(catalog, limit=10).items}
    checked = validate_catalog(catalog)
    assert (checked.updated, checked.new) == (0, 0)
    after = {r["file_path"]: r["last_updated"] for r in search(catalog, limit=10).items}
    assert after == before


def test_non_recursive_ingest_leaves_subfolders_alone(
    sqlite_catalog: Catalog, tmp_path: Path
) -> None:
    root = tree(tmp_path / "data")
    ingest(sqlite_catalog, root)
    shallow = ingest(sqlite_catalog, root, recursive=False)
    assert (shallow.seen, shallow.missing) == (3, 0)  # clim.nc, cube.zarr, list.csv


def test_bad_ingest_input_changes_nothing(sqlite_catalog: Catalog, tmp_path: Path) -> None:
    with pytest.raises(PathNotFoundError, match="does not exist"):
        ingest(sqlite_catalog, tmp_path / "nowhere")
    with pytest.raises(InvalidInputError, match="--jobs 0"):
        ingest(sqlite_catalog, tmp_path, jobs=0)
    assert sqlite_catalog.runs() == []


def test_validate_finds_drift(sqlite_catalog: Catalog, tmp_path: Path) -> None:
    root = tree(tmp_path / "data")
    (root / "bad.fits").write_bytes(b"bad" * 10)
    ingest(sqlite_catalog, root)
    (root / "clim.nc").unlink()
    write_fits(root / "2026" / "03" / "img1.fits", OBJECT="NEW")
    os.utime(root / "2026" / "03" / "img1.fits", ns=(5, 5))
    write_fits(root / "bad.fits")  # fixed since, same size is unlikely but mtime moved
    result = validate_catalog(sqlite_catalog)
    assert result.missing == 1
    assert sqlite_catalog.get(str(root / "bad.fits"))["extraction_error"] is None
    assert sqlite_catalog.get(str(root / "2026" / "03" / "img1.fits"))["target_object"] == "NEW"
    verified = sqlite_catalog.get(str(root / "2026" / "03" / "img2.fits"))["last_verified"]
    assert verified is not None
    assert sqlite_catalog.runs()[0]["kind"] == "validate"


@pytest.mark.s3
def test_ingest_from_object_storage(
    sqlite_catalog: Catalog, s3_server: LocalS3Server, tmp_path: Path
) -> None:
    import s3fs

    bucket = s3_server.create_bucket()
    options = s3_server.storage_options
    fs = s3fs.S3FileSystem(
        client_kwargs={"endpoint_url": options["endpoint_url"]},
        key=options["key"],
        secret=options["secret"],
        skip_instance_cache=True,
    )
    local = tmp_path / "up"
    local.mkdir()
    fs.put(str(write_fits(local / "a.fits")), f"{bucket}/obs/a.fits")
    fs.put(str(write_netcdf(local / "c.nc")), f"{bucket}/obs/deep/c.nc")
    write_zarr(f"s3://{bucket}/obs/cube.zarr", storage_options=options)
    summary = ingest(sqlite_catalog, f"s3://{bucket}/obs", storage_options=options)
    assert (summary.seen, summary.new, summary.failed) == (3, 3, 0), summary.failures
    cube = sqlite_catalog.get(f"s3://{bucket}/obs/cube.zarr")
    assert cube["format"] == "zarr" and cube["observation_timestamp"] is not None
    assert sqlite_catalog.get(f"s3://{bucket}/obs/deep/c.nc")["mission_id"] == "CLIMATE"
    again = ingest(sqlite_catalog, f"s3://{bucket}/obs", storage_options=options)
    assert again.unchanged == 3
    fs.rm(f"{bucket}/obs/a.fits")
    gone = validate_catalog(sqlite_catalog, f"s3://{bucket}/", storage_options=options)
    assert gone.missing == 1
