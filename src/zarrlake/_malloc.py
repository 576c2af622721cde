"""Keeping glibc's allocator from holding on to freed chunk-sized buffers.

A conversion worker allocates a few chunk-sized arrays per chunk (the values read, the
compressor's output) on three threads (the caller, zarr's event loop, its codec
threads). glibc gives every thread its own arena and keeps what is freed there for
reuse, so a worker that holds under 100 MiB of live arrays settles at twice that.
Settings (:func:`limit_arenas`, :func:`map_buffers_from`, :func:`keep_free_heap`, all
through :func:`tune_process_memory`) last for the whole process and every library in it, so only
code that owns the process applies them: the ``zarrlake`` commands and conversion worker
processes, or a library caller that opts in. :func:`release_free_memory` changes no
setting. All of them do nothing where the C library is not glibc.
"""

from __future__ import annotations

import ctypes
import functools
import platform
from typing import Any

_M_ARENA_MAX = -8  # from glibc's malloc.h
_M_MMAP_THRESHOLD = -3
_M_TRIM_THRESHOLD = -1

MMAP_THRESHOLD_BYTES = 16 * 2**20
"""Buffers from this size up (chunk-sized ones) get their own mapping, returned to the
system when freed. Measured on 1 GB (31 MB chunks, 2 workers): peak memory of the tree
410 -> 311 MiB, system CPU time 2.4 -> 2.9 s; a 1 MiB threshold maps many more buffers
and took 7.1 s of system time."""

TRIM_THRESHOLD_BYTES = 64 * 2**20
"""Free memory at the top of the heap that malloc keeps instead of returning it at once.
With a fixed mmap threshold glibc's trim threshold stays at 128 KiB, so the few-MiB
reads of a block filled from several files were given back and faulted in again on
every read. Measured on 1 GB of files whose chunks span 3 files (2 workers): minor page
faults 383,000-393,000 -> 216,000-221,000, system CPU time 2.5-3.2 -> 2.0-2.1 s, peak
memory +9 MiB."""


@functools.cache
def _glibc() -> Any:
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return None
    try:
        return ctypes.CDLL(None)  # the C library this interpreter is linked with
    except OSError:  # pragma: no cover - a static interpreter
        return None


def limit_arenas(count: int = 1) -> bool:
    """Let at most ``count`` malloc arenas serve this process's threads.

    Call it in a fresh worker process before it starts threads: arenas made before
    (a forked child inherits its parent's) stay in use. Freed buffers then return to
    one arena that every thread reuses, instead of one idle copy per thread.

    Returns
    -------
    bool
        Whether the limit was set (false off glibc).
    """
    libc = _glibc()
    return bool(libc is not None and libc.mallopt(_M_ARENA_MAX, count) == 1)


def map_buffers_from(size: int = MMAP_THRESHOLD_BYTES) -> bool:
    """Give every buffer of ``size`` bytes or more its own mapping, for the whole process.

    glibc raises its mmap threshold to the largest buffer freed so far (up to 32 MiB):
    after the first chunk, chunk-sized buffers come from the heap and their pages stay
    with the process. A fixed threshold keeps them mapped and returned when freed, for
    some page faults (system CPU time) each time one is allocated.

    Returns
    -------
    bool
        Whether the threshold was set (false off glibc).
    """
    libc = _glibc()
    return bool(libc is not None and libc.mallopt(_M_MMAP_THRESHOLD, size) == 1)


def keep_free_heap(size: int = TRIM_THRESHOLD_BYTES) -> bool:
    """Let malloc keep up to ``size`` bytes free at the top of the heap, for the whole process.

    Buffers below the mmap threshold (a few MiB read from an input, then freed) come
    from the heap; with glibc's default trim threshold of 128 KiB each free returns the
    top of the heap to the system and the next buffer faults its pages in again.

    Returns
    -------
    bool
        Whether the threshold was set (false off glibc).
    """
    libc = _glibc()
    return bool(libc is not None and libc.mallopt(_M_TRIM_THRESHOLD, size) == 1)


def tune_process_memory() -> bool:
    """Set this process's allocator up for conversion: one arena, chunk buffers mapped.

    What ``zarrlake convert run`` does in its own process before its worker threads
    start (and each worker process of ``--processes``): :func:`limit_arenas` to one,
    :func:`map_buffers_from` ``MMAP_THRESHOLD_BYTES`` and :func:`keep_free_heap`
    ``TRIM_THRESHOLD_BYTES``. On 1 GB with two worker threads
    it keeps the command's peak near 250 MiB. Both are glibc settings of the whole
    process, kept after the conversion and applying to every other library in it,
    so :func:`zarrlake.convert.run` leaves them alone: call this first (before the
    process starts threads, where possible) in a process that exists to convert.

    Returns
    -------
    bool
        Whether both were set (false off glibc).
    """
    arenas = limit_arenas(1)
    kept = keep_free_heap(TRIM_THRESHOLD_BYTES)
    return map_buffers_from(MMAP_THRESHOLD_BYTES) and arenas and kept


def release_free_memory() -> bool:
    """Hand memory that malloc holds free back to the operating system.

    Worth a few milliseconds between work units: the next unit faults the pages in
    again, but two workers no longer both sit on their largest unit's buffers.

    Returns
    -------
    bool
        Whether anything was released (false off glibc).
    """
    libc = _glibc()
    return bool(libc is not None and libc.malloc_trim(0) == 1)
