"""FITS headers as real missions write them: bad cards, non-ASCII text, every date form."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from tests.catalog.files import write_hdf5, write_netcdf
from tests.catalog.rawfits import extension, primary, write
from zarrlake.catalog._scan import local_source
from zarrlake.catalog.extractors import extract_source
from zarrlake.catalog.extractors.fitscards import decoded_strings, fits_date

MISSION = [
    "MISSION = 'COSMOS-7'",
    "TELESCOP= 'Sat-A'",
    "INSTRUME= 'CAM'",
]


def extract_one(path: Path) -> dict:
    source = local_source(str(path))
    assert source is not None
    (record,) = extract_source(source)
    return record


def fits_file(
    tmp_path: Path,
    cards: list[str | bytes],
    name: str = "x.fits",
    *,
    end: bool = True,
    encoding: str = "utf-8",
) -> Path:
    hdu = primary([*MISSION, *cards], shape=(2, 3), end=end, encoding=encoding)
    return write(tmp_path / name, hdu)


def codes(record: dict) -> list[str]:
    return [issue["code"] for issue in record["issues"]]


def test_an_unparsable_card_is_an_issue_not_an_unreadable_file(tmp_path: Path) -> None:
    record = extract_one(
        fits_file(
            tmp_path,
            [
                "DATE-OBS= '2026-03-01T12:00:00'",
                "OBJECT  = 'M31'",
                "QUALITY = NAN",
                "EXPTIME =   30.0 / seconds",
                "GAIN    = 1.2.3 / e-/ADU",
            ],
        )
    )
    assert record["extraction_error"] is None
    assert (record["target_object"], record["mission_id"]) == ("M31", "COSMOS-7")
    assert record["observation_timestamp"] == datetime(2026, 3, 1, 12)
    assert record["mission_specific"]["EXPTIME"] == 30.0
    assert record["mission_specific"]["hdus"][0]["shape"] == [2, 3]
    bad = {i["keyword"]: i for i in record["issues"] if i["code"] == "unparsable_card"}
    assert set(bad) == {"QUALITY", "GAIN"}
    assert "QUALITY" in bad["QUALITY"]["message"] and "HDU 0" in bad["QUALITY"]["message"]
    assert bad["GAIN"]["value"] == "1.2.3"
    assert record["mission_specific"]["GAIN"] == "1.2.3"
    # NaN quality is unknown quality, not the computed 1.0
    assert record["data_quality_score"] is None
    assert "unknown_quality" in codes(record)
    assert "fits_warning" not in codes(record)  # astropy's fix warnings are not repeated


@pytest.mark.parametrize("encoding", ["utf-8", "latin-1"])
def test_non_ascii_header_text_is_decoded(tmp_path: Path, encoding: str) -> None:
    record = extract_one(
        fits_file(
            tmp_path,
            [
                "OBJECT  = 'Andromède'  / la galaxie",
                "OBSERVER= 'Zoë O''Brien'",
                "DATE-OBS= '2026-03-01'",
            ],
            encoding=encoding,
        )
    )
    assert record["extraction_error"] is None
    assert record["target_object"] == "Andromède"
    assert record["mission_specific"]["OBSERVER"] == "Zoë O'Brien"
    assert {c["keyword"]: c["encoding"] for c in record["mission_specific"]["non_ascii_cards"]} == {
        "OBJECT": encoding,
        "OBSERVER": encoding,
    }
    assert "fits_warning" not in codes(record)


def test_one_target_one_spelling_across_formats(tmp_path: Path) -> None:
    name = "Ωmega Cen"
    fits = extract_one(fits_file(tmp_path, [f"OBJECT  = '{name}'"]))
    h5 = extract_one(write_hdf5(tmp_path / "o.h5", target_object=name))
    nc = extract_one(write_netcdf(tmp_path / "o.nc", target=name))
    assert fits["target_object"] == h5["target_object"] == nc["target_object"] == name


def test_long_strings_and_hierarch_cards_with_non_ascii_text(tmp_path: Path) -> None:
    record = extract_one(
        fits_file(
            tmp_path,
            [
                "REMARKS = 'première partie, &'",
                "CONTINUE  'deuxième partie'",
                "HIERARCH ESO OBS TARG NAME = 'Véga'",
            ],
        )
    )
    specific = record["mission_specific"]
    assert specific["REMARKS"] == "première partie, deuxième partie"
    assert specific["ESO OBS TARG NAME"] == "Véga"


def test_padded_values_are_stripped(tmp_path: Path) -> None:
    record = extract_one(
        fits_file(
            tmp_path, ["OBJECT  = '   M31     '", "CALIB   = ' COMPLETE '", "FILTER  = '  R  '"]
        )
    )
    assert record["target_object"] == "M31"
    assert record["calibration_status"] == "COMPLETE"
    assert record["mission_specific"]["FILTER"] == "R"


@pytest.mark.parametrize(
    ("cards", "start", "end"),
    [
        (["DATE-OBS= '2026-03-01T12:00:00'"], datetime(2026, 3, 1, 12), None),
        (["DATE-OBS= '2026-03-01T12:00:00Z'"], datetime(2026, 3, 1, 12), None),
        (
            ["DATE-OBS= '2026-03-01T12:00:00.123456789'"],
            datetime(2026, 3, 1, 12, 0, 0, 123456),
            None,
        ),
        (["DATE-OBS= '  2026-03-01T12:00:00.5Z  '"], datetime(2026, 3, 1, 12, 0, 0, 500000), None),
        (["DATE-OBS= '2026-03-01'"], datetime(2026, 3, 1), None),
        (
            ["DATE-OBS= '2026-03-01'", "TIME-OBS= '08:56:00.25'"],
            datetime(2026, 3, 1, 8, 56, 0, 250000),
            None,
        ),
        (["DATE-OBS= '06/01/96'", "TIME-OBS= '08:56:00'"], datetime(1996, 1, 6, 8, 56), None),
        (["DATE-OBS= '19/05/94'"], datetime(1994, 5, 19), None),
        (
            ["DATE-OBS= '06/01/1996'", "TIME-OBS= '23:59:59'"],
            datetime(1996, 1, 6, 23, 59, 59),
            None,
        ),
        (["DATE_OBS= '2001-02-03T04:05:06'"], datetime(2001, 2, 3, 4, 5, 6), None),
        (
            ["DATE-BEG= '2026-03-01T12:00:00'", "DATE-END= '2026-03-01T12:30:00'"],
            datetime(2026, 3, 1, 12),
            datetime(2026, 3, 1, 12, 30),
        ),
        (
            ["DATE-OBS= '12/03/97'", "DATE-END= '13/03/97'", "TIME-END= '01:00:00'"],
            datetime(1997, 3, 12),
            datetime(1997, 3, 13, 1),
        ),
        (["MJD-OBS =              60000.5"], datetime(2023, 2, 25, 12), None),
        (
            ["MJD-OBS =              60000.5", "MJD-END =             60000.75"],
            datetime(2023, 2, 25, 12),
            datetime(2023, 2, 25, 18),
        ),
        (
            ["DATE-OBS= '2026-03-01T12:00:00'", "MJD-OBS =              60000.5"],
            datetime(2026, 3, 1, 12),
            None,
        ),
    ],
)
def test_fits_date_forms(
    tmp_path: Path, cards: list[str], start: datetime, end: datetime | None
) -> None:
    record = extract_one(fits_file(tmp_path, cards))
    assert record["extraction_error"] is None
    assert record["observation_timestamp"] == start
    assert record.get("observation_end") == end
    assert "unreadable_value" not in codes(record)


def test_dates_and_their_clock_come_from_one_hdu(tmp_path: Path) -> None:
    path = write(
        tmp_path / "ext.fits",
        primary([*MISSION, "OBJECT  = 'M31'"]),
        extension(["DATE-OBS= '1998-04-20'", "TIME-OBS= '18:38:15'"]),
    )
    record = extract_one(path)
    assert record["observation_timestamp"] == datetime(1998, 4, 20, 18, 38, 15)
    assert [h["name"] for h in record["mission_specific"]["hdus"]] == ["PRIMARY", "SCI"]


def test_bad_dates_are_issues_naming_the_keyword(tmp_path: Path) -> None:
    record = extract_one(fits_file(tmp_path, ["DATE-OBS= '31/02/96'"]))
    (issue,) = [i for i in record["issues"] if i["code"] == "unreadable_value"]
    assert (issue["attribute"], issue["value"]) == ("DATE-OBS", "31/02/96")
    assert record.get("observation_timestamp") is None
    clock = extract_one(
        fits_file(tmp_path, ["DATE-OBS= '1996-01-06'", "TIME-OBS= '25:99'"], "c.fits")
    )
    (issue,) = [i for i in clock["issues"] if i["code"] == "unreadable_value"]
    assert issue["attribute"] == "TIME-OBS" and "25:99" in issue["message"]
    assert clock["observation_timestamp"] == datetime(1996, 1, 6)


def test_a_header_without_end_is_read_with_an_issue(tmp_path: Path) -> None:
    path = fits_file(tmp_path, ["OBJECT  = 'M31'", "DATE-OBS= '2026-03-01'"], end=False)
    record = extract_one(path)
    assert record["extraction_error"] is None
    assert record["target_object"] == "M31"
    assert "missing_end" in codes(record)


@pytest.mark.parametrize(("compress", "suffix"), [("gzip", ".fits.gz"), ("bz2", ".fits.bz2")])
def test_compressed_fits(tmp_path: Path, compress: str, suffix: str) -> None:
    path = write(
        tmp_path / f"z{suffix}", primary([*MISSION, "OBJECT  = 'Andromède'"]), compress=compress
    )
    record = extract_one(path)
    assert record["extraction_error"] is None and record["target_object"] == "Andromède"


def test_an_unreadable_header_names_the_card_at_fault(tmp_path: Path) -> None:
    path = write(tmp_path / "bad.fits", primary(["CONTINUE  'orphan'", "OBJECT  = 'Véga'"]))
    record = extract_one(path)
    assert str(path) in record["extraction_error"]
    assert "CONTINUE" in record["extraction_error"]


def test_decoding_helpers() -> None:
    raw = (
        "OBJECT  = 'Andromède' / x".encode().ljust(80)
        + b"PLAIN   = 'ascii'".ljust(80)
        + b"END".ljust(80)
        + "LATER   = 'é'".encode().ljust(80)
    )
    assert decoded_strings(raw) == {("OBJECT", 0): ("Andromède", "utf-8")}
    assert fits_date("06/01/96") == "1996-01-06"
    assert fits_date("2026-03-01T12:00:00Z") == "2026-03-01T12:00:00Z"
    assert fits_date("yesterday") is None and fits_date("30/02/2000") is None


def test_non_ascii_only_in_a_comment_is_no_issue(tmp_path: Path) -> None:
    record = extract_one(fits_file(tmp_path, ["FILTER  = 'R?'  / filtre rouge, été"]))
    assert record["mission_specific"]["FILTER"] == "R?"  # a real question mark stays
    assert "non_ascii_cards" not in record["mission_specific"]
    assert "fits_warning" not in codes(record)
