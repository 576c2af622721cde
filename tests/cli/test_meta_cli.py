from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import zarr

from tests.conftest import make_target
from tests.subprocesses import run_zarrlake


def _stores(folder: Path, count: int) -> None:
    for i in range(count):
        group = zarr.open_group(folder / f"s{i}.zarr", mode="w", zarr_format=2 + i % 2)
        group.create_array("v", shape=(2,), dtype="i2", attributes={"units": "1"})
        zarr.consolidate_metadata(folder / f"s{i}.zarr")


def test_validate_many_with_junit_and_exit_code(tmp_path: Path) -> None:
    _stores(tmp_path / "data", 3)
    (tmp_path / "data" / "s1.zarr" / "zarr.json").write_text("{broken")
    result = run_zarrlake(
        "meta", "validate", "data/*.zarr", "--junit", "report.xml", "-j", "2", cwd=tmp_path
    )
    assert result.returncode == 1, result.stderr
    assert "2 of 3 store(s) ok" in result.stdout
    suite = ET.parse(tmp_path / "report.xml").getroot().find("testsuite")
    assert suite.get("tests") == "3" and suite.get("failures") == "1"
    failed = [c for c in suite.iter("testcase") if c.find("failure") is not None]
    assert failed[0].get("name") == "data/s1.zarr"
    assert "invalid JSON in zarr.json" in failed[0].find("failure").text


def test_validate_json_and_consolidate_and_list(tmp_path: Path) -> None:
    _stores(tmp_path, 1)
    zarr.open_group(tmp_path / "s0.zarr", mode="a").create_array("late", shape=(1,), dtype="u1")
    result = run_zarrlake("meta", "validate", "s0.zarr", "--json", cwd=tmp_path)
    payload = json.loads(result.stdout)
    assert result.returncode == 1 and payload[0]["report"]["consolidated_fresh"] is False
    assert payload[0]["report"]["issues"][0]["code"] == "ZL101"
    assert run_zarrlake("meta", "consolidate", "s0.zarr", cwd=tmp_path).returncode == 0
    assert run_zarrlake("meta", "validate", "s0.zarr", cwd=tmp_path).returncode == 0
    listed = run_zarrlake("meta", "list", "s0.zarr", cwd=tmp_path)
    assert listed.stdout.split() == ["late", "v"]


def test_repair_backup_restore_commands(tmp_path: Path) -> None:
    _stores(tmp_path, 1)
    backup = run_zarrlake("meta", "backup", "s0.zarr", "meta.json", cwd=tmp_path)
    assert backup.returncode == 0 and (tmp_path / "meta.json").exists()
    (tmp_path / "s0.zarr" / ".zgroup").unlink()
    plan = run_zarrlake("meta", "repair", "s0.zarr", "--dry-run", cwd=tmp_path)
    assert "create the missing group document of the root" in plan.stdout
    assert not (tmp_path / "s0.zarr" / ".zgroup").exists()
    fixed = run_zarrlake("meta", "repair", "s0.zarr", cwd=tmp_path)
    assert fixed.returncode == 0 and "repaired" in fixed.stdout
    restored = run_zarrlake("meta", "restore", "meta.json", "s0.zarr", cwd=tmp_path)
    assert restored.returncode == 0 and "restored" in restored.stdout


def test_s3_prefix_discovery(request, tmp_path: Path) -> None:
    target = make_target("s3", request, tmp_path)
    bucket = target.url.split("://", 1)[1].split("/", 1)[0]
    from zarrlake.storage import open_store

    for name in ("a.zarr", "b.zarr"):
        store = open_store(
            f"s3://{bucket}/batch/{name}", mode="a", storage_options=target.storage_options
        )
        zarr.open_group(store, mode="w").create_array(
            "v", shape=(1,), dtype="i1", attributes={"units": "1"}
        )
    result = run_zarrlake(
        "meta", "consolidate", f"s3://{bucket}/batch/", *target.cli_options, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert (
        f"s3://{bucket}/batch/a.zarr" in result.stdout
        and f"s3://{bucket}/batch/b.zarr" in result.stdout
    )
    assert "2 of 2 store(s) ok" in result.stdout


def test_no_match(tmp_path: Path) -> None:
    result = run_zarrlake("meta", "validate", "nothing/*.zarr", cwd=tmp_path)
    assert result.returncode == 2 and "no Zarr store matches" in result.stderr


def test_every_finding_is_listed_in_full_with_its_fix(tmp_path: Path) -> None:
    deep = tmp_path / ("a-rather-long-folder-name-" * 4)
    group = zarr.open_group(deep / "no-units.zarr", mode="w", zarr_format=3)
    group.create_array("temperature_at_two_metres", shape=(2,), dtype="f4")
    zarr.consolidate_metadata(deep / "no-units.zarr")
    result = run_zarrlake("meta", "validate", str(deep / "no-units.zarr"), cwd=tmp_path)
    line = next(x for x in result.stdout.splitlines() if "ZL160" in x)
    assert line.startswith(f"{deep / 'no-units.zarr'}: warning ZL160 ")
    assert "'temperature_at_two_metres'" in line and line.endswith("(fix: add a 'units' attribute)")
