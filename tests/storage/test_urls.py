from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import zarr
from zarr.storage import FsspecStore, LocalStore, MemoryStore

from zarrlake.errors import (
    InvalidInputError,
    NotFoundError,
    StorageError,
    UnsupportedSchemeError,
)
from zarrlake.storage import open_store, parse_url, store_url
from zarrlake.testing import LocalS3Server


def test_parse_local_forms(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert parse_url("rel.zarr").path == str(tmp_path / "rel.zarr")
    assert parse_url(tmp_path / "a.zarr").url == str(tmp_path / "a.zarr")
    assert parse_url(f"file://{tmp_path}/b.zarr").path == str(tmp_path / "b.zarr")
    assert parse_url("s3://bucket/pre/fix/").url == "s3://bucket/pre/fix"


def test_open_returns_zarr3_stores(tmp_path: Path, s3_server: LocalS3Server) -> None:
    assert isinstance(open_store(tmp_path / "x.zarr", mode="a"), LocalStore)
    assert isinstance(open_store("memory://kinds", mode="a"), MemoryStore)
    bucket = s3_server.create_bucket()
    store = open_store(f"s3://{bucket}/x", mode="a", storage_options=s3_server.storage_options)
    assert isinstance(store, FsspecStore)


def test_memory_stores_are_shared_by_name() -> None:
    first = open_store("memory://shared-name", mode="w")
    zarr.create_array(first, name="x", shape=(3,), dtype="i4")[:] = [1, 2, 3]
    second = open_store("memory://shared-name", mode="r")
    assert list(zarr.open_array(second, path="x")[:]) == [1, 2, 3]


def test_s3_short_option_names(s3_server: LocalS3Server) -> None:
    bucket = s3_server.create_bucket()
    options = {"endpoint": s3_server.endpoint_url, "key": "testing", "secret": "testing"}
    store = open_store(f"s3://{bucket}/y", mode="a", storage_options=options)
    assert store_url(store) == f"s3://{bucket}/y"


def test_unknown_scheme_names_url_and_hint() -> None:
    with pytest.raises(UnsupportedSchemeError) as info:
        open_store("nosuch://bucket/archive.zarr")
    assert "nosuch://bucket/archive.zarr" in str(info.value)
    assert "zarrlake[s3]" in str(info.value)
    assert isinstance(info.value, ValueError)


def test_known_but_uninstalled_scheme_gives_install_hint() -> None:
    with pytest.raises(UnsupportedSchemeError, match="pip install gcsfs"):
        open_store("gs://bucket/archive.zarr")


def test_s3_without_s3fs_gives_extra_hint() -> None:
    # A fresh interpreter where importing s3fs fails, as on an install without the extra.
    code = (
        "import sys; sys.modules['s3fs'] = None\n"
        "from zarrlake.storage import open_store\n"
        "try:\n"
        "    open_store('s3://bucket/a.zarr', mode='a')\n"
        "except Exception as e:\n"
        "    print(type(e).__name__, e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.startswith("UnsupportedSchemeError")
    assert "pip install 'zarrlake[s3]'" in out.stdout


def test_missing_bucket_is_not_found(s3_server: LocalS3Server) -> None:
    with pytest.raises(NotFoundError, match="bucket s3://no-such-bucket does not exist"):
        open_store(
            "s3://no-such-bucket/a.zarr", mode="a", storage_options=s3_server.storage_options
        )


def test_unreachable_endpoint_is_storage_error() -> None:
    options = {"endpoint_url": "http://127.0.0.1:9", "key": "k", "secret": "s"}
    options["config_kwargs"] = {"retries": {"max_attempts": 1}, "connect_timeout": 1}
    with pytest.raises(StorageError, match="s3://bkt/a.zarr"):
        open_store("s3://bkt/a.zarr", mode="a", storage_options=options)


@pytest.mark.parametrize(
    ("url", "kwargs", "match"),
    [
        ("", {}, "store URL is empty"),
        ("s3://", {}, "no bucket or name"),
        ("memory://x", {"storage_options": {"a": 1}}, "takes none"),
        ("/tmp/x.zarr", {"storage_options": {"anon": True}}, "takes none"),
        ("/tmp/x.zarr", {"mode": "rw"}, "unknown store mode 'rw'"),
    ],
)
def test_bad_arguments(url: str, kwargs: dict, match: str) -> None:
    with pytest.raises(InvalidInputError, match=match):
        open_store(url, **kwargs)


def test_bad_storage_option_names_the_option(s3_server: LocalS3Server) -> None:
    with pytest.raises(InvalidInputError, match="storage_options"):
        open_store("s3://b/a.zarr", mode="a", storage_options={"no_such_option_xyz": 1})


def test_local_file_is_not_a_store(tmp_path: Path) -> None:
    path = tmp_path / "file.nc"
    path.write_bytes(b"CDF")
    with pytest.raises(InvalidInputError, match="is a file, not a Zarr store"):
        open_store(path)
