"""Loading a whole well: Zarr backend (one read per field) vs separate TIFFs on disk.

A well of 9 fields x 4 channels x 5 z-planes of 1024 x 1024 uint16 (180 images, 360
MiB), microscopy-like (dark noisy background, bright blobs). The baseline is the disk
backend loading the same images as 180 TIFF files. Both run warm (files just written,
in the page cache), each in a fresh process.
"""

from __future__ import annotations

import os
import shutil
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from bench._harness import DATA, isolated
from zarrlake.backends import (
    DiskBackend,
    ZarrBackend,
    ZarrChunkStrategy,
    ZarrCompressor,
    ZarrConfig,
)

FOLDER = DATA / "backends"
FIELDS, CHANNELS, PLANES, SIZE = 9, 4, 5, 1024
NAMES = [
    f"B03_f{f}_c{c}_z{z}.tif" for f in range(FIELDS) for c in range(CHANNELS) for z in range(PLANES)
]
CANDIDATES = {
    "zarr defaults (blosc lz4, plane chunks, shard/field)": ZarrConfig(),
    "zarr zstd:3, well (chunk per field)": ZarrConfig(
        compressor=ZarrCompressor.ZSTD, chunk_strategy=ZarrChunkStrategy.WELL
    ),
    "zarr blosc lz4:5, well": ZarrConfig(
        compressor=ZarrCompressor.BLOSC,
        compression_level=5,
        chunk_strategy=ZarrChunkStrategy.WELL,
    ),
}


def _images() -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:SIZE, 0:SIZE]
    cells = np.zeros((SIZE, SIZE), np.float32)
    for cy, cx, radius in rng.uniform((0, 0, 8), (SIZE, SIZE, 30), size=(150, 3)):
        patch = (
            slice(max(0, int(cy - 3 * radius)), int(cy + 3 * radius)),
            slice(max(0, int(cx - 3 * radius)), int(cx + 3 * radius)),
        )
        cells[patch] += np.exp(-((y[patch] - cy) ** 2 + (x[patch] - cx) ** 2) / (2 * radius**2))
    images = []
    for index in range(len(NAMES)):
        brightness = 800 + 300 * (index % CHANNELS)
        noise = rng.poisson(100, size=(SIZE, SIZE)).astype(np.float32)
        images.append(
            np.clip(noise + brightness * np.roll(cells, index * 7, axis=1), 0, 65535).astype(
                np.uint16
            )
        )
    return images


def _folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def prepare() -> dict[str, float]:
    """Write the well as TIFFs and as Zarr plates; return write seconds per candidate."""
    shutil.rmtree(FOLDER, ignore_errors=True)
    images = _images()
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    DiskBackend().save_batch(images, [FOLDER / "tiff" / n for n in NAMES])
    seconds["tiff"] = time.perf_counter() - started
    for index, (name, config) in enumerate(CANDIDATES.items()):
        started = time.perf_counter()
        ZarrBackend(config).save_batch(
            images,
            [FOLDER / f"plate{index}.zarr" / n for n in NAMES],
            n_fields=FIELDS,
            n_channels=CHANNELS,
            n_z=PLANES,
            row="B",
            col="03",
        )
        seconds[name] = time.perf_counter() - started
    return seconds


def _drop_page_cache(folder: Path) -> None:
    for path in folder.rglob("*"):
        if path.is_file():
            fd = os.open(path, os.O_RDONLY)
            try:
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            finally:
                os.close(fd)


def _timed(load: Callable[[], list[np.ndarray]], folder: Path) -> dict[str, Any]:
    """Median seconds of ``load`` warm and cold (page cache dropped), and a checksum."""
    times: dict[str, list[float]] = {"warm": [], "cold": []}
    checksum = 0
    for state in ["warm"] * 5 + ["cold"] * 3:
        if state == "cold":
            _drop_page_cache(folder)
        started = time.perf_counter()
        images = load()
        times[state].append(time.perf_counter() - started)
        checksum = sum(int(image.astype(np.int64).sum()) for image in images)
        del images
    return {"checksum": checksum, **{k: statistics.median(v) for k, v in times.items()}}


def load_tiffs() -> dict[str, Any]:
    paths = [FOLDER / "tiff" / n for n in NAMES]
    return _timed(lambda: DiskBackend().load_batch(paths), FOLDER / "tiff")


def load_zarr(index: int) -> dict[str, Any]:
    folder = FOLDER / f"plate{index}.zarr"
    paths = [folder / n for n in NAMES]
    return _timed(lambda: ZarrBackend().load_batch(paths), folder)


def main() -> None:
    """Run the benchmark and print ratios, memory and stored bytes."""
    print(f"\n== backends: load a well of {len(NAMES)} images {SIZE}x{SIZE} uint16")
    written = isolated("write", prepare, repeat=1).result  # the images stay out of this process
    raw = len(NAMES) * SIZE * SIZE * 2
    tiff_bytes = _folder_bytes(FOLDER / "tiff")
    base = isolated("disk backend, 180 TIFF files", load_tiffs, repeat=1)
    timing = base.result
    print(
        f"  {base.name:<52} warm {timing['warm']:6.3f} s  cold {timing['cold']:6.3f} s  "
        f"peak {base.peak_rss_mib:5.0f} MiB  stored {tiff_bytes / 2**20:4.0f} MiB  "
        f"(written in {written['tiff']:.1f} s)"
    )
    for index, name in enumerate(CANDIDATES):
        mine = isolated(name, load_zarr, index, repeat=1)
        ours = mine.result
        assert ours["checksum"] == timing["checksum"], "the Zarr well differs from the TIFFs"
        stored = _folder_bytes(FOLDER / f"plate{index}.zarr")
        print(
            f"  {name:<52} warm {ours['warm']:6.3f} s  cold {ours['cold']:6.3f} s  "
            f"peak {mine.peak_rss_mib:5.0f} MiB  stored {stored / 2**20:4.0f} MiB  "
            f"(written in {written[name]:.1f} s)"
        )
        print(
            f"    ratio vs TIFFs: {timing['warm'] / ours['warm']:.2f}x warm, "
            f"{timing['cold'] / ours['cold']:.2f}x cold; stored bytes {stored / tiff_bytes:.2f} "
            f"of the TIFFs' ({stored / raw:.2f} of raw); peak memory "
            f"{mine.peak_rss_mib / base.peak_rss_mib:.2f} of the baseline's"
        )
    print(f"  cpu count: {os.cpu_count()}")


if __name__ == "__main__":
    main()
