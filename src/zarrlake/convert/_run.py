"""``convert run``: scan, plan, template, parallel unit writes, resume, final verify.

Work runs on local threads by default (one unit per thread; the time goes to the
codecs, which run outside the GIL on zarr's threads, and one process holds one copy of
the libraries and the open archive), in local processes (``executor="processes"``:
forked on Linux after the scan), inline with one worker, or on a Dask distributed
cluster when a scheduler address or client is given. Each finished unit leaves a completion record,
so a re-run after a crash writes only the units without one.
"""

from __future__ import annotations

import concurrent.futures as cf
import logging
import multiprocessing
import os
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from zarr.abc.store import Store

from zarrlake._logging import event, rate
from zarrlake._malloc import release_free_memory, tune_process_memory
from zarrlake._workers import follow_parent
from zarrlake.convert._config import ConvertConfig, as_config
from zarrlake.convert._encodings import packing_needs_scan
from zarrlake.convert._inputs import expand_inputs
from zarrlake.convert._kept_inputs import close_kept_inputs
from zarrlake.convert._planner import ConvertPlan, build_plan
from zarrlake.convert._scan import FileScan, ScanResult, scan_data_ranges, scan_inputs
from zarrlake.convert._template import (
    archive_exists,
    create_template_from_plan,
    read_plan_record,
    structure_digest,
)
from zarrlake.convert._units import WorkUnit
from zarrlake.convert._writer import ArchiveWriter, ReadOptions, WriteStats, read_records
from zarrlake.errors import AlreadyExistsError, InvalidInputError
from zarrlake.meta import Report
from zarrlake.storage.remote import is_object_store
from zarrlake.storage.urls import open_store
from zarrlake.txn import recover

__all__ = ["ConvertResult", "plan", "run", "scan"]

log = logging.getLogger(__name__)

_WRITERS: dict[tuple[str, str], ArchiveWriter] = {}
_WRITERS_LOCK = threading.Lock()

Executor = Literal["threads", "processes"]


@dataclass
class ConvertResult:
    """What a run did."""

    target: str
    units_total: int
    units_written: int
    units_skipped: int
    steps_written: int
    input_bytes: int
    seconds: float
    template_created: bool
    report: Report | None = None
    plan: ConvertPlan | None = field(default=None, repr=False)

    @property
    def throughput(self) -> float:
        """Input bytes per second of the whole run."""
        return self.input_bytes / self.seconds if self.seconds else 0.0


def _writer(target: str, options: Mapping[str, Any] | None, digest: str) -> ArchiveWriter:
    key = (target, digest)
    with _WRITERS_LOCK:  # threads of one process share the opened archive
        writer = _WRITERS.get(key)
        if writer is None:
            writer = ArchiveWriter(target, options)
            _WRITERS.clear()  # one archive per worker at a time
            _WRITERS[key] = writer
    return writer


def write_unit_task(
    target: str,
    target_options: Mapping[str, Any] | None,
    digest: str,
    unit: WorkUnit,
    read: ReadOptions,
) -> WriteStats:
    """Write one unit in a worker process (the task sent to pools and Dask).

    Parameters
    ----------
    target, target_options
        The archive.
    digest
        The template's structure digest (a cache key for the opened archive).
    unit
        The unit.
    read
        How to read inputs.

    Returns
    -------
    WriteStats
        What was written.
    """
    _limit_codec_threads()
    try:
        return _writer(target, target_options, digest).write_unit(unit, read)
    finally:
        release_free_memory()


def _limit_codec_threads() -> None:
    # Each worker encodes on its own core; blosc's own threads would oversubscribe.
    # (numcodecs calls blosc without the GIL from threads other than the main one, so
    # unit threads and zarr's codec threads encode in parallel.)
    import numcodecs.blosc

    numcodecs.blosc.set_nthreads(1)


def _context() -> multiprocessing.context.BaseContext:
    """Pick how worker processes start.

    Linux forks: workers start in milliseconds and share the parent's imported modules
    (zarr and fsspec reset their I/O threads in a forked child). Elsewhere a forkserver
    (or spawn on Windows) preloads this module once.
    """
    methods = multiprocessing.get_all_start_methods()
    platform: str = sys.platform  # a plain str: mypy would judge other platforms unreachable
    if platform.startswith("linux"):
        return multiprocessing.get_context("fork")
    if "forkserver" not in methods:
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["zarrlake.convert._run"])
    return context


def _worker_started(command_pid: int) -> None:
    follow_parent(command_pid)  # a killed command leaves no worker writing on
    # The worker process is the run's own: before it starts zarr's threads, one arena
    # for all of them and chunk-sized buffers mapped.
    tune_process_memory()


def _warm_up() -> int:
    return os.getpid()


def scan(
    inputs: str | Iterable[str],
    config: ConvertConfig | Mapping[str, Any] | None = None,
    *,
    on_file: Callable[[FileScan], None] | None = None,
    **overrides: Any,
) -> ScanResult:
    """Expand and scan inputs (coordinates only), checking they fit together.

    Returns
    -------
    ScanResult
        The scanned inputs.
    """
    settings = as_config(config, **overrides)
    paths = expand_inputs(inputs, settings.storage_options)
    result = scan_inputs(paths, settings, on_file=on_file)
    needs = packing_needs_scan(result, settings)
    if needs:
        scan_data_ranges(result, needs, settings)
    return result


def plan(
    inputs: str | Iterable[str],
    config: ConvertConfig | Mapping[str, Any] | None = None,
    *,
    target: str | None = None,
    **overrides: Any,
) -> ConvertPlan:
    """Plan a conversion without writing anything.

    Parameters
    ----------
    inputs
        Files, globs or URLs.
    config
        The conversion config (or a dict); keyword overrides win.
    target
        The archive it would write (its kind decides ``shards: auto``); default: a
        local one.
    **overrides
        Config keys.

    Returns
    -------
    ConvertPlan
        What would be written; ``describe()`` gives it as plain data.
    """
    settings = as_config(config, **overrides)
    remote = target is not None and is_object_store(target)
    return build_plan(scan(inputs, settings), settings, object_store=remote)


class _Executor:
    """Runs unit tasks inline, in a local process pool, or on a Dask cluster."""

    def __init__(self, workers: int, scheduler: Any, kind: Executor = "threads") -> None:
        self.scheduler = scheduler
        self.pool: cf.Executor | None = None
        if scheduler is None and workers > 1 and kind == "threads":
            # The caller's process: its allocator settings are the caller's to choose
            # (zarrlake.convert.tune_process_memory; the command does).
            self.pool = cf.ThreadPoolExecutor(workers, thread_name_prefix="zarrlake-unit")
        elif scheduler is None and workers > 1:
            self.pool = cf.ProcessPoolExecutor(
                workers,
                mp_context=_context(),
                initializer=_worker_started,
                initargs=(os.getpid(),),
            )
            for _ in range(workers):  # start the workers while the caller writes the template
                self.pool.submit(_warm_up)

    @property
    def keeps_inputs(self) -> bool:
        """Whether units run in this process (threads or inline): a run closes what they keep."""
        return self.scheduler is None and not isinstance(self.pool, cf.ProcessPoolExecutor)

    def map(self, tasks: list[tuple[Any, ...]]) -> Iterator[WriteStats]:
        if self.scheduler is not None:
            yield from self._dask(tasks)
        elif self.pool is not None:
            futures = [self.pool.submit(write_unit_task, *task) for task in tasks]
            try:
                for future in cf.as_completed(futures):
                    yield future.result()
            except BaseException:
                for future in futures:
                    future.cancel()
                raise
        else:
            for task in tasks:
                yield write_unit_task(*task)

    def _dask(self, tasks: list[tuple[Any, ...]]) -> Iterator[WriteStats]:
        from distributed import Client, as_completed

        client = (
            self.scheduler if isinstance(self.scheduler, Client) else Client(self.scheduler)  # type: ignore[no-untyped-call]
        )
        try:
            futures = [
                client.submit(write_unit_task, *task, pure=False, retries=0) for task in tasks
            ]
            for future in as_completed(futures):  # type: ignore[no-untyped-call]
                yield future.result()
        finally:
            if client is not self.scheduler:
                client.close()  # type: ignore[no-untyped-call]

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
            if isinstance(self.pool, cf.ThreadPoolExecutor):
                release_free_memory()  # the units' buffers, before the verify


def _prepare_target(
    store: Store, target: str, settings: ConvertConfig, the_plan: ConvertPlan, overwrite: bool
) -> bool:
    """Create the template, or check an existing one is this plan's; True when created."""
    recover(store)  # a template commit a crash interrupted is finished or undone first
    if archive_exists(store) and not overwrite:
        record = read_plan_record(store)
        if record is not None and record.get("structure") == structure_digest(the_plan):
            return False
        raise AlreadyExistsError(
            f"{target} already holds an archive that is not this conversion's template"
            + ("" if record else " (it has no conversion record)"),
            subject=target,
            hint="pick a new target, or pass overwrite=True (--overwrite) to replace it",
        )
    create_template_from_plan(
        the_plan,
        store,
        overwrite=overwrite,
        engine=settings.engine,
        storage_options=settings.storage_options,
    )
    return True


def run(
    inputs: str | Iterable[str],
    target: str,
    config: ConvertConfig | Mapping[str, Any] | None = None,
    *,
    workers: int | None = None,
    scheduler: Any = None,
    executor: Executor = "threads",
    overwrite: bool = False,
    verify: bool = True,
    on_scan: Callable[[FileScan], None] | None = None,
    on_plan: Callable[[ConvertPlan, list[WorkUnit]], None] | None = None,
    on_unit: Callable[[WriteStats], None] | None = None,
    catalog: str | os.PathLike[str] | None = None,
    **overrides: Any,
) -> ConvertResult:
    """Convert input files into one archive, in parallel, resuming what a crash left.

    Parameters
    ----------
    inputs
        Files, globs or URLs.
    target
        The archive's URL.
    config
        The conversion config (or a dict); keyword overrides win.
    workers
        Local workers (default: the CPU count); 1 runs inline.
    scheduler
        A Dask distributed scheduler address (``tcp://host:port``) or ``Client``.
    executor
        What the local workers are: ``"threads"`` of this process (the codecs run
        outside the GIL; one copy of everything in memory), or ``"processes"``.
        Threads leave this process's allocator settings alone; the command applies
        :func:`~zarrlake.convert.tune_process_memory` first, and so can a caller
        whose process exists to convert (about 0.6x the peak memory on 1 GB, see
        ``docs/convert.md``).
    overwrite
        Replace an archive that is not this conversion's template.
    verify
        Verify the archive at the end (records, chunks, coordinates, a sample of values).
    on_scan, on_plan, on_unit
        Progress callbacks: after each scanned file; once with the plan and the
        units to write; after each written unit.
    catalog
        A catalog URL to record the run in (as ``zarrlake convert run --catalog``): the
        archive ``processing``, then ``processed`` with its metadata and every input
        linked to it, or ``failed`` with the reason (an error, or a failed verify).
    **overrides
        Config keys.

    Returns
    -------
    ConvertResult
        Counts, bytes, time and the verify report.

    Raises
    ------
    InvalidInputError
        For inputs that do not fit together (nothing is written).
    AlreadyExistsError
        When the target holds another archive and ``overwrite`` is false.
    """
    began = time.perf_counter()
    settings = as_config(config, **overrides)
    if catalog is not None:
        return _run_recorded(
            catalog,
            expand_inputs(inputs, settings.storage_options),
            target,
            settings,
            workers=workers,
            scheduler=scheduler,
            executor=executor,
            overwrite=overwrite,
            verify=verify,
            on_scan=on_scan,
            on_plan=on_plan,
            on_unit=on_unit,
        )
    count = workers if workers is not None else (os.cpu_count() or 1)
    if count < 1:
        raise InvalidInputError(f"workers must be at least 1, not {count}", subject="workers")
    scanned = scan(inputs, settings, on_file=on_scan)
    scanned_in = time.perf_counter() - began
    event(
        log,
        logging.INFO,
        "convert.scan",
        "scanned %d input(s), %d bytes, in %.2f s",
        len(scanned.files),
        scanned.input_bytes,
        scanned_in,
        inputs=len(scanned.files),
        bytes=scanned.input_bytes,
        seconds=round(scanned_in, 4),
        process_cpu=round(time.process_time(), 3),
    )
    # Workers start after the scan, so they share the input libraries it imported
    # (each would import its own copy otherwise), and before the template is written,
    # so they inherit no threads (limit_arenas needs a worker without any).
    pool = _Executor(count, scheduler, executor)
    read: ReadOptions | None = None
    try:
        the_plan = build_plan(scanned, settings, object_store=is_object_store(target))
        store = open_store(target, mode="a", storage_options=settings.target_storage_options)
        created = _prepare_target(store, target, settings, the_plan, overwrite)
        records = read_records(store)
        todo = [
            u
            for u in the_plan.units
            if records.get(u.key, {}).get("fingerprint") != u.fingerprint()
        ]
        event(
            log,
            logging.INFO,
            "convert.plan",
            "%s: %d work unit(s) to write, %d already written; %d worker(s)%s",
            target,
            len(todo),
            len(the_plan.units) - len(todo),
            count,
            " (template created)" if created else "",
            url=target,
            units=len(todo),
            done=len(the_plan.units) - len(todo),
            workers=count,
            template_created=created,
            process_cpu=round(time.process_time(), 3),
        )
        if on_plan is not None:
            on_plan(the_plan, todo)
        read = ReadOptions(
            settings.engine,
            settings.storage_options,
            settings.retries,
            settings.retry_backoff,
            # units on threads of this process share open inputs until the run ends
            keep_open=uuid.uuid4().hex if pool.keeps_inputs else None,
        )
        digest = structure_digest(the_plan)
        tasks = [(target, settings.target_storage_options, digest, u, read) for u in todo]
        for stats in pool.map(tasks):
            event(
                log,
                logging.INFO,
                "convert.unit",
                "%s: wrote unit %s: %d step(s) from %d input bytes in %.2f s (%.1f MB/s; %s)",
                target,
                stats.key,
                stats.steps,
                stats.input_bytes,
                stats.seconds,
                rate(stats.input_bytes, stats.seconds),
                " ".join(f"{k} {v:.2f}" for k, v in stats.split.items()),
                url=target,
                unit=stats.key,
                steps=stats.steps,
                bytes=stats.input_bytes,
                seconds=round(stats.seconds, 4),
                split=stats.split,
            )
            if on_unit is not None:
                on_unit(stats)
    finally:
        pool.close()
        if read is not None and read.keep_open is not None:
            close_kept_inputs(read.keep_open)
    report = None
    if verify:
        from zarrlake.convert._verify import verify as verify_archive

        checked = time.perf_counter()
        report = verify_archive(
            target,
            the_plan.inputs if settings.verify_sample else None,
            sample=settings.verify_sample,
            storage_options=settings.target_storage_options,
            config=settings,
        )
        verified_in = time.perf_counter() - checked
        event(
            log,
            logging.INFO if report.valid else logging.WARNING,
            "convert.verify",
            "%s: verified in %.2f s: %s",
            target,
            verified_in,
            "valid" if report.valid else f"INVALID ({', '.join(sorted(report.codes()))})",
            url=target,
            valid=report.valid,
            seconds=round(verified_in, 4),
            process_cpu=round(time.process_time(), 3),
        )
    total = sum(unit.input_bytes for unit in todo)
    seconds = time.perf_counter() - began
    event(
        log,
        logging.INFO,
        "convert.run",
        "%s: converted %d input bytes in %d unit(s) in %.2f s (%.1f MB/s)",
        target,
        total,
        len(todo),
        seconds,
        rate(total, seconds),
        url=target,
        units=len(todo),
        bytes=total,
        seconds=round(seconds, 4),
        process_cpu=round(time.process_time(), 3),
    )
    return ConvertResult(
        target=target,
        units_total=len(the_plan.units),
        units_written=len(todo),
        units_skipped=len(the_plan.units) - len(todo),
        # Steps, not steps x spatial blocks; bytes of the units read, not of skipped ones.
        steps_written=len({step for unit in todo for step in unit.steps}),
        input_bytes=sum(unit.input_bytes for unit in todo),
        seconds=time.perf_counter() - began,
        template_created=created,
        report=report,
        plan=the_plan,
    )


def _run_recorded(
    catalog: str | os.PathLike[str],
    files: list[str],
    target: str,
    settings: ConvertConfig,
    **options: Any,
) -> ConvertResult:
    from zarrlake.catalog.pipeline import tracked

    with tracked(
        os.fspath(catalog),
        target,
        files,
        actor="zarrlake convert",
        storage_options=settings.target_storage_options,
    ) as recording:
        result = run(files, target, settings, **options)
        if result.report is not None and not result.report.valid:
            errors = result.report.errors()
            first = f"{errors[0].code} {errors[0].message}" if errors else "errors"
            more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
            recording.fail(f"verification failed: {first}{more}")
    return result
