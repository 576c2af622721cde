"""Work units: the pieces of a conversion that run in parallel, each owning whole shards.

Contract: unit ``k`` writes the archive steps ``[start, stop)`` of every series
variable, a whole number of shards (of chunks, when not sharded) along the concat dim,
optionally limited to a ``block`` of whole shards along one other dim; it reads the
parts of the files that fall in it (``sources``). No two units touch one chunk or
shard, so parallel writers never race and need no locks, however files and chunks
line up. A unit's ``key`` names its completion record and its ``fingerprint`` digests
its sources, so a record counts for resume only while the inputs are the same.

``cut_units`` sizes units to about ``UNIT_BUDGET_BYTES`` of input (at least one chunk
row), rounds them up to whole shards, splits rows too large for the budget into
spatial blocks, and maps every file's steps onto the units.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from zarrlake.errors import InvalidInputError

if TYPE_CHECKING:
    from zarrlake.convert._planner import VariablePlan
    from zarrlake.convert._scan import ScanResult

__all__ = ["UNIT_BUDGET_BYTES", "SourceSlice", "WorkUnit", "cut_units"]

UNIT_BUDGET_BYTES = 64 * 2**20
"""Upper bound of the input bytes one work unit holds (at least one chunk row)."""


@dataclass(frozen=True)
class SourceSlice:
    """Steps of one input that land in one work unit.

    ``file_index[i]`` of the input goes to ``target_index[i]`` of the archive.
    """

    path: str
    size: int
    file_index: tuple[int, ...]
    target_index: tuple[int, ...]
    file_steps: int = 0

    @property
    def input_bytes(self) -> int:
        """Return the share of the file's bytes these steps make up."""
        share = len(self.file_index) / self.file_steps if self.file_steps else 1.0
        return int(self.size * share)


@dataclass(frozen=True)
class WorkUnit:
    """A run of whole chunks along the concat dim, and the inputs that fill it."""

    start: int
    stop: int
    sources: tuple[SourceSlice, ...]
    block: tuple[str, int, int] | None = None
    """A range of whole chunks along one other dim (name, start, stop), when a chunk row
    along the concat dim is too large for one unit; ``None``: the whole extent."""
    block_fraction: float = 1.0
    blocks: int = 1

    @property
    def key(self) -> str:
        """A stable name, used for the completion record."""
        key = f"{self.start:012d}-{self.stop:012d}"
        if self.block is not None:
            key += f"-{self.block[0]}-{self.block[1]:09d}-{self.block[2]:09d}"
        return key

    @property
    def steps(self) -> list[int]:
        """The archive steps this unit writes from its inputs."""
        return sorted(i for s in self.sources for i in s.target_index)

    @property
    def input_bytes(self) -> int:
        """Bytes of the inputs it reads (each file's share)."""
        return int(sum(s.input_bytes for s in self.sources) * self.block_fraction)

    def fingerprint(self) -> str:
        """Return a digest of the sources; a completion record counts only when it matches."""
        parts = [(s.path, s.size, s.file_index, s.target_index) for s in self.sources]
        parts.append(self.block)  # type: ignore[arg-type]
        return hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:32]


def cut_units(
    scan: ScanResult,
    positions: Sequence[np.ndarray[Any, Any]],
    variables: dict[str, VariablePlan],
    *,
    steps: int,
    time_chunk: int,
    shard_sizes: dict[str, int],
    chunks_per_unit: int | None,
) -> list[WorkUnit]:
    """Cut the archive into work units of whole shards and map the inputs onto them.

    Parameters
    ----------
    scan
        The scanned inputs (their order matches ``positions``).
    positions
        For each input, the archive step of each of its steps.
    variables
        The planned variables, shards included.
    steps
        The length of the concat dim.
    time_chunk
        The chunk along the concat dim, shared by every series variable.
    shard_sizes
        Shard size per dim name (empty: no shards).
    chunks_per_unit
        Chunks along the concat dim per unit, as configured; ``None``: sized to
        ``UNIT_BUDGET_BYTES``.

    Returns
    -------
    list of WorkUnit
        The units that have inputs, in archive order.

    Raises
    ------
    InvalidInputError
        When a configured ``chunks_per_unit`` would split a shard.
    """
    dim = scan.concat_dim
    row_bytes = sum(
        math.prod(s for d, s in zip(v.dims, v.shape, strict=True) if d != dim)
        * np.dtype(v.source_dtype if v.time is None else v.stored_dtype).itemsize
        for v in variables.values()
        if v.series
    )
    per_unit = chunks_per_unit or max(1, UNIT_BUDGET_BYTES // max(1, row_bytes * time_chunk))
    # a unit writes whole shards: its chunks along the concat dim are a multiple of theirs
    per_shard = max(1, shard_sizes.get(dim, time_chunk) // time_chunk) if shard_sizes else 1
    if per_unit % per_shard:
        if chunks_per_unit:
            raise InvalidInputError(
                f"chunks_per_unit {per_unit} splits a shard ({per_shard} chunks along "
                f"{dim!r}): two units would write one shard",
                subject="chunks_per_unit",
                hint=f"use a multiple of {per_shard}",
            )
        per_unit = -(-per_unit // per_shard) * per_shard
    blocks, extent = (
        _spatial_blocks(variables, dim, per_unit * time_chunk, row_bytes)
        if not chunks_per_unit
        else (None, 1)
    )
    return _units(scan, positions, steps, time_chunk, per_unit, blocks, extent)


def _spatial_blocks(
    variables: dict[str, VariablePlan], dim: str, unit_steps: int, row_bytes: int
) -> tuple[list[tuple[str, int, int]] | None, int]:
    """Split a unit's rows along the first other dim when they exceed the unit budget.

    Blocks are whole shards (whole chunks when not sharded): no two units share one.
    """
    row = row_bytes * unit_steps
    largest = max(
        (v for v in variables.values() if v.series),
        key=lambda v: math.prod(v.shape),
        default=None,
    )
    if largest is None or row <= UNIT_BUDGET_BYTES:
        return None, 1
    others = [i for i, d in enumerate(largest.dims) if d != dim]
    if not others:
        return None, 1
    split = others[0]
    name, size = largest.dims[split], largest.shape[split]
    chunk = (largest.shards or largest.chunks)[split]
    chunk_count = math.ceil(size / chunk)
    if chunk_count < 2:
        return None, 1
    per_block = max(1, math.floor(UNIT_BUDGET_BYTES / (row / chunk_count)))
    blocks = [
        (name, begin * chunk, min(size, (begin + per_block) * chunk))
        for begin in range(0, chunk_count, per_block)
    ]
    return (blocks if len(blocks) > 1 else None), size


def _units(
    scan: ScanResult,
    positions: Sequence[np.ndarray[Any, Any]],
    steps: int,
    chunk: int,
    per_unit: int,
    blocks: list[tuple[str, int, int]] | None = None,
    extent: int = 1,
) -> list[WorkUnit]:
    chunk_count = math.ceil(steps / chunk)
    by_unit: dict[int, list[SourceSlice]] = defaultdict(list)
    for scanned, target in zip(scan.files, positions, strict=True):
        unit_of_step = (target // chunk) // per_unit
        for unit_index in np.unique(unit_of_step):
            mask = unit_of_step == unit_index
            file_index = np.nonzero(mask)[0]
            by_unit[int(unit_index)].append(
                SourceSlice(
                    scanned.path,
                    scanned.size,
                    tuple(int(i) for i in file_index),
                    tuple(int(i) for i in target[mask]),
                    len(target),
                )
            )
    units = []
    for unit_index in range(math.ceil(chunk_count / per_unit)):
        if unit_index not in by_unit:
            continue
        start = unit_index * per_unit * chunk
        stop = min(steps, start + per_unit * chunk)
        sources = tuple(by_unit[unit_index])
        if not blocks:
            units.append(WorkUnit(start, stop, sources))
            continue
        for block in blocks:
            fraction = (block[2] - block[1]) / extent
            units.append(WorkUnit(start, stop, sources, block, fraction, len(blocks)))
    return units
