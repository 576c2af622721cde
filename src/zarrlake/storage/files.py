"""Open NetCDF/HDF5 files (local or through fsspec) as xarray datasets, one error mapping.

Both the append slices and the conversion inputs come through here: a missing file is a
``NotFoundError``, a file that is not NetCDF/HDF5 an ``InvalidInputError`` naming it; a
remote read error stays an ``OSError`` so callers can retry it.
"""

from __future__ import annotations

import contextlib
import os
import re
import threading
from collections.abc import Iterator, Mapping
from typing import Any, Literal

import xarray as xr

from zarrlake.errors import InvalidInputError, NotFoundError
from zarrlake.storage.classic import classic_shortfall, truncation_message
from zarrlake.storage.remote import REMOTE_DEFAULTS, is_remote, remote_errors, remote_filesystem

__all__ = ["DATASET_LOCK", "REMOTE_DEFAULTS", "file_size", "is_remote", "open_file_dataset"]

DATASET_LOCK = threading.RLock()
"""Held around every open, read and close of a file: the HDF5 library is not
thread-safe, and a Dask worker runs several tasks in threads of one process."""


def file_size(path: str, storage_options: Mapping[str, Any] | None = None) -> int:
    """Return a file's size in bytes (local path or fsspec URL)."""
    if is_remote(path):
        fs, inner = remote_filesystem(path, storage_options)
        with remote_errors(path, storage_options):
            return int(fs.size(inner))
    return os.path.getsize(path.removeprefix("file://"))


@contextlib.contextmanager
def open_file_dataset(
    path: str,
    *,
    engine: str | None = None,
    storage_options: Mapping[str, Any] | None = None,
    decode_times: bool = True,
    role: str = "input",
    missing_hint: str = "check the input list",
    purpose: Literal["headers", "data"] = "data",
) -> Iterator[xr.Dataset]:
    """Open one NetCDF/HDF5 file lazily with xarray; the file is closed on exit.

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
    role, missing_hint
        What the file is to the caller (``input``, ``slice``), and what to do when it
        is missing, for the messages.
    purpose
        ``headers`` when only metadata and coordinates are read (the engine that opens
        fastest), ``data`` when values are (large files: the one that allocates least).

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
    OSError
        When reading a remote file fails (maybe transient: the caller decides).
    """
    with contextlib.ExitStack() as stack:
        ds = _open_locked(
            path, engine, storage_options, decode_times, stack, role, missing_hint, purpose
        )
        stack.callback(_close_locked, ds)
        yield ds


_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


LARGE_FILE_BYTES = 64 * 2**20
"""HDF5-based files above this size are read with h5netcdf when their data is read."""


def _local_engine(path: str, purpose: Literal["headers", "data"]) -> str | None:
    """Pick h5netcdf for large HDF5-based files whose data is read, else xarray's choice.

    h5netcdf reads a selection straight into one new array; netCDF4-python allocates
    twice the selection on the way, which doubles a conversion worker's peak memory.
    But h5netcdf takes 70-100 ms to open a NetCDF-4 file (it resolves every dimension
    scale through h5py) where netCDF4-python takes 15-20 ms: for a scan (headers and
    coordinates) and for small files (an append's daily slice), opening is the cost.
    """
    if purpose == "headers":
        return None
    try:
        with open(path, "rb") as handle:
            head = handle.read(len(_HDF5_SIGNATURE))
            large = os.fstat(handle.fileno()).st_size > LARGE_FILE_BYTES
    except FileNotFoundError:
        raise
    except OSError:
        return None  # let xarray try, and say what is wrong
    return "h5netcdf" if head == _HDF5_SIGNATURE and large else None


def _close_locked(ds: xr.Dataset) -> None:
    with DATASET_LOCK:
        ds.close()


def _open_locked(
    path: str,
    engine: str | None,
    storage_options: Mapping[str, Any] | None,
    decode_times: bool,
    stack: contextlib.ExitStack,
    role: str,
    missing_hint: str,
    purpose: Literal["headers", "data"],
) -> xr.Dataset:
    if not is_remote(path):
        _refuse_truncated_classic(path.removeprefix("file://"), role)
    with DATASET_LOCK:
        try:
            if is_remote(path):
                import fsspec

                with remote_errors(path, storage_options):
                    handle = stack.enter_context(
                        fsspec.open(path, "rb", **{**REMOTE_DEFAULTS, **(storage_options or {})})
                    )
                    ds = xr.open_dataset(
                        handle, engine=engine or "h5netcdf", decode_times=decode_times, cache=False
                    )
            else:
                local = path.removeprefix("file://")
                ds = xr.open_dataset(
                    local,
                    engine=engine or _local_engine(local, purpose),
                    decode_times=decode_times,
                    cache=False,
                )
        except FileNotFoundError:
            raise NotFoundError(
                f"{role} {path} does not exist", subject=path, hint=missing_hint
            ) from None
        except OSError as exc:
            if is_remote(path):
                raise  # maybe transient: the caller retries
            truncated = _hdf5_truncation(path.removeprefix("file://"))
            if truncated:
                raise InvalidInputError(
                    f"{role} {path} is truncated: {truncated}",
                    subject=path,
                    hint="copy or download it again, and compare its size with the original's",
                ) from exc
            raise InvalidInputError(
                f"{role} {path} cannot be read: {exc}",
                subject=path,
                hint="check that it is a complete NetCDF/HDF5 file, or pass engine=",
            ) from exc
        except (ValueError, KeyError, RuntimeError, TypeError) as exc:
            what = None if is_remote(path) else _not_netcdf(path.removeprefix("file://"))
            raise InvalidInputError(
                f"{role} {path} {what}" if what else f"{role} {path} cannot be read: {exc}",
                subject=path,
                hint="check that it is a complete NetCDF/HDF5 file, or pass engine=",
            ) from exc
        return ds


def _refuse_truncated_classic(path: str, role: str) -> None:
    """Refuse a NetCDF classic file cut off in its data: netCDF-C would read zeros."""
    shortfall = classic_shortfall(path)
    if shortfall is None:
        return
    raise InvalidInputError(
        f"{role} {path} {truncation_message(shortfall)}",
        subject=path,
        hint="copy or download it again, and compare its size with the original's",
    )


def _hdf5_truncation(path: str) -> str | None:
    """HDF5's own words when a local HDF5 file is shorter than its superblock says.

    netCDF4-python reports only "NetCDF: HDF error"; h5py passes on the library's
    reason (``truncated file: eof = 3000, ..., stored_eof = 9000``).
    """
    try:
        with open(path, "rb") as handle:
            if handle.read(len(_HDF5_SIGNATURE)) != _HDF5_SIGNATURE:
                return None
        import h5py

        h5py.File(path, "r").close()
    except OSError as exc:
        found = re.search(r"truncated file: eof = (\d+), .*stored_eof = (\d+)", str(exc))
        if found:
            return f"the HDF5 file ends at {found[1]} of {found[2]} bytes"
    return None


_SIGNATURES = (b"CDF\x01", b"CDF\x02", b"CDF\x05", _HDF5_SIGNATURE)


def _not_netcdf(path: str) -> str | None:
    """Say in a few words why a local file is no NetCDF/HDF5 file (``None``: it looks like one)."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(8)
    except OSError:
        return None
    if not head:
        return "is empty (0 bytes)"
    if any(head.startswith(signature) for signature in _SIGNATURES):
        return None  # a NetCDF/HDF5 file xarray could not read: its own message says why
    return f"is not a NetCDF/HDF5 file: it starts with {head!r}"
