"""When unchanged files are read again: a new extractor version yes, known issues no."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.catalog.files import write_fits, write_netcdf
from zarrlake.catalog import Catalog, count, search
from zarrlake.catalog import _ingest as ingest_module
from zarrlake.catalog._ingest import ingest
from zarrlake.catalog._validate import validate_catalog
from zarrlake.catalog.extractors import available_extractors, register_extractor


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The sources extracted (in this process: ingest and validate run with jobs=1)."""
    seen: list[str] = []
    original = ingest_module.extract_source

    def counting(source: Any, config: Any = None) -> Any:
        seen.append(Path(source.path).name)
        return original(source, config)

    monkeypatch.setattr(ingest_module, "extract_source", counting)
    return seen


def folder(root: Path) -> Path:
    root.mkdir()
    write_fits(root / "sky.fits")
    write_fits(root / "partial.fits", INSTRUME=None)  # a required field missing: issues
    write_netcdf(root / "earth.nc")
    return root


def test_a_new_extractor_version_reads_unchanged_files_again(
    catalog: Catalog, tmp_path: Path, reads: list[str]
) -> None:
    root = folder(tmp_path / "data")
    current = available_extractors()["netcdf"]
    register_extractor(type("OlderNetcdf", (current,), {"version": "1"}), replace=True)
    try:
        assert ingest(catalog, root).new == 3  # catalogued by an older netcdf extractor
    finally:
        register_extractor(current, replace=True)
    reads.clear()
    again = ingest(catalog, root)
    assert reads == ["earth.nc"]  # only the file the newer extractor reads
    assert (again.unchanged, again.updated, again.failed) == (2, 1, 0)
    assert catalog.get(str(root / "earth.nc"))["extractor_version"] == current.version
    reads.clear()
    assert ingest(catalog, root).unchanged == 3 and reads == []  # and then not again


def test_validate_does_not_reread_known_issues(
    catalog: Catalog, tmp_path: Path, reads: list[str]
) -> None:
    root = folder(tmp_path / "data")
    ingest(catalog, root)
    partial = catalog.get(str(root / "partial.fits"))
    assert partial["issues"]
    for _ in range(2):
        reads.clear()
        checked = validate_catalog(catalog)
        assert reads == [] and (checked.unchanged, checked.updated) == (3, 0)
    assert catalog.get(str(root / "partial.fits"))["last_updated"] == partial["last_updated"]
    # Asked for (after fixing the mapping), it reads them again.
    validate_catalog(catalog, reextract_incomplete=True)
    assert reads == ["partial.fits"]


def test_validate_rereads_what_a_new_version_reads(
    catalog: Catalog, tmp_path: Path, reads: list[str]
) -> None:
    root = folder(tmp_path / "data")
    ingest(catalog, root)
    current = available_extractors()["fits"]
    register_extractor(type("NewerFits", (current,), {"version": "99"}), replace=True)
    try:
        reads.clear()
        validate_catalog(catalog)
        assert sorted(reads) == ["partial.fits", "sky.fits"]
        reads.clear()
        validate_catalog(catalog)
        assert reads == []
    finally:
        register_extractor(current, replace=True)


def test_unknown_quality_never_passes_a_quality_bar(catalog: Catalog, tmp_path: Path) -> None:
    catalog.upsert_observations(
        [
            {"file_path": str(tmp_path / "known.fits"), "data_quality_score": 0.0},
            {"file_path": str(tmp_path / "unknown.fits"), "data_quality_score": None},
        ]
    )
    for bar in (0.0, 0.5):
        found = [Path(r["file_path"]).name for r in search(catalog, min_quality=bar).items]
        assert "unknown.fits" not in found
        assert count(catalog, min_quality=bar) == (1 if bar == 0.0 else 0)
    everything = [Path(r["file_path"]).name for r in search(catalog).items]
    assert sorted(everything) == ["known.fits", "unknown.fits"]  # no bar: still found
