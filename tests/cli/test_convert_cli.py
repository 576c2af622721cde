from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import xarray as xr

from tests.convert.inputs import combined, write_inputs
from tests.subprocesses import run_zarrlake


def test_plan_writes_nothing_and_shows_the_plan(tmp_path):
    write_inputs(tmp_path / "in", 4, 5)
    result = run_zarrlake(
        "convert",
        "plan",
        str(tmp_path / "in" / "*.nc"),
        "--chunk",
        "time=7",
        "--packing",
        "--json",
    )
    assert result.returncode == 0, result.stderr
    plan = json.loads(result.stdout)
    assert plan["steps"] == 20 and plan["work_units"] == 1
    assert plan["variables"]["t2m"]["chunks"] == [7, 6, 8]
    assert plan["variables"]["t2m"]["dtype"] == "int16"
    assert plan["codecs"].startswith("blosc:zstd:3") and plan["estimated_bytes"] > 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in"]


def test_plan_for_an_object_store_shows_its_shards(tmp_path):
    write_inputs(tmp_path / "in", 4, 10, lat=32, lon=32)
    base = ["convert", "plan", str(tmp_path / "in" / "*.nc"), "--chunk", "time=2"]
    base += ["--chunk", "lat=8", "--chunk", "lon=8"]
    config = tmp_path / "shards.yaml"
    config.write_text("target_shard_size: 64KiB\n")
    local = json.loads(run_zarrlake(*base, "-c", str(config), "--json").stdout)
    assert local["variables"]["t2m"]["shards"] is None
    remote = run_zarrlake(*base, "-c", str(config), "-O", "s3://bucket/x.zarr", "--json")
    assert remote.returncode == 0, remote.stderr
    shards = json.loads(remote.stdout)["variables"]["t2m"]["shards"]
    assert shards is not None and shards != [2, 8, 8]
    table = run_zarrlake(*base, "-c", str(config), "-O", "s3://bucket/x.zarr")
    assert "shards" in table.stdout and "x".join(map(str, shards)) in table.stdout


def test_run_then_rerun_then_verify(tmp_path):
    paths = write_inputs(tmp_path / "in", 4, 5)
    target = str(tmp_path / "out.zarr")
    args = ["convert", "run", str(tmp_path / "in" / "*.nc"), "-O", target, "--chunk", "time=7"]
    first = run_zarrlake(*args, "-w", "2")
    assert first.returncode == 0, first.stderr
    assert "wrote 1 of 1 work unit(s)" in first.stdout
    second = run_zarrlake(*args, "--json")
    payload = json.loads(second.stdout)
    assert payload["units_written"] == 0 and payload["units_skipped"] == 1 and payload["valid"]
    xr.testing.assert_equal(xr.open_zarr(target).t2m.load(), combined(paths).t2m)
    check = run_zarrlake("convert", "verify", target, *paths, "--full")
    assert check.returncode == 0 and "20 of 20 step(s) written; valid" in check.stdout


def test_template_and_region_commands(tmp_path):
    paths = write_inputs(tmp_path / "in", 3, 5)
    target = str(tmp_path / "t.zarr")
    made = run_zarrlake(
        "convert",
        "create-template",
        paths[0],
        target,
        "--global-start",
        "2020-01-01",
        "--global-end",
        "2020-01-15",
        "--intelligent-chunking",
        "--access-pattern",
        "temporal",
    )
    assert made.returncode == 0, made.stderr
    for path in paths:
        wrote = run_zarrlake("convert", "write-region", path, target)
        assert wrote.returncode == 0 and "wrote 5 step(s)" in wrote.stdout
    out = xr.open_zarr(target)
    np.testing.assert_array_equal(out.t2m.values, combined(paths).t2m.values)
    incomplete = tmp_path / "u.zarr"
    run_zarrlake(
        "convert", "create-template", paths[0], str(incomplete), "--global-end", "2020-01-15"
    )
    check = run_zarrlake("convert", "verify", str(incomplete), "--json")
    assert check.returncode == 1
    assert "ZL200" in {issue["code"] for issue in json.loads(check.stdout)["issues"]}


def test_bad_input_is_one_clear_line(tmp_path):
    paths = write_inputs(tmp_path / "in", 1, 3)
    bad_chunk = run_zarrlake("convert", "plan", paths[0], "--chunk", "time")
    assert bad_chunk.returncode == 2 and "is not DIM=SIZE" in bad_chunk.stderr
    missing = run_zarrlake("convert", "run", str(tmp_path / "nope*.nc"), "-O", str(tmp_path / "o"))
    assert missing.returncode == 2 and "no input file matches" in missing.stderr
    assert "Traceback" not in missing.stderr
    assert not (tmp_path / "o").exists()
    region = run_zarrlake("convert", "write-region", paths[0], str(tmp_path / "none.zarr"))
    assert region.returncode == 2 and "none.zarr" in region.stderr


def test_help_config_lists_every_key():
    result = run_zarrlake("convert", "run", "--help-config", "md")
    assert result.returncode == 0
    for key in ("concat_dim", "chunks_per_unit", "global_start", "packing", "retries"):
        assert key in result.stdout


def test_json_reports_are_printed_on_failure_too(tmp_path):
    paths = write_inputs(tmp_path, 2, 5)
    xr.Dataset({"t2m": ("lat", np.zeros(3))}).to_netcdf(tmp_path / "other.nc")
    failed = run_zarrlake(
        "convert",
        "run",
        *paths,
        str(tmp_path / "other.nc"),
        "-O",
        str(tmp_path / "o.zarr"),
        "--json",
    )
    assert failed.returncode == 2, failed.stderr
    report = json.loads(failed.stdout)
    assert report["ok"] is False and report["target"] == str(tmp_path / "o.zarr")
    assert report["units_written"] == 0
    assert report["error"]["type"] == "InvalidInputError" and report["error"]["message"]
    assert report["error"]["message"] in failed.stderr  # the same error, one line on stderr

    plan = run_zarrlake("convert", "plan", str(tmp_path / "none-*.nc"), "--json")
    assert plan.returncode == 2
    assert json.loads(plan.stdout)["error"]["type"] == "NotFoundError"

    ok = json.loads(
        run_zarrlake("convert", "run", *paths, "-O", str(tmp_path / "a.zarr"), "--json").stdout
    )
    assert ok["ok"] is True and ok["units_written"] == ok["units_total"] > 0


def _counter_files(folder, count):
    """Files joined along 'time_counter' (as NEMO writes them), not 'time'."""
    folder.mkdir()
    paths = []
    for i in range(count):
        path = folder / f"f{i}.nc"
        xr.Dataset(
            {"tos": (("time_counter", "y"), np.full((2, 3), float(i), "f4"))},
            coords={
                "time_counter": (
                    "time_counter",
                    [2.0 * i, 2.0 * i + 1],
                    {"units": "days since 2026-01-01", "axis": "T"},
                )
            },
        ).to_netcdf(path, unlimited_dims=["time_counter"])
        paths.append(str(path))
    return paths


def test_the_join_dimension_is_an_option_and_the_error_names_it(tmp_path):
    import iris_sample_data

    nemo = sorted(str(p) for p in (Path(iris_sample_data.path) / "NEMO").glob("*.nc"))
    # real NEMO output runs along time_counter: the errors say which option to use
    convert = run_zarrlake("convert", "run", *nemo, "-O", str(tmp_path / "n.zarr"))
    assert convert.returncode == 2
    assert "its time runs along 'time_counter': --concat-dim time_counter" in convert.stderr
    append = run_zarrlake("append", *nemo, "-t", str(tmp_path / "n2.zarr"))
    assert append.returncode == 2
    assert "its time runs along 'time_counter': --append-dim time_counter" in append.stderr
    assert not (tmp_path / "n.zarr").exists() and not (tmp_path / "n2.zarr").exists()
    # these files' time_counter is 0 in each; their times are in time_centered
    placeholders = run_zarrlake(
        "convert", "run", *nemo, "-O", str(tmp_path / "n.zarr"), "--concat-dim", "time_counter"
    )
    assert placeholders.returncode == 2
    assert "label 0.0 appears in both" in placeholders.stderr
    assert "'time_centered' along 'time_counter' differs between the files" in placeholders.stderr

    paths = _counter_files(tmp_path / "in", 3)
    expected = xr.open_mfdataset(paths, combine="nested", concat_dim="time_counter").load()
    out = tmp_path / "c.zarr"
    run = run_zarrlake("convert", "run", *paths, "-O", str(out), "--concat-dim", "time_counter")
    assert run.returncode == 0, run.stderr
    target = tmp_path / "a.zarr"
    grown = run_zarrlake("append", *paths, "-t", str(target), "--append-dim", "time_counter")
    assert grown.returncode == 0, grown.stderr
    for archive in (out, target):
        xr.testing.assert_equal(xr.open_zarr(archive).load(), expected)


def test_the_command_tunes_its_own_allocator_before_its_threads_write(tmp_path):
    # In a fresh interpreter (the settings are the process's), glibc stood in for.
    import subprocess
    import sys
    import textwrap

    paths = write_inputs(tmp_path / "in", 4, 5)
    code = textwrap.dedent(
        """
        import json, sys
        import zarrlake._malloc as malloc_module
        from zarrlake.cli import main

        class Libc:
            settings = []
            def mallopt(self, option, value):
                self.settings.append([option, value])
                return 1
            def malloc_trim(self, pad):
                return 1

        libc = Libc()
        malloc_module._glibc = lambda: libc
        try:
            main(sys.argv[1:])
        except SystemExit as stop:
            assert not stop.code, stop.code
        print(json.dumps(libc.settings))
        """
    )
    base = [sys.executable, "-c", code, "convert", "run", *paths, "--chunk", "time=5"]
    threads = subprocess.run(
        [*base, "-O", str(tmp_path / "a.zarr"), "--workers", "2", "--json"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert threads.returncode == 0, threads.stderr
    assert json.loads(threads.stdout.strip().splitlines()[-1]) == [
        [-8, 1],
        [-1, 64 * 2**20],
        [-3, 16 * 2**20],
    ]
    inline = subprocess.run(
        [*base, "-O", str(tmp_path / "b.zarr"), "--workers", "1", "--json"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert inline.returncode == 0, inline.stderr
    assert json.loads(inline.stdout.strip().splitlines()[-1]) == []  # as before: inline
