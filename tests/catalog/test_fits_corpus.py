"""Every FITS file in astropy's own test data is catalogued: fields, or a clear error.

The files (installed with astropy under ``astropy/io/fits/tests/data``) were written by
many instruments and tools over decades: pre-2000 dates, random groups, compressed
images, tables, checksums, a header astropy calls invalid and an LZW-compressed file.
"""

from __future__ import annotations

import importlib.util
from datetime import datetime
from pathlib import Path

import astropy
import pytest

from zarrlake.catalog._scan import local_source
from zarrlake.catalog.extractors import extract_source

DATA = Path(astropy.__file__).parent / "io" / "fits" / "tests" / "data"
FILES = sorted(p for p in DATA.rglob("*") if p.is_file() and ".fits" in p.name.lower())

EXPECTED: dict[str, dict[str, object]] = {
    "chandra_time.fits": {
        "satellite_name": "CHANDRA",
        "instrument_type": "ACIS",
        "target_object": "Mrk 1434",
        "observation_timestamp": datetime(2016, 1, 26, 17, 58, 29),
        "observation_end": datetime(2016, 1, 26, 19, 45, 57),
    },
    "checksum.fits": {  # DD/MM/YY dates and TIME-OBS in the first extension
        "target_object": "NGC 1316",
        "satellite_name": "Optical",
        "observation_timestamp": datetime(1996, 1, 6, 8, 56),
        "observation_end": datetime(1997, 3, 12, 6, 18, 34),  # DATE-END + TIME-END
    },
    "test0.fits": {
        "instrument_type": "WFPC2",
        "observation_timestamp": datetime(1994, 5, 19, 15, 41, 16),
    },
    "o4sp040b0_raw.fits": {
        "satellite_name": "HST",
        "instrument_type": "STIS",
        "observation_timestamp": datetime(1998, 4, 20, 18, 38, 15),
    },
    "fixed-1890.fits": {  # DATE-OBS wins over MJD-OBS
        "observation_timestamp": datetime(2011, 9, 16, 10, 33, 45, 368000),
    },
    "random_groups.fits": {
        "satellite_name": "ATCA",
        "target_object": "n641_17",
        "observation_timestamp": datetime(2012, 1, 29),
    },
    "zerowidth.fits": {"satellite_name": "VLA", "observation_timestamp": datetime(1998, 2, 24)},
    "memtest.fits": {
        "instrument_type": "CCDM",
        "observation_timestamp": datetime(2000, 7, 18, 23, 3, 58),
        "observation_end": datetime(2000, 7, 19, 0, 53, 18),
    },
}
UNREADABLE = set() if importlib.util.find_spec("uncompresspy") else {"lzw.fits.Z": "uncompresspy"}


def test_the_corpus_is_there() -> None:
    assert len(FILES) >= 30
    assert set(EXPECTED) | set(UNREADABLE) <= {p.name for p in FILES}


@pytest.mark.parametrize("path", FILES, ids=[str(p.relative_to(DATA)) for p in FILES])
def test_astropy_fits_file_is_catalogued(path: Path) -> None:
    source = local_source(str(path))
    assert source is not None, "a FITS suffix the scanner does not pick up"
    (record,) = extract_source(source)
    assert (record["format"], record["extractor"]) == ("fits", "fits")
    if path.name in UNREADABLE:
        message = record["extraction_error"]
        assert message and str(path) in message and "not a readable FITS file" in message
        assert UNREADABLE[path.name] in message  # what to install
        return
    assert record["extraction_error"] is None, record["extraction_error"]
    assert record["mission_specific"]["hdus"], "every readable file lists its HDUs"
    assert not [i for i in record["issues"] if i["code"] in ("unparsable_card", "fits_warning")]
    for field, value in EXPECTED.get(path.name, {}).items():
        assert record.get(field) == value, field
