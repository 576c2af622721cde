"""Chunk planning: chunk sizes from dims, sizes, dtype and how the archive is read.

One dimension is the *series* dimension (``series_dim``; default ``time`` when present,
else the first); the others are *space*. With ``D = target_chunk_bytes / itemsize``
values per chunk and ``T`` the series length:

``temporal`` (long time series, small tiles)
    ``ct = min(T, D)``; the remaining ``D / ct`` values form square-ish tiles.
``spatial`` (whole maps, few steps)
    whole maps when one fits: ``ct = max(1, floor(D / map_size))``; otherwise
    ``ct = 1`` and the map is split keeping its aspect ratio.
``balanced`` (after Rew's ``chunk_shape_3D``)
    with ``N = size / D`` chunks in all, ``ct = T / sqrt(N)`` and each of the ``k``
    space dims gets ``size / N**(1 / (2k))``, so reading one full series and reading
    one full map each touch about ``sqrt(N)`` chunks.

Ideal sizes are clamped to ``1..size`` (what a clamped dim cannot use goes to the
others) and rounded by trying floor and ceiling per dim, keeping the largest chunk
that does not exceed the target. ``align_to`` (e.g. steps per input file) makes ``ct``
a multiple of it (or, below it, a divisor of it), so chunk boundaries fall on file
boundaries and parallel writers never share a chunk; space chunks are then refit to
the target. Targets below 1 MiB are refused: tiny chunks multiply requests and metadata.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from dask.utils import parse_bytes

from zarrlake.errors import InvalidInputError

__all__ = [
    "DEFAULT_TARGET_CHUNK_BYTES",
    "MIN_TARGET_CHUNK_BYTES",
    "AccessPattern",
    "ChunkPlan",
    "plan_chunks",
]

AccessPattern = Literal["temporal", "spatial", "balanced"]
DEFAULT_TARGET_CHUNK_BYTES = 64 * 2**20
MIN_TARGET_CHUNK_BYTES = 2**20
_PATTERNS = ("temporal", "spatial", "balanced")
_MAX_ROUNDING_SEARCH_DIMS = 8


@dataclass(frozen=True)
class ChunkPlan:
    """A chunk plan and what it costs to read.

    Attributes
    ----------
    dims
        Dimension names, in array order.
    shape
        Array sizes.
    chunks
        Chunk sizes, in array order.
    itemsize
        Bytes per value.
    series_dim
        The dimension read as a series (``None`` for arrays of one dim without one).
    """

    dims: tuple[str, ...]
    shape: tuple[int, ...]
    chunks: tuple[int, ...]
    itemsize: int
    series_dim: str | None

    @property
    def chunk_bytes(self) -> int:
        """Uncompressed bytes in one full chunk."""
        return math.prod(self.chunks) * self.itemsize

    def as_dict(self) -> dict[str, int]:
        """Chunk sizes by dimension name."""
        return dict(zip(self.dims, self.chunks, strict=True))

    @property
    def chunks_per_series_read(self) -> int:
        """Chunks touched by reading the whole series at one point in space."""
        if self.series_dim is None:
            return 1
        i = self.dims.index(self.series_dim)
        return math.ceil(self.shape[i] / self.chunks[i])

    @property
    def chunks_per_map_read(self) -> int:
        """Chunks touched by reading everything at one step of the series."""
        return math.prod(
            math.ceil(size / chunk)
            for dim, size, chunk in zip(self.dims, self.shape, self.chunks, strict=True)
            if dim != self.series_dim
        )


def plan_chunks(
    dims: Sequence[str],
    shape: Sequence[int],
    dtype: np.dtype | str | type,
    *,
    access_pattern: AccessPattern = "balanced",
    target_chunk_bytes: int | str = DEFAULT_TARGET_CHUNK_BYTES,
    align_to: int | None = None,
    series_dim: str | None = None,
) -> ChunkPlan:
    """Plan chunk sizes for an array; the rule is in this module's docstring.

    Parameters
    ----------
    dims
        Dimension names.
    shape
        Array sizes, one per dim.
    dtype
        The stored dtype (its itemsize counts, e.g. 2 for packed int16).
    access_pattern
        ``temporal``, ``spatial`` or ``balanced``.
    target_chunk_bytes
        Upper bound for one chunk's uncompressed size: bytes or a string such as
        ``"64MiB"``; at least 1 MiB.
    align_to
        Make the series chunk a multiple (or divisor) of this many steps.
    series_dim
        The series dimension; default ``time`` if present, else the first dim.

    Returns
    -------
    ChunkPlan
        Chunk sizes and read costs.

    Raises
    ------
    InvalidInputError
        For a target below 1 MiB, an unknown access pattern, mismatched dims and
        shape, an unknown ``series_dim`` or a non-positive ``align_to``.
    """
    dims_t = tuple(str(d) for d in dims)
    shape_t = tuple(int(s) for s in shape)
    _validate(dims_t, shape_t, access_pattern, align_to)
    target = _parse_target(target_chunk_bytes)
    itemsize = np.dtype(dtype).itemsize
    budget = max(1, target // itemsize)
    series = _series_dim(dims_t, series_dim)

    if math.prod(shape_t) <= budget:
        chunks = tuple(max(1, s) for s in shape_t)
        return ChunkPlan(dims_t, shape_t, chunks, itemsize, series)

    if series is None:
        space = _split(list(shape_t), budget, equal=access_pattern == "temporal")
        chunks = _round(shape_t, space, budget)
        return ChunkPlan(dims_t, shape_t, chunks, itemsize, series)

    ts = dims_t.index(series)
    steps = max(1, shape_t[ts])
    space_sizes = [max(1, s) for i, s in enumerate(shape_t) if i != ts]
    ct = _ideal_series_chunk(access_pattern, steps, space_sizes, budget)
    if align_to is not None:
        ct_int = _align(round(ct), align_to, steps)
        space = _split(space_sizes, budget / ct_int, equal=access_pattern == "temporal")
        fixed = {ts: ct_int}
    else:
        space = _split(space_sizes, budget / ct, equal=access_pattern == "temporal")
        fixed = {}
    ideal = list(space)
    ideal.insert(ts, float(ct))
    chunks = _round(shape_t, ideal, budget, fixed=fixed)
    return ChunkPlan(dims_t, shape_t, chunks, itemsize, series)


def _validate(
    dims: tuple[str, ...], shape: tuple[int, ...], pattern: str, align_to: int | None
) -> None:
    if len(dims) != len(shape):
        raise InvalidInputError(
            f"{len(dims)} dims {list(dims)} but {len(shape)} sizes {list(shape)}",
            subject="dims",
            hint="give one size per dimension",
        )
    if any(s < 0 for s in shape):
        raise InvalidInputError(f"negative size in shape {list(shape)}", subject="shape")
    if pattern not in _PATTERNS:
        raise InvalidInputError(
            f"unknown access pattern {pattern!r}",
            subject="access_pattern",
            hint=f"use one of {', '.join(_PATTERNS)}",
        )
    if align_to is not None and (not isinstance(align_to, int) or align_to < 1):
        raise InvalidInputError(
            f"align_to must be a positive number of steps, got {align_to!r}",
            subject="align_to",
        )


def _parse_target(target: int | str) -> int:
    try:
        value = parse_bytes(target) if isinstance(target, str) else int(target)
    except (ValueError, TypeError) as exc:
        raise InvalidInputError(
            f"target chunk size {target!r} is not a size",
            subject="target_chunk_bytes",
            hint="give bytes or a string like '64MiB'",
        ) from exc
    if value < MIN_TARGET_CHUNK_BYTES:
        raise InvalidInputError(
            f"target chunk size {target!r} ({value} bytes) is below the 1 MiB minimum",
            subject="target_chunk_bytes",
            hint="tiny chunks multiply requests and metadata; use 1MiB or more (default 64MiB)",
        )
    return value


def _series_dim(dims: tuple[str, ...], series_dim: str | None) -> str | None:
    if series_dim is not None:
        if series_dim not in dims:
            raise InvalidInputError(
                f"series_dim {series_dim!r} is not one of the dims {list(dims)}",
                subject="series_dim",
            )
        return series_dim
    if "time" in dims:
        return "time"
    return dims[0] if len(dims) > 1 else None


def _ideal_series_chunk(pattern: str, steps: int, space: list[int], budget: int) -> float:
    map_size = math.prod(space)
    if pattern == "temporal":
        return float(min(steps, budget))
    if pattern == "spatial":
        return float(max(1, min(steps, budget // map_size)))
    n_chunks = steps * map_size / budget
    return min(float(steps), max(1.0, steps / math.sqrt(n_chunks)))


def _align(ct: int, align_to: int, steps: int) -> int:
    if ct >= align_to:
        return min(max(align_to, (ct // align_to) * align_to), max(steps, align_to))
    divisors = [d for d in range(1, align_to + 1) if align_to % d == 0 and d <= max(ct, 1)]
    return max(divisors)


def _split(sizes: list[int], budget: float, *, equal: bool) -> list[float]:
    """Split ``budget`` values over dims: equal tiles, or keeping the dims' proportions.

    A dim whose share exceeds its size is clamped and the rest re-split, so no budget
    is lost to clamping.
    """
    result = [0.0] * len(sizes)
    free = list(range(len(sizes)))
    remaining = max(budget, 1.0)
    while free:
        k = len(free)
        if equal:
            shares = {i: remaining ** (1 / k) for i in free}
        else:
            factor = (remaining / math.prod(sizes[i] for i in free)) ** (1 / k)
            shares = {i: sizes[i] * factor for i in free}
        clamped = [i for i in free if shares[i] >= sizes[i] or shares[i] < 1]
        if not clamped:
            for i in free:
                result[i] = shares[i]
            break
        for i in clamped:
            result[i] = float(sizes[i]) if shares[i] >= sizes[i] else 1.0
            remaining /= result[i]
            free.remove(i)
    return result


def _round(
    shape: tuple[int, ...],
    ideal: Sequence[float],
    budget: int,
    *,
    fixed: dict[int, int] | None = None,
) -> tuple[int, ...]:
    fixed = fixed or {}
    options: list[tuple[int, ...]] = []
    for i, (size, value) in enumerate(zip(shape, ideal, strict=True)):
        if i in fixed:
            options.append((fixed[i],))
            continue
        lo = min(max(1, math.floor(value)), max(1, size))
        hi = min(max(1, math.ceil(value)), max(1, size))
        options.append((lo, hi) if len(shape) <= _MAX_ROUNDING_SEARCH_DIMS else (lo,))
    best: tuple[int, ...] | None = None
    best_size = -1
    for candidate in itertools.product(*options):
        size = math.prod(candidate)
        if best_size < size <= budget:
            best, best_size = candidate, size
    if best is None:  # even the floors exceed the budget (only with fixed dims)
        best = tuple(o[0] for o in options)
    return best
