"""Re-check the catalog against the files: vanished, changed, unreadable, incomplete."""

from __future__ import annotations

import time
from typing import Any

from zarrlake.catalog._ingest import (
    IngestSummary,
    ProgressCallback,
    record_run,
    stale_extractions,
    write_extracted,
)
from zarrlake.catalog._repository import Catalog
from zarrlake.catalog._scan import stat_source
from zarrlake.catalog._values import utcnow
from zarrlake.catalog.extractors import ExtractionConfig, Source


def validate_catalog(
    catalog: Catalog,
    prefix: str = "",
    *,
    config: ExtractionConfig | None = None,
    jobs: int = 1,
    storage_options: dict[str, Any] | None = None,
    reextract_incomplete: bool = False,
    progress: ProgressCallback | None = None,
) -> IngestSummary:
    """Check every catalogued source under ``prefix`` and fix what drifted.

    A source that vanished has its records marked missing; one that came back is
    unmarked; one whose size or mtime changed is re-extracted, and so is one that
    today's extractors would read differently (another extractor or version, see
    :func:`~zarrlake.catalog._ingest.stale_extractions`); the rest get
    ``last_verified`` set. A source whose last extraction failed or left issues is
    not read again while its file and its extractor are unchanged: it would give the
    same answer on every run (``reextract_incomplete`` forces it, e.g. after the
    extraction config was fixed).

    Parameters
    ----------
    catalog
        The catalog.
    prefix
        Only sources whose path starts with this.
    config
        Attribute mapping and quality rules for re-extraction.
    jobs
        Worker processes for re-extraction.
    storage_options
        fsspec options for URLs.
    reextract_incomplete
        Re-extract failed and incomplete records even when their files and extractors
        are unchanged.
    progress
        Called as ``progress(done, total, path)``.

    Returns
    -------
    IngestSummary
        ``seen`` sources checked; ``updated``/``new`` from re-extraction; ``missing``
        newly missing; ``restored``; ``unchanged`` verified as they were.
    """
    started, clock = utcnow(), time.perf_counter()
    known = catalog.known_sources(prefix)
    stale = stale_extractions(catalog, prefix)
    summary = IngestSummary(seen=len(known))
    gone: list[str] = []
    back: list[str] = []
    verified: list[str] = []
    redo: list[Source] = []
    for done, (path, entry) in enumerate(sorted(known.items()), start=1):
        current = stat_source(path, storage_options)
        if current is None:
            gone.extend(entry.paths)
        else:
            if entry.missing:
                back.extend(entry.paths)
            changed = not entry.unchanged(current.size, current.mtime_ns) or path in stale
            if changed or (reextract_incomplete and (entry.failed or entry.incomplete)):
                redo.append(current)
            else:
                summary.unchanged += 1
                verified.extend(entry.paths)
        if progress:
            progress(done, len(known), path)
    summary.missing = catalog.mark_missing(gone)
    summary.restored = catalog.mark_missing(back, missing=False)
    catalog.touch_verified(verified)
    write_extracted(
        catalog, redo, known, summary, config or ExtractionConfig(), jobs, None, len(redo)
    )
    catalog.touch_verified([p for s in redo for p in known[s.path].paths])
    summary.seconds = time.perf_counter() - clock
    summary.run_id = record_run(catalog, "validate", prefix, started, summary)
    return summary
