"""How a work unit's data move: blocks of whole chunks, read, encoded, stored, timed.

Contract: a unit (or one file's region) is written block by block; a block is the
unit's steps along the concat dim by a range of whole chunks (whole shards when
sharded) along the other dims, at most ``BLOCK_BYTES`` unless one chunk is larger, so
zarr never reads back and rewrites a chunk another block of the same unit filled, and
a writer holds one block (plus what the codecs make of it) at a time. A block filled
from several files is assembled from reads of at most ``SLAB_BYTES``; steps no file
covers get the fill value. ``UnitClock`` adds up where a unit's seconds go.

The helpers here are pure (no store access); :class:`~zarrlake.convert._writer.ArchiveWriter`
does the reads and writes with them.
"""

from __future__ import annotations

import contextlib
import itertools
import math
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import xarray as xr

from zarrlake.convert._inputs import with_retries
from zarrlake.convert._kept_inputs import kept_open
from zarrlake.convert._variables import StoredVariable
from zarrlake.storage.files import open_file_dataset

__all__ = [
    "BLOCK_BYTES",
    "SLAB_BYTES",
    "ReadOptions",
    "Source",
    "UnitClock",
    "WriteStats",
    "chunk_blocks",
    "clip",
    "opened",
    "runs",
    "slab_steps",
    "step_ranges",
    "true_runs",
]

BLOCK_BYTES = 32 * 2**20
"""Upper bound of one in-memory block (the unit's steps by some rows of chunks)."""

SLAB_BYTES = 4 * 2**20
"""Largest single read when a block is assembled from several files."""

Source = tuple[xr.Dataset, str, int, int, int]
"""An input run: (dataset, path, first file row, first archive step, count)."""


@dataclass(frozen=True)
class ReadOptions:
    """How inputs are opened and retried."""

    engine: str | None = None
    storage_options: Mapping[str, Any] | None = None
    retries: int = 3
    backoff: float = 0.5
    keep_open: str | None = None
    """A run's token when its units share open inputs (local threads; see _kept_inputs)."""


@dataclass
class WriteStats:
    """What one unit or file write did."""

    key: str
    steps: int
    input_bytes: int
    seconds: float
    split: dict[str, float] = field(default_factory=dict)
    """Seconds by phase (:class:`UnitClock`): read, prepare, copy, fingerprint, store,
    write (the store's own share of store), other."""


class UnitClock:
    """Seconds one unit spends in each phase, summed over its blocks."""

    PHASES = ("read", "prepare", "copy", "fingerprint", "store")

    def __init__(self) -> None:
        self.seconds = dict.fromkeys(self.PHASES, 0.0)

    @contextlib.contextmanager
    def phase(self, name: str) -> Iterator[None]:
        """Add the time of the ``with`` body to phase ``name``."""
        began = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] += time.perf_counter() - began

    def split(self, total: float, written: float) -> dict[str, float]:
        """Return the phases rounded, with ``write`` and the rest of ``total`` as ``other``."""
        split = {name: round(value, 4) for name, value in self.seconds.items()}
        split["write"] = round(written, 4)
        split["other"] = round(max(0.0, total - sum(self.seconds.values())), 4)
        return split


NO_CLOCK = UnitClock()
"""The clock of writes outside a unit (nothing reads it)."""


def step_ranges(steps: Sequence[int]) -> list[list[int]]:
    """Compress sorted step indices into ``[start, stop)`` ranges."""
    ranges: list[list[int]] = []
    for step in steps:
        if ranges and ranges[-1][1] == step:
            ranges[-1][1] = step + 1
        else:
            ranges.append([int(step), int(step) + 1])
    return ranges


def runs(file_rows: Sequence[int], steps: Sequence[int]) -> list[tuple[int, int]]:
    """Split a mapping into runs that are consecutive in both the file and the archive."""
    runs = []
    begin = 0
    for i in range(1, len(steps) + 1):
        if i == len(steps) or steps[i] != steps[i - 1] + 1 or file_rows[i] != file_rows[i - 1] + 1:
            runs.append((begin, i))
            begin = i
    return runs


def chunk_blocks(
    var: StoredVariable, dim: str, steps: int, limit: tuple[str, int, int] | None = None
) -> list[tuple[slice, ...]]:
    """Split the dims other than ``dim`` into blocks of whole chunks that fit the budget.

    Parameters
    ----------
    var
        The stored variable.
    dim
        The concat dim.
    steps
        Steps along ``dim`` the blocks span.
    limit
        (dim, start, stop): keep to one range of a work unit's block.

    Returns
    -------
    list of tuple of slice
        One slice per other dim, for each block.
    """
    dim_at = var.dims.index(dim)
    others = [i for i in range(len(var.dims)) if i != dim_at]
    if not others:
        return [()]
    extents = {i: (0, var.shape[i]) for i in others}
    order = list(others)
    if limit is not None and limit[0] in var.dims and limit[0] != dim:
        at = var.dims.index(limit[0])
        extents[at] = (limit[1], min(limit[2], var.shape[at]))
        order = [at, *(i for i in others if i != at)]
    span = {i: extents[i][1] - extents[i][0] for i in others}
    # zarr holds a whole chunk for every chunk a write touches, even a few steps of it
    steps = max(steps, var.chunks[dim_at])
    for i in order:  # shrink dims in order, by whole chunks, until a block fits
        total = steps * var.unpacked.itemsize * math.prod(span.values())
        if total <= BLOCK_BYTES:
            break
        per_index = total // max(1, span[i])
        chunk = var.chunks[i]
        span[i] = min(span[i], max(chunk, (BLOCK_BYTES // max(1, per_index)) // chunk * chunk))
    ranges = [
        [
            slice(begin, min(begin + span[i], extents[i][1]))
            for begin in range(extents[i][0], extents[i][1], span[i])
        ]
        for i in others
    ]
    return list(itertools.product(*ranges))


def slab_steps(step_bytes: int) -> int:
    """Return how many steps of ``step_bytes`` one read takes (``SLAB_BYTES``, at least 1)."""
    return max(1, SLAB_BYTES // max(1, step_bytes))


def true_runs(mask: np.ndarray[Any, Any]) -> list[tuple[int, int]]:
    """Return the ``[first, last)`` ranges where ``mask`` is true."""
    edges = np.flatnonzero(np.diff(np.concatenate(([0], mask.astype(np.int8), [0]))))
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2], strict=True)]


def clip(sources: Sequence[Source], start: int, stop: int) -> Iterator[Source]:
    """Return the parts of ``sources`` that fall in archive steps ``[start, stop)``."""
    for ds, path, file_row, step, count in sources:
        begin = max(step, start)
        end = min(step + count, stop)
        if begin < end:
            yield ds, path, file_row + (begin - step), begin, end - begin


@contextlib.contextmanager
def opened(path: str, read: ReadOptions) -> Iterator[xr.Dataset]:
    """Open an input (with retries) for the duration of a ``with`` block.

    With ``read.keep_open`` the input stays open for the run's next units.
    """

    def open_input(stack: contextlib.ExitStack) -> xr.Dataset:
        def open_it() -> xr.Dataset:
            return stack.enter_context(
                open_file_dataset(path, engine=read.engine, storage_options=read.storage_options)
            )

        return with_retries(open_it, what=path, retries=read.retries, backoff=read.backoff)

    if read.keep_open is not None:
        with kept_open(read.keep_open, path, open_input) as ds:
            yield ds
        return
    with contextlib.ExitStack() as stack:
        yield open_input(stack)
