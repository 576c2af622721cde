"""One option set reaches inputs and target; a request that cannot be made is one line.

Inputs and target live on the local S3 server (moto) and the commands get its endpoint
and credentials only through ``-o``, as the README's examples do.
"""

from __future__ import annotations

import json
from pathlib import Path

import fsspec
import pytest
import xarray as xr

from tests.append.slices import make_slice
from tests.convert.inputs import write_inputs
from tests.subprocesses import run_zarrlake
from zarrlake.testing import LocalS3Server


def _options(server: LocalS3Server) -> list[str]:
    return [item for k, v in server.storage_options.items() for item in ("-o", f"{k}={v}")]


@pytest.fixture
def remote_inputs(s3_server: LocalS3Server, tmp_path: Path) -> tuple[str, list[str]]:
    """A bucket holding two daily slices and two conversion inputs; returns it and -o."""
    bucket = s3_server.create_bucket()
    fs = fsspec.filesystem("s3", **s3_server.storage_options)
    for i in range(2):
        local = tmp_path / f"day-{i}.nc"
        make_slice(i).to_netcdf(local, engine="h5netcdf")
        fs.put(str(local), f"{bucket}/days/day-{i}.nc")
    for path in write_inputs(tmp_path / "conv", 2, 4):
        fs.put(path, f"{bucket}/conv/{Path(path).name}")
    return bucket, _options(s3_server)


def _open(url: str, server: LocalS3Server) -> xr.Dataset:
    return xr.open_zarr(url, storage_options=server.storage_options)


def test_append_reads_remote_slices_with_the_targets_options(
    remote_inputs: tuple[str, list[str]], s3_server: LocalS3Server
) -> None:
    bucket, options = remote_inputs
    target = f"s3://{bucket}/cube.zarr"
    result = run_zarrlake("append", f"s3://{bucket}/days/day-*.nc", "-t", target, *options)
    assert result.returncode == 0, result.stderr
    assert _open(target, s3_server).sizes["time"] == 2


def test_convert_plan_run_and_verify_read_remote_inputs(
    remote_inputs: tuple[str, list[str]], s3_server: LocalS3Server
) -> None:
    bucket, options = remote_inputs
    inputs = f"s3://{bucket}/conv/*.nc"
    target = f"s3://{bucket}/converted.zarr"
    plan = run_zarrlake("convert", "plan", inputs, "--json", *options)
    assert plan.returncode == 0, plan.stderr
    assert json.loads(plan.stdout)["inputs"] == 2
    run = run_zarrlake("convert", "run", inputs, "-O", target, "--json", *options)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["ok"] is True
    verify = run_zarrlake("convert", "verify", target, inputs, "--full", "--json", *options)
    assert verify.returncode == 0, verify.stderr
    assert _open(target, s3_server).sizes["time"] == 8


def test_template_and_region_commands_take_options_and_a_config(
    remote_inputs: tuple[str, list[str]], s3_server: LocalS3Server, tmp_path: Path
) -> None:
    bucket, options = remote_inputs
    target = f"s3://{bucket}/regions.zarr"
    config = tmp_path / "zarrio.yaml"
    config.write_text("chunking: {time: 4}\ncompression: {method: 'zstd:3'}\n")
    first, second = (f"s3://{bucket}/conv/in_{i:03d}.nc" for i in range(2))
    created = run_zarrlake(
        "convert",
        "create-template",
        f"s3://{bucket}/conv/*.nc",
        target,
        "-c",
        str(config),
        *options,
    )
    assert created.returncode == 0, created.stderr
    for path in (second, first):
        written = run_zarrlake("convert", "write-region", path, target, *options)
        assert written.returncode == 0, written.stderr
    ds = _open(target, s3_server)
    assert ds.sizes["time"] == 8 and ds["t2m"].encoding["chunks"][0] == 4
    assert not ds["t2m"].isnull().any()


def test_remote_inputs_into_a_local_target_with_one_option_set(
    remote_inputs: tuple[str, list[str]], tmp_path: Path
) -> None:
    bucket, options = remote_inputs
    target = tmp_path / "local.zarr"
    result = run_zarrlake("append", f"s3://{bucket}/days/day-*.nc", "-t", str(target), *options)
    assert result.returncode == 0, result.stderr
    assert xr.open_zarr(target).sizes["time"] == 2


def test_inputs_elsewhere_get_their_own_option_set(
    remote_inputs: tuple[str, list[str]], s3_server: LocalS3Server
) -> None:
    bucket, options = remote_inputs
    unreachable = [
        *("--input-option", "endpoint_url=http://127.0.0.1:9"),
        *("--input-option", "key=k", "--input-option", "secret=s"),
    ]
    target = f"s3://{bucket}/c.zarr"
    result = run_zarrlake(
        "append", f"s3://{bucket}/days/day-0.nc", "-t", target, *options, *unreachable
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    error = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(error) == 1
    assert f"cannot reach s3://{bucket}/days/day-0.nc (endpoint http://127.0.0.1:9)" in error[0]
    fs = fsspec.filesystem("s3", **s3_server.storage_options)
    assert not fs.exists(f"{bucket}/c.zarr/zarr.json")  # nothing was created


def test_missing_credentials_are_one_line_naming_url_and_endpoint(
    remote_inputs: tuple[str, list[str]], s3_server: LocalS3Server, tmp_path: Path
) -> None:
    bucket, _ = remote_inputs
    endpoint = s3_server.storage_options["endpoint_url"]
    url = f"s3://{bucket}/conv/*.nc"
    result = run_zarrlake(
        "convert", "run", url, "-O", str(tmp_path / "o.zarr"), "-o", f"endpoint_url={endpoint}"
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert f"no credentials for {url} (endpoint {endpoint})" in result.stderr
    assert "-o key=" in result.stderr
