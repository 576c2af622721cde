"""CSV observation lists as spreadsheets write them: encodings and delimiters."""

from __future__ import annotations

from pathlib import Path

import pytest

from zarrlake.catalog._scan import local_source
from zarrlake.catalog.extractors import extract_source

HEADER = ["mission_id", "target_object", "DATE-OBS", "quality", "note"]
ROWS = [
    ["SURVEY", "Andromède", "2026-01-01T00:00:00", "0.9", "première nuit"],
    ["SURVEY", "Ωmega Cen", "2026-01-02", "0.5", "seeing 1,2"],
]


def write(path: Path, text: str, encoding: str) -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def table(delimiter: str, rows: list[list[str]] = ROWS) -> str:
    def cell(value: str) -> str:
        return f'"{value}"' if delimiter in value else value

    return "\n".join(delimiter.join(cell(v) for v in row) for row in [HEADER, *rows]) + "\n"


def extract(path: Path) -> list[dict]:
    source = local_source(str(path))
    assert source is not None
    return extract_source(source)


@pytest.mark.parametrize(
    "delimiter", [",", ";", "\t", "|"], ids=["comma", "semicolon", "tab", "bar"]
)
@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig"])
def test_delimiter_and_utf8_with_or_without_bom(
    tmp_path: Path, delimiter: str, encoding: str
) -> None:
    rows = extract(write(tmp_path / "list.csv", table(delimiter), encoding))
    assert [r["extraction_error"] for r in rows] == [None, None]
    assert [r["target_object"] for r in rows] == ["Andromède", "Ωmega Cen"]
    assert [r["mission_id"] for r in rows] == ["SURVEY", "SURVEY"]  # no BOM in the first name
    assert [r["data_quality_score"] for r in rows] == [0.9, 0.5]
    assert rows[1]["mission_specific"]["note"] == "seeing 1,2"
    assert rows[0]["mission_specific"]["csv_delimiter"] == delimiter
    assert rows[0]["mission_specific"]["csv_encoding"] == encoding


def test_latin1_is_read_and_said(tmp_path: Path) -> None:
    rows = [["SURVEY", "Andromède", "2026-01-01", "0.9", "été"]]
    (row,) = extract(write(tmp_path / "latin.csv", table(";", rows), "latin-1"))
    assert row["extraction_error"] is None
    assert row["target_object"] == "Andromède"
    assert row["mission_specific"]["note"] == "été"
    assert row["mission_specific"]["csv_encoding"] == "latin-1"


def test_windows_1252_is_an_error_that_names_the_byte(tmp_path: Path) -> None:
    path = tmp_path / "cp1252.csv"
    path.write_bytes(b"mission_id,note\nS,it\x92s\n")  # Windows-1252's right quote
    (record,) = extract(path)
    assert "neither UTF-8" in record["extraction_error"]
    assert "0x92" in record["extraction_error"] and str(path) in record["extraction_error"]


def test_utf16_is_an_error_that_says_so(tmp_path: Path) -> None:
    (record,) = extract(write(tmp_path / "u16.csv", table(","), "utf-16"))
    assert "UTF-16" in record["extraction_error"]


def test_an_undecidable_delimiter_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "ragged.csv"
    path.write_text("mission_id,target\nS,M31,extra,cells\n")
    (record,) = extract(path)
    assert "cannot tell the delimiter" in record["extraction_error"]
    assert str(path) in record["extraction_error"]


def test_short_rows_and_one_column_lists(tmp_path: Path) -> None:
    short = tmp_path / "short.csv"
    short.write_text("mission_id;target_object;quality\nS;M31;0.4\nS;M33\n")
    rows = extract(short)
    assert [r["target_object"] for r in rows] == ["M31", "M33"]
    assert rows[1]["mission_specific"]["csv_delimiter"] == ";"
    single = tmp_path / "single.csv"
    single.write_text("file_path\n/data/a.fits\n/data/b.fits\n")
    assert [r["file_path"] for r in extract(single)] == ["/data/a.fits", "/data/b.fits"]
