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
the target. ``fixed`` sizes (chunks the user chose) are kept as given and the other
dims are planned with what remains of the target.

Divisor rule (``prefer_divisors``, on by default): a space chunk ``c`` smaller than its
dim ``n`` becomes the largest divisor of ``n`` that is ``<= c`` when it lies within 25 %
below ``c``; otherwise the even split ``ceil(n / ceil(n / c))`` (as many chunks as ``c``
gives, none a small remainder: 180 by 146 becomes 90 + 90, not 146 + 34). Chunks only
shrink, so the target is never exceeded; what they free goes to the series chunk. The
series dim is left alone: its length grows, so divisors of it mean nothing.
Targets below 1 MiB are refused: tiny chunks multiply requests and metadata.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from zarrlake.errors import InvalidInputError

__all__ = [
    "DEFAULT_TARGET_CHUNK_BYTES",
    "MIN_TARGET_CHUNK_BYTES",
    "AccessPattern",
    "ChunkPlan",
    "parse_size",
    "plan_chunks",
]

AccessPattern = Literal["temporal", "spatial", "balanced"]
DEFAULT_TARGET_CHUNK_BYTES = 64 * 2**20
MIN_TARGET_CHUNK_BYTES = 2**20
_PATTERNS = ("temporal", "spatial", "balanced")
_MAX_ROUNDING_SEARCH_DIMS = 8
_DIVISOR_SLACK = 0.25
"""A divisor of the dim is taken when it is at most this fraction below the chunk."""


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
    fixed: Mapping[str, int] | None = None,
    prefer_divisors: bool = True,
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
    fixed
        Chunk sizes some dims must have (clamped to ``1..size``); the other dims are
        planned with what remains of the target.
    prefer_divisors
        Snap space chunks to divisors of their dim (or an even split); see the module
        docstring.

    Returns
    -------
    ChunkPlan
        Chunk sizes and read costs.

    Raises
    ------
    InvalidInputError
        For a target below 1 MiB, an unknown access pattern, mismatched dims and
        shape, an unknown ``series_dim`` or ``fixed`` dim, or a non-positive
        ``align_to`` or fixed size.
    """
    dims_t = tuple(str(d) for d in dims)
    shape_t = tuple(int(s) for s in shape)
    _validate(dims_t, shape_t, access_pattern, align_to)
    target = _parse_target(target_chunk_bytes)
    itemsize = np.dtype(dtype).itemsize
    budget = max(1, target // itemsize)
    series = _series_dim(dims_t, series_dim)
    pinned = _pinned(dims_t, shape_t, fixed)

    if math.prod(shape_t) <= budget:
        chunks = tuple(pinned.get(i, max(1, s)) for i, s in enumerate(shape_t))
        return ChunkPlan(dims_t, shape_t, chunks, itemsize, series)

    equal = access_pattern == "temporal"
    rest = budget / math.prod(pinned.values())  # values left for the dims not fixed
    ts = None if series is None else dims_t.index(series)
    ideal = [float(pinned.get(i, 0)) for i in range(len(shape_t))]
    fixed_at = dict(pinned)
    space = [i for i in range(len(shape_t)) if i != ts and i not in pinned]
    sizes = [max(1, shape_t[i]) for i in space]
    if ts is not None and ts not in pinned:
        steps = max(1, shape_t[ts])
        ct = _ideal_series_chunk(access_pattern, steps, sizes, rest)
        if align_to is not None:
            ct = float(_align(round(ct), align_to, steps))
            fixed_at[ts] = int(ct)
        ideal[ts] = ct
        rest /= ct
    for i, value in zip(space, _split(sizes, rest, equal=equal), strict=True):
        ideal[i] = value
    chunks = _round(shape_t, ideal, budget, fixed=fixed_at)
    if prefer_divisors:
        grow = ts if ts is not None and ts not in pinned else None
        chunks = _snap(shape_t, chunks, space, budget, grow, align_to)
    return ChunkPlan(dims_t, shape_t, chunks, itemsize, series)


def _pinned(
    dims: tuple[str, ...], shape: tuple[int, ...], fixed: Mapping[str, int] | None
) -> dict[int, int]:
    pinned: dict[int, int] = {}
    for dim, size in (fixed or {}).items():
        if dim not in dims:
            raise InvalidInputError(
                f"fixed chunk for {dim!r}, which is not one of the dims {list(dims)}",
                subject="fixed",
            )
        if not isinstance(size, (int, np.integer)) or size < 1:
            raise InvalidInputError(
                f"fixed chunk for {dim!r} must be a positive size, got {size!r}",
                subject="fixed",
            )
        i = dims.index(dim)
        pinned[i] = min(int(size), max(1, shape[i]))
    return pinned


def _divisors(n: int) -> list[int]:
    small = [d for d in range(1, math.isqrt(n) + 1) if n % d == 0]
    return sorted({*small, *(n // d for d in small)})


def _nice_chunk(size: int, chunk: int) -> int:
    """Return a divisor of ``size`` at most 25 % below ``chunk``, else the even split."""
    if chunk >= size:
        return size
    best = max(d for d in _divisors(size) if d <= chunk)
    if best >= (1 - _DIVISOR_SLACK) * chunk:
        return best
    return math.ceil(size / math.ceil(size / chunk))


def _snap(
    shape: tuple[int, ...],
    chunks: tuple[int, ...],
    space: list[int],
    budget: int,
    grow: int | None,
    align_to: int | None,
) -> tuple[int, ...]:
    """Apply the divisor rule to the ``space`` dims; give what it frees to ``grow``."""
    result = list(chunks)
    for i in space:
        result[i] = _nice_chunk(max(1, shape[i]), result[i])
    if grow is not None:
        steps = max(1, shape[grow])
        others = math.prod(c for i, c in enumerate(result) if i != grow)
        ct = min(steps, max(1, budget // others))
        if align_to is not None:
            ct = _align(ct, align_to, steps)
        result[grow] = max(result[grow], ct) if ct * others <= budget else result[grow]
    return tuple(result)


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


_UNITS = {
    "": 1,
    "b": 1,
    "kb": 10**3,
    "mb": 10**6,
    "gb": 10**9,
    "tb": 10**12,
    "pb": 10**15,
    "kib": 2**10,
    "mib": 2**20,
    "gib": 2**30,
    "tib": 2**40,
    "pib": 2**50,
    "k": 10**3,
    "m": 10**6,
    "g": 10**9,
    "t": 10**12,
    "p": 10**15,
    "ki": 2**10,
    "mi": 2**20,
    "gi": 2**30,
    "ti": 2**40,
    "pi": 2**50,
}
_SIZE = re.compile(r"\s*([0-9.eE+-]*)\s*([A-Za-z]*)\s*")


def parse_size(size: int | float | str) -> int:
    """Return a size in bytes from a number or a string such as ``"64MiB"`` or ``"1e6"``.

    Units as dask's ``parse_bytes`` reads them: ``kB``, ``MB``, ... are powers of 1000,
    ``KiB``, ``MiB``, ... powers of 1024, case-insensitive; a unit alone counts one.

    Parameters
    ----------
    size
        Bytes, or a number and a unit.

    Returns
    -------
    int
        The size in bytes.

    Raises
    ------
    ValueError
        When the text is not a number with a known unit.
    """
    if not isinstance(size, str):
        return int(size)
    match = _SIZE.fullmatch(size)
    unit = match.group(2).lower() if match else None
    if match is None or unit not in _UNITS:
        raise ValueError(f"{size!r} is not a size (e.g. 64MiB, 100MB, 1e6)")
    number = float(match.group(1)) if match.group(1) else 1.0
    return int(number * _UNITS[unit])


def _parse_target(target: int | str) -> int:
    try:
        value = parse_size(target)
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


def _ideal_series_chunk(pattern: str, steps: int, space: list[int], budget: float) -> float:
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
