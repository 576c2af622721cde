"""Append slices to an archive, one transaction per slice, under one lock per run."""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import xarray as xr
from zarr.abc.store import Store
from zarr.storage import MemoryStore

from zarrlake._logging import event, rate
from zarrlake.append._config import AppendConfig, load_append_config
from zarrlake.append._encoding import (
    creation_encoding,
    encode_times,
    target_packing,
    target_times,
)
from zarrlake.append._expressions import evaluate_attrs, has_expressions, target_after_append
from zarrlake.append._sources import (
    ReadAhead,
    expand_slice_globs,
    open_slice,
    resolve_slice_source,
)
from zarrlake.append._validate import (
    SliceCheck,
    TargetState,
    check_slice,
    gap_warning,
    merged_attrs,
    read_target_state,
    stored_differences,
)
from zarrlake.config import ConfigSource
from zarrlake.encoding import OutOfRangePolicy, Packing, TimeEncoding, label_text
from zarrlake.errors import (
    AlreadyExistsError,
    CorruptError,
    InvalidInputError,
    NotFoundError,
    ZarrlakeError,
)
from zarrlake.hierarchy import adetect_format
from zarrlake.storage import open_store, run_sync, store_url
from zarrlake.storage.kinds import local_root
from zarrlake.txn import ArchiveLock, StagingStore, Transaction, arecover

__all__ = ["AppendResult", "SliceReport", "append"]

_log = logging.getLogger(__name__)


@dataclass
class SliceReport:
    """What happened to one slice."""

    name: str
    status: Literal["created", "appended", "replaced", "skipped", "validated", "failed", "invalid"]
    """``failed``: the slice stopped the run (nothing of it is stored); ``invalid``: a
    dry run found it would fail, and went on to check the rest."""
    steps: int
    first_label: str | None = None
    last_label: str | None = None
    seconds: float = 0.0
    bytes_written: int = 0
    reason: str = ""
    warning: str = ""
    """Something to look at that did not stop the slice (a gap in a regular axis)."""


@dataclass
class AppendResult:
    """The outcome of an append run."""

    target: str
    zarr_format: int | None
    dry_run: bool
    length: int = 0
    recovered: str = "clean"
    slices: list[SliceReport] = field(default_factory=list)
    not_attempted: list[str] = field(default_factory=list)
    """When a slice stopped the run: the slices after it, which were not tried."""

    @property
    def appended(self) -> int:
        """Count slices written (the first one included), or in a dry run, to be written."""
        return sum(r.status in ("created", "appended", "validated") for r in self.slices)

    @property
    def replaced(self) -> int:
        """Slices that replaced the steps they re-delivered (``on_existing: replace``)."""
        return sum(r.status == "replaced" for r in self.slices)

    @property
    def skipped(self) -> int:
        """Slices whose labels were already in the target."""
        return sum(r.status == "skipped" for r in self.slices)


class _Appender:
    """One append run: the store, the target's state, the lock."""

    def __init__(self, config: AppendConfig, store: Store, target: str) -> None:
        self.config = config
        self.store = store
        self.target = target
        self.lock: ArchiveLock | None = None
        self.dry_staging: StagingStore | None = None
        self.zarr_format: int | None = None
        self.state = TargetState(exists=False)
        self.packings: dict[str, Packing] = {}
        self.times: dict[str, TimeEncoding] = {}
        self.result = AppendResult(target=target, zarr_format=None, dry_run=config.dry_run)

    def start(self) -> None:
        if self.config.dry_run:
            self.dry_staging = StagingStore(self.store)
        else:
            self.lock = ArchiveLock(self.store, self.config.lock)
            self.lock.acquire()
            self.result.recovered = run_sync(arecover(self.store))
            if self.config.force_new:
                self._clear_target()
        view = self.dry_staging or self.store
        if self.config.force_new and self.dry_staging is not None:
            run_sync(self.dry_staging.clear())
        self.zarr_format = run_sync(adetect_format(view))
        self.state = read_target_state(view, self.config.append_dim, self.zarr_format)
        self.result.zarr_format = self.zarr_format
        for name, variable in self.state.variables.items():
            packing = target_packing(variable.encoding, variable.attrs, name)
            if packing is not None:
                self.packings[name] = packing
        self.times = target_times(self.state.variables)

    def _clear_target(self) -> None:
        with Transaction(self.store, operation="force_new", lock=self.lock) as txn:
            if run_sync(adetect_format(self.store)) is None and not run_sync(
                StagingStore(self.store).is_empty("")
            ):
                raise AlreadyExistsError(
                    f"force_new refuses to clear {self.target}: it holds files but no Zarr archive",
                    subject=self.target,
                    hint="point target_dir at a Zarr archive or an empty location",
                )
            txn.clear()

    def stop(self) -> None:
        if self.lock is not None:
            self.lock.release()
            self.lock = None

    def add(self, ds: xr.Dataset, name: str) -> SliceReport:
        started = time.perf_counter()
        check = check_slice(ds, self.state, self.config, name)
        dim = self.config.append_dim
        steps = int(ds.sizes.get(dim, 0))
        labels = check.dataset[dim].values if dim in check.dataset.coords else np.array([])
        report = SliceReport(
            name=name,
            status="skipped",
            steps=steps,
            first_label=label_text(labels[0]) if labels.size else None,
            last_label=label_text(labels[-1]) if labels.size else None,
            reason=check.reason,
        )
        if check.action == "existing":
            self._redelivered(check, report, name)
            report.seconds = time.perf_counter() - started
            return report
        if check.action == "append" and labels.size:
            report.warning = gap_warning(labels, self.state, self.config)
            if report.warning:
                _log.warning("%s %s", name, report.warning)
        creating = check.action == "create"
        write = self._prepare(check.dataset, creating, name)
        self._apply_attrs(write, creating)
        # Times become exact numbers before anything is written (or the slice is refused).
        encoded = encode_times(write, self.times, name)
        if self.dry_staging is not None:
            self._write(encoded, self.dry_staging, creating)
            report.status = "validated"
        else:
            with Transaction(self.store, operation="append", lock=self.lock) as txn:
                self._write(encoded, txn.staging, creating)
                commit = txn.commit()
            report.bytes_written = commit.bytes_written
            report.status = "created" if creating else "appended"
        self.state.after_append(write, dim)
        if creating:
            self.zarr_format = self.zarr_format or self.config.format_for_new_target
            self.state.zarr_format = self.zarr_format
            self.result.zarr_format = self.zarr_format
        report.seconds = time.perf_counter() - started
        return report

    def _redelivered(self, check: SliceCheck, report: SliceReport, name: str) -> None:
        """Skip a slice equal to what is stored; replace it or refuse it otherwise."""
        assert check.positions is not None
        view = self.dry_staging or self.store
        differ = stored_differences(
            check.dataset, view, self.config.append_dim, check.positions, self.packings
        )
        if not differ:
            report.reason = "its labels are already in the target, with the same values"
            return
        dim = self.config.append_dim
        first, last = report.first_label, report.last_label
        if self.config.on_existing != "replace":
            raise InvalidInputError(
                f"{name}: its labels of {dim!r} ({first} .. {last}) are already in the target "
                f"with other values: {'; '.join(differ)}",
                subject=dim,
                hint="set on_existing to 'replace' to replace those steps with it, or drop "
                "the slice",
            )
        positions = check.positions
        if not np.array_equal(positions, np.arange(positions[0], positions[0] + len(positions))):
            raise InvalidInputError(
                f"{name}: its labels are not one run of consecutive steps of the target",
                subject=dim,
                hint="replace steps with slices that cover consecutive labels",
            )
        write = self._prepare(check.dataset, False, name)
        encoded = encode_times(write, self.times, name)
        region = {dim: slice(int(positions[0]), int(positions[-1]) + 1)}
        if self.dry_staging is not None:
            self._write_region(encoded, self.dry_staging, region)
            report.status = "validated"
        else:
            with Transaction(self.store, operation="replace", lock=self.lock) as txn:
                self._write_region(encoded, txn.staging, region)
                commit = txn.commit()
            report.bytes_written = commit.bytes_written
            report.status = "replaced"
        report.reason = f"replaced: {'; '.join(differ)}"

    def _write_region(
        self, ds: xr.Dataset, staging: StagingStore, region: dict[str, slice]
    ) -> None:
        ds = ds.drop_vars([v for v in ds.variables if self.config.append_dim not in ds[v].dims])
        for variable in ds.variables.values():
            variable.attrs = {}  # a region write changes values only
        ds.attrs = {}
        ds.to_zarr(staging, region=region, zarr_format=self.zarr_format, consolidated=False)

    def _prepare(self, ds: xr.Dataset, creating: bool, name: str) -> xr.Dataset:
        config = self.config
        if creating:
            fmt = config.format_for_new_target
            self.encoding, new_packings, new_times = creation_encoding(ds, config, fmt)
            self.packings.update(new_packings)
            self.times.update(new_times)
        for variable, packing in self.packings.items():
            if variable in ds.variables:
                settings = config.variable(variable).encoding
                policy: OutOfRangePolicy = "error"
                if settings is not None and settings.packing is not None:
                    policy = settings.packing.out_of_range
                values = ds[variable].values
                checked = packing.check_range(values, policy=policy, name=variable, where=name)
                if checked is not values:
                    ds[variable] = ds[variable].copy(data=checked.astype(ds[variable].dtype))
        attrs = merged_attrs(config.attrs_update_mode, self.state.attrs, ds.attrs, creating)
        ds = ds.copy()
        ds.attrs = attrs
        for key in ds.variables:
            variable_name = str(key)
            variable_config = config.variable(variable_name)
            if creating and variable_config.attrs:
                ds[key].attrs.update(variable_config.attrs)
            if not creating and variable_name in self.state.variables:
                ds[key].attrs = dict(self.state.variables[variable_name].attrs)
            ds[key].encoding = {}
        return ds

    def _apply_attrs(self, ds: xr.Dataset, creating: bool) -> None:
        """Set the configured attrs; ``{{ }}`` ones see the target after this slice."""
        config = self.config
        if not config.attrs:
            return
        attrs = dict(config.attrs)
        ds.attrs.update(attrs)  # as zappend: the view's attrs hold them unevaluated
        if not (config.permit_eval and has_expressions(attrs)):
            return
        target = None if creating else (self.dry_staging or self.store)
        with target_after_append(
            target,
            ds,
            config.append_dim,
            zarr_format=self.zarr_format,
            labels=self.state.labels,
            consolidated=False if self.dry_staging is not None else None,  # staged: stale
        ) as after:
            ds.attrs.update(evaluate_attrs(attrs, after))

    def _write(self, ds: xr.Dataset, staging: StagingStore, creating: bool) -> None:
        config = self.config
        if creating:
            ds.to_zarr(
                staging,
                mode="w-",
                encoding=self.encoding,
                zarr_format=config.format_for_new_target,
                consolidated=False,
                write_empty_chunks=True,  # a chunk equal to the fill value is data too
            )
        else:
            ds.to_zarr(
                staging,
                append_dim=config.append_dim,
                zarr_format=self.zarr_format,
                consolidated=False,
                write_empty_chunks=True,
            )


def _iter_items(slices: Any, settings: AppendConfig) -> Iterable[Any]:
    if isinstance(slices, (str, os.PathLike, xr.Dataset)):
        slices = [slices]
    if isinstance(slices, (list, tuple)) and settings.slice_source is None:
        # globs become the slices they match before anything is written
        return expand_slice_globs(list(slices), settings.slice_storage_options)
    return slices  # type: ignore[no-any-return]


def append(
    slices: Iterable[Any] | Any,
    target: str | os.PathLike[str] | None = None,
    config: ConfigSource | Sequence[ConfigSource] | AppendConfig | None = None,
    *,
    on_slice: Callable[[SliceReport], None] | None = None,
    catalog: str | os.PathLike[str] | None = None,
    **overrides: Any,
) -> AppendResult:
    """Append slices to an archive (creating it from the first slice when missing).

    Each slice is validated against the configuration and the target first, then
    written as one transaction (see :mod:`zarrlake.txn`): after a crash the target is
    exactly its state after some whole number of slices, and the next run recovers and
    carries on. One lock is held for the run. Slices whose labels are already in the
    target are skipped (``on_existing="skip"``), so re-running a list is idempotent.

    Parameters
    ----------
    slices
        Paths/URLs, Datasets, context managers, slice-source objects, or, with
        ``slice_source``, the arguments for that function (like ``map``).
    target
        The archive's path or URL (overrides ``target_dir``).
    config
        A config file/URL, dict, :class:`AppendConfig`, or a list merged in order.
    on_slice
        Called with each slice's report as soon as it is done (for progress).
    catalog
        A catalog URL to record the run in (as ``zarrlake append --catalog``): the target
        ``processing``, then ``processed`` with its metadata and the slice files linked
        to it, or ``failed`` with the error. Ignored for a dry run.
    **overrides
        Options that win over ``config`` (``append_dim="time"``, ``dry_run=True``, ...).

    Returns
    -------
    AppendResult
        A report per slice.

    Raises
    ------
    InvalidInputError
        For a bad option or an invalid slice (nothing is changed by that slice).
    LockedError
        When another writer holds the target's lock.
    """
    if target is not None:
        overrides["target_dir"] = os.fspath(target)
    settings = load_append_config(config, **overrides)
    if not settings.target_dir:
        raise InvalidInputError(
            "no target given", subject="target_dir", hint="pass target= or set target_dir"
        )
    if catalog is not None and not settings.dry_run:
        return _append_recorded(catalog, slices, settings, on_slice)
    store = open_store(
        settings.target_dir, mode="a", storage_options=settings.target_storage_options
    )
    url = store_url(store)
    new_folder = (directory := local_root(store)) is not None and not directory.exists()
    if settings.dry_run:  # reads only: every write goes to a staging overlay
        if new_folder:
            store = MemoryStore()  # a target that does not exist yet reads as empty
        store = store.with_read_only(True)
    appender = _Appender(settings, store, url)
    source: Callable[..., Any] | None = resolve_slice_source(settings.slice_source)
    items = _iter_items(slices, settings)
    appender.start()
    refused: list[tuple[str, ZarrlakeError]] = []
    reader = ReadAhead(items, settings, source) if isinstance(items, list) else None
    try:
        for index, item in enumerate(items):
            try:
                opened = (
                    reader.take(index)
                    if reader is not None
                    else open_slice(item, index, settings, source)
                )
                with opened as (ds, name):
                    report = appender.add(ds, name)
            except ZarrlakeError as error:
                report = _failed(item, index, error, settings.dry_run)
                appender.result.slices.append(report)
                _log_slice(url, report)
                if on_slice is not None:
                    on_slice(report)
                if report.status == "invalid":
                    refused.append((report.name, error))
                    continue  # a dry run checks every slice
                appender.result.length = appender.state.sizes.get(settings.append_dim, 0)
                if isinstance(items, list):
                    appender.result.not_attempted = [
                        _name(later, index + 1 + n) for n, later in enumerate(items[index + 1 :])
                    ]
                error.partial_result = appender.result
                raise
            appender.result.slices.append(report)
            _log_slice(url, report)
            if on_slice is not None:
                on_slice(report)
    finally:
        if reader is not None:
            reader.close()
        appender.stop()
        if new_folder and directory is not None:
            # a first slice that failed leaves no empty folder behind: nothing changed
            with contextlib.suppress(OSError):
                directory.rmdir()
    appender.result.length = appender.state.sizes.get(settings.append_dim, 0)
    if refused:
        raise _refused(refused, appender.result)
    return appender.result


def _log_slice(url: str, report: SliceReport) -> None:
    level = logging.WARNING if report.status in ("failed", "invalid") else logging.INFO
    event(
        _log,
        level,
        "append.slice",
        "%s: slice %s %s: %d step(s)%s, %d bytes in %.2f s (%.1f MB/s)%s",
        url,
        report.name,
        report.status,
        report.steps,
        f" {report.first_label} .. {report.last_label}" if report.first_label else "",
        report.bytes_written,
        report.seconds,
        rate(report.bytes_written, report.seconds),
        f"; {report.reason}" if report.reason else "",
        url=url,
        slice=report.name,
        status=report.status,
        steps=report.steps,
        first=report.first_label,
        last=report.last_label,
        bytes=report.bytes_written,
        seconds=round(report.seconds, 4),
        reason=report.reason or None,
    )


def _name(item: Any, index: int) -> str:
    return os.fspath(item) if isinstance(item, (str, os.PathLike)) else f"slice #{index}"


def _failed(item: Any, index: int, error: ZarrlakeError, dry_run: bool) -> SliceReport:
    """Report a slice that raised: ``invalid`` in a dry run when the data are at fault."""
    name = _name(item, index)
    data_fault = isinstance(error, (InvalidInputError, NotFoundError, CorruptError))
    status: Literal["failed", "invalid"] = "invalid" if dry_run and data_fault else "failed"
    return SliceReport(name=name, status=status, steps=0, reason=str(error))


def _refused(refused: list[tuple[str, ZarrlakeError]], result: AppendResult) -> ZarrlakeError:
    """Return one error for a dry run's bad slices (a single one's own error as it is)."""
    if len(refused) == 1:
        error = refused[0][1]
    else:
        error = InvalidInputError(
            f"{len(refused)} of {len(result.slices)} slices would fail: "
            + "; ".join(f"{name}: {problem}" for name, problem in refused),
            subject=", ".join(name for name, _ in refused),
            hint="fix or leave out these slices; the others validated",
        )
    error.partial_result = result
    return error


def _append_recorded(
    catalog: str | os.PathLike[str],
    slices: Any,
    settings: AppendConfig,
    on_slice: Callable[[SliceReport], None] | None,
) -> AppendResult:
    from zarrlake.catalog.pipeline import tracked

    items = list(_iter_items(slices, settings))
    files = [os.fspath(i) for i in items if isinstance(i, str | os.PathLike)]
    with tracked(
        os.fspath(catalog),
        str(settings.target_dir),
        files if settings.slice_source is None else [],
        actor="zarrlake append",
        storage_options=settings.target_storage_options,
    ):
        return append(items, None, settings, on_slice=on_slice)
