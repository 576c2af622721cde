"""Shards of a conversion's variables: every series variable shares one shard length.

Contract: when a plan has shards, every variable along the concat dim has the same
shard length along it (a whole number of its time chunks), so a work unit that writes
whole shards of the largest variable writes whole shards of every variable, and no two
units ever write one shard. Other dims keep the configured (or planned) sizes where a
variable has more than one chunk along them; a dim held in one chunk stays one chunk.

``shards_by_dim`` decides the sizes per dim name: the configured ones (checked against
the variables' dims and the archive's format), or, for ``auto``, planned on the largest
series variable when the target is an object store in Zarr format 3. ``variable_shards``
applies them to one variable.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from zarrlake.convert._config import ConvertConfig
from zarrlake.encoding import parse_size, plan_shards, require_sharding_format, resolve_shards
from zarrlake.errors import InvalidInputError

if TYPE_CHECKING:
    from zarrlake.convert._planner import VariablePlan

__all__ = ["shards_by_dim", "variable_shards"]


def shards_by_dim(
    variables: dict[str, VariablePlan], dim: str, config: ConvertConfig, object_store: bool
) -> dict[str, int]:
    """Return the shard size per dim name: configured, or planned on the largest variable.

    Parameters
    ----------
    variables
        The planned variables (chunks known, shards not yet).
    dim
        The concat dim.
    config
        ``shards``, ``target_shard_size``, ``chunks_per_unit``, ``zarr_format``.
    object_store
        Whether the target is an object store (``auto`` plans shards only then).

    Returns
    -------
    dict
        Shard size per dim name; empty: no shards.

    Raises
    ------
    InvalidInputError
        When configured shards name a dim no variable has, or the format is not 3.
    """
    if isinstance(config.shards, dict):
        known = {d for v in variables.values() for d in v.dims}
        unknown = sorted(set(config.shards) - known)
        if unknown:
            raise InvalidInputError(
                f"shards names dimension(s) {unknown} that no variable has "
                f"(dimensions: {sorted(known)})",
                subject=f"shards.{unknown[0]}",
            )
        if config.shards:
            require_sharding_format(config.zarr_format, where="shards")
        return dict(config.shards)
    if config.shards == "none" or not object_store or config.zarr_format != 3:
        return {}  # a local (or in-memory) target: one file per chunk costs little
    largest = max(
        (v for v in variables.values() if v.series), key=lambda v: v.raw_bytes, default=None
    )
    if largest is None:
        return {}
    shards = plan_shards(
        largest.shape,
        largest.chunks,
        np.dtype(largest.stored_dtype).itemsize,
        series_axis=largest.dims.index(dim),
        target_shard_bytes=parse_size(config.target_shard_size),
    )
    if shards is None:
        return {}
    planned = dict(zip(largest.dims, shards, strict=True))
    time_chunk = largest.chunks[largest.dims.index(dim)]
    if config.chunks_per_unit:  # units the user sized must still hold whole shards
        factor = math.gcd(planned[dim] // time_chunk, config.chunks_per_unit)
        planned[dim] = factor * time_chunk
    return planned


def variable_shards(
    variable: VariablePlan, by_dim: dict[str, int], dim: str, zarr_format: int
) -> tuple[int, ...] | None:
    """Return the shard shape of one variable, or ``None`` for plain chunks.

    Parameters
    ----------
    variable
        The planned variable.
    by_dim
        Shard size per dim name (``shards_by_dim``).
    dim
        The concat dim.
    zarr_format
        The archive's format.

    Returns
    -------
    tuple of int or None
        The shards of a series variable; a dim it holds in one chunk keeps that chunk.
    """
    if not variable.series or not by_dim:
        return None
    given = {
        d: size
        for d, size, shape, chunk in zip(
            variable.dims,
            (by_dim.get(d) for d in variable.dims),
            variable.shape,
            variable.chunks,
            strict=True,
        )
        if size is not None and (d == dim or chunk < shape)
    }
    return resolve_shards(
        variable.dims, variable.chunks, given, zarr_format=zarr_format, where="shards"
    )
