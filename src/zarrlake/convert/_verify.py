"""Verify a converted archive: every step written, coordinates sound, values as in the inputs.

The report has the shape of :func:`zarrlake.meta.validate` (it starts from its
metadata checks) with these findings added:

- ``ZL200`` steps no completion record covers (never written);
- ``ZL201`` chunk keys missing for recorded steps (a never-written chunk; chunks are
  written even when all-NaN, so a missing key is never legitimate);
- ``ZL202`` the concat coordinate is not strictly increasing;
- ``ZL203`` the concat coordinate is off its frequency grid;
- ``ZL204`` values differ from the input beyond the packing tolerance;
- ``ZL205`` an input cannot be compared (missing, or no longer fits the archive).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from zarrlake.convert._config import ConvertConfig
from zarrlake.convert._inputs import expand_inputs
from zarrlake.convert._template import read_plan_record
from zarrlake.convert._writer import ArchiveWriter, read_records
from zarrlake.errors import ZarrlakeError
from zarrlake.meta import Finding, Report
from zarrlake.meta import validate as validate_metadata
from zarrlake.storage import run_sync
from zarrlake.storage.files import open_file_dataset
from zarrlake.storage.listing import alist_keys
from zarrlake.storage.urls import open_store

__all__ = ["verify"]

_SHOW = 5


def _labels(axis: np.ndarray[Any, Any], steps: Iterable[int]) -> str:
    chosen = list(itertools.islice(steps, _SHOW))
    return ", ".join(str(axis[i]) for i in chosen)


def _written_steps(records: Mapping[str, Mapping[str, Any]], length: int) -> np.ndarray[Any, Any]:
    written = np.zeros(length, dtype=bool)
    # units split into blocks count a step written when every block wrote it
    shares = np.zeros(length, dtype=float)
    for record in records.values():
        blocks = int(record.get("blocks") or 1)
        for start, stop in record.get("steps", []):
            if blocks == 1:
                written[max(0, start) : min(length, stop)] = True
            else:
                shares[max(0, start) : min(length, stop)] += 1.0 / blocks
    return written | (shares > 1 - 1e-9)


def _coordinate_findings(axis: np.ndarray[Any, Any], dim: str, freq: str | None) -> list[Finding]:
    findings = []
    if len(axis) > 1:
        keys = (
            axis.astype("datetime64[ns]").astype(np.int64)
            if axis.dtype.kind == "M"
            else np.asarray([float(v) for v in axis])
            if axis.dtype.kind in "if"
            else None
        )
        increasing = (
            bool(np.all(np.diff(keys) > 0))
            if keys is not None
            else all(a < b for a, b in itertools.pairwise(axis))
        )
        if not increasing:
            findings.append(
                Finding("ZL202", "error", dim, f"coordinate {dim!r} is not strictly increasing")
            )
        elif freq and axis.dtype.kind in "MO":
            expected = (
                pd.date_range(axis[0], periods=len(axis), freq=freq).values
                if axis.dtype.kind == "M"
                else np.asarray(
                    xr.date_range(
                        axis[0],
                        periods=len(axis),
                        freq=freq,
                        calendar=axis[0].calendar,
                        use_cftime=True,
                    )
                )
            )
            off = [i for i in range(len(axis)) if expected[i] != axis[i]]
            if off:
                findings.append(
                    Finding(
                        "ZL203",
                        "error",
                        dim,
                        f"{len(off)} label(s) of {dim!r} are off the {freq} grid: "
                        f"{_labels(axis, off)}",
                    )
                )
    return findings


def _chunk_findings(writer: ArchiveWriter, written: np.ndarray[Any, Any]) -> list[Finding]:
    findings = []
    dim = writer.concat_dim
    for var in writer.variables.values():
        at = var.dims.index(dim)
        chunk = var.chunks[at]
        touched = sorted({int(i) // chunk for i in np.nonzero(written)[0]})
        grid = [
            range(-(-size // c)) if i != at else touched
            for i, (size, c) in enumerate(zip(var.shape, var.chunks, strict=True))
        ]
        present = set(run_sync(alist_keys(writer.store, var.name)))
        metadata = var.array.metadata
        missing = []
        for coords in itertools.product(*grid):
            key = f"{var.name}/{metadata.encode_chunk_key(coords)}"
            if key not in present:
                missing.append(coords)
        if missing:
            findings.append(
                Finding(
                    "ZL201",
                    "error",
                    var.name,
                    f"{len(missing)} chunk(s) of {var.name!r} were never written, e.g. "
                    f"{', '.join(map(str, missing[:_SHOW]))}",
                    "run the conversion again: it rewrites units without a complete record",
                )
            )
    return findings


def _tolerance(var: Any) -> float:
    return var.packing.max_abs_error * 1.001 + 1e-12 if var.packing is not None else 0.0


def _value_findings(
    writer: ArchiveWriter, paths: list[str], config: ConvertConfig
) -> list[Finding]:
    findings = []
    for path in paths:
        try:
            with open_file_dataset(
                path, engine=config.engine, storage_options=config.storage_options
            ) as ds:
                positions = writer.positions(ds, path)
                for var in writer.variables.values():
                    source, stored = writer.read_back(ds, var.name, positions)
                    if source.dtype.kind not in "biuf" or stored.dtype.kind not in "biuf":
                        if not np.array_equal(source, stored):  # strings: equal or not
                            findings.append(
                                Finding(
                                    "ZL204",
                                    "error",
                                    var.name,
                                    f"{var.name!r} differs from {path}",
                                    "convert that file again (write-region)",
                                )
                            )
                        continue
                    values = stored.astype(np.float64 if source.dtype.kind == "f" else source.dtype)
                    if var.packing is not None and var.policy != "error":
                        source = var.packing.check_range(source, policy=var.policy)
                    nan_source = np.isnan(source) if source.dtype.kind == "f" else False
                    nan_stored = np.isnan(values) if values.dtype.kind == "f" else False
                    with np.errstate(invalid="ignore"):
                        diff = np.where(nan_source | nan_stored, 0.0, np.abs(values - source))
                    bad_nan = np.count_nonzero(nan_source != nan_stored)
                    worst = float(np.max(diff)) if diff.size else 0.0
                    if bad_nan or worst > _tolerance(var):
                        findings.append(
                            Finding(
                                "ZL204",
                                "error",
                                var.name,
                                f"{var.name!r} differs from {path}: max difference {worst:g} "
                                f"(tolerance {_tolerance(var):g}), {bad_nan} value(s) missing "
                                "on one side",
                                "convert that file again (write-region)",
                            )
                        )
        except ZarrlakeError as exc:
            findings.append(Finding("ZL205", "error", path, f"{path} cannot be compared: {exc}"))
    return findings


def verify(
    target: str,
    inputs: str | Iterable[str] | None = None,
    *,
    full: bool = False,
    sample: int = 3,
    storage_options: Mapping[str, Any] | None = None,
    config: ConvertConfig | None = None,
) -> Report:
    """Check a converted archive; see the module docstring for the findings.

    Parameters
    ----------
    target
        The archive's URL.
    inputs
        The inputs to compare values with (files, globs); ``None`` skips the comparison.
    full
        Compare every input (default: ``sample`` of them, spread over the list).
    sample
        How many inputs to compare when not ``full``.
    storage_options
        fsspec options for a remote target.
    config
        Input options (engine, storage options).

    Returns
    -------
    Report
        Like :func:`zarrlake.meta.validate`'s, plus ``steps`` and ``written_steps``.
    """
    settings = config or ConvertConfig()
    report = validate_metadata(target, storage_options=storage_options)
    findings: list[Finding] = list(report.issues)
    store = open_store(target, mode="r", storage_options=dict(storage_options or {}))
    writer = ArchiveWriter(store)
    record = read_plan_record(store) or {}
    dim = writer.concat_dim
    axis = writer.axis
    findings += _coordinate_findings(axis, dim, record.get("freq"))
    written = _written_steps(read_records(store), len(axis))
    never = np.nonzero(~written)[0]
    if len(never):
        findings.append(
            Finding(
                "ZL200",
                "error",
                dim,
                f"{len(never)} of {len(axis)} step(s) were never written: {_labels(axis, never)}"
                + (" ..." if len(never) > _SHOW else ""),
                "convert the inputs for these steps (convert run resumes, or write-region)",
            )
        )
    findings += _chunk_findings(writer, written)
    if inputs is not None:
        paths = expand_inputs(inputs, settings.storage_options)
        if not full and sample < len(paths):
            chosen = np.unique(np.linspace(0, len(paths) - 1, max(1, sample)).round().astype(int))
            paths = [paths[i] for i in chosen]
        findings += _value_findings(writer, paths, settings)
    result = Report(report)
    result["issues"] = findings
    result["valid"] = not any(f.severity == "error" for f in findings)
    result["steps"] = len(axis)
    result["written_steps"] = int(written.sum())
    return result
