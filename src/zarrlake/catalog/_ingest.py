"""Bulk and incremental ingest: scan, extract in worker processes, upsert in batches.

A re-run is cheap and exact: a source whose size and mtime match what the catalog
recorded is skipped -- unless the extractor that reads it now is another one, or a
newer version, than the one that read it (an extractor bumps its ``version`` when it
learns to read more) -- a changed one is re-extracted, one that vanished is marked missing
(its record, status history and lineage stay), and one that came back is unmarked.
Every run is recorded in ``ingest_runs``.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, not_, or_, select

from zarrlake._workers import follow_parent
from zarrlake.catalog import schema as s
from zarrlake.catalog._engine import read_connection
from zarrlake.catalog._repository import Catalog, KnownSource
from zarrlake.catalog._scan import scan
from zarrlake.catalog._values import utcnow, visible
from zarrlake.catalog.extractors import (
    ExtractionConfig,
    Source,
    available_extractors,
    extract_source,
    extractor_for,
)
from zarrlake.errors import InvalidInputError

UPSERT_BATCH = 1000
"""Records written per transaction."""

TASK_SIZE = 32
"""Sources handed to a worker process at a time."""

ProgressCallback = Callable[[int, int, str], None]


@dataclass
class IngestSummary:
    """What an ingest (or validate) run saw and did.

    Attributes
    ----------
    seen
        Sources found.
    new, updated
        Records inserted / changed.
    unchanged
        Sources skipped because size and mtime matched.
    failed
        Sources (or records) that could not be read or stored in this run (recorded
        with their error).
    missing
        Records newly marked missing (their files vanished).
    restored
        Records whose files came back.
    failures
        ``(path, error)`` of each source that failed in this run.
    known_bad
        ``(path, error)`` of each unchanged source whose last extraction failed (not
        read again, not counted in ``failed``).
    run_id
        The ``ingest_runs`` row of this run.
    seconds
        Wall time.
    """

    seen: int = 0
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: int = 0
    missing: int = 0
    restored: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)
    known_bad: list[tuple[str, str]] = field(default_factory=list)
    run_id: int | None = None
    seconds: float = 0.0

    @property
    def successful(self) -> int:
        """Sources read without error in this run (the original API's first count)."""
        return self.seen - self.unchanged - self.failed - len(self.known_bad)

    def as_dict(self) -> dict[str, Any]:
        """Return the counts as a plain dict (for JSON output and the run record)."""
        return {
            "seen": self.seen,
            "new": self.new,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "failed": self.failed,
            "missing": self.missing,
            "restored": self.restored,
            "seconds": round(self.seconds, 3),
            "failures": [{"path": p, "error": e} for p, e in self.failures],
            "known_bad": [{"path": p, "error": e} for p, e in self.known_bad],
        }


def _extract_many(sources: list[Source], config: ExtractionConfig) -> list[list[dict[str, Any]]]:
    return [extract_source(source, config) for source in sources]


def _chunks(items: list[Source], size: int) -> Iterator[list[Source]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def extract_all(
    sources: list[Source],
    config: ExtractionConfig,
    *,
    jobs: int = 1,
) -> Iterator[tuple[Source, list[dict[str, Any]]]]:
    """Extract sources, in ``jobs`` worker processes when ``jobs > 1``.

    Yields
    ------
    tuple
        ``(source, records)`` as each finishes (order not kept with workers).
    """
    if jobs <= 1 or len(sources) <= TASK_SIZE:
        for source in sources:
            yield source, extract_source(source, config)
        return
    # Spawned workers: the caller may run threads (a watcher), which fork would copy.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(
        max_workers=jobs,
        mp_context=context,
        initializer=follow_parent,  # a killed ingest leaves no extractor running
        initargs=(os.getpid(),),
    ) as pool:
        pending: dict[Future[list[list[dict[str, Any]]]], list[Source]] = {}
        batches = iter(_chunks(sources, TASK_SIZE))
        for batch in batches:
            pending[pool.submit(_extract_many, batch, config)] = batch
            if len(pending) >= 2 * jobs:
                break
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                batch = pending.pop(future)
                yield from zip(batch, future.result(), strict=True)
                following = next(batches, None)
                if following is not None:
                    pending[pool.submit(_extract_many, following, config)] = following


def stale_extractions(catalog: Catalog, prefix: str = "") -> set[str]:
    """Return the sources under ``prefix`` that today's extractors would read differently.

    A source is stale when the extractor that reads it now is not the one recorded, or
    has another ``version``; also when nothing could read it then and something can
    now. Its file may be unchanged: its records are still out of date.

    Parameters
    ----------
    catalog
        The catalog.
    prefix
        A path or URL prefix (``""`` for all).

    Returns
    -------
    set of str
        Source paths to extract again.
    """
    current = {cls.name: cls.version for cls in available_extractors().values()}
    obs = s.observations.c
    up_to_date = or_(
        *(and_(obs.extractor == name, obs.extractor_version == v) for name, v in current.items())
    )
    query = select(obs.source_path, obs.file_path, obs.extractor, obs.extractor_version).where(
        or_(obs.extractor.is_(None), obs.extractor_version.is_(None), not_(up_to_date))
    )
    if prefix:  # a range on the source index, as known_sources does
        query = query.where(
            and_(obs.source_path >= prefix, obs.source_path < prefix + "\U0010ffff")
        )
    stale: set[str] = set()
    with read_connection(catalog.engine) as connection:
        for source_path, file_path, name, version in connection.execute(query):
            path = source_path or file_path
            reader = extractor_for(path)
            if reader is not None and (name, version) != (reader.name, reader.version):
                stale.add(path)
    return stale


def _prefix(root: str) -> str:
    if "://" in root and not root.startswith("file://"):
        return root.rstrip("/") + "/"
    path = os.path.abspath(root[7:] if root.startswith("file://") else root)
    return path.rstrip("/") + "/" if os.path.isdir(path) and not path.endswith(".zarr") else path


def ingest(
    catalog: Catalog,
    root: str | os.PathLike[str],
    *,
    recursive: bool = True,
    jobs: int = 1,
    config: ExtractionConfig | None = None,
    storage_options: dict[str, Any] | None = None,
    force: bool = False,
    progress: ProgressCallback | None = None,
    kind: str = "ingest",
) -> IngestSummary:
    """Catalogue everything under ``root``; unchanged sources are skipped.

    Parameters
    ----------
    catalog
        The catalog to write.
    root
        A file, folder, Zarr archive, or ``s3://`` prefix.
    recursive
        Descend into sub-folders.
    jobs
        Worker processes for extraction.
    config
        Attribute mapping and quality rules.
    storage_options
        fsspec options for URLs.
    force
        Re-extract sources even when unchanged.
    progress
        Called as ``progress(done, total, path)`` after each source.
    kind
        The run kind recorded (``ingest``, ``watch``).

    Returns
    -------
    IngestSummary
        Counts, failures and the run id.

    Raises
    ------
    PathNotFoundError
        When ``root`` does not exist (nothing is written).
    InvalidInputError
        For ``jobs`` below 1.
    """
    if jobs < 1:
        raise InvalidInputError(f"--jobs {jobs} must be at least 1", subject="jobs")
    started, clock = utcnow(), time.perf_counter()
    root_text = os.fspath(root)
    config = config or ExtractionConfig()
    sources = list(scan(root_text, recursive=recursive, storage_options=storage_options))
    prefix = _prefix(root_text)
    known = catalog.known_sources(prefix)
    stale = stale_extractions(catalog, prefix) if not force else set()
    summary = IngestSummary(seen=len(sources))
    to_read: list[Source] = []
    back: list[str] = []
    for source in sources:
        entry = known.get(source.path)
        if (
            entry is not None
            and not force
            and entry.unchanged(source.size, source.mtime_ns)
            and source.path not in stale
        ):
            if entry.error is not None:  # still the file that could not be read
                summary.known_bad.append((source.path, entry.error))
            else:
                summary.unchanged += 1
            if entry.missing:
                back.extend(entry.paths)
            if progress:
                done = summary.unchanged + len(summary.known_bad)
                progress(done, len(sources), source.path)
        else:
            to_read.append(source)
    summary.restored = catalog.mark_missing(back, missing=False)
    write_extracted(catalog, to_read, known, summary, config, jobs, progress, len(sources))
    seen_paths = {s.path for s in sources}
    vanished = [
        path
        for source_path, entry in known.items()
        if source_path not in seen_paths and _within(source_path, prefix, recursive)
        for path in entry.paths
    ]
    summary.missing += catalog.mark_missing(vanished)
    summary.seconds = time.perf_counter() - clock
    summary.run_id = record_run(catalog, kind, root_text, started, summary)
    return summary


def _within(path: str, prefix: str, recursive: bool) -> bool:
    if not path.startswith(prefix):
        return False
    return recursive or "/" not in path[len(prefix) :].rstrip("/")


def write_extracted(
    catalog: Catalog,
    sources: list[Source],
    known: dict[str, KnownSource],
    summary: IngestSummary,
    config: ExtractionConfig,
    jobs: int,
    progress: ProgressCallback | None,
    total: int,
) -> None:
    """Extract ``sources`` and upsert their records in batches, counting into ``summary``.

    Rows an observation list (a known source) no longer has are marked missing.
    """
    batch: list[dict[str, Any]] = []
    gone: list[str] = []
    done = summary.unchanged + summary.failed + len(summary.known_bad)
    for source, records in extract_all(sources, config, jobs=jobs):
        done += 1
        error = records[0].get("extraction_error") if len(records) == 1 else None
        if error:
            summary.failed += 1
            summary.failures.append((source.path, str(error)))
        entry = known.get(source.path)
        if entry is not None and not error:
            # Rows an observation list no longer has.
            now = {r["file_path"] for r in records}
            gone.extend(p for p in entry.paths if p not in now)
        batch.extend(records)
        if len(batch) >= UPSERT_BATCH:
            _flush(catalog, batch, summary)
        if progress:
            progress(done, total, source.path)
    _flush(catalog, batch, summary)
    summary.missing += catalog.mark_missing(gone)


_KEPT_ON_FAILURE = (
    "source_path",
    "source_size",
    "source_mtime_ns",
    "file_size",
    "mtime_ns",
    "format",
    "extractor",
    "extractor_version",
)


def _flush(catalog: Catalog, batch: list[dict[str, Any]], summary: IngestSummary) -> None:
    # A record the catalog cannot store fails alone: it is recorded as a failure with
    # its error (like an unreadable file) and the rest of the batch is stored.
    if not batch:
        return
    result = catalog.upsert_observations(batch, actor="ingest", isolate=True)
    failed = [(batch[f.index], f) for f in result.failures]
    errors = [
        {
            **{k: record[k] for k in _KEPT_ON_FAILURE if isinstance(record, dict) and k in record},
            "file_path": failure.file_path,
            "extraction_error": f"not catalogued: {visible(failure.error)}"[:2000],
            "issues": [{"code": "unstorable", "message": visible(failure.error)[:500]}],
        }
        for record, failure in failed
    ]
    # The error records can fail too (a NUL in the path itself): then only counted.
    stored = catalog.upsert_observations(errors, actor="ingest", isolate=True) if errors else None
    for _record, failure in failed:
        summary.failed += 1
        summary.failures.append((visible(failure.file_path), visible(failure.error)))
    summary.new += result.new + (stored.new if stored else 0)
    summary.updated += result.updated + (stored.updated if stored else 0)
    batch.clear()


def record_run(catalog: Catalog, kind: str, root: str, started: Any, summary: IngestSummary) -> int:
    """Store a run's counts in ``ingest_runs``; return its id."""
    counts = summary.as_dict()
    return catalog.record_run(
        {
            "kind": kind,
            "root": root,
            "started_at": started,
            "finished_at": utcnow(),
            "seen": summary.seen,
            "new": summary.new,
            "updated": summary.updated,
            "unchanged": summary.unchanged,
            "failed": summary.failed,
            "missing": summary.missing,
            "details": {
                "restored": summary.restored,
                "seconds": counts["seconds"],
                "failures": counts["failures"][:100],
                "known_bad": counts["known_bad"][:100],
            },
        }
    )


def ingest_sources(
    catalog: Catalog, sources: Iterable[Source], config: ExtractionConfig | None = None
) -> IngestSummary:
    """Extract and upsert the given sources (no scan, no missing detection; for watchers)."""
    listed = list(sources)
    summary = IngestSummary(seen=len(listed))
    write_extracted(
        catalog,
        listed,
        catalog.known_sources(paths=[s.path for s in listed]),
        summary,
        config or ExtractionConfig(),
        1,
        None,
        len(listed),
    )
    return summary
