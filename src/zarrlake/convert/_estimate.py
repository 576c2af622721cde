"""Estimate the compression ratio of a plan by encoding one chunk of the first input."""

from __future__ import annotations

import numpy as np

from zarrlake.convert._config import ConvertConfig
from zarrlake.convert._planner import ConvertPlan
from zarrlake.storage.files import open_file_dataset

__all__ = ["estimate_ratio"]


def estimate_ratio(plan: ConvertPlan, config: ConvertConfig) -> float | None:
    """Return raw / compressed bytes of one chunk per variable, or ``None`` without inputs.

    The chunk is the first input's first chunk-shaped block (packed when the plan packs),
    encoded with the plan's compressor; this reads one chunk, not the inputs.
    """
    if not plan.inputs:
        return None
    codecs = plan.compression.codecs(2)
    raw = 0
    stored = 0
    with open_file_dataset(
        plan.inputs[0], engine=config.engine, storage_options=config.storage_options
    ) as ds:
        for var in plan.variables.values():
            selection = {d: slice(0, c) for d, c in zip(var.dims, var.chunks, strict=True)}
            values = np.asarray(ds[var.name].isel(selection).values)
            if var.time is not None:
                data = var.time.encode(values, name=var.name, where=plan.inputs[0])
            elif var.packing is not None:
                data = var.packing.pack(values, policy="clip")
            else:
                data = values
            if data.dtype.kind not in "biuf":
                continue  # strings: not a compression question
            data = np.ascontiguousarray(data.astype(var.stored_dtype, copy=False))
            encoded = codecs[0].encode(data) if codecs else data.tobytes()
            raw += data.nbytes
            stored += len(encoded)
    return raw / stored if stored else None
