"""The original specification's catalog API, as thin layers over zarrlake's catalog.

The document's examples run with only the import changed::

    from zarrlake.compat.catalog import CatalogClient, CatalogQueryInterface

Records come back as dicts with the document's field names plus ``_id`` (the record
id; ``id`` too). Filters and pipelines are translated to SQL
(:mod:`zarrlake.catalog._filters`); nothing is filtered row by row in Python.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select

from zarrlake.catalog import (
    Catalog,
    CatalogWatcher,
    column_for,
    compile_filter,
    compile_pipeline,
    ingest,
    ingest_sources,
    local_source,
    pipeline_rows,
    read_connection,
    related,
    utcnow,
    watch,
    write_transaction,
)
from zarrlake.catalog import schema as s
from zarrlake.catalog.extractors import ExtractionConfig, extract_source, supported_suffixes
from zarrlake.errors import InvalidInputError


def _table(name: str) -> Any:
    try:
        return s.TABLES[name]
    except KeyError:
        raise InvalidInputError(
            f"the catalog has no table {name!r}",
            subject=name,
            hint=f"tables: {', '.join(s.TABLES)}",
        ) from None


def _public(row: Mapping[str, Any]) -> dict[str, Any]:
    record = dict(row)
    if "id" in record:
        record["_id"] = record["id"]
    return record


class CatalogClient:
    """The document's catalog client (``insert_record``, ``query``, ``aggregate``).

    Parameters
    ----------
    url
        SQLAlchemy URL or SQLite path; ``None``: ``$ZARRLAKE_CATALOG`` or
        ``zarrlake-catalog.db``. A :class:`~zarrlake.catalog.Catalog` is accepted too.
    """

    def __init__(self, url: str | os.PathLike[str] | Catalog | None = None):
        self.catalog = url if isinstance(url, Catalog) else Catalog(url)

    def insert_record(self, table: str, record: Mapping[str, Any]) -> int:
        """Insert one record; an observation with a known ``file_path`` is updated.

        Returns
        -------
        int
            The record's id.

        Raises
        ------
        InvalidInputError
            For an unknown table or field, or an invalid value (nothing is written).
        NotFoundError
            For a relationship naming an unknown dataset.
        """
        if table == "observations":
            return self.catalog.upsert_observations([record]).ids[0]
        if table == "dataset_relationships":
            return self.catalog.link(
                record["parent_dataset_id"],
                record["child_dataset_id"],
                str(record.get("relationship_type") or "derived_from"),
                record.get("relationship_metadata"),
            )
        target = _table(table)
        values = dict(record)
        unknown = sorted(set(values) - set(target.c.keys()))
        if unknown:
            raise InvalidInputError(
                f"{table} has no field(s) {', '.join(unknown)}", subject=unknown[0]
            )
        if table == "status_events":
            values.setdefault("at", utcnow())
        with write_transaction(self.catalog.engine) as connection:
            result = connection.execute(insert(target).values(**values).returning(target.c.id))
            return int(result.scalar_one())

    def query(
        self,
        table: str,
        filter: Mapping[str, Any] | None = None,
        *,
        limit: int | None = None,
        sort: list[tuple[str, int]] | None = None,
    ) -> list[dict[str, Any]]:
        """Return the records matching a filter document (see :mod:`~zarrlake.catalog._filters`).

        Parameters
        ----------
        table
            ``observations``, ``dataset_relationships``, ``status_events`` or ``ingest_runs``.
        filter
            The filter document; ``None`` matches everything.
        limit
            At most this many records.
        sort
            ``[(field, 1 | -1), ...]``; by id otherwise.
        """
        target = _table(table)
        statement = select(target).where(compile_filter(target, filter))
        columns = [(column_for(target, f), d) for f, d in (sort or [])]
        order = [c.desc() if d == -1 else c.asc() for c, d in columns]
        statement = statement.order_by(*order, target.c.id)
        if limit is not None:
            statement = statement.limit(int(limit))
        with read_connection(self.catalog.engine) as connection:
            return [_public(r._mapping) for r in connection.execute(statement)]

    def aggregate(self, table: str, pipeline: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """Run a ``$match``/``$group`` pipeline as one SQL query; return its rows."""
        statement = compile_pipeline(_table(table), pipeline)
        with read_connection(self.catalog.engine) as connection:
            return pipeline_rows(connection.execute(statement))

    def close(self) -> None:
        """Release database connections."""
        self.catalog.close()


class MetadataExtractor:
    """The document's extractor: ``supported_formats`` and ``extract_from_file``.

    Parameters
    ----------
    catalog_client
        The client (kept for the document's signature).
    config
        Attribute mapping and quality rules.
    """

    def __init__(self, catalog_client: CatalogClient, config: ExtractionConfig | None = None):
        self.client = catalog_client
        self.config = config or ExtractionConfig()
        self.supported_formats = supported_suffixes()

    def extract_from_file(self, file_path: str | os.PathLike[str]) -> Any:
        """Return the metadata record of a file (a list of records for an observation list).

        Returns ``None`` for a file no extractor reads or that cannot be read, as the
        document's version does; ``extract_records`` gives the error record instead.
        """
        records = self.extract_records(file_path)
        if not records or records[0].get("extraction_error"):
            return None
        return records[0] if len(records) == 1 else records

    def extract_records(self, file_path: str | os.PathLike[str]) -> list[dict[str, Any]]:
        """Return every record of a file, failures included (with ``extraction_error``)."""
        path = os.path.abspath(os.fspath(file_path))
        source = local_source(path)
        if source is None:
            raise FileNotFoundError(path)
        records = extract_source(source, self.config)
        for record in records:
            if record.get("mtime_ns") is not None:
                record["modified_time"] = datetime.fromtimestamp(record["mtime_ns"] / 1e9)
        return records


class CatalogIngestManager:
    """The document's ingest manager: directories, single files, and watching."""

    def __init__(self, catalog_client: CatalogClient, config: ExtractionConfig | None = None):
        self.client = catalog_client
        self.extractor = MetadataExtractor(catalog_client, config)

    def ingest_directory(
        self, directory_path: str | os.PathLike[str], recursive: bool = True, jobs: int = 1
    ) -> tuple[int, int]:
        """Ingest a folder; return ``(successful, failed)`` source counts.

        Unchanged files already catalogued count as successful.
        """
        summary = ingest(
            self.client.catalog,
            directory_path,
            recursive=recursive,
            jobs=jobs,
            config=self.extractor.config,
        )
        failed = summary.failed + len(summary.known_bad)
        return summary.seen - failed, failed

    def ingest_single_file(self, file_path: str | os.PathLike[str]) -> bool:
        """Ingest one file; return whether it was read (a failure is still recorded)."""
        path = os.path.abspath(os.fspath(file_path))
        source = local_source(path)
        if source is None:
            raise FileNotFoundError(path)
        summary = ingest_sources(self.client.catalog, [source], self.extractor.config)
        return summary.failed == 0

    def watch_directory(
        self, directory_path: str | os.PathLike[str], **options: Any
    ) -> CatalogWatcher:
        """Start watching a folder; the returned watcher has ``stop()`` and ``join()``."""
        options.setdefault("config", self.extractor.config)
        return watch(self.client.catalog, directory_path, **options)


class CatalogQueryInterface:
    """The document's query interface (time range, quality, target, summary, related)."""

    def __init__(self, catalog_client: CatalogClient):
        self.client = catalog_client

    def _query(self, query: dict[str, Any], mission_id: str | None) -> list[dict[str, Any]]:
        if mission_id:
            query["mission_id"] = mission_id
        return self.client.query("observations", query, sort=[("observation_timestamp", 1)])

    def search_by_time_range(
        self, start_time: Any, end_time: Any, mission_id: str | None = None
    ) -> list[dict[str, Any]]:
        """Return observations whose timestamp lies in ``[start_time, end_time]``."""
        return self._query(
            {"observation_timestamp": {"$gte": start_time, "$lte": end_time}}, mission_id
        )

    def search_by_quality(
        self, min_quality_score: float, mission_id: str | None = None
    ) -> list[dict[str, Any]]:
        """Return observations with ``data_quality_score >= min_quality_score``."""
        return self._query({"data_quality_score": {"$gte": min_quality_score}}, mission_id)

    def search_by_target(
        self, target_object: str, mission_id: str | None = None
    ) -> list[dict[str, Any]]:
        """Return observations of a target."""
        return self._query({"target_object": target_object}, mission_id)

    def get_mission_summary(self, mission_id: str) -> list[dict[str, Any]]:
        """Return the document's summary pipeline result for a mission (one row)."""
        pipeline: list[Mapping[str, Any]] = [
            {"$match": {"mission_id": mission_id}},
            {
                "$group": {
                    "_id": None,
                    "total_observations": {"$sum": 1},
                    "total_data_size": {"$sum": "$file_size"},
                    "avg_quality_score": {"$avg": "$data_quality_score"},
                    "calibration_complete": {
                        "$sum": {"$cond": [{"$eq": ["$calibration_status", "COMPLETE"]}, 1, 0]}
                    },
                }
            },
        ]
        return self.client.aggregate("observations", pipeline)

    def find_related_datasets(self, dataset_id: int | str, depth: int = 1) -> list[dict[str, Any]]:
        """Return the observations linked to a dataset (parents and children)."""
        seen: set[int] = set()
        out = []
        for entry in related(self.client.catalog, dataset_id, depth):
            record = entry["dataset"]
            if record is not None and record["id"] not in seen:
                seen.add(record["id"])
                out.append(_public(record))
        return out


__all__ = [
    "CatalogClient",
    "CatalogIngestManager",
    "CatalogQueryInterface",
    "MetadataExtractor",
]
