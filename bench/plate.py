"""OME-Zarr plates where each file is a request: a well and a plate overview from S3.

Protocol: everything runs against the local S3 server (moto in server mode on
127.0.0.1, :class:`zarrlake.testing.LocalS3Server`), through the counting proxy of
``bench/_proxy.py``, first as is and then with 20 ms added to every request (a real
object store's latency). Each candidate runs in a fresh process; times are medians of
3 loads after one warm-up load (clients and connections are reused, as a pipeline
would).

1. A whole well, 9 fields x 4 channels x 5 z-planes of 512 x 512 uint16 (180 images,
   90 MiB): the baseline reads the 180 TIFFs stored as objects one by one with
   tifffile over fsspec (s3fs), and a kinder variant fetches each object whole with
   one request before decoding it; the candidate is the Zarr backend's ``load_batch`` of
   the same 180 virtual files from a plate written with its defaults (Blosc-LZ4, plane
   chunks in one shard per field, pyramid ``auto``). Both must give the same pixels.
2. The plate overview: a 96-well plate of 4 fields x 1 channel of 512 x 512 uint16
   (written locally with the Zarr backend, uploaded once): every field's lowest
   pyramid level (256 x 256, what a plate viewer shows first) against every field at
   full resolution, both read with zarr from the consolidated metadata, all reads at
   once.

Data is generated on demand under ``bench/data/plate/`` (ignored by git); the 96-well
plate is written there once (about 5 minutes on a busy 2-core machine) and only
uploaded on later runs.
"""

from __future__ import annotations

import asyncio
import io
import shutil
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from bench._harness import DATA, isolated
from bench._proxy import DelayProxy
from zarrlake.backends import ZarrBackend, ZarrConfig
from zarrlake.testing import TEST_CREDENTIALS, LocalS3Server

FOLDER = DATA / "plate"
FIELDS, CHANNELS, PLANES, SIZE = 9, 4, 5, 512
NAMES = [
    f"B03_f{f}_c{c}_z{z}.tif" for f in range(FIELDS) for c in range(CHANNELS) for z in range(PLANES)
]
PLATE_FIELDS = 4
DELAYS = (0.0, 0.020)


def _images(count: int, seed: int) -> list[np.ndarray]:
    """Microscopy-like planes: a dark noisy background with bright blurred blobs."""
    from skimage.filters import gaussian

    rng = np.random.default_rng(seed)
    images = []
    for _ in range(count):
        spots = np.zeros((SIZE, SIZE), np.float32)
        spots[tuple(rng.integers(0, SIZE, size=(2, 60)))] = 1.0
        blobs = gaussian(spots, sigma=6) * 2 * np.pi * 36 * 1500
        noise = rng.poisson(100, size=(SIZE, SIZE))
        images.append(np.clip(blobs + noise, 0, 65535).astype(np.uint16))
    return images


def _filesystem(endpoint: str) -> Any:
    import s3fs

    return s3fs.S3FileSystem(
        client_kwargs={"endpoint_url": endpoint}, skip_instance_cache=True, **TEST_CREDENTIALS
    )


def _options(endpoint: str) -> dict[str, Any]:
    return {"endpoint_url": endpoint, **TEST_CREDENTIALS, "skip_instance_cache": True}


def prepare(endpoint: str, bucket: str) -> None:
    """Write the well (TIFF objects and a Zarr plate) and the 96-well plate to S3."""
    import tifffile

    FOLDER.mkdir(parents=True, exist_ok=True)
    fs = _filesystem(endpoint)
    images = _images(len(NAMES), 0)
    for name, image in zip(NAMES, images, strict=True):
        buffer = io.BytesIO()
        tifffile.imwrite(buffer, image)  # uncompressed, as acquisition software writes
        fs.pipe_file(f"{bucket}/tiff/{name}", buffer.getvalue())
    ZarrBackend(ZarrConfig(storage_options=_options(endpoint))).save_batch(
        images,
        [f"s3://{bucket}/well.zarr/{n}" for n in NAMES],
        n_fields=FIELDS,
        n_channels=CHANNELS,
        n_z=PLANES,
        row="B",
        col=3,
    )
    fs.put(str(_plate96()), f"{bucket}/plate96.zarr", recursive=True)


def _plate96() -> Path:
    """Write the 96-well plate on the local disk once (kept for the next runs)."""
    local = FOLDER / f"plate96-{PLATE_FIELDS}f-{SIZE}.zarr"
    done = local.with_suffix(".done")
    if done.exists():
        return local
    shutil.rmtree(local, ignore_errors=True)
    backend = ZarrBackend()
    fields = _images(PLATE_FIELDS, 1)
    for row in "ABCDEFGH":
        for col in range(1, 13):
            backend.save_batch(
                fields,
                [local / f"{row}{col:02d}_f{f}.tif" for f in range(PLATE_FIELDS)],
                n_fields=PLATE_FIELDS,
                n_channels=1,
                n_z=1,
                row=row,
                col=col,
            )
    done.touch()
    return local


def _timed(load: Callable[[], list[np.ndarray]]) -> dict[str, Any]:
    load()  # warm-up: clients, connections, metadata caches
    seconds = []
    for _ in range(3):
        started = time.perf_counter()
        images = load()
        seconds.append(time.perf_counter() - started)
    checksum = sum(int(image.astype(np.int64).sum()) for image in images)
    pixels = sum(image.size for image in images)
    return {"seconds": statistics.median(seconds), "checksum": checksum, "pixels": pixels}


def tiffs_one_by_one(endpoint: str, bucket: str) -> dict[str, Any]:
    """Baseline: each TIFF object opened and decoded with tifffile over s3fs, in turn."""
    import tifffile

    fs = _filesystem(endpoint)

    def load() -> list[np.ndarray]:
        images = []
        for name in NAMES:
            with fs.open(f"{bucket}/tiff/{name}", "rb") as handle:
                images.append(tifffile.imread(handle))
        return images

    return _timed(load)


def tiff_bytes_one_by_one(endpoint: str, bucket: str) -> dict[str, Any]:
    """A kinder baseline: each TIFF object fetched whole (one GET), then decoded, in turn."""
    import tifffile

    fs = _filesystem(endpoint)

    def load() -> list[np.ndarray]:
        return [tifffile.imread(io.BytesIO(fs.cat_file(f"{bucket}/tiff/{name}"))) for name in NAMES]

    return _timed(load)


def zarr_well(endpoint: str, bucket: str) -> dict[str, Any]:
    """Candidate: the Zarr backend's load_batch of the well's 180 virtual files."""
    backend = ZarrBackend(ZarrConfig(storage_options=_options(endpoint)))
    paths = [f"s3://{bucket}/well.zarr/{n}" for n in NAMES]
    return _timed(lambda: backend.load_batch(paths))


def plate_fields(endpoint: str, bucket: str, lowest: bool) -> dict[str, Any]:
    """Every field of the plate at its lowest level (or full resolution), read at once."""
    import zarr.api.asynchronous as zarr_async

    from zarrlake.storage import open_store, run_sync

    store = open_store(f"s3://{bucket}/plate96.zarr", mode="r", storage_options=_options(endpoint))

    async def read() -> list[np.ndarray]:
        root = await zarr_async.open_group(store=store, mode="r", use_consolidated=True)
        paths = []
        for well in root.attrs["ome"]["plate"]["wells"]:
            group = await root.getitem(well["path"])
            for image in group.attrs["ome"]["well"]["images"]:
                field = await group.getitem(image["path"])
                datasets = field.attrs["ome"]["multiscales"][0]["datasets"]
                paths.append(
                    f"{well['path']}/{image['path']}/{datasets[-1 if lowest else 0]['path']}"
                )

        async def one(path: str) -> np.ndarray:
            array = await root.getitem(path)
            return np.asarray(await array.getitem(Ellipsis))

        return list(await asyncio.gather(*(one(p) for p in paths)))

    return _timed(lambda: run_sync(read()))


def main() -> None:
    """Run both comparisons, without and with added latency, and print the figures."""
    print(
        f"\n== plate: a well of {len(NAMES)} images {SIZE}x{SIZE} uint16 from S3; "
        f"overview of a 96-well plate ({PLATE_FIELDS} fields a well)"
    )
    with LocalS3Server() as server:
        bucket = server.create_bucket()
        started = time.perf_counter()
        isolated("write", prepare, server.endpoint_url, bucket, repeat=1)
        print(f"  data written in {time.perf_counter() - started:.0f} s")
        for delay in DELAYS:
            with DelayProxy(server.port, delay) as proxy:
                endpoint = proxy.endpoint_url
                tiffs = isolated("tiffs", tiffs_one_by_one, endpoint, bucket, repeat=1).result
                tiff_requests = proxy.reset() // 4  # one warm-up and three timed loads
                whole = isolated("bytes", tiff_bytes_one_by_one, endpoint, bucket, repeat=1).result
                whole_requests = proxy.reset() // 4
                ours = isolated("zarr", zarr_well, endpoint, bucket, repeat=1).result
                zarr_requests = proxy.reset() // 4
                assert ours["checksum"] == tiffs["checksum"] == whole["checksum"], "pixels differ"
                full = isolated("full", plate_fields, endpoint, bucket, False, repeat=1).result
                full_requests = proxy.reset() // 4
                low = isolated("lowest", plate_fields, endpoint, bucket, True, repeat=1).result
                low_requests = proxy.reset() // 4
            latency = f"+{delay * 1000:.0f} ms per request"
            print(f"  -- {latency}")
            print(
                f"  well, 180 TIFFs one by one (tifffile over s3fs) {tiffs['seconds']:7.3f} s"
                f"  ~{tiff_requests} requests"
            )
            print(
                f"  well, 180 TIFFs fetched whole (cat_file)    {whole['seconds']:7.3f} s"
                f"  ~{whole_requests} requests"
            )
            print(
                f"  well, zarr backend load_batch               {ours['seconds']:7.3f} s"
                f"  ~{zarr_requests} requests  ({tiffs['seconds'] / ours['seconds']:.1f}x, "
                f"{whole['seconds'] / ours['seconds']:.1f}x the kinder baseline)"
            )
            print(
                f"  plate, {96 * PLATE_FIELDS} fields at full resolution      "
                f"{full['seconds']:7.3f} s  ~{full_requests} requests  "
                f"{full['pixels'] / 1e6:.0f} Mpx"
            )
            print(
                f"  plate, {96 * PLATE_FIELDS} fields at the lowest level     "
                f"{low['seconds']:7.3f} s  ~{low_requests} requests  "
                f"{low['pixels'] / 1e6:.0f} Mpx  ({full['seconds'] / low['seconds']:.1f}x)"
            )


if __name__ == "__main__":
    main()
