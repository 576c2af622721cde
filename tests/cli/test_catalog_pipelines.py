"""`zarrlake convert run` and `zarrlake append` record their runs in a catalog."""

from __future__ import annotations

from pathlib import Path

from tests.append.slices import make_slice
from tests.convert.inputs import write_inputs
from tests.subprocesses import run_zarrlake
from zarrlake.catalog import Catalog, related


def test_convert_run_records_output_status_and_lineage(tmp_path: Path) -> None:
    paths = write_inputs(tmp_path / "in", 3, 4)
    target = str(tmp_path / "out.zarr")
    url = f"sqlite:///{tmp_path / 'cat.db'}"
    # relative paths, as people type them: the catalog stores them absolute
    done = run_zarrlake(
        "convert", "run", "in/*.nc", "-O", "out.zarr", "--catalog", url, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    with Catalog(url) as db:
        record = db.get(target)
        assert record["format"] == "zarr" and record["processing_status"] == "processed"
        assert record["observation_timestamp"] is not None  # metadata read from the archive
        assert [e["new_status"] for e in db.status_history(target)] == ["processing", "processed"]
        parents = sorted(e["dataset"]["file_path"] for e in related(db, target))
        assert parents == sorted(paths)
        assert db.status_history(target)[0]["actor"] == "zarrlake convert"


def test_a_failed_append_is_recorded_as_failed(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cat.db'}"
    good = []
    for i in range(2):
        path = tmp_path / f"slice-{i}.nc"
        make_slice(i).to_netcdf(path)
        good.append(str(path))
    target = str(tmp_path / "cube.zarr")
    ok = run_zarrlake("append", *good, "-t", target, "--catalog", url)
    assert ok.returncode == 0, ok.stderr
    broken = tmp_path / "broken.nc"
    broken.write_bytes(b"not netcdf")
    failed = run_zarrlake("append", str(broken), "-t", target, "--catalog", url)
    assert failed.returncode != 0
    with Catalog(url) as db:
        history = db.status_history(target)
        assert [e["new_status"] for e in history] == [
            "processing",
            "processed",
            "processing",
            "failed",
        ]
        assert "broken.nc" in history[-1]["reason"]
        assert sorted(e["dataset"]["file_path"] for e in related(db, target)) == sorted(good)


def test_a_convert_run_that_exits_1_is_recorded_as_failed(tmp_path: Path) -> None:
    write_inputs(tmp_path / "in", 2, 5)
    url = f"sqlite:///{tmp_path / 'cat.db'}"
    done = run_zarrlake(
        "convert",
        "run",
        "in/*.nc",
        "-O",
        "out.zarr",
        "--global-start",
        "2019-12-30",
        "--global-end",
        "2020-01-12",
        "--freq",
        "1D",
        "--catalog",
        url,
        cwd=tmp_path,
    )
    assert done.returncode == 1, done.stderr  # verify: ZL200, steps never written
    with Catalog(url) as db:
        history = db.status_history(str(tmp_path / "out.zarr"))
        assert [e["new_status"] for e in history] == ["processing", "failed"]
        assert "ZL200" in history[-1]["reason"]
