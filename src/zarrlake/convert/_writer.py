"""Region writes into a template: whole work units, or one file's region under chunk locks.

A work unit owns whole chunks along the concat dim, so it writes without locks. One
file's region (``write_region``) usually shares its first and last chunk with the
neighbouring files; those partial chunks are read-modified-written under a lock per
(variable, chunk) kept in the archive's sidecar, the same put-if-absent protocol as the
archive lock (a dead writer's lock is broken automatically). Chunk writes are atomic
(zarr's local store renames a temporary file; S3 puts are atomic), so a killed writer
never tears a chunk another writer filled.

After writing, each unit or file leaves a completion record under
``convert/done/`` in the archive's sidecar: resume skips what is recorded, and verify tells a
never-written step from a written all-NaN one. A unit's record also holds fingerprints
of every object it stored, taken while the data were in memory (see
:mod:`zarrlake.convert._records`); the default verify checks the archive against them.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import xarray as xr
import zarr
from zarr.abc.store import Store

from zarrlake._logging import event
from zarrlake.convert._blocks import (
    NO_CLOCK,
    ReadOptions,
    UnitClock,
    WriteStats,
    chunk_blocks,
    clip,
    opened,
    slab_steps,
    step_ranges,
    true_runs,
)
from zarrlake.convert._blocks import Source as _Source
from zarrlake.convert._blocks import runs as _runs  # names kept in write_dataset
from zarrlake.convert._inputs import with_retries
from zarrlake.convert._records import (
    ObjectLedger,
    RecordingStore,
    object_grid,
    read_records,
    write_record,
)
from zarrlake.convert._scan import label_key
from zarrlake.convert._template import read_plan_record
from zarrlake.convert._units import WorkUnit
from zarrlake.convert._variables import StoredVariable, stored_variable
from zarrlake.encoding import OutOfRangePolicy, step_selection
from zarrlake.errors import InvalidInputError, NotFoundError
from zarrlake.storage.files import DATASET_LOCK
from zarrlake.storage.urls import open_store, store_url
from zarrlake.txn import ArchiveLock, LockOptions

_log = logging.getLogger(__name__)

__all__ = ["ArchiveWriter", "ReadOptions", "WriteStats", "read_records", "step_ranges"]

_CHUNK_LOCK = LockOptions(timeout=900, stale_after=60, poll_interval=0.02)


class ArchiveWriter:
    """Writes regions of one template; open once per process and reuse.

    Parameters
    ----------
    target
        The archive's URL or an open (writable) store.
    storage_options
        fsspec options for a remote target.
    """

    def __init__(self, target: str | Store, storage_options: Mapping[str, Any] | None = None):
        self.store = (
            open_store(target, mode="r+", storage_options=dict(storage_options or {}))
            if isinstance(target, str)
            else target
        )
        self.url = store_url(self.store)
        record = read_plan_record(self.store) or {}
        self.concat_dim: str = record.get("concat_dim", "time")
        policies: dict[str, OutOfRangePolicy] = record.get("out_of_range", {})
        try:
            # Times are decoded here for the axis only: xarray cannot decode a time
            # variable whose values are all missing yet (bounds in a fresh template).
            ds = xr.open_zarr(self.store, consolidated=None, chunks=None, decode_times=False)
        except (FileNotFoundError, KeyError, ValueError) as exc:
            raise NotFoundError(
                f"{self.url} is not an archive with a template ({exc})",
                subject=self.url,
                hint="create the template first (convert create-template, or convert run)",
            ) from None
        dim = self.concat_dim
        if dim not in ds.dims:
            raise InvalidInputError(
                f"{self.url} has no dimension {dim!r} to write regions along",
                subject=self.url,
            )
        self.axis = xr.decode_cf(xr.Dataset(coords={dim: ds[dim].variable}))[dim].values
        self.index = {label_key(v): i for i, v in enumerate(self.axis)}
        self.grid = {
            str(d): np.asarray(ds[d].values) for d in ds.dims if d != dim and d in ds.coords
        }
        # Arrays write through a recorder: a unit's record gets each stored object's
        # size and byte sum without reading anything back.
        self.recorder = RecordingStore(self.store)
        self._unit = threading.local()  # the ledger of the unit this thread writes
        group = zarr.open_group(
            self.recorder, mode="r" if self.store.read_only else "r+", use_consolidated=False
        )
        self.variables: dict[str, StoredVariable] = {}
        for name, variable in ds.variables.items():
            if dim not in variable.dims or name == dim:
                continue
            array = group[str(name)]
            if not isinstance(array, zarr.Array):
                continue
            self.variables[str(name)] = stored_variable(
                str(name), variable, array, policies.get(str(name), "error")
            )
        ds.close()

    # -- checks -------------------------------------------------------------------------

    def check_fits(self, ds: xr.Dataset, path: str) -> None:
        """Check an input has the archive's variables, dims and grid.

        Raises
        ------
        InvalidInputError
            When the file lacks a variable or has other dims or another grid.
        """
        dim = self.concat_dim
        if dim not in ds.dims:
            raise InvalidInputError(f"input {path} has no dimension {dim!r}", subject=path)
        for name, var in self.variables.items():
            if name not in ds.variables:
                raise InvalidInputError(
                    f"input {path} lacks variable {name!r} of {self.url}", subject=path
                )
            if tuple(str(d) for d in ds[name].dims) != var.dims:
                raise InvalidInputError(
                    f"variable {name!r} of {path} has dims {ds[name].dims}, the archive {var.dims}",
                    subject=path,
                )
        for coord, values in self.grid.items():
            if coord in ds.coords and not np.array_equal(
                np.asarray(ds[coord].values), values, equal_nan=values.dtype.kind == "f"
            ):
                raise InvalidInputError(
                    f"coordinate {coord!r} of {path} differs from the archive's (a different grid)",
                    subject=path,
                    hint="regrid the file first, or convert it into another archive",
                )

    def positions(self, ds: xr.Dataset, path: str) -> np.ndarray[Any, Any]:
        """Check an input against the archive and return where its steps go.

        Raises
        ------
        InvalidInputError
            When the file does not fit (:meth:`check_fits`), or has a label that is
            not on the archive's axis (exact matching; the error names file and label).
        """
        self.check_fits(ds, path)
        dim = self.concat_dim
        labels = ds[dim].values
        if labels.dtype == object and len(labels) and self.axis.dtype.kind == "M":
            raise InvalidInputError(
                f"{dim!r} of {path} uses calendar {getattr(labels[0], 'calendar', '?')!r}, "
                "the archive a standard calendar",
                subject=path,
            )
        positions = []
        for label in labels:
            at = self.index.get(label_key(label))
            if at is None:
                raise InvalidInputError(
                    f"label {label} of {path} is not on the {dim!r} axis of {self.url} "
                    f"({self.axis[0]} .. {self.axis[-1]})",
                    subject=path,
                    hint="extend the template (global_start/global_end/freq), or check the file",
                )
            positions.append(at)
        return np.asarray(positions, dtype=np.int64)

    def read_back(
        self, ds: xr.Dataset, name: str, positions: np.ndarray[Any, Any]
    ) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
        """Return an input's values of one variable and the archive's at ``positions``.

        Both come in the archive's dim order; the archive's are unpacked.
        """
        var = self.variables[name]
        with DATASET_LOCK:
            source = np.asarray(ds[name].transpose(*var.dims).values)
        steps = step_selection(positions)  # a run reads as a slice: fast on shards too
        selection = tuple(steps if d == self.concat_dim else slice(None) for d in var.dims)
        stored = np.asarray(var.array.get_orthogonal_selection(selection))
        if var.time is not None:
            return var.time.encode(source, name=name), stored
        if var.raw_fill is not None:
            stored = np.where(stored == var.raw_fill, np.nan, stored)
        return source, var.packing.unpack(stored) if var.packing is not None else stored

    # -- data movement -------------------------------------------------------------------

    def _read(
        self,
        ds: xr.Dataset,
        path: str,
        var: StoredVariable,
        file_rows: slice,
        block: tuple[slice, ...],
        read: ReadOptions,
    ) -> np.ndarray[Any, Any]:
        dim = self.concat_dim
        others = [d for d in var.dims if d != dim]
        selection = {dim: file_rows, **dict(zip(others, block, strict=True))}

        def load() -> np.ndarray[Any, Any]:
            with DATASET_LOCK:
                return np.asarray(ds[var.name].isel(selection).values)

        clock = self._clock()
        with clock.phase("read"):
            values = with_retries(load, what=path, retries=read.retries, backoff=read.backoff)
        with clock.phase("prepare"):
            if var.time is not None:
                return var.time.encode(values, name=var.name, where=path)
            if var.packing is not None:
                values = var.packing.check_range(
                    values,
                    policy=var.policy,
                    name=var.name,
                    where=path,
                )
        return values

    def _clock(self) -> UnitClock:
        clock: UnitClock | None = getattr(self._unit, "clock", None)
        return NO_CLOCK if clock is None else clock

    def _store(
        self,
        var: StoredVariable,
        values: np.ndarray[Any, Any],
        rows: slice,
        block: tuple[slice, ...],
    ) -> None:
        dim_at = var.dims.index(self.concat_dim)
        index = list(block)
        index.insert(dim_at, rows)
        clock = self._clock()
        with clock.phase("prepare"):
            if var.packing is not None:  # _read applied the out-of-range policy already
                encoded = var.packing.pack_in_range(values)
            else:
                encoded = values.astype(var.dtype, copy=False)
                if var.raw_fill is not None:
                    raw = encoded.dtype.type(var.raw_fill)
                    encoded = np.where(np.isnan(encoded), raw, encoded)
        ledger: ObjectLedger | None = getattr(self._unit, "ledger", None)
        if ledger is not None:
            began = time.perf_counter()
            # The values' own statistics only where encoding changes them: elsewhere the
            # encoded bits already say everything and one pass is enough.
            changed = var.packing is not None or var.raw_fill is not None
            ledger.note(
                var.name,
                object_grid(var.array),
                var.shape,
                tuple(index),
                encoded,
                values if changed else None,
            )
            clock.seconds["fingerprint"] += time.perf_counter() - began
        with clock.phase("store"):
            var.array[tuple(index)] = encoded

    def _copy_segment(
        self,
        sources: Sequence[_Source],
        var: StoredVariable,
        start: int,
        stop: int,
        read: ReadOptions,
        limit: tuple[str, int, int] | None = None,
    ) -> None:
        """Fill archive steps [start, stop) of one variable from its sources.

        A source ``(ds, path, file_row, step, count)`` maps ``count`` consecutive file
        rows from ``file_row`` onto archive steps from ``step``; steps outside
        [start, stop) are ignored, steps no source covers get the fill value. ``limit``
        restricts the write to a work unit's block; a variable without that dim is
        written by the unit of the first block only.
        """
        if limit is not None and limit[0] not in var.dims and limit[1] != 0:
            return
        dim_at = var.dims.index(self.concat_dim)
        other_sizes = [size for i, size in enumerate(var.shape) if i != dim_at]
        clipped = list(clip(sources, start, stop))
        for block in chunk_blocks(var, self.concat_dim, stop - start, limit):
            if len(clipped) == 1 and clipped[0][4] == stop - start:
                ds, path, file_row, _, count = clipped[0]  # one file fills it: no copy
                values = self._read(ds, path, var, slice(file_row, file_row + count), block, read)
                self._store(var, values, slice(start, stop), block)
                continue
            shape = [
                len(range(*part.indices(size)))
                for part, size in zip(block, other_sizes, strict=True)
            ]
            shape.insert(dim_at, stop - start)
            # Only the steps no source covers get the fill value: filling a whole chunk
            # first would write every byte twice.
            buffer = np.empty(shape, dtype=var.unpacked)
            uncovered = np.ones(stop - start, dtype=bool)
            where: list[slice] = [slice(None)] * len(shape)
            # Read in slabs of a few steps: a whole run read at once would sit beside
            # the buffer, a second chunk-sized array at the worker's peak.
            step_bytes = buffer.nbytes // max(1, stop - start)
            slab = slab_steps(step_bytes)
            for ds, path, file_row, step, count in clipped:
                for offset in range(0, count, slab):
                    size = min(slab, count - offset)
                    rows = slice(file_row + offset, file_row + offset + size)
                    where[dim_at] = slice(step - start + offset, step - start + offset + size)
                    part = self._read(ds, path, var, rows, block, read)
                    with self._clock().phase("copy"):
                        buffer[tuple(where)] = part
                uncovered[step - start : step - start + count] = False
            for first, last in true_runs(uncovered):
                where[dim_at] = slice(first, last)
                buffer[tuple(where)] = var.fill
            self._store(var, buffer, slice(start, stop), block)

    # -- work units ----------------------------------------------------------------------

    def write_unit(self, unit: WorkUnit, read: ReadOptions) -> WriteStats:
        """Write one work unit (whole chunks, no locks) and record it.

        Returns
        -------
        WriteStats
            Steps written and bytes read.
        """
        began, cpu = time.perf_counter(), time.process_time()
        ledger = self._unit.ledger = ObjectLedger()
        clock = self._unit.clock = UnitClock()
        written_before = self.recorder.write_seconds
        with contextlib.ExitStack() as stack:
            stack.callback(setattr, self._unit, "ledger", None)
            stack.callback(setattr, self._unit, "clock", None)
            sources: list[_Source] = []
            for source in unit.sources:
                ds = stack.enter_context(opened(source.path, read))
                self.check_fits(ds, source.path)  # the file still fits the archive
                for begin, end in _runs(source.file_index, source.target_index):
                    row, step = source.file_index[begin], source.target_index[begin]
                    sources.append((ds, source.path, row, step, end - begin))
            for var in self.variables.values():
                self._copy_segment(sources, var, unit.start, unit.stop, read, unit.block)
        self._record(
            unit.key,
            {
                "kind": "unit",
                "fingerprint": unit.fingerprint(),
                "block": list(unit.block) if unit.block else None,
                "blocks": unit.blocks,
                "steps": step_ranges(unit.steps),
                "inputs": [s.path for s in unit.sources],
                "objects": ledger.record(
                    {name: var.array for name, var in self.variables.items()},
                    self.recorder.written,
                ),
            },
        )
        seconds = time.perf_counter() - began
        written = self.recorder.write_seconds - written_before
        split = clock.split(seconds, written)
        split["cpu"] = round(time.process_time() - cpu, 4)  # all the process's threads
        return WriteStats(unit.key, len(unit.steps), unit.input_bytes, seconds, split)

    # -- one file's region ---------------------------------------------------------------

    def write_file(
        self,
        path: str,
        read: ReadOptions,
        region: Mapping[str, slice] | None = None,
        lock_options: LockOptions | None = None,
    ) -> WriteStats:
        """Write one input file into its region; partial chunks are written under locks.

        Parameters
        ----------
        path
            The input file.
        read
            How to open and retry it.
        region
            An explicit region (``{"time": slice(a, b)}``); default: found by exact
            label matching.
        lock_options
            How the chunk locks wait.

        Returns
        -------
        WriteStats
            Steps written.
        """
        with opened(path, read) as ds:
            return self.write_dataset(ds, path, read, region, lock_options)

    def write_dataset(
        self,
        ds: xr.Dataset,
        path: str,
        read: ReadOptions,
        region: Mapping[str, slice] | None = None,
        lock_options: LockOptions | None = None,
    ) -> WriteStats:
        """Write an open dataset into its region, as :meth:`write_file` does.

        Returns
        -------
        WriteStats
            Steps written.
        """
        began = time.perf_counter()
        target = self.region_positions(ds, path, region)
        steps = sorted(int(t) for t in target)
        where = step_ranges(steps)
        how = "explicit region" if region else "matched by label"
        event(
            _log,
            logging.DEBUG,
            "convert.region",
            "%s: %s goes to steps %s of %r (%s)",
            *(self.url, path, where, self.concat_dim, how),
            url=self.url,
            input=path,
            steps=where,
            explicit=bool(region),
        )
        rows = list(range(len(target)))
        for var in self.variables.values():
            for begin, end in _runs(rows, [int(t) for t in target]):
                start, stop = int(target[begin]), int(target[begin]) + (end - begin)
                source: list[_Source] = [(ds, path, begin, start, end - begin)]
                for seg_start, seg_stop, partial in self._segments(var, start, stop):
                    if not partial:
                        self._copy_segment(source, var, seg_start, seg_stop, read)
                        continue
                    chunk = seg_start // var.time_chunk(self.concat_dim)
                    with ArchiveLock(
                        self.store,
                        lock_options or _CHUNK_LOCK,
                        key=f"convert/locks/{var.name}/{chunk}",
                    ):
                        self._copy_segment(source, var, seg_start, seg_stop, read)
        name = hashlib.sha256(path.encode()).hexdigest()[:20]
        self._record(f"file-{name}", {"kind": "file", "path": path, "steps": where})
        seconds = time.perf_counter() - began
        event(
            _log,
            logging.INFO,
            "convert.file",
            "%s: wrote %s into %d step(s) in %.2f s",
            *(self.url, path, len(steps), seconds),
            url=self.url,
            input=path,
            steps=len(steps),
            seconds=round(seconds, 4),
        )
        return WriteStats(path, len(steps), 0, seconds)

    def region_positions(
        self, ds: xr.Dataset, path: str, region: Mapping[str, slice] | None
    ) -> np.ndarray[Any, Any]:
        """Return the archive steps of an input: by its labels, or from an explicit region.

        Raises
        ------
        InvalidInputError
            When the file does not fit, or the region is not a run of the file's length
            along the concat dim.
        """
        if region is None:
            return self.positions(ds, path)
        dim = self.concat_dim
        for other, part in region.items():
            if other != dim and part != slice(None):
                raise InvalidInputError(
                    f"region {other}={part} is not supported: regions select steps of {dim!r}",
                    subject=path,
                    hint=f"give only {dim!r} in the region (other dims as slice(None))",
                )
        part = region.get(dim, slice(None))
        start, stop, step = part.indices(len(self.axis))
        if step != 1 or stop - start != ds.sizes.get(dim, -1):
            raise InvalidInputError(
                f"region {dim}={part} covers {len(range(start, stop, step))} steps but {path} "
                f"has {ds.sizes.get(dim, 0)}",
                subject=path,
                hint="give a region as long as the file, or none to match labels",
            )
        self.check_fits(ds, path)
        return np.arange(start, stop, dtype=np.int64)

    def _segments(
        self, var: StoredVariable, start: int, stop: int
    ) -> Iterator[tuple[int, int, bool]]:
        """Split [start, stop) into runs of whole chunks and partial chunks."""
        chunk = var.time_chunk(self.concat_dim)
        length = var.shape[var.dims.index(self.concat_dim)]
        position = start
        while position < stop:
            first = position // chunk * chunk
            chunk_end = min(first + chunk, length)
            if position == first and stop >= chunk_end:
                end = length if stop >= length else first + (stop - first) // chunk * chunk
                yield position, end, False
            else:
                end = min(stop, chunk_end)
                yield position, end, True
            position = end

    def _record(self, name: str, content: dict[str, Any]) -> None:
        write_record(self.store, name, content)
