"""One expansion of remote globs and prefixes, on a real S3 server, for every command."""

from __future__ import annotations

import pytest

from zarrlake.convert import expand_inputs
from zarrlake.errors import NotFoundError
from zarrlake.meta import discover
from zarrlake.storage.remote import expand_url, remote_filesystem
from zarrlake.testing import LocalS3Server


@pytest.fixture
def bucket(s3_server: LocalS3Server) -> str:
    bucket = s3_server.create_bucket()
    fs, _ = remote_filesystem(f"s3://{bucket}", s3_server.storage_options)
    for key in ("d/a.nc", "d/b.nc", "d/sub/c.nc", "d/x.zarr/zarr.json", "d/x.zarr/v/zarr.json"):
        fs.pipe(f"{bucket}/{key}", b"12")
    return bucket


def _urls(pattern: str, options: dict, **kwargs: object) -> list[tuple[str, bool]]:
    return [(e.url, e.is_dir) for e in expand_url(pattern, options, **kwargs)]  # type: ignore[arg-type]


def test_globs_prefixes_and_single_objects(s3_server: LocalS3Server, bucket: str) -> None:
    options = s3_server.storage_options
    base = f"s3://{bucket}/d"
    assert _urls(f"{base}/*.nc", options) == [(f"{base}/a.nc", False), (f"{base}/b.nc", False)]
    assert _urls(f"{base}/", options) == [
        (f"{base}/a.nc", False),
        (f"{base}/b.nc", False),
        (f"{base}/sub", True),
        (f"{base}/x.zarr", True),
    ]
    assert [url for url, _ in _urls(f"{base}/", options, depth=None)] == [
        f"{base}/a.nc",
        f"{base}/b.nc",
        f"{base}/sub/c.nc",
        f"{base}/x.zarr/v/zarr.json",
        f"{base}/x.zarr/zarr.json",
    ]
    assert _urls(f"{base}/a.nc", options) == [(f"{base}/a.nc", False)]
    assert _urls(f"{base}/a.nc/", options, depth=None) == [(f"{base}/a.nc", False)]
    assert _urls(base, options) == [(base, True)]
    assert [e.size for e in expand_url(f"{base}/a.nc", options)] == [2]
    assert _urls(f"{base}/nothing/", options) == []
    assert _urls(f"{base}/*.tif", options) == []


def test_convert_inputs_take_remote_globs_and_prefixes(
    s3_server: LocalS3Server, bucket: str
) -> None:
    options = s3_server.storage_options
    base = f"s3://{bucket}/d"
    assert expand_inputs([f"{base}/*.nc", f"{base}/a.nc"], options) == [
        f"{base}/a.nc",
        f"{base}/b.nc",
    ]
    assert expand_inputs(f"{base}/", options) == [f"{base}/a.nc", f"{base}/b.nc"]
    with pytest.raises(NotFoundError, match="no input file matches"):
        expand_inputs(base, options)  # a folder named without a slash is not a file
    with pytest.raises(NotFoundError, match="no input file matches"):
        expand_inputs(f"{base}/*.tif", options)


def test_meta_discovers_remote_stores(s3_server: LocalS3Server, bucket: str) -> None:
    options = s3_server.storage_options
    base = f"s3://{bucket}/d"
    assert discover([f"{base}/"], options) == [f"{base}/x.zarr"]
    assert discover([f"{base}/*.zarr"], options) == [f"{base}/x.zarr"]
    # a prefix that is a store is that store, not also each of its arrays
    assert discover([f"{base}/x.zarr/"], options) == [f"{base}/x.zarr"]
    with pytest.raises(NotFoundError, match="no Zarr store matches"):
        discover([f"{base}/*.zip"], options)
