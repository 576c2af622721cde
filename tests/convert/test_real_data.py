"""Real Met Office files no one here wrote (PyPI ``iris-sample-data``), converted exactly.

Each file must read back from its archive equal to the file itself: every variable
(bounds, scalar and auxiliary coordinates, grid mappings) bit for bit, cftime labels in
360-day and Gregorian calendars, attributes and CF encodings kept.
"""

from __future__ import annotations

from pathlib import Path

import iris_sample_data
import pytest

from tests.cfdata import differences
from zarrlake.convert import run

DATA = Path(iris_sample_data.path)

CASES = [
    # file, concat dim: what it exercises
    ("A1B_north_america.nc", "time"),  # 360_day, time_bnds, scalar coords, grid mapping
    ("ostia_monthly.nc", "time"),  # monthly, two bounds variables, _FillValue 1e20
    ("SOI_Darwin.nc", "time"),  # int64 days since 1800, _FillValue -99.9
    ("hybrid_height.nc", "model_level_number"),  # int axis, 2-D surface_altitude, bounds
    ("rotated_pole.nc", "grid_latitude"),  # float32 axis that is not exactly regular
    ("toa_brightness_stereographic.nc", "x"),  # 2-D lat/lon, scalar float32 time
    ("atlantic_profiles.nc", "depth"),  # axis with units, scalar time, int16 fill 32767
    ("vlstr_type.nc", "time"),  # variable-length string coordinate, no calendar attribute
]


@pytest.mark.parametrize(("name", "dim"), CASES, ids=[c[0] for c in CASES])
def test_real_file_converts_exactly(tmp_path: Path, name: str, dim: str) -> None:
    source = str(DATA / name)
    target = str(tmp_path / "out.zarr")
    result = run([source], target, {"concat_dim": dim}, workers=1)
    assert result.report.valid, result.report.issues
    assert differences(target, [source]) == []


def test_a1b_and_e1_join_into_one_archive(tmp_path: Path) -> None:
    """Two scenarios of one model are not one series: the label overlap is an error."""
    from zarrlake.errors import InvalidInputError

    files = [str(DATA / "A1B_north_america.nc"), str(DATA / "E1_north_america.nc")]
    with pytest.raises(InvalidInputError, match="appears in both"):
        run(files, str(tmp_path / "out.zarr"), workers=1)
