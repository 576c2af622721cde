"""``zarrlake info`` vs the plain zarr walk a user would write, locally and on S3.

Baseline: ``zarr.open_group`` + ``group.members(max_depth=None)`` + ``nbytes_stored()``
per array, sequentially. Ours: ``zarrlake.meta.inspect_store`` (concurrent metadata reads,
one listing per array).
"""

from __future__ import annotations

import shutil
import sys
from typing import Any

import numpy as np
import zarr

from bench._harness import DATA, isolated, report
from zarrlake._warnings import silence_known_zarr_warnings
from zarrlake.meta import inspect_store
from zarrlake.storage import open_store
from zarrlake.testing import LocalS3Server

GROUPS, ARRAYS_PER_GROUP = 20, 10


def build(url: str, options: dict[str, Any] | None) -> None:
    silence_known_zarr_warnings()
    root = zarr.open_group(open_store(url, mode="w", storage_options=options), mode="w")
    data = np.arange(400, dtype="float32").reshape(20, 20)
    for g in range(GROUPS):
        group = root.create_group(f"g{g}")
        for a in range(ARRAYS_PER_GROUP):
            array = group.create_array(f"a{a}", shape=(20, 20), chunks=(10, 10), dtype="float32")
            array[:] = data


def baseline(url: str, options: dict[str, Any] | None) -> int:
    silence_known_zarr_warnings()
    group = zarr.open_group(open_store(url, mode="r", storage_options=options), mode="r")
    total = 0
    for _, node in group.members(max_depth=None):
        if isinstance(node, zarr.Array):
            total += node.nbytes_stored()
    return total


def ours(url: str, options: dict[str, Any] | None) -> int:
    silence_known_zarr_warnings()
    info = inspect_store(url, storage_options=options)
    return info.stored_bytes + info.n_arrays


def run_case(title: str, url: str, options: dict[str, Any] | None) -> None:
    build(url, options)
    base = isolated("zarr walk + nbytes_stored (baseline)", baseline, url, options)
    mine = isolated("zarrlake inspect_store", ours, url, options)
    report(f"{title}: {GROUPS * ARRAYS_PER_GROUP} arrays in {GROUPS} groups", base, mine)


def main() -> None:
    local = DATA / "info.zarr"
    shutil.rmtree(local, ignore_errors=True)
    local.parent.mkdir(parents=True, exist_ok=True)
    run_case("info, local directory", str(local), None)
    with LocalS3Server() as server:
        bucket = server.create_bucket()
        run_case("info, S3 server on 127.0.0.1", f"s3://{bucket}/info.zarr", server.storage_options)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
