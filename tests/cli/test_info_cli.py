from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import zarr

from tests.conftest import StoreTarget
from tests.subprocesses import run_zarrlake
from zarrlake.cli import main


def _archive(target: StoreTarget) -> None:
    group = zarr.open_group(target.open("a"), mode="w", zarr_format=3)
    array = group.create_array("sst", shape=(8, 8), chunks=(4, 8), dtype="float32")
    array[:] = np.ones((8, 8), dtype="float32")
    zarr.consolidate_metadata(target.open("a"))


def test_info_in_process(store_target: StoreTarget, capsys: pytest.CaptureFixture[str]) -> None:
    _archive(store_target)
    with pytest.raises(SystemExit) as exit_info:
        main(["info", store_target.url, "--json", *store_target.cli_options])
    assert exit_info.value.code == 0
    report = json.loads(capsys.readouterr().out)
    assert report["url"] == store_target.url
    assert report["consolidated"] is True
    assert report["root"]["children"][0]["path"] == "sst"


@pytest.mark.parametrize("kind", ["local", "s3"])
def test_info_command_prints_tree(request: pytest.FixtureRequest, tmp_path, kind: str) -> None:
    from tests.conftest import make_target

    target = make_target(kind, request, tmp_path)
    _archive(target)
    result = run_zarrlake("info", target.url, *target.cli_options)
    assert result.returncode == 0, result.stderr
    assert "zarr v3, consolidated" in result.stdout
    assert "sst (8, 8) float32  chunks (4, 8)  zstd:0" in result.stdout
    assert "written 2/2 chunks" in result.stdout


def test_missing_store_exits_2_with_message(tmp_path) -> None:
    result = run_zarrlake("info", str(tmp_path / "nope.zarr"))
    assert result.returncode == 2
    assert "error: no Zarr store at" in result.stderr
    assert "nope.zarr" in result.stderr
    assert "Traceback" not in result.stderr


def test_unknown_scheme_exits_2_with_hint() -> None:
    result = run_zarrlake("info", "nosuch://b/a.zarr")
    assert result.returncode == 2
    assert "unknown store URL scheme 'nosuch'" in result.stderr


def test_bad_storage_option_syntax(tmp_path) -> None:
    result = run_zarrlake("info", str(tmp_path), "-o", "novalue")
    assert result.returncode == 2
    assert "storage option 'novalue' is not KEY=VALUE" in result.stderr


def test_usage_error_and_version() -> None:
    assert run_zarrlake("info").returncode == 2
    version = run_zarrlake("--version")
    assert version.returncode == 0 and version.stdout.startswith("zarrlake ")


def test_info_json_on_a_missing_store_is_a_json_failure(tmp_path: Path) -> None:
    result = run_zarrlake("info", str(tmp_path / "nope.zarr"), "--json")
    assert result.returncode == 2
    report = json.loads(result.stdout)
    assert report["ok"] is False and report["url"] == str(tmp_path / "nope.zarr")
    assert report["error"]["type"] == "NotFoundError"
    assert str(tmp_path / "nope.zarr") in report["error"]["message"]
