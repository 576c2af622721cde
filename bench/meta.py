"""``zarrlake.meta.consolidate`` / ``validate`` vs ``zarr.consolidate_metadata``.

On the local S3 server, behind a counting proxy, 2000 arrays in 40 groups (one chunk
written each), formats 2 and 3: requests made and wall time, without and with 20 ms of
added latency per request. Locally: validate vs zarr's consolidation.
"""

from __future__ import annotations

import shutil
import time
from typing import Any

import numpy as np
import zarr

from bench._harness import DATA
from bench._proxy import DelayProxy
from zarrlake._warnings import silence_known_zarr_warnings
from zarrlake.meta import consolidate, validate
from zarrlake.testing import TEST_CREDENTIALS, LocalS3Server

GROUPS, ARRAYS = 40, 50


def build_local(path: str, zarr_format: int) -> None:
    shutil.rmtree(path, ignore_errors=True)
    root = zarr.open_group(path, mode="w", zarr_format=zarr_format, attributes={"title": "bench"})
    data = np.arange(4, dtype="float32")
    for g in range(GROUPS):
        group = root.create_group(f"g{g:02d}")
        for a in range(ARRAYS):
            array = group.create_array(f"a{a:02d}", shape=(4,), chunks=(4,), dtype="float32")
            array[:] = data


def upload(local: str, server: LocalS3Server, bucket: str, name: str) -> str:
    import s3fs

    fs = s3fs.S3FileSystem(
        client_kwargs={"endpoint_url": server.endpoint_url},
        skip_instance_cache=True,
        **TEST_CREDENTIALS,
    )
    fs.put(local, f"{bucket}/{name}", recursive=True)
    return f"s3://{bucket}/{name}"


def _options(proxy: DelayProxy) -> dict[str, Any]:
    return {
        "endpoint_url": proxy.endpoint_url,
        **TEST_CREDENTIALS,
        "config_kwargs": {"max_pool_connections": 64},
        "skip_instance_cache": True,
    }


def measure(label: str, fn: Any, proxy: DelayProxy) -> tuple[float, int]:
    proxy.reset()
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started, proxy.reset()


def s3_case(server: LocalS3Server, url: str, zarr_format: int, delay: float) -> None:
    with DelayProxy(server.port, delay) as proxy:
        options = _options(proxy)

        def zarr_way() -> None:  # a store as a zarr user opens it (s3fs defaults)
            zarr.consolidate_metadata(
                zarr.storage.FsspecStore.from_url(url, storage_options=options)
            )

        def ours() -> None:
            consolidate(url, storage_options=options)

        def ours_validate() -> None:
            validate(url, storage_options=options)

        base_s, base_n = measure("zarr", zarr_way, proxy)
        ours_s, ours_n = measure("ours", ours, proxy)
        val_s, val_n = measure("validate", ours_validate, proxy)
    print(
        f"\n== consolidate, S3 server, format {zarr_format}, +{delay * 1000:.0f} ms per request, "
        f"{GROUPS * ARRAYS} arrays in {GROUPS} groups"
    )
    print(f"  zarr.consolidate_metadata   {base_s:8.2f} s  {base_n:6d} requests")
    print(f"  zarrlake consolidate        {ours_s:8.2f} s  {ours_n:6d} requests")
    print(f"  zarrlake validate           {val_s:8.2f} s  {val_n:6d} requests")
    print(
        f"  requests: {ours_n / base_n:.2f} of zarr's; consolidate {base_s / ours_s:.1f}x "
        f"faster than zarr; validate/consolidate {val_s / ours_s:.2f}x"
    )


def local_case(path: str, zarr_format: int) -> None:
    def timed(fn: Any) -> float:
        best = float("inf")
        for _ in range(3):
            started = time.perf_counter()
            fn()
            best = min(best, time.perf_counter() - started)
        return best

    base = timed(lambda: zarr.consolidate_metadata(path))
    ours = timed(lambda: consolidate(path))
    val = timed(lambda: validate(path))
    print(
        f"\n== local, format {zarr_format}: zarr.consolidate_metadata {base:.2f} s, "
        f"zarrlake consolidate {ours:.2f} s ({base / ours:.1f}x), "
        f"validate {val:.2f} s ({base / val:.1f}x faster than zarr)"
    )


def main() -> None:
    silence_known_zarr_warnings()
    DATA.mkdir(parents=True, exist_ok=True)
    with LocalS3Server() as server:
        bucket = server.create_bucket()
        for zarr_format in (2, 3):
            local = str(DATA / f"meta-v{zarr_format}.zarr")
            build_local(local, zarr_format)
            local_case(local, zarr_format)
            url = upload(local, server, bucket, f"meta-v{zarr_format}.zarr")
            for delay in (0.0, 0.02):
                s3_case(server, url, zarr_format, delay)


if __name__ == "__main__":
    main()
