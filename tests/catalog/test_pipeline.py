from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest

from tests.catalog.files import write_fits
from zarrlake.catalog import Catalog, SearchQuery, related
from zarrlake.catalog.pipeline import (
    PipelineDataManager,
    ResourceError,
    finish,
    link,
    preflight,
    start,
)
from zarrlake.compat.catalog import CatalogClient
from zarrlake.errors import InsufficientStorageError, NotFoundError


def recent(catalog: Catalog, tmp_path: Path, count: int = 6) -> list[Path]:
    now = datetime.now()
    paths = []
    for i in range(count):
        path = write_fits(tmp_path / f"obs{i}.fits", OBJECT="M31" if i % 2 else "M33")
        paths.append(path)
        catalog.upsert_observations(
            [
                {
                    "file_path": str(path),
                    "mission_id": "COSMOS-7",
                    "target_object": "M31" if i % 2 else "M33",
                    "observation_timestamp": now - timedelta(days=i * 5),
                    "data_quality_score": 0.5 + i * 0.1,
                    "file_size": 1000,
                }
            ]
        )
    return paths


def test_preflight_reports_quality_missing_files_and_room(catalog: Catalog, tmp_path: Path) -> None:
    paths = recent(catalog, tmp_path)
    paths[5].unlink()
    check = preflight(
        catalog,
        SearchQuery(mission_id="COSMOS-7"),
        min_quality=0.8,
        output=tmp_path / "out" / "cube.zarr",
        expansion=2.0,
    )
    assert sorted(d["file_path"] for d in check.datasets) == [str(paths[3]), str(paths[4])]
    assert len(check.below_quality) == 3 and len(check.missing_on_disk) == 1
    assert (check.input_bytes, check.required_bytes) == (2000, 4000)
    assert check.available_bytes and check.sufficient_storage and check.ok
    assert check.as_dict()["missing_on_disk"] == [check.missing_on_disk[0]["id"]]
    huge = preflight(catalog, SearchQuery(mission_id="COSMOS-7"), output=tmp_path, expansion=1e15)
    assert not huge.sufficient_storage and not huge.ok


def test_start_finish_and_lineage(catalog: Catalog, tmp_path: Path) -> None:
    paths = recent(catalog, tmp_path, 3)
    extra = write_fits(tmp_path / "unregistered.fits")
    output = str(tmp_path / "mosaic.fits")
    output_id = start(
        catalog, output, [str(p) for p in paths] + [str(extra)], actor="test", mission_id="COSMOS-7"
    )
    assert catalog.get(output_id)["processing_status"] == "processing"
    write_fits(Path(output), OBJECT="MOSAIC")
    finish(catalog, output, ok=True, actor="test")
    record = catalog.get(output)
    assert record["processing_status"] == "processed" and record["target_object"] == "MOSAIC"
    assert [e["new_status"] for e in catalog.status_history(output)] == ["processing", "processed"]
    parents = {
        e["dataset"]["file_path"] for e in related(catalog, output) if e["direction"] == "parent"
    }
    assert parents == {str(p) for p in paths} | {str(extra)}
    assert link(catalog, [str(paths[0])], output) == link(catalog, [str(paths[0])], output)
    failed = str(tmp_path / "broken.zarr")
    start(catalog, failed, [str(paths[0])])
    finish(catalog, failed, ok=False, reason="out of memory")
    assert catalog.status_history(failed)[-1]["reason"] == "out of memory"
    with pytest.raises(NotFoundError):
        link(catalog, [999999], output)


def test_the_documents_pipeline_data_manager(catalog_url: str, tmp_path: Path) -> None:
    client = CatalogClient(catalog_url)
    recent(client.catalog, tmp_path)
    seen: list[list[dict]] = []
    manager = PipelineDataManager(
        client, output_location=tmp_path, processor=lambda datasets: seen.append(datasets) or "done"
    )
    available = manager.get_available_datasets("COSMOS-7")  # quality >= 0.8, last 30 days
    assert sorted(d["data_quality_score"] for d in available) == pytest.approx([0.8, 0.9, 1.0])
    assert (
        len(manager.get_available_datasets("COSMOS-7", min_quality=0.5, time_window_days=12)) == 3
    )
    check = manager.check_storage_availability(available)
    assert set(check) == {"sufficient_storage", "required_storage", "available_storage"}
    assert check["required_storage"] == 3000 * 2.5 and check["sufficient_storage"] is True
    assert manager.start_processing_pipeline("COSMOS-7", target_object="M31") == "done"
    assert [d["target_object"] for d in seen[0]] == ["M31", "M31"]
    assert client.catalog.get(seen[0][0]["id"])["processing_status"] == "processed"
    with pytest.raises(ValueError, match="No suitable datasets found for mission NOPE"):
        manager.start_processing_pipeline("NOPE")
    short = PipelineDataManager(
        client, output_location=tmp_path, processor=lambda d: None, expansion=1e15
    )
    with pytest.raises(ResourceError, match="Insufficient storage"):
        short.start_processing_pipeline("COSMOS-7")
    assert ResourceError is InsufficientStorageError

    def explode(datasets: list[dict]) -> None:
        raise RuntimeError("processing failed")

    failing = PipelineDataManager(client, output_location=tmp_path, processor=explode)
    with pytest.raises(RuntimeError):
        failing.start_processing_pipeline("COSMOS-7")
    assert {
        client.catalog.get(d["id"])["processing_status"]
        for d in manager.get_available_datasets("COSMOS-7")
    } == {"failed"}
    client.close()


def test_python_api_runs_record_status_and_lineage(catalog_url: str, tmp_path: Path) -> None:
    import zarrlake
    from tests.append.slices import make_slice
    from tests.convert.inputs import write_inputs
    from zarrlake.convert import run

    paths = write_inputs(tmp_path / "in", 2, 5)
    target = str(tmp_path / "out.zarr")
    result = run(paths, target, workers=1, catalog=catalog_url)
    assert result.report is not None and result.report.valid
    slices = []
    for i in range(2):
        make_slice(i).to_netcdf(tmp_path / f"slice-{i}.nc")
        slices.append(str(tmp_path / f"slice-{i}.nc"))
    cube = str(tmp_path / "cube.zarr")
    assert zarrlake.append(slices, cube, catalog=catalog_url).appended == 2
    with Catalog(catalog_url) as db:
        for output, inputs, actor in (
            (target, paths, "zarrlake convert"),
            (cube, slices, "zarrlake append"),
        ):
            history = db.status_history(output)
            assert [e["new_status"] for e in history] == ["processing", "processed"]
            assert history[0]["actor"] == actor
            assert sorted(e["dataset"]["file_path"] for e in related(db, output)) == sorted(inputs)


def test_a_conversion_that_fails_verification_is_recorded_as_failed(
    catalog_url: str, tmp_path: Path
) -> None:
    from tests.convert.inputs import write_inputs
    from zarrlake.convert import run

    paths = write_inputs(tmp_path / "in", 2, 5)
    target = str(tmp_path / "out.zarr")
    result = run(
        paths,
        target,
        workers=1,
        global_start="2019-12-30",
        global_end="2020-01-12",
        freq="1D",
        catalog=catalog_url,
    )
    assert result.report is not None and not result.report.valid  # ZL200: steps never written
    with Catalog(catalog_url) as db:
        assert db.get(target)["processing_status"] == "failed"
        last = db.status_history(target)[-1]
        assert (last["old_status"], last["new_status"]) == ("processing", "failed")
        assert "ZL200" in last["reason"] and "verif" in last["reason"]
        assert related(db, target) == []  # lineage only for a run that succeeded


def test_registering_with_a_status_writes_the_first_status_event(
    catalog: Catalog, tmp_path: Path
) -> None:
    from zarrlake.catalog.pipeline import register

    path = str(tmp_path / "out.zarr")
    record_id = register(catalog, path, extract=False, processing_status="processing")
    history = catalog.status_history(record_id)
    assert [(e["old_status"], e["new_status"], e["reason"]) for e in history] == [
        (None, "processing", "record created")
    ]
    register(catalog, str(tmp_path / "plain.fits"), extract=False)  # no status given: no event
    assert catalog.status_history(str(tmp_path / "plain.fits")) == []
    register(catalog, path, extract=False, processing_status="processed")
    assert [e["new_status"] for e in catalog.status_history(record_id)] == [
        "processing",
        "processed",
    ]
