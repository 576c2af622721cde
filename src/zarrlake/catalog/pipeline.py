"""Pipelines and the catalog: preflight, register outputs, move statuses, link lineage.

Any pipeline can use four calls::

    check = preflight(db, SearchQuery(mission_id="COSMOS-7"), min_quality=0.8,
                      output="/data/out")            # what exists, what fails, is there room
    start(db, "/data/out/cube.zarr", inputs=check.paths)  # registered, status processing, linked
    ...                                               # do the work
    finish(db, "/data/out/cube.zarr", ok=True)        # re-read metadata, status processed

``PipelineDataManager`` is the original specification's class on top of them.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from zarrlake.catalog._ingest import ingest_sources
from zarrlake.catalog._links import is_id
from zarrlake.catalog._repository import Catalog
from zarrlake.catalog._scan import stat_source
from zarrlake.catalog._search import MAX_PAGE_SIZE, SearchQuery, search
from zarrlake.catalog._values import absolute_path
from zarrlake.catalog.extractors import ExtractionConfig, extract_source
from zarrlake.errors import InsufficientStorageError, InvalidInputError

DEFAULT_EXPANSION = 2.5
"""Output bytes expected per input byte (the specification's rough estimate)."""


def register(
    catalog: Catalog,
    path: str,
    *,
    extract: bool = True,
    config: ExtractionConfig | None = None,
    storage_options: dict[str, Any] | None = None,
    **fields: Any,
) -> int:
    """Register or update the dataset at ``path``; return its id.

    Parameters
    ----------
    catalog
        The catalog.
    path
        Path or URL of the dataset (a file or a Zarr archive).
    extract
        Read the file's metadata first when it exists (given ``fields`` win).
    config
        Attribute mapping and quality rules.
    storage_options
        fsspec options for URLs.
    **fields
        Observation fields to set (``mission_id``, ``processing_status``, ...).

    Returns
    -------
    int
        The record id.

    Raises
    ------
    InvalidInputError
        For an unknown field or an invalid value (nothing is written).
    """
    path = absolute_path(path)
    record: dict[str, Any] = {"file_path": path}
    source = stat_source(path, storage_options) if extract else None
    if source is not None:
        extracted = extract_source(source, config)
        if len(extracted) == 1:
            record.update(extracted[0])
            record["file_path"] = path
    record.update(fields)
    return catalog.upsert_observations([record], actor="register").ids[0]


def iter_matches(catalog: Catalog, query: SearchQuery) -> Iterator[dict[str, Any]]:
    """Yield every observation matching ``query`` (all pages)."""
    cursor = None
    while True:
        page = search(catalog, replace(query, cursor=cursor, limit=MAX_PAGE_SIZE))
        yield from page.items
        if page.next_cursor is None:
            return
        cursor = page.next_cursor


def _input_bytes(datasets: Iterable[Mapping[str, Any]]) -> int:
    return sum(int(d.get("file_size") or 0) for d in datasets)


def free_bytes(location: str | os.PathLike[str]) -> int:
    """Return the free bytes where ``location`` is (its nearest existing parent folder)."""
    path = os.path.abspath(os.fspath(location))
    while not os.path.exists(path):
        parent = os.path.dirname(path)
        if parent == path:
            break
        path = parent
    return shutil.disk_usage(path).free


@dataclass
class Preflight:
    """What a pipeline would read, and whether it can run.

    Attributes
    ----------
    datasets
        The matching observations that pass the quality bar and exist.
    below_quality
        Matching observations under ``min_quality``.
    missing_on_disk
        Matching observations whose files are gone.
    unchecked
        Matching observations whose files could not be checked (outside the places the
        caller may read); they count as usable.
    input_bytes, required_bytes, available_bytes
        Input size, ``expansion`` times it, and the free space at the output location
        (``None`` when no output location was given).
    """

    datasets: list[dict[str, Any]] = field(default_factory=list)
    below_quality: list[dict[str, Any]] = field(default_factory=list)
    missing_on_disk: list[dict[str, Any]] = field(default_factory=list)
    unchecked: list[dict[str, Any]] = field(default_factory=list)
    input_bytes: int = 0
    required_bytes: int = 0
    available_bytes: int | None = None

    @property
    def sufficient_storage(self) -> bool:
        """Whether the output location has room (true when none was given)."""
        return self.available_bytes is None or self.available_bytes >= self.required_bytes

    @property
    def ok(self) -> bool:
        """Whether something matched and there is room for the output."""
        return bool(self.datasets) and self.sufficient_storage

    @property
    def paths(self) -> list[str]:
        """The paths of :attr:`datasets`."""
        return [d["file_path"] for d in self.datasets]

    def as_dict(self) -> dict[str, Any]:
        """Return a JSON-friendly summary (ids, counts, bytes)."""
        return {
            "ok": self.ok,
            "datasets": [d["id"] for d in self.datasets],
            "below_quality": [d["id"] for d in self.below_quality],
            "missing_on_disk": [d["id"] for d in self.missing_on_disk],
            "unchecked": [d["id"] for d in self.unchecked],
            "input_bytes": self.input_bytes,
            "required_bytes": self.required_bytes,
            "available_bytes": self.available_bytes,
            "sufficient_storage": self.sufficient_storage,
        }


def preflight(
    catalog: Catalog,
    query: SearchQuery | None = None,
    *,
    min_quality: float | None = None,
    output: str | os.PathLike[str] | None = None,
    expansion: float = DEFAULT_EXPANSION,
    check_files: bool = True,
    storage_options: dict[str, Any] | None = None,
    may_check: Callable[[str], bool] | None = None,
) -> Preflight:
    """Check what a pipeline would read before it starts.

    Parameters
    ----------
    catalog
        The catalog.
    query
        Which observations (all pages are read); ``None`` for all.
    min_quality
        Observations below this score are reported, not used.
    output
        Where the results go; its free space is compared with ``expansion`` times the
        input bytes.
    expansion
        Output bytes per input byte.
    check_files
        Check that each file still exists (a catalog can lag behind the disk).
    storage_options
        fsspec options for URLs.
    may_check
        Which paths may be checked (a service checks only under its roots); the others
        are listed as unchecked.

    Returns
    -------
    Preflight
        The usable datasets and why the others are not.
    """
    if expansion < 0:
        raise InvalidInputError(f"expansion {expansion} must not be negative", subject="expansion")
    result = Preflight()
    for record in iter_matches(catalog, query or SearchQuery()):
        score = record.get("data_quality_score")
        path = record["file_path"].split("#row=")[0]
        if min_quality is not None and (score is None or score < min_quality):
            result.below_quality.append(record)
            continue
        if check_files and may_check is not None and not may_check(path):
            result.unchecked.append(record)
        elif check_files and stat_source(path, storage_options) is None:
            result.missing_on_disk.append(record)
            continue
        result.datasets.append(record)
    result.input_bytes = _input_bytes(result.datasets)
    result.required_bytes = int(result.input_bytes * expansion)
    if output is not None:
        result.available_bytes = free_bytes(output)
    return result


def start(
    catalog: Catalog,
    output: str,
    inputs: Iterable[int | str] = (),
    *,
    relationship_type: str = "derived_from",
    actor: str | None = None,
    storage_options: dict[str, Any] | None = None,
    **fields: Any,
) -> int:
    """Register an output as ``processing`` and link its inputs to it; return its id.

    Inputs given by path that the catalog does not know yet are registered first
    (their metadata read when the files exist).
    """
    record_id = register(catalog, output, storage_options=storage_options, **fields)
    catalog.set_status(record_id, "processing", reason="pipeline started", actor=actor)
    link(
        catalog,
        inputs,
        output,
        relationship_type=relationship_type,
        storage_options=storage_options,
    )
    return record_id


def finish(
    catalog: Catalog,
    output: str,
    *,
    ok: bool = True,
    reason: str | None = None,
    actor: str | None = None,
    extract: bool = True,
    storage_options: dict[str, Any] | None = None,
) -> int:
    """Mark an output ``processed`` (re-reading its metadata) or ``failed``; return its id."""
    record_id = register(catalog, output, extract=extract and ok, storage_options=storage_options)
    catalog.set_status(
        record_id,
        "processed" if ok else "failed",
        reason=reason or ("pipeline finished" if ok else "pipeline failed"),
        actor=actor,
    )
    return record_id


def link(
    catalog: Catalog,
    inputs: Iterable[int | str],
    output: int | str,
    *,
    relationship_type: str = "derived_from",
    metadata: dict[str, Any] | None = None,
    storage_options: dict[str, Any] | None = None,
) -> list[int]:
    """Link every input to the output (unknown input paths are registered first)."""
    keys = [k if is_id(k) else absolute_path(str(k)) for k in inputs]
    if not keys:
        return []
    paths = [str(k) for k in keys if not is_id(k)]
    known = catalog.known_sources(paths=paths)
    known_paths = {p for entry in known.values() for p in entry.paths}
    unknown = [p for p in dict.fromkeys(paths) if p not in known_paths]
    sources = [stat_source(p, storage_options) for p in unknown]
    ingest_sources(catalog, [s for s in sources if s is not None])  # one batch, not one each
    for path, source in zip(unknown, sources, strict=True):
        if source is None:
            register(catalog, path, extract=False)  # gone or not yet there: path only
    return catalog.link_many(keys, output, relationship_type, metadata)


@dataclass
class TrackedRun:
    """The run a :func:`tracked` block records.

    Attributes
    ----------
    catalog
        The open catalog (``None`` when nothing is recorded).
    failure
        Why the run failed, once :meth:`fail` was called.
    """

    catalog: Catalog | None = None
    failure: str | None = None

    def fail(self, reason: str) -> None:
        """Record the run as ``failed`` with ``reason`` when the block ends (no exception needed).

        For runs that end without raising yet did not succeed, such as a conversion
        whose verification found errors (the CLI exits 1).
        """
        self.failure = str(reason)[:500]


@contextmanager
def tracked(
    catalog_url: str | os.PathLike[str] | None,
    output: str,
    inputs: Sequence[str] = (),
    *,
    actor: str,
    storage_options: dict[str, Any] | None = None,
) -> Iterator[TrackedRun]:
    """Record a pipeline run in a catalog: processing, then processed or failed, and lineage.

    Parameters
    ----------
    catalog_url
        The catalog; ``None`` records nothing (the block just runs).
    output
        The dataset the block writes.
    inputs
        The files it reads (linked to the output as ``derived_from`` when it succeeds).
    actor
        Who runs it (``zarrlake convert``, ``zarrlake append``), kept in the audit trail.
    storage_options
        fsspec options for URLs.

    Yields
    ------
    TrackedRun
        The open catalog, and :meth:`TrackedRun.fail` for a run that failed without
        raising. An exception out of the block records ``failed`` with the error.
    """
    if catalog_url is None:
        yield TrackedRun()
        return
    with Catalog(catalog_url) as catalog:
        start(catalog, output, (), actor=actor, storage_options=storage_options)
        run = TrackedRun(catalog)
        try:
            yield run
        except BaseException as exc:
            run.fail(f"{type(exc).__name__}: {exc}")
            raise
        finally:
            if run.failure is not None:
                finish(
                    catalog,
                    output,
                    ok=False,
                    reason=run.failure,
                    actor=actor,
                    storage_options=storage_options,
                )
        if run.failure is None:
            link(catalog, list(inputs), output, storage_options=storage_options)
            finish(catalog, output, ok=True, actor=actor, storage_options=storage_options)


class PipelineDataManager:
    """The original specification's pipeline helper, working as documented.

    Parameters
    ----------
    catalog_client
        A :class:`~zarrlake.compat.catalog.CatalogClient` or a
        :class:`~zarrlake.catalog.Catalog`.
    output_location
        Where results are written (its free space is what ``check_storage_availability``
        compares with); the working directory by default.
    processor
        The processing function: called with the dataset list, returns anything.
    expansion
        Output bytes per input byte.
    """

    def __init__(
        self,
        catalog_client: Any,
        output_location: str | os.PathLike[str] = ".",
        processor: Callable[[list[dict[str, Any]]], Any] | None = None,
        expansion: float = DEFAULT_EXPANSION,
    ):
        self.catalog: Catalog = getattr(catalog_client, "catalog", catalog_client)
        self.output_location = output_location
        self.processor = processor
        self.expansion = expansion

    def get_available_datasets(
        self, mission_id: str, min_quality: float = 0.8, time_window_days: float = 30
    ) -> list[dict[str, Any]]:
        """Return the mission's observations of the last ``time_window_days`` at quality."""
        end = datetime.now()
        query = SearchQuery(
            mission_id=mission_id,
            start=end - timedelta(days=time_window_days),
            end=end,
            min_quality=min_quality,
        )
        return list(iter_matches(self.catalog, query))

    def _get_available_storage(self) -> int:
        return free_bytes(self.output_location)

    def check_storage_availability(self, dataset_list: list[dict[str, Any]]) -> dict[str, Any]:
        """Return ``{sufficient_storage, required_storage, available_storage}``."""
        required = _input_bytes(dataset_list) * self.expansion
        available = self._get_available_storage()
        return {
            "sufficient_storage": available >= required,
            "required_storage": required,
            "available_storage": available,
        }

    def start_processing_pipeline(self, mission_id: str, target_object: str | None = None) -> Any:
        """Select datasets, check storage, mark them processing and run the processor.

        Raises
        ------
        ValueError
            When no dataset matches (``InvalidInputError``).
        InsufficientStorageError
            When the output location lacks room (the document's ``ResourceError``).
        """
        datasets = self.get_available_datasets(mission_id)
        if target_object:
            datasets = [d for d in datasets if d.get("target_object") == target_object]
        if not datasets:
            raise InvalidInputError(
                f"No suitable datasets found for mission {mission_id}", subject=mission_id
            )
        storage_check = self.check_storage_availability(datasets)
        if not storage_check["sufficient_storage"]:
            raise InsufficientStorageError(
                f"Insufficient storage. Need {storage_check['required_storage']:.0f} bytes, "
                f"have {storage_check['available_storage']} bytes",
                subject=str(self.output_location),
                hint="free space or choose another output location",
            )
        return self._execute_processing_pipeline(datasets)

    def _execute_processing_pipeline(self, datasets: list[dict[str, Any]]) -> Any:
        if self.processor is None:
            raise InvalidInputError(
                "no processing function was given",
                subject="processor",
                hint="PipelineDataManager(client, processor=my_function)",
            )
        for record in datasets:
            self.catalog.set_status(record["id"], "processing", reason="pipeline started")
        try:
            outcome = self.processor(datasets)
        except Exception:
            for record in datasets:
                self.catalog.set_status(record["id"], "failed", reason="pipeline failed")
            raise
        for record in datasets:
            self.catalog.set_status(record["id"], "processed", reason="pipeline finished")
        return outcome


ResourceError = InsufficientStorageError
"""The original document's name for the storage error."""
