"""Keeping glibc's allocator from holding on to freed chunk-sized buffers.

A conversion worker allocates a few chunk-sized arrays per chunk (the values read, the
compressor's output) on three threads (the caller, zarr's event loop, its codec
threads). glibc gives every thread its own arena and keeps what is freed there for
reuse, so a worker that holds under 100 MiB of live arrays settles at twice that.
Both helpers do nothing where the C library is not glibc.
"""

from __future__ import annotations

import ctypes
import functools
import platform
from typing import Any

_M_ARENA_MAX = -8  # from glibc's malloc.h


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
