"""Verify a converted archive: every step written, coordinates sound, values as in the inputs.

The report has the shape of :func:`zarrlake.meta.validate` (it starts from its
metadata checks) with these findings added:

- ``ZL200`` steps no completion record covers (never written);
- ``ZL201`` chunk keys missing for recorded steps (a never-written chunk; chunks are
  written even when all-NaN, so a missing key is never legitimate);
- ``ZL202`` the concat coordinate is not strictly increasing;
- ``ZL203`` the concat coordinate is off its frequency grid;
- ``ZL204`` values differ from the input beyond the packing tolerance;
- ``ZL205`` an input cannot be compared (missing, or no longer fits the archive);
- ``ZL206`` a stored object (chunk, or shard) is not what its unit wrote: another size,
  another word sum of its bytes, or values that decode to another bit sum (overwritten,
  truncated, another object's bytes);
- ``ZL207`` a unit's record lists objects other than those its steps and block cover
  (written at the wrong place, or not all of its region);
- ``ZL208`` an object decodes to values whose missing count or range differ from those
  of the source values (beyond the packing tolerance): wrong packing or fill value;
- ``ZL209`` a completion record is corrupt (not JSON, or its digest does not match).

The default checks read no input: they compare the archive with the fingerprints each
unit recorded while writing (:mod:`zarrlake.convert._records`). Every object's presence
and size come from one listing per variable; on a local store every object's bytes are
summed (mapped from the page cache), on a remote one only those whose recorded size
another object of the same variable shares (a swap would keep every size); ``objects``
objects per variable (all with ``full``) are decoded and compared with the recorded bit
sum and value statistics. Inputs are re-read only when given (``sample`` of them, or all
with ``full``).
"""

from __future__ import annotations

import itertools
import mmap
import os
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from zarrlake.convert._config import ConvertConfig
from zarrlake.convert._inputs import expand_inputs
from zarrlake.convert._records import (
    bit_sum,
    object_grid,
    read_record_state,
    value_stats,
    word_sum,
)
from zarrlake.convert._template import read_plan_record
from zarrlake.convert._writer import ArchiveWriter
from zarrlake.errors import ZarrlakeError
from zarrlake.meta import Finding, Report
from zarrlake.meta import validate as validate_metadata
from zarrlake.storage import run_sync
from zarrlake.storage.atomic import read_bytes
from zarrlake.storage.files import open_file_dataset
from zarrlake.storage.kinds import local_root
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


def _chunk_findings(
    writer: ArchiveWriter, written: np.ndarray[Any, Any], listed: Mapping[str, Mapping[str, int]]
) -> list[Finding]:
    findings = []
    dim = writer.concat_dim
    for var in writer.variables.values():
        at = var.dims.index(dim)
        shape = object_grid(var.array)
        chunk = shape[at]
        touched = sorted({int(i) // chunk for i in np.nonzero(written)[0]})
        grid = [
            range(-(-size // c)) if i != at else touched
            for i, (size, c) in enumerate(zip(var.shape, shape, strict=True))
        ]
        present = listed[var.name]
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


def _unit_objects(
    writer: ArchiveWriter, var: Any, record: Mapping[str, Any]
) -> dict[str, tuple[slice, ...]]:
    """Return the objects a unit's steps and block cover: key -> region (array indices)."""
    block = record.get("block")
    if block and block[0] not in var.dims and block[1] != 0:
        return {}  # a variable without the block's dim is written by its first block only
    grid = object_grid(var.array)
    at = var.dims.index(writer.concat_dim)
    ranges: list[Iterable[int]] = []
    for i, (dim, size, g) in enumerate(zip(var.dims, var.shape, grid, strict=True)):
        if i == at:
            touched: set[int] = set()
            for start, stop in record.get("steps", []):
                if stop > start:
                    touched.update(range(start // g, (min(stop, size) - 1) // g + 1))
            ranges.append(sorted(touched))
        elif block and block[0] == dim:
            ranges.append(range(block[1] // g, -(-min(block[2], size) // g)))
        else:
            ranges.append(range(-(-size // g)))
    metadata = var.array.metadata
    return {
        metadata.encode_chunk_key(coords): tuple(
            slice(c * g, min((c + 1) * g, size))
            for c, g, size in zip(coords, grid, var.shape, strict=True)
        )
        for coords in itertools.product(*ranges)
    }


def _decoded_findings(
    var: Any, key: str, region: tuple[slice, ...], entry: Mapping[str, Any]
) -> tuple[bool, str | None]:
    """Decode one object; return (bits differ, how its values differ from the sources)."""
    stored = np.asarray(var.array[region])
    changed = "bits" in entry and bit_sum(stored) != int(entry["bits"])
    if "nan" not in entry or changed:
        return changed, None
    values = stored
    if var.raw_fill is not None:
        values = np.where(stored == var.raw_fill, np.nan, stored)
    if var.packing is not None:
        values = var.packing.unpack(stored)
    nan, low, high = value_stats(values)
    tolerance = _tolerance(var)
    far = [
        name
        for name, got in (("min", low), ("max", high))
        if (got is None) != (entry.get(name) is None)
        or (got is not None and abs(got - float(entry[name])) > tolerance)
    ]
    if nan == int(entry["nan"]) and not far:
        return False, None
    return False, (
        f"{key}: {nan} missing value(s) (sources {entry['nan']}), range "
        f"[{low}, {high}] (sources [{entry.get('min')}, {entry.get('max')}])"
    )


def _word_sums(store: Any, root: Path | None, keys: list[str]) -> dict[str, int]:
    """Return the word sums of stored objects (absent ones are left out)."""
    if root is None:
        found = {}
        for key in keys:
            data = read_bytes(store, key)
            if data is not None:
                found[key] = word_sum(data)
        return found

    def one(key: str) -> tuple[str, int | None]:
        # A mapped file summed in place: no copy of the archive through Python's heap.
        try:
            with (root / key).open("rb") as stream:
                if os.fstat(stream.fileno()).st_size == 0:
                    return key, 0
                with mmap.mmap(stream.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
                    return key, word_sum(mapped)
        except FileNotFoundError:
            return key, None

    with ThreadPoolExecutor(min(4, os.cpu_count() or 1)) as pool:
        return {key: total for key, total in pool.map(one, keys) if total is not None}


def _object_findings(
    writer: ArchiveWriter,
    records: Mapping[str, Mapping[str, Any]],
    listed: Mapping[str, Mapping[str, int]],
    objects: int | None,
) -> list[Finding]:
    """Compare stored objects with their units' fingerprints (ZL206, ZL207, ZL208).

    ``objects`` objects per variable are decoded (``None``: all of them).
    """
    root = local_root(writer.store)
    misplaced: list[str] = []
    changed: dict[str, list[str]] = {}
    wrong: dict[str, list[str]] = {}
    decode: list[tuple[str, Any, str, tuple[slice, ...], Mapping[str, Any]]] = []
    for name, var in writer.variables.items():
        present = listed[name]
        entries: list[tuple[str, tuple[slice, ...], Mapping[str, Any]]] = []
        for unit, record in sorted(records.items()):
            recorded = (record.get("objects") or {}).get(name)
            if record.get("kind") != "unit" or "objects" not in record:
                continue  # a file's region write, or a record from before fingerprints
            expected = _unit_objects(writer, var, record)
            if set(recorded or {}) != set(expected):
                misplaced.append(f"{unit} ({name})")
                continue
            entries += [(key, expected[key], entry) for key, entry in (recorded or {}).items()]
        sizes: dict[int | None, int] = {}
        for _, _, entry in entries:
            sizes[entry.get("size")] = sizes.get(entry.get("size"), 0) + 1
        bad = changed.setdefault(name, [])
        to_read = []
        for key, _, entry in entries:
            size = present.get(f"{name}/{key}")
            if size is None:
                continue  # missing: ZL201 names it
            if entry.get("size") is not None and size != entry["size"]:
                bad.append(key)
            elif entry.get("words") is not None and (root is not None or sizes[entry["size"]] > 1):
                # On this machine every object is summed (page-cache reads); elsewhere
                # those whose size another object shares, which a swap would keep.
                to_read.append((key, entry["words"]))
        sums = _word_sums(writer.store, root, [f"{name}/{key}" for key, _ in to_read])
        bad += [key for key, words in to_read if sums.get(f"{name}/{key}", words) != words]
        stored = [e for e in entries if f"{name}/{e[0]}" in present and e[0] not in bad]
        if objects is not None and objects < len(stored):
            # spread over the archive, the same choice on every run of the same archive
            picks = np.random.default_rng(len(stored)).choice(len(stored), objects, False)
            stored = [stored[i] for i in sorted(picks)]
        decode += [(name, var, key, region, entry) for key, region, entry in stored]
    # The workers are done by now: the sampled objects decode side by side.
    with ThreadPoolExecutor(min(4, os.cpu_count() or 1)) as pool:
        outcomes = pool.map(lambda task: _decoded_findings(*task[1:]), decode)
        for (name, _, key, _, _), (bits, values) in zip(decode, outcomes, strict=True):
            if bits:
                changed[name].append(key)
            if values:
                wrong.setdefault(name, []).append(values)
    findings = [
        Finding(
            "ZL206",
            "error",
            name,
            f"{len(keys)} stored object(s) of {name!r} are not what their unit wrote "
            f"(size, byte sum or decoded bits changed since), e.g. {', '.join(keys[:_SHOW])}",
            "delete those units' records and run the conversion again (it rewrites them)",
        )
        for name, keys in changed.items()
        if keys
    ]
    if misplaced:
        findings.append(
            Finding(
                "ZL207",
                "error",
                writer.concat_dim,
                f"{len(misplaced)} unit(s) wrote objects other than those of their steps and "
                f"block: {', '.join(misplaced[:_SHOW])}",
                "delete the archive and convert again: a writer put data at the wrong place",
            )
        )
    findings += [
        Finding(
            "ZL208",
            "error",
            name,
            f"{len(notes)} object(s) of {name!r} decode to other values than the sources "
            f"held: {'; '.join(notes[:_SHOW])}",
            "check the packing and fill value of this variable, then convert again",
        )
        for name, notes in wrong.items()
    ]
    return findings


def _record_findings(corrupt: list[str]) -> list[Finding]:
    if not corrupt:
        return []
    return [
        Finding(
            "ZL209",
            "error",
            "records",
            f"{len(corrupt)} completion record(s) are corrupt (their steps count as not "
            f"written): {', '.join(corrupt[:_SHOW])}",
            "run the conversion again: it rewrites units without an intact record",
        )
    ]


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
    objects: int = 1,
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
        Compare every input (default: ``sample`` of them, spread over the list), and
        decode every recorded object (default: ``objects`` per variable).
    sample
        How many inputs to compare when not ``full``.
    objects
        How many recorded objects per variable to decode when not ``full``.
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
    records, corrupt = read_record_state(store)
    findings += _record_findings(corrupt)
    written = _written_steps(records, len(axis))
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
    listed = {name: run_sync(alist_keys(store, name)) for name in writer.variables}
    findings += _chunk_findings(writer, written, listed)
    findings += _object_findings(writer, records, listed, None if full else objects)
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
