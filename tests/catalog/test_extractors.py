from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest

from tests.catalog.files import write_csv, write_fits, write_hdf5, write_netcdf, write_zarr
from zarrlake.catalog._scan import local_source
from zarrlake.catalog.extractors import (
    ExtractionConfig,
    Extractor,
    RawObservation,
    Source,
    available_extractors,
    extract_source,
    register_extractor,
)
from zarrlake.catalog.extractors import base as extractor_base
from zarrlake.errors import AlreadyExistsError, InvalidInputError


def extract(path: Path | str, config: ExtractionConfig | None = None) -> list[dict]:
    source = local_source(str(path))
    assert source is not None
    return extract_source(source, config)


def test_fits_keywords_map_to_the_specification_fields(tmp_path: Path) -> None:
    (record,) = extract(write_fits(tmp_path / "a.fits"))
    assert record["mission_id"] == "COSMOS-7"
    assert record["satellite_name"] == "Sat-A"
    assert record["instrument_type"] == "CAM"
    assert record["observation_timestamp"] == datetime(2026, 3, 1, 12, 0, 0, 500000)
    assert record["target_object"] == "M31"
    assert record["calibration_status"] == "COMPLETE"
    assert record["version"] == "2.1"
    assert record["ra"] == pytest.approx(10.6847) and record["dec"] == pytest.approx(41.269)
    assert record["mission_specific"]["EXPTIME"] == 30.0
    assert record["mission_specific"]["hdus"][0]["shape"] == [4, 4]
    assert record["data_quality_score"] == 1.0  # all keywords present, calibration complete
    assert record["format"] == "fits" and record["extraction_error"] is None
    assert record["file_size"] == (tmp_path / "a.fits").stat().st_size
    assert record["issues"] == []


def test_default_quality_follows_the_specification(tmp_path: Path) -> None:
    (partial,) = extract(
        write_fits(tmp_path / "p.fits", TELESCOP=None, INSTRUME=None, CALIB="PARTIAL")
    )
    assert partial["data_quality_score"] == pytest.approx(0.6)
    assert {i["field"] for i in partial["issues"]} == {"satellite_name", "instrument_type"}
    (given,) = extract(write_fits(tmp_path / "q.fits", QUALITY=0.42))
    assert given["data_quality_score"] == pytest.approx(0.42)


def test_hdf5_netcdf_csv_and_zarr(tmp_path: Path) -> None:
    (h5,) = extract(write_hdf5(tmp_path / "b.h5"))
    assert (h5["mission_id"], h5["instrument_type"], h5["target_object"]) == (
        "HELIO",
        "SPEC",
        "Sun",
    )
    assert h5["mission_specific"]["datasets"]["flux"] == {"shape": [2, 3], "dtype": "float32"}

    (nc,) = extract(write_netcdf(tmp_path / "c.nc", days=[2.0, 0.5, 9.25]))
    assert nc["mission_id"] == "CLIMATE" and nc["satellite_name"] == "Sat-C"
    assert nc["observation_timestamp"] == datetime(2026, 1, 1, 12)
    assert nc["observation_end"] == datetime(2026, 1, 10, 6)
    assert nc["mission_specific"]["variables"]["t2m"]["units"] == "K"

    rows = extract(
        write_csv(
            tmp_path / "list.csv",
            [
                {
                    "mission_id": "SURVEY",
                    "target_object": "M31",
                    "DATE-OBS": "2026-01-01T00:00:00",
                    "quality": 0.9,
                    "seeing": 1.2,
                },
                {
                    "mission_id": "SURVEY",
                    "target_object": "M33",
                    "DATE-OBS": "2026-01-02",
                    "quality": 0.5,
                },
            ],
        )
    )
    assert [r["file_path"] for r in rows] == [
        f"{tmp_path}/list.csv#row=1",
        f"{tmp_path}/list.csv#row=2",
    ]
    assert [r["data_quality_score"] for r in rows] == [0.9, 0.5]
    assert rows[0]["mission_specific"]["seeing"] == "1.2"
    assert all(r["source_path"] == f"{tmp_path}/list.csv" for r in rows)

    (archive,) = extract(write_zarr(tmp_path / "d.zarr", steps=5))
    assert archive["format"] == "zarr" and archive["mission_id"] == "ARCHIVE"
    assert archive["observation_timestamp"] == datetime(2026, 5, 1, 0)
    assert archive["observation_end"] == datetime(2026, 5, 1, 4)
    assert archive["mission_specific"]["variables"]["sst"]["shape"] == [5, 2]
    assert archive["file_size"] > 0


def test_netcdf_with_a_noleap_calendar(tmp_path: Path) -> None:
    (nc,) = extract(write_netcdf(tmp_path / "n.nc", days=[0.0, 58.0], calendar="noleap"))
    assert nc["observation_end"] == datetime(2026, 2, 28)


@pytest.mark.parametrize("name", ["bad.fits", "bad.h5", "bad.nc", "bad.zarr"])
def test_corrupt_files_are_recorded_with_their_error(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    if name.endswith(".zarr"):
        path.mkdir()
        (path / "zarr.json").write_text("{not json")
    else:
        path.write_bytes(b"this is not the format at all" * 20)
    (record,) = extract(path)
    assert record["file_path"] == str(path)
    assert record["extraction_error"] and "not a readable" in record["extraction_error"]
    assert record["issues"][0]["code"] == "unreadable"


@pytest.mark.filterwarnings("ignore:Error validating header:astropy.io.fits.verify.VerifyWarning")
def test_truncated_fits_and_netcdf_are_failures(tmp_path: Path) -> None:
    for path in (write_fits(tmp_path / "t.fits"), write_netcdf(tmp_path / "t.nc")):
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 3])
        (record,) = extract(path)
        assert record["extraction_error"], path


def test_mission_rules_from_yaml(tmp_path: Path) -> None:
    module = tmp_path / "cosmos_quality.py"
    module.write_text(
        "def score(record, attributes):\n    return 0.25 if record.get('target_object') else 0.0\n"
    )
    sys.path.insert(0, str(tmp_path))
    try:
        config_file = tmp_path / "mapping.yaml"
        config_file.write_text(
            "missions:\n"
            "  DEEP:\n"
            "    match: {TELESCOP: Deep-1}\n"
            "    fields: {target_object: [SRCNAME]}\n"
            "    quality: cosmos_quality:score\n"
        )
        config = ExtractionConfig.load(config_file)
        (record,) = extract(
            write_fits(tmp_path / "d.fits", MISSION=None, TELESCOP="Deep-1", SRCNAME="NGC 224"),
            config,
        )
        assert record["mission_id"] == "DEEP"
        assert record["target_object"] == "NGC 224"
        assert record["data_quality_score"] == 0.25
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("cosmos_quality", None)


def test_bad_mapping_files_name_the_option(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("fields: [unclosed\n")
    with pytest.raises(InvalidInputError, match="not valid YAML"):
        ExtractionConfig.load(broken)
    unknown = tmp_path / "unknown.yaml"
    unknown.write_text("fields: {colour: [COLOUR]}\n")
    with pytest.raises(InvalidInputError, match="unknown catalog field"):
        ExtractionConfig.load(unknown)
    bad_quality = tmp_path / "q.yaml"
    bad_quality.write_text("quality: no_such_module:score\n")
    config = ExtractionConfig.load(bad_quality)
    (record,) = extract(write_fits(tmp_path / "x.fits"), config)
    assert "cannot be imported" in record["extraction_error"]


def test_unknown_suffix_is_a_recorded_failure(tmp_path: Path) -> None:
    path = tmp_path / "notes.xyz"
    path.write_text("x")
    (record,) = extract(path)
    assert "no extractor" in record["extraction_error"]


class _Spectra(Extractor):
    name = "spectra"
    suffixes = (".spec",)
    format = "spec"

    def read(self, source: Source) -> list[RawObservation]:
        text = Path(source.path).read_text()
        return [RawObservation({"MISSION": text.strip(), "OBJECT": "Vega"})]


def test_plugin_extractors_by_registration_and_entry_point(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(extractor_base, "EXTRACTORS", extractor_base.EXTRACTORS.copy())
    register_extractor(_Spectra)
    with pytest.raises(AlreadyExistsError):
        register_extractor(type("Other", (_Spectra,), {}))
    path = tmp_path / "x.spec"
    path.write_text("SPECMISSION\n")
    (record,) = extract(path)
    assert (record["mission_id"], record["target_object"], record["format"]) == (
        "SPECMISSION",
        "Vega",
        "spec",
    )

    package = tmp_path / "lidar_plugin.py"
    package.write_text(
        "from zarrlake.catalog.extractors import Extractor, RawObservation\n"
        "class Lidar(Extractor):\n"
        "    name = 'lidar'\n    suffixes = ('.las',)\n    format = 'las'\n"
        "    def read(self, source):\n        return [RawObservation({'MISSION': 'LIDAR'})]\n"
    )
    info = tmp_path / "lidar_plugin-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: lidar-plugin\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[zarrlake.extractors]\nlidar = lidar_plugin:Lidar\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(extractor_base, "EXTRACTORS", extractor_base.EXTRACTORS.copy())
    assert "lidar" in available_extractors()
    (tmp_path / "scan.las").write_bytes(b"x")
    (record,) = extract(tmp_path / "scan.las")
    assert record["mission_id"] == "LIDAR"
    sys.modules.pop("lidar_plugin", None)


@pytest.mark.parametrize("value", [float("nan"), np.float32("nan"), "", "  ", "nan", "NaN"])
def test_unknown_quality_is_null_with_an_issue_in_hdf5_and_netcdf(
    tmp_path: Path, value: object
) -> None:
    for record in (
        *extract(write_hdf5(tmp_path / "q.h5", data_quality_score=value)),
        *extract(write_netcdf(tmp_path / "q.nc", quality_score=value)),
    ):
        assert record["extraction_error"] is None
        assert record["data_quality_score"] is None, record["file_path"]
        (issue,) = [i for i in record["issues"] if i["field"] == "data_quality_score"]
        assert issue["code"] == "unknown_quality"
        assert issue["attribute"] in ("data_quality_score", "quality_score")


def test_unknown_quality_in_a_csv_cell(tmp_path: Path) -> None:
    rows = extract(
        write_csv(
            tmp_path / "list.csv",
            [
                {"mission_id": "S", "target_object": "M31", "quality": ""},
                {"mission_id": "S", "target_object": "M32", "quality": "nan"},
                {"mission_id": "S", "target_object": "M33", "quality": "0.7"},
                {"mission_id": "S", "target_object": "M34", "quality": "high"},
                {"mission_id": "S", "target_object": "M35", "quality": "1.5"},
            ],
        )
    )
    assert [r["data_quality_score"] for r in rows] == [None, None, 0.7, None, None]
    codes = [
        [i["code"] for i in r["issues"] if i.get("field") == "data_quality_score"] for r in rows
    ]
    assert codes == [
        ["unknown_quality"],
        ["unknown_quality"],
        [],
        ["unreadable_value"],
        ["quality_out_of_range"],
    ]
    assert "quality" not in rows[0]["mission_specific"]  # an empty cell is no value
    assert rows[3]["mission_specific"]["quality"] == "high"  # the unusable value is kept


def test_no_quality_attribute_is_still_scored_by_the_rule(tmp_path: Path) -> None:
    (record,) = extract(write_hdf5(tmp_path / "none.h5", instrument_type=None))
    assert record["data_quality_score"] == pytest.approx(1.0 - 0.2)  # one required field missing
    assert not [i for i in record["issues"] if i.get("field") == "data_quality_score"]


def test_float32_quality_is_the_decimal_the_writer_gave(tmp_path: Path) -> None:
    (h5,) = extract(write_hdf5(tmp_path / "f.h5", data_quality_score=np.float32(0.95)))
    (nc,) = extract(write_netcdf(tmp_path / "f.nc", quality_score=np.float32(0.95)))
    assert h5["data_quality_score"] == 0.95 and nc["data_quality_score"] == 0.95
    (ra,) = extract(write_hdf5(tmp_path / "r.h5", ra=np.float32(10.6847)))
    assert ra["ra"] == 10.6847


def test_mjd_obs_when_there_is_no_date_obs(tmp_path: Path) -> None:
    (record,) = extract(write_fits(tmp_path / "m.fits", **{"DATE-OBS": None, "MJD-OBS": 60000.5}))
    assert record["observation_timestamp"] == datetime(2023, 2, 25, 12)
    (both,) = extract(write_fits(tmp_path / "b.fits", **{"MJD-OBS": 60000.5}))
    assert both["observation_timestamp"] == datetime(2026, 3, 1, 12, 0, 0, 500000)


def test_a_scalar_time_coordinate_is_one_instant(tmp_path: Path) -> None:
    import zarr

    root = zarr.open_group(str(tmp_path / "s.zarr"), mode="w", zarr_format=3)
    root.attrs.update({"mission_id": "ARCHIVE"})
    time = root.create_array(
        "time", shape=(), dtype="f8", attributes={"units": "hours since 2026-05-01"}
    )
    time[...] = 6.0
    (record,) = extract(tmp_path / "s.zarr")
    assert record["extraction_error"] is None
    assert record["observation_timestamp"] == record["observation_end"] == datetime(2026, 5, 1, 6)


def test_hdf5_byte_attributes_in_utf8_or_latin1(tmp_path: Path) -> None:
    (utf8,) = extract(write_hdf5(tmp_path / "u.h5", target_object="Andromède".encode()))
    (latin,) = extract(write_hdf5(tmp_path / "l.h5", target_object="Andromède".encode("latin-1")))
    assert utf8["target_object"] == latin["target_object"] == "Andromède"
    assert latin["mission_specific"]["latin1_attributes"] == ["target_object"]
    assert "latin1_attributes" not in utf8["mission_specific"]
