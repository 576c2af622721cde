"""The default verify: fingerprints recorded while writing, checked without reading inputs.

Each fault test checks the archive is valid first, injects one fault, and checks the
default verify (no inputs) reports it with the code it claims for that fault.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
import zarr

from tests.convert.inputs import combined, write_inputs
from zarrlake.convert import run, verify
from zarrlake.convert._records import bit_sum, read_record_state
from zarrlake.storage import open_store

RECORDS = Path("convert/done")  # in the sidecar folder beside the archive


def _convert(tmp_path: Path, count: int = 4, **config: object) -> tuple[str, list[str]]:
    paths = write_inputs(tmp_path / "in", count, 5)
    target = str(tmp_path / "out.zarr")
    settings = {"chunks": {"time": 5, "lat": 3}, "chunks_per_unit": 1, "workers": 1, **config}
    result = run(paths, target, **settings)  # type: ignore[arg-type]
    assert result.report is not None and result.report.valid, result.report.errors()
    return target, paths


def _codes(target: str, **options: object) -> set[str]:
    return verify(target, **options).codes()  # type: ignore[arg-type]


def _unit_records(target: str) -> dict[str, dict]:
    records, corrupt = read_record_state(open_store(target, mode="r"))
    assert not corrupt
    return {k: v for k, v in records.items() if v.get("kind") == "unit"}


def test_default_verify_reads_no_input(tmp_path, monkeypatch):
    import zarrlake.convert._verify as verify_module

    def refuse(*args, **kwargs):
        raise AssertionError("the default verify opened an input")

    monkeypatch.setattr(verify_module, "open_file_dataset", refuse)
    target, _ = _convert(tmp_path)  # the run's own verify
    assert verify(target, full=True).valid  # full decodes every object, still no input


def test_records_fingerprint_every_object_a_unit_stored(tmp_path):
    target, _ = _convert(tmp_path, packing=True)
    records = _unit_records(target)
    assert len(records) == 4
    group = zarr.open_group(target, mode="r")
    for record in records.values():
        for name in ("t2m", "tp"):
            objects = record["objects"][name]
            assert len(objects) == 2  # one time chunk x two latitude chunks
            for key, entry in objects.items():
                data = (Path(target) / name / key).read_bytes()
                assert entry["size"] == len(data)
                coords = tuple(int(c) for c in key.split("/")[1:])
                region = tuple(
                    slice(c * s, (c + 1) * s) for c, s in zip(coords, (5, 3, 8), strict=True)
                )
                assert entry["bits"] == bit_sum(np.asarray(group[name][region]))
                assert {"nan", "min", "max"} <= set(entry)  # packed: the sources' statistics


def test_unpacked_floats_record_bits_only(tmp_path):
    target, _ = _convert(tmp_path, count=1)
    (record,) = _unit_records(target).values()
    entry = next(iter(record["objects"]["t2m"].values()))
    assert set(entry) == {"size", "words", "bits"}  # the encoded bits are the values


def test_a_deleted_object_is_found(tmp_path):
    target, _ = _convert(tmp_path)
    assert _codes(target) == set()
    (Path(target) / "t2m" / "c" / "2" / "1" / "0").unlink()
    assert "ZL201" in _codes(target)


def test_an_object_overwritten_with_another_of_other_size_is_found(tmp_path):
    target, _ = _convert(tmp_path, compression="zstd:3")
    chunks = Path(target) / "t2m" / "c"
    first, other = chunks / "0" / "0" / "0", chunks / "3" / "1" / "0"
    assert first.stat().st_size != other.stat().st_size  # the size check applies
    assert _codes(target) == set()
    shutil.copyfile(other, first)
    codes = _codes(target, objects=0)  # found from the listing alone: nothing decoded
    assert codes == {"ZL206"}


def test_an_object_overwritten_with_another_of_the_same_size_is_found(tmp_path):
    # Without compression every object has the same size: only the bytes tell them apart.
    target, _ = _convert(tmp_path, compression="none")
    chunks = Path(target) / "t2m" / "c"
    first, other = chunks / "0" / "0" / "0", chunks / "3" / "1" / "0"
    assert first.stat().st_size == other.stat().st_size
    assert _codes(target, objects=0) == set()
    shutil.copyfile(other, first)
    assert _codes(target, objects=0) == {"ZL206"}


def test_values_rewritten_in_place_are_found(tmp_path):
    target, _ = _convert(tmp_path)
    assert _codes(target) == set()
    zarr.open_group(target, mode="r+")["tp"][7, 4, 2] = 0.5  # a later rogue write
    assert _codes(target) == {"ZL206"}


def test_a_corrupt_record_is_found_and_a_rerun_rewrites_its_unit(tmp_path):
    target, paths = _convert(tmp_path)
    name = sorted(_unit_records(target))[1]
    path = Path(target + ".zarrlake") / RECORDS / f"{name}.json"
    content = json.loads(path.read_text())
    content["steps"] = [[0, 20]]  # claims steps it never wrote; the digest no longer matches
    path.write_text(json.dumps(content))
    codes = _codes(target)
    assert {"ZL209", "ZL200"} <= codes
    again = run(paths, target, chunks={"time": 5, "lat": 3}, chunks_per_unit=1, workers=1)
    assert again.units_written == 1 and again.report is not None and again.report.valid


def test_a_truncated_record_is_found(tmp_path):
    target, _ = _convert(tmp_path)
    name = sorted(_unit_records(target))[0]
    path = Path(target + ".zarrlake") / RECORDS / f"{name}.json"
    path.write_bytes(path.read_bytes()[:40])
    assert {"ZL209", "ZL200"} <= _codes(target)


def _shift_unit(monkeypatch, first_step: int, by: int) -> None:
    """Make the unit starting at ``first_step`` store its rows ``by`` steps later."""
    import zarrlake.convert._writer as writer_module

    original = writer_module.ArchiveWriter._store

    def shifted(self, var, values, rows, block):
        if rows.start == first_step:
            rows = slice(rows.start + by, rows.stop + by)
        return original(self, var, values, rows, block)

    monkeypatch.setattr(writer_module.ArchiveWriter, "_store", shifted)


@pytest.mark.parametrize("by", [5, 1])
def test_a_unit_written_at_a_shifted_region_is_found(tmp_path, monkeypatch, by):
    # A writer that puts a unit's rows at the wrong steps cannot be caused through the
    # public API (units come from label matching), so the store call is patched.
    paths = write_inputs(tmp_path / "in", 4, 5)
    target = str(tmp_path / "out.zarr")
    _shift_unit(monkeypatch, first_step=5, by=by)
    result = run(paths, target, chunks={"time": 5}, chunks_per_unit=1, workers=1)
    assert result.report is not None
    assert "ZL207" in result.report.codes()
    monkeypatch.undo()
    clean = str(tmp_path / "clean.zarr")
    assert run(paths, clean, chunks={"time": 5}, chunks_per_unit=1, workers=1).report.valid


def test_wrong_packing_is_found_from_the_recorded_statistics(tmp_path, monkeypatch):
    # A packing that disagrees with the stored scale (a stale scale_factor) decodes to
    # other values than the sources held; the default verify decodes one object per
    # variable and compares with the statistics recorded from the sources.
    from zarrlake.encoding import Packing

    original = Packing.pack_in_range

    def stale(self, values):
        return original(self, np.asarray(values) * 0.9 + 0.1 * self.valid_min)

    target, paths = _convert(tmp_path, packing=True)
    assert _codes(target) == set()
    monkeypatch.setattr(Packing, "pack_in_range", stale)
    broken = str(tmp_path / "broken.zarr")
    result = run(
        paths, broken, chunks={"time": 5, "lat": 3}, chunks_per_unit=1, workers=1, packing=True
    )
    assert result.report is not None and "ZL208" in result.report.codes()


def test_missing_values_mapped_wrongly_are_found(tmp_path, monkeypatch):
    # NaN in the sources must be stored as the packing's fill code; a writer that stores
    # them as a valid code loses the missing values (the count no longer matches).
    from zarrlake.encoding import Packing

    original = Packing.pack_in_range

    def no_fill(self, values):
        values = np.asarray(values)
        return original(self, np.where(np.isnan(values), self.valid_min, values))

    paths = write_inputs(tmp_path / "in", 2, 5)
    for path in paths:
        ds = xr.load_dataset(path)
        ds["t2m"][0, 0, :] = np.nan
        ds.to_netcdf(path)
    target = str(tmp_path / "out.zarr")
    good = run(paths, target, chunks={"time": 5}, packing=True, workers=1)
    assert good.report is not None and good.report.valid
    monkeypatch.setattr(Packing, "pack_in_range", no_fill)
    broken = str(tmp_path / "broken.zarr")
    result = run(paths, broken, chunks={"time": 5}, packing=True, workers=1)
    assert result.report is not None and "ZL208" in result.report.codes()


def test_the_archive_still_reads_back_equal(tmp_path):
    target, paths = _convert(tmp_path, workers=2)
    xr.testing.assert_equal(xr.open_zarr(target).t2m.load(), combined(paths).t2m)
    assert verify(target, paths, full=True).valid  # inputs re-read when asked


def test_run_takes_a_verify_sample_and_the_verify_command_finds_a_swapped_object(tmp_path):
    from tests.subprocesses import run_zarrlake

    write_inputs(tmp_path / "in", 2, 5)
    target = str(tmp_path / "out.zarr")
    inputs = str(tmp_path / "in" / "*.nc")
    run_args = ["convert", "run", inputs, "-O", target, "--chunk", "time=5", "--json"]
    first = run_zarrlake(*run_args, "--verify-sample", "1")
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["valid"] is True
    chunks = Path(target) / "tp" / "c"
    shutil.copyfile(chunks / "1" / "0" / "0", chunks / "0" / "0" / "0")
    checked = run_zarrlake("convert", "verify", target, "--json")
    assert checked.returncode == 1
    assert {i["code"] for i in json.loads(checked.stdout)["issues"]} == {"ZL206"}
