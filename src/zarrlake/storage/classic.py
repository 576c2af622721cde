r"""How long a complete NetCDF classic file is, from its header alone.

Protocol: :func:`classic_shortfall` reads the header of a NetCDF classic file (format
versions 1, 2 and 5: classic, 64-bit offset, 64-bit data), from a local path or from
the bytes of one read from object storage, and returns ``(needed, actual)`` when the
file ends before the last byte its header places data at, else ``None``.
:func:`open_file_dataset <zarrlake.storage.files.open_file_dataset>` and the catalog's
NetCDF extractor refuse such a file.

Why: the netCDF-C library opens a classic file cut off in its data section (a copy
that stopped, a download that ended early) without complaint and reads the missing
values as zeros, so an append or conversion would store zeros as data. HDF5-based
files do not need this: the HDF5 library refuses a truncated file itself.

The layout (NetCDF classic format specification, big-endian): ``magic numrecs
dim_list gatt_list var_list``; each variable ends with ``nc_type vsize begin``. Counts
and dimension lengths are 4 bytes (8 in version 5), ``begin`` is 4 bytes in version 1
and 8 in versions 2 and 5. A record variable's data are ``numrecs`` slabs ``recsize``
apart from its ``begin``. Anything this module cannot parse is left to netCDF-C
(``None``), except a header that itself runs past the end of the file.
"""

from __future__ import annotations

import io
import math
import os
from typing import BinaryIO

__all__ = ["classic_shortfall", "truncation_message"]

_TYPE_SIZES = {1: 1, 2: 1, 3: 2, 4: 4, 5: 4, 6: 8, 7: 1, 8: 2, 9: 4, 10: 8, 11: 8}
_ABSENT, _DIMENSION, _VARIABLE, _ATTRIBUTE = 0, 0x0A, 0x0B, 0x0C
_STREAMING = {4: 0xFFFFFFFF, 8: 0xFFFFFFFFFFFFFFFF}
_HEADER_READ = 1 << 16


class _Ended(Exception):
    """The header runs past the end of the file."""


class _Unparsed(Exception):
    """Something this reader does not understand: leave the file to netCDF-C."""


class _Header:
    """A cursor over a classic header, reading more of the file when it needs to."""

    def __init__(self, handle: BinaryIO, version: int) -> None:
        self._handle = handle
        self._buffer = b""
        self._at = 0  # the magic number is read already
        self.count_bytes = 8 if version == 5 else 4
        self.begin_bytes = 4 if version == 1 else 8

    def _take(self, size: int) -> bytes:
        while self._at + size > len(self._buffer):
            more = self._handle.read(max(_HEADER_READ, size))
            if not more:
                raise _Ended
            self._buffer += more
        data = self._buffer[self._at : self._at + size]
        self._at += size
        return data

    def uint(self, size: int) -> int:
        return int.from_bytes(self._take(size), "big")

    def count(self) -> int:
        return self.uint(self.count_bytes)

    def skip_padded(self, size: int) -> None:
        self._take(size + (-size % 4))

    def name(self) -> None:
        self.skip_padded(self.count())

    def attributes(self) -> None:
        tag, count = self.uint(4), self.count()
        if tag == _ABSENT and count == 0:
            return
        if tag != _ATTRIBUTE:
            raise _Unparsed
        for _ in range(count):
            self.name()
            size = _TYPE_SIZES.get(self.uint(4))
            if size is None:
                raise _Unparsed
            self.skip_padded(size * self.count())


def _dimensions(header: _Header) -> list[int]:
    tag, count = header.uint(4), header.count()
    if tag == _ABSENT and count == 0:
        return []
    if tag != _DIMENSION:
        raise _Unparsed
    lengths = []
    for _ in range(count):
        header.name()
        lengths.append(header.count())
    return lengths


def _needed_bytes(header: _Header) -> int:
    numrecs = header.count()
    if numrecs == _STREAMING[header.count_bytes]:
        raise _Unparsed  # a file still being written: its record count is unknown
    lengths = _dimensions(header)
    header.attributes()
    tag, count = header.uint(4), header.count()
    if tag == _ABSENT and count == 0:
        return 0
    if tag != _VARIABLE:
        raise _Unparsed
    extents: list[tuple[int, int, bool]] = []  # begin, bytes of one slab, record variable
    for _ in range(count):
        header.name()
        dimids = [header.count() for _ in range(header.count())]
        header.attributes()
        size = _TYPE_SIZES.get(header.uint(4))
        header.count()  # vsize: clamped for variables over 4 GiB; computed below instead
        begin = header.uint(header.begin_bytes)
        if size is None or any(d >= len(lengths) for d in dimids):
            raise _Unparsed
        shape = [lengths[d] for d in dimids]
        record = bool(shape) and shape[0] == 0
        extents.append((begin, size * math.prod(shape[1:] if record else shape), record))
    slabs = [slab for _, slab, record in extents if record]
    # One record variable: records follow each other unpadded; else each slab is padded.
    recsize = slabs[0] if len(slabs) == 1 else sum(s + (-s % 4) for s in slabs)
    needed = 0
    for begin, slab, record in extents:
        if record:
            end = begin + (numrecs - 1) * recsize + slab if numrecs and slab else 0
        else:
            end = begin + slab if slab else 0
        needed = max(needed, end)
    return needed


def classic_shortfall(source: str | bytes) -> tuple[int, int] | None:
    """Say whether a NetCDF classic file ends before its data do.

    Parameters
    ----------
    source
        A local file path, or a whole file's bytes (read from object storage).

    Returns
    -------
    tuple of int or None
        ``(needed, actual)``: the size in bytes the header calls for and the file's
        size, when the file is shorter (a header cut off itself gives ``needed`` as
        ``actual + 1``); ``None`` when the file is complete, is not a classic file,
        or has a header this reader leaves to netCDF-C.
    """
    try:
        if isinstance(source, bytes):
            return _shortfall(io.BytesIO(source), len(source))
        with open(source, "rb") as handle:
            return _shortfall(handle, os.fstat(handle.fileno()).st_size)
    except OSError:
        return None


def _shortfall(handle: BinaryIO, actual: int) -> tuple[int, int] | None:
    magic = handle.read(4)
    if magic[:3] != b"CDF" or magic[3:] not in (b"\x01", b"\x02", b"\x05"):
        return None
    try:
        needed = _needed_bytes(_Header(handle, magic[3]))
    except _Ended:
        return actual + 1, actual
    except _Unparsed:
        return None
    return (needed, actual) if needed > actual else None


def truncation_message(shortfall: tuple[int, int]) -> str:
    """Say where a cut-off classic file ends, for an error message.

    Parameters
    ----------
    shortfall
        What :func:`classic_shortfall` returned.

    Returns
    -------
    str
        E.g. ``is truncated: the NetCDF-3 file ends at 300 of 1080 bytes, ...``.
    """
    needed, actual = shortfall
    where = "inside its header" if needed == actual + 1 else f"at {actual} of {needed} bytes"
    return (
        f"is truncated: the NetCDF-3 file ends {where}, so its last values are missing "
        "(netCDF-C would read them as zeros)"
    )
