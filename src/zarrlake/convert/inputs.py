"""Input files: expand lists and globs (local or ``s3://``), open them, retry transient errors."""

from __future__ import annotations

import contextlib
import glob
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, TypeVar

import xarray as xr

from zarrlake.errors import InvalidInputError, NotFoundError, RetryLimitExceededError

__all__ = ["INPUT_LOCK", "expand_inputs", "input_size", "open_input", "with_retries"]

log = logging.getLogger(__name__)
T = TypeVar("T")

_REMOTE_DEFAULTS = {"use_listings_cache": False}

INPUT_LOCK = threading.RLock()
"""Held around every open, read and close of an input: the HDF5 library is not
thread-safe, and a Dask worker runs several tasks in threads of one process."""


def _is_remote(path: str) -> bool:
    return "://" in path and not path.startswith("file://")


def expand_inputs(
    inputs: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
    storage_options: Mapping[str, Any] | None = None,
) -> list[str]:
    """Expand paths, URLs and globs into a sorted list of input files without duplicates.

    Parameters
    ----------
    inputs
        One path or glob, or several; ``s3://bucket/data/*.nc`` globs work too.
    storage_options
        fsspec options for remote globs.

    Returns
    -------
    list of str
        The files, in sorted order.

    Raises
    ------
    NotFoundError
        When a glob matches nothing or a named file does not exist.
    """
    items = [inputs] if isinstance(inputs, (str, os.PathLike)) else list(inputs)
    found: list[str] = []
    for item in items:
        pattern = os.fspath(item)
        if _is_remote(pattern):
            matches = _remote_matches(pattern, storage_options)
        elif any(ch in pattern for ch in "*?["):
            matches = sorted(p for p in glob.glob(pattern) if os.path.isfile(p))
        else:
            local = pattern.removeprefix("file://")
            matches = [local] if os.path.isfile(local) else []
        if not matches:
            raise NotFoundError(
                f"no input file matches {pattern!r}",
                subject=pattern,
                hint="check the path or glob (quote globs so the shell leaves them alone)",
            )
        found.extend(matches)
    return sorted(dict.fromkeys(found))


def _remote_matches(pattern: str, storage_options: Mapping[str, Any] | None) -> list[str]:
    import fsspec

    options = {**_REMOTE_DEFAULTS, **dict(storage_options or {})}
    fs, path = fsspec.core.url_to_fs(pattern, **options)
    protocol = pattern.split("://", 1)[0]
    names = fs.glob(path) if any(ch in path for ch in "*?[") else [path] if fs.exists(path) else []
    return sorted(f"{protocol}://{name}" for name in names if not fs.isdir(name))


def input_size(path: str, storage_options: Mapping[str, Any] | None = None) -> int:
    """Return an input file's size in bytes."""
    if _is_remote(path):
        import fsspec

        fs, inner = fsspec.core.url_to_fs(path, **{**_REMOTE_DEFAULTS, **(storage_options or {})})
        return int(fs.size(inner))
    return os.path.getsize(path.removeprefix("file://"))


@contextlib.contextmanager
def open_input(
    path: str,
    *,
    engine: str | None = None,
    storage_options: Mapping[str, Any] | None = None,
    decode_times: bool = True,
) -> Iterator[xr.Dataset]:
    """Open one input file lazily with xarray; the file is closed on exit.

    Parameters
    ----------
    path
        A local path or a remote URL (read through fsspec with h5netcdf).
    engine
        The xarray engine; default: xarray's choice for local files.
    storage_options
        fsspec options for remote files.
    decode_times
        Decode the time coordinates (CF).

    Yields
    ------
    xarray.Dataset
        The lazily opened dataset.

    Raises
    ------
    NotFoundError
        When the file does not exist.
    InvalidInputError
        When it is not a readable NetCDF/HDF5 file.
    """
    with contextlib.ExitStack() as stack:
        ds = _open_locked(path, engine, storage_options, decode_times, stack)
        stack.callback(_close_locked, ds)
        yield ds


def _close_locked(ds: xr.Dataset) -> None:
    with INPUT_LOCK:
        ds.close()


def _open_locked(
    path: str,
    engine: str | None,
    storage_options: Mapping[str, Any] | None,
    decode_times: bool,
    stack: contextlib.ExitStack,
) -> xr.Dataset:
    with INPUT_LOCK:
        try:
            if _is_remote(path):
                import fsspec

                handle = stack.enter_context(
                    fsspec.open(path, "rb", **{**_REMOTE_DEFAULTS, **(storage_options or {})})
                )
                ds = xr.open_dataset(
                    handle, engine=engine or "h5netcdf", decode_times=decode_times, cache=False
                )
            else:
                ds = xr.open_dataset(
                    path.removeprefix("file://"),
                    engine=engine,
                    decode_times=decode_times,
                    cache=False,
                )
        except FileNotFoundError:
            raise NotFoundError(
                f"input {path} does not exist", subject=path, hint="check the input list"
            ) from None
        except OSError as exc:
            if _is_remote(path):
                raise  # maybe transient: the caller retries
            raise InvalidInputError(
                f"input {path} cannot be read: {exc}",
                subject=path,
                hint="check that it is a complete NetCDF/HDF5 file, or pass engine=",
            ) from exc
        except (ValueError, KeyError, RuntimeError, TypeError) as exc:
            raise InvalidInputError(
                f"input {path} cannot be read: {exc}",
                subject=path,
                hint="check that it is a complete NetCDF/HDF5 file, or pass engine=",
            ) from exc
        return ds


def _transient(exc: BaseException) -> bool:
    """Whether an error may pass on a retry (I/O trouble, not a missing or bad file)."""
    if isinstance(exc, (FileNotFoundError, PermissionError, NotFoundError, InvalidInputError)):
        return False
    return isinstance(exc, (OSError, TimeoutError, ConnectionError))


def with_retries(
    action: Callable[[], T],
    *,
    what: str,
    retries: int,
    backoff: float,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Run ``action``, retrying transient I/O errors with exponential backoff.

    Parameters
    ----------
    action
        The work to do.
    what
        The thing being read, for the error message (an input file's path).
    retries
        How many times to retry after the first failure.
    backoff
        Seconds before the first retry; doubles each time.
    sleep
        The sleeping function.

    Returns
    -------
    object
        What ``action`` returned.

    Raises
    ------
    RetryLimitExceededError
        When every attempt failed with a transient error.
    """
    delay = backoff
    for attempt in range(retries + 1):
        try:
            return action()
        except Exception as exc:
            if not _transient(exc):
                raise
            if attempt == retries:
                raise RetryLimitExceededError(
                    f"reading {what} failed {retries + 1} times; last error: {exc}",
                    subject=what,
                    hint="check the storage, then run again: finished work is kept",
                ) from exc
            log.warning("reading %s failed (%s); retry %d in %.1f s", what, exc, attempt + 1, delay)
            sleep(delay)
            delay *= 2
    raise AssertionError("unreachable")
