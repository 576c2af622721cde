"""Sharded output on object storage: objects, requests and time, as whole commands.

Against the local S3 server (moto on 127.0.0.1) behind a request-counting proxy, one
data set (the smooth shape, 4 files of 30 steps, ~1 GB) with small chunks
(10 x 90 x 180, 648 KB) as an archive read by points or small windows would have:

- ``python bench/scripts/xarray_convert_s3.py`` with those chunks, no shards (one
  object per chunk, as xarray writes by default);
- the same script with the shards zarrlake plans (xarray writing the same archive);
- ``zarrlake convert run FILES... -O s3://...`` (``shards: auto`` plans them for an
  object store; default verify).

Printed: seconds, objects in the archive, requests through the proxy, peak memory.
"""

from __future__ import annotations

import json
import os

from bench._commands import ZARRLAKE, measure, script
from bench._proxy import DelayProxy
from bench._shapes import dataset, size_of
from zarrlake.testing import LocalS3Server
from zarrlake.testing._servers import TEST_CREDENTIALS

CHUNKS = (10, 90, 180)
DIMS = ("time", "latitude", "longitude")


def _objects(server: LocalS3Server, url: str) -> int:
    import s3fs

    fs = s3fs.S3FileSystem(
        client_kwargs={"endpoint_url": server.endpoint_url},
        skip_instance_cache=True,
        **TEST_CREDENTIALS,
    )
    return len(fs.find(url))


def main() -> None:
    """Run the three candidates once each and print what they cost."""
    paths = dataset("smooth", "aligned")[: int(os.environ.get("BENCH_FILES", "4"))]
    size = size_of(paths)
    env = {
        "AWS_ACCESS_KEY_ID": TEST_CREDENTIALS["key"],
        "AWS_SECRET_ACCESS_KEY": TEST_CREDENTIALS["secret"],
    }
    chunk_flags = [i for d, c in zip(DIMS, CHUNKS, strict=True) for i in ("--chunk", f"{d}={c}")]
    print(
        f"\n== sharded output on the local S3 server: smooth/aligned, {size / 1e9:.2f} GB, "
        f"chunks {CHUNKS}"
    )
    with LocalS3Server() as server, DelayProxy(server.port) as proxy:
        bucket = server.create_bucket()
        options = [
            "-o",
            f"endpoint_url={proxy.endpoint_url}",
            "-o",
            f"key={TEST_CREDENTIALS['key']}",
            "-o",
            f"secret={TEST_CREDENTIALS['secret']}",
        ]
        ours_url = f"s3://{bucket}/zarrlake.zarr"
        proxy.reset()
        seconds, peak = measure(
            [
                *ZARRLAKE,
                "convert",
                "run",
                *paths,
                "-O",
                ours_url,
                *chunk_flags,
                "--compression",
                "blosc:zstd:3:shuffle",
                "--workers",
                str(os.cpu_count() or 1),
                *options,
            ]
        )
        rows = [("zarrlake convert run (shards: auto)", seconds, proxy.reset(), peak, ours_url)]
        import zarr
        import zarr.storage

        store = zarr.storage.FsspecStore.from_url(
            ours_url,
            read_only=True,
            storage_options={"endpoint_url": server.endpoint_url, **TEST_CREDENTIALS},
        )
        shards = zarr.open_array(store, path="a", mode="r").shards
        shard_text = "none" if shards is None else ",".join(map(str, shards))
        for label, shard_arg in (
            ("xarray script, chunks only", "none"),
            (f"xarray script, shards {shard_text}", shard_text),
        ):
            url = f"s3://{bucket}/xarray-{shard_arg.replace(',', '-')}.zarr"
            proxy.reset()
            seconds, peak = measure(
                [
                    *script("xarray_convert_s3.py"),
                    proxy.endpoint_url,
                    url,
                    ",".join(map(str, CHUNKS)),
                    shard_arg,
                    *paths,
                ],
                env=env,
            )
            rows.append((label, seconds, proxy.reset(), peak, url))
        for label, seconds, requests, peak, url in rows:
            print(
                f"  {label:<44} {seconds:7.2f} s  {_objects(server, url):6d} objects  "
                f"{requests:6d} requests  peak {peak:6.0f} MiB"
            )
        print(f"  planned shards: {json.dumps(shards)}")


if __name__ == "__main__":
    main()
