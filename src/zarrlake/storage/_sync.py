"""Run store coroutines from synchronous code on zarr's own I/O loop.

zarr-python 3 stores are async; fsspec filesystems created for them are bound to
zarr's I/O loop. Running every coroutine there (instead of a fresh ``asyncio.run``)
keeps one loop per process, which s3fs sessions require.
"""

from __future__ import annotations

from collections.abc import Coroutine
from typing import Any, TypeVar

from zarr.core.sync import sync as _zarr_sync

T = TypeVar("T")


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` to completion on zarr's I/O loop and return its result.

    Parameters
    ----------
    coro
        The coroutine to run; it must not be awaited elsewhere.

    Returns
    -------
    T
        What the coroutine returned (its exception is re-raised here).
    """
    return _zarr_sync(coro)
