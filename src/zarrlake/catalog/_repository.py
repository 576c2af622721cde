"""The catalog repository: one interface over SQLite and PostgreSQL.

:class:`Catalog` owns an engine and offers every read and write the workflows, the CLI
and the API use. Writes run in one transaction each (``BEGIN IMMEDIATE`` on SQLite) and
keep mission summaries and the status audit trail in step with the rows.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import and_, delete, func, insert, inspect, literal, select, update
from sqlalchemy.exc import InterfaceError, OperationalError

from zarrlake._gc import collector_paused
from zarrlake.catalog import schema as s
from zarrlake.catalog._engine import (
    create_catalog_engine,
    read_connection,
    resolve_catalog_url,
    write_transaction,
)
from zarrlake.catalog._known import KnownSource
from zarrlake.catalog._links import LinksMixin, is_id
from zarrlake.catalog._migrate import drop_outdated_summaries, index_names, upgrade_columns
from zarrlake.catalog._summary import (
    SUMMARY_COLUMNS,
    apply_summary_changes,
    current_rows,
    merge_spellings,
    rebuild_summaries,
    summary_row,
)
from zarrlake.catalog._text import create_text_index, drop_text_index
from zarrlake.catalog._values import absolute_path, normalize_observation, utcnow
from zarrlake.catalog._writes import (
    LOOKUP_BATCH,
    UpsertFailure,
    UpsertResult,
    batches,
    lookup_paths,
    path_of,
    status_event,
    write_batch,
)
from zarrlake.errors import CatalogSchemaError, InvalidInputError, NotFoundError, StorageError


class Catalog(LinksMixin):
    """A catalog database (SQLite file or PostgreSQL) with zarrlake's schema.

    Parameters
    ----------
    url
        SQLAlchemy URL or SQLite file path; ``None`` uses ``$ZARRLAKE_CATALOG`` or
        ``zarrlake-catalog.db`` in the working directory.
    create
        Create the schema when the database has none (``False``: raise instead).
    promoted_keys
        ``mission_specific`` keys to index, ``{key: "string"|"number"}``; created on
        :meth:`init` (existing catalogs: :meth:`upgrade`).
    check_schema
        Refuse a database at another schema version (``False`` only to upgrade it).

    Raises
    ------
    CatalogSchemaError
        When the database holds another schema version (run ``zarrlake catalog
        upgrade``) or no schema and ``create`` is false.
    """

    def __init__(
        self,
        url: str | os.PathLike[str] | None = None,
        *,
        create: bool = True,
        promoted_keys: Mapping[str, str] | None = None,
        check_schema: bool = True,
    ):
        self.url = resolve_catalog_url(url)
        self.engine = create_catalog_engine(self.url)
        self.promoted_keys = dict(promoted_keys or {})
        self._bulk_loading = False  # summaries are rebuilt when the bulk load ends
        version = self.schema_version()
        if not check_schema:
            return
        if version is None:
            if not create:
                raise CatalogSchemaError(
                    f"{self.display_url} has no zarrlake catalog",
                    subject=self.display_url,
                    hint="run `zarrlake catalog init` first",
                )
            self.init()
        elif version != s.SCHEMA_VERSION:
            raise CatalogSchemaError(
                f"{self.display_url} has catalog schema version {version}; this zarrlake "
                f"uses version {s.SCHEMA_VERSION}",
                subject=self.display_url,
                hint="run `zarrlake catalog upgrade`"
                if version < s.SCHEMA_VERSION
                else "upgrade zarrlake",
            )

    @property
    def display_url(self) -> str:
        """The URL with any password hidden."""
        return str(self.engine.url.render_as_string(hide_password=True))

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return str(self.engine.dialect.name)

    def close(self) -> None:
        """Release the engine's connections."""
        self.engine.dispose()

    def __enter__(self) -> Catalog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- schema -----------------------------------------------------------------------

    def schema_version(self) -> int | None:
        """Return the database's schema version, or ``None`` when it has no catalog.

        Raises
        ------
        StorageError
            When the database cannot be reached (one line naming the URL and why).
        """
        try:
            connection = self.engine.connect()
        except (OperationalError, InterfaceError) as exc:
            reason = str(exc.orig or exc).strip().splitlines()
            raise StorageError(
                f"cannot connect to catalog {self.display_url}: "
                f"{reason[0] if reason else type(exc).__name__}",
                subject=self.display_url,
                hint="check the URL's host, port, user and database, and that the server runs",
            ) from None
        with connection:
            if not inspect(connection).has_table("catalog_info"):
                return None
            value = connection.execute(
                select(s.catalog_info.c.value).where(s.catalog_info.c.key == "schema_version")
            ).scalar()
        return int(value) if value is not None else None

    def init(self) -> None:
        """Create the tables, indexes and promoted-key indexes (idempotent)."""
        with write_transaction(self.engine) as connection:
            s.metadata.create_all(connection)
            if connection.execute(select(s.catalog_info.c.key)).first() is None:
                connection.execute(
                    insert(s.catalog_info),
                    [
                        {"key": "schema_version", "value": str(s.SCHEMA_VERSION)},
                        {"key": "created_at", "value": utcnow().isoformat()},
                    ],
                )
            self._create_promoted_indexes(connection)
            create_text_index(connection)

    def upgrade(self) -> list[str]:
        """Bring the schema to this zarrlake's version; return the steps applied.

        Returns
        -------
        list of str
            Descriptions of what changed (empty when already current).
        """
        steps: list[str] = []
        with write_transaction(self.engine) as connection:
            steps.extend(drop_outdated_summaries(connection))
            s.metadata.create_all(connection)  # tables added since
            steps.extend(upgrade_columns(connection))
            created = self._create_promoted_indexes(connection)
            steps.extend(f"created index {name}" for name in created)
            steps.extend(create_text_index(connection))
            rebuild_summaries(connection)
            steps.append("rebuilt mission summaries")
            connection.execute(
                update(s.catalog_info)
                .where(s.catalog_info.c.key == "schema_version")
                .values(value=str(s.SCHEMA_VERSION))
            )
        return steps

    def _create_promoted_indexes(self, connection: Any) -> list[str]:
        existing = index_names(connection, "observations")
        created = []
        for key, kind in self.promoted_keys.items():
            if kind not in ("string", "number"):
                raise InvalidInputError(
                    f"promoted key {key!r} has kind {kind!r}",
                    subject=key,
                    hint="use string or number",
                )
            index = s.promoted_key_index(key, kind)
            s.observations.indexes.discard(index)  # keep it out of the shared metadata
            if index.name not in existing:
                index.create(connection)
                created.append(str(index.name))
        return created

    # -- observations -----------------------------------------------------------------

    def upsert_observations(
        self,
        records: Iterable[Mapping[str, Any]],
        *,
        actor: str | None = None,
        isolate: bool = False,
    ) -> UpsertResult:
        """Insert or update observations by ``file_path`` in one transaction.

        Parameters
        ----------
        records
            Observation records (see :func:`~zarrlake.catalog._values.normalize_observation`).
            A record for a known path replaces the fields it gives; ``first_seen`` and
            the id are kept. A missing flag is cleared unless the record sets it.
        actor
            Who made the change (recorded with status changes).
        isolate
            Store every record that can be stored: one that cannot (an invalid value,
            or one the database refuses) is left out and listed in the result's
            ``failures``. Without it, one such record fails the call.

        Returns
        -------
        UpsertResult
            Ids in input order, counts, and the records left out.

        Raises
        ------
        InvalidInputError
            For an invalid record, naming it (nothing is written), unless ``isolate``.
        """
        with collector_paused():
            return self._upsert(records, actor, isolate)

    def _upsert(
        self, records: Iterable[Mapping[str, Any]], actor: str | None, isolate: bool
    ) -> UpsertResult:
        given = list(records)
        result = UpsertResult()
        rows: list[tuple[int, dict[str, Any]]] = []
        for index, record in enumerate(given):
            try:
                rows.append((index, normalize_observation(record)))
            except InvalidInputError as exc:
                if not isolate:
                    raise
                result.failures.append(UpsertFailure(index, path_of(record), str(exc)))
        if not rows:
            return result
        now = utcnow()
        with write_transaction(self.engine) as connection:
            for batch in batches(rows, 10 * LOOKUP_BATCH):
                write_batch(
                    connection,
                    batch,
                    given,
                    now,
                    actor,
                    result,
                    isolate=isolate,
                    summaries=not self._bulk_loading,
                )
        result.failures.sort(key=lambda failure: failure.index)
        return result

    @contextmanager
    def bulk_loading(self) -> Iterator[Catalog]:
        """Load many records fast: indexes and summaries are rebuilt once at the end.

        Inside the block the search indexes and the free text index are dropped (the
        unique path index, which upserts need, stays) and this catalog's upserts skip
        the per-batch summary update; at the end the indexes are built, every mission
        summary is recomputed in one scan and the planner statistics are refreshed.
        Building an index once over a million rows is several times faster than
        updating it row by row.
        Meanwhile searches stay correct, only slower, and summaries lag behind.

        Yields
        ------
        Catalog
            This catalog.
        """
        indexes = sorted(s.observations.indexes, key=lambda ix: str(ix.name))
        with write_transaction(self.engine) as connection:
            existing = index_names(connection, "observations")
            for index in indexes:
                if index.name in existing:
                    index.drop(connection)
            drop_text_index(connection)
        outer, self._bulk_loading = self._bulk_loading, True
        try:
            yield self
        finally:
            self._bulk_loading = outer
            with write_transaction(self.engine) as connection:
                if self.dialect == "sqlite":  # sorts (GROUP BY, index keys) in helper threads
                    connection.exec_driver_sql(f"PRAGMA threads = {min(4, os.cpu_count() or 1)}")
                # Before the indexes: one pass in table order beats a walk by index.
                rebuild_summaries(connection)
                existing = index_names(connection, "observations")
                for index in indexes:
                    if index.name not in existing:
                        index.create(connection)
                create_text_index(connection)
            self.analyze()

    def analyze(self) -> None:
        """Refresh the query planner's statistics (after large loads)."""
        with self.engine.connect() as connection:
            if self.dialect == "sqlite":
                connection.exec_driver_sql("PRAGMA optimize")
            else:
                connection.exec_driver_sql("ANALYZE observations, dataset_relationships")
            connection.commit()

    def get(self, key: int | str) -> dict[str, Any]:
        """Return one observation by id or by file path.

        Raises
        ------
        NotFoundError
            When no record has that id or path.
        """
        table = s.observations
        if is_id(key):
            condition = table.c.id == int(key)
        else:  # a relative local path means the file it names here
            condition = table.c.file_path.in_({str(key), absolute_path(str(key))})
        with read_connection(self.engine) as connection:
            row = connection.execute(select(table).where(condition)).first()
        if row is None:
            raise NotFoundError(
                f"no dataset {key!r} in catalog {self.display_url}",
                subject=str(key),
                hint="search with `zarrlake catalog search` to find ids",
            )
        return dict(row._mapping)

    def get_many(self, ids: Iterable[int]) -> dict[int, dict[str, Any]]:
        """Return observations by id (unknown ids are left out)."""
        wanted = sorted({int(i) for i in ids})
        out: dict[int, dict[str, Any]] = {}
        with read_connection(self.engine) as connection:
            for part in batches(wanted):
                query = select(s.observations).where(s.observations.c.id.in_(part))
                for row in connection.execute(query):
                    out[row.id] = dict(row._mapping)
        return out

    def set_status(
        self,
        key: int | str,
        status: str,
        *,
        reason: str | None = None,
        actor: str | None = None,
    ) -> dict[str, Any]:
        """Change a dataset's processing status and record the change in its audit trail.

        Returns
        -------
        dict
            The status event written.

        Raises
        ------
        InvalidInputError
            For a status that is not one of the schema's.
        NotFoundError
            For an unknown dataset.
        """
        status = str(status).lower()
        if status not in s.PROCESSING_STATUSES:
            raise InvalidInputError(
                f"status {status!r} is not one of {', '.join(s.PROCESSING_STATUSES)}",
                subject="status",
            )
        record = self.get(key)
        now = utcnow()
        with write_transaction(self.engine) as connection:
            before = current_rows(connection, [record["id"]])
            old = before[0]["processing_status"] if before else record["processing_status"]
            event = status_event(record["id"], old, status, reason, actor, now)
            connection.execute(
                update(s.observations)
                .where(s.observations.c.id == record["id"])
                .values(processing_status=status, last_updated=now)
            )
            connection.execute(insert(s.status_events), [event])
            apply_summary_changes(
                connection, before, [{**r, "processing_status": status} for r in before]
            )
        return event

    def status_history(self, key: int | str) -> list[dict[str, Any]]:
        """Return a dataset's status events, oldest first."""
        record = self.get(key)
        table = s.status_events
        query = (
            select(table).where(table.c.dataset_id == record["id"]).order_by(table.c.at, table.c.id)
        )
        with read_connection(self.engine) as connection:
            return [dict(r._mapping) for r in connection.execute(query)]

    def known_sources(
        self, prefix: str = "", *, paths: Sequence[str] | None = None
    ) -> dict[str, KnownSource]:
        """Return what the catalog knows about every source file under ``prefix``.

        Parameters
        ----------
        prefix
            A path or URL prefix (``""`` for all).
        paths
            Only these source paths (instead of a prefix).

        Returns
        -------
        dict
            Source path to :class:`KnownSource`.
        """
        table = s.observations
        query = select(
            table.c.id,
            table.c.file_path,
            table.c.source_path,
            table.c.source_size,
            table.c.source_mtime_ns,
            table.c.missing,
            table.c.extraction_error,
            table.c.issues,
        )
        if prefix:
            # A range on the source index instead of LIKE (which SQLite won't index).
            query = query.where(
                and_(table.c.source_path >= prefix, table.c.source_path < prefix + "\U0010ffff")
            )
        queries = [query]
        if paths is not None:
            wanted = list(paths)
            queries = [query.where(table.c.source_path.in_(part)) for part in batches(wanted)]
        sources: dict[str, KnownSource] = {}
        with read_connection(self.engine) as connection:
            for row in (r for q in queries for r in connection.execute(q)):
                source = row.source_path or row.file_path
                known = sources.setdefault(
                    source, KnownSource(row.source_size, row.source_mtime_ns)
                )
                known.ids.append(row.id)
                known.paths.append(row.file_path)
                known.missing = known.missing or bool(row.missing)
                known.error = known.error or row.extraction_error
                known.incomplete = known.incomplete or bool(row.issues)
        return sources

    def mark_missing(self, paths: Iterable[str], *, missing: bool = True) -> int:
        """Flag records whose files vanished (or came back); return how many changed."""
        paths = list(paths)
        if not paths:
            return 0
        now = utcnow()
        changed = 0
        with write_transaction(self.engine) as connection:
            old = lookup_paths(connection, paths, SUMMARY_COLUMNS)
            targets = [r for r in old.values() if bool(r["missing"]) != missing]
            for part in batches([r["id"] for r in targets]):
                connection.execute(
                    update(s.observations)
                    .where(s.observations.c.id.in_(part))
                    .values(missing=missing, last_updated=now, last_verified=now)
                )
            apply_summary_changes(connection, targets, [{**r, "missing": missing} for r in targets])
            changed = len(targets)
        return changed

    def touch_verified(self, paths: Iterable[str]) -> None:
        """Record that files were checked and found unchanged."""
        paths = list(paths)
        now = utcnow()
        with write_transaction(self.engine) as connection:
            for part in batches(paths):
                connection.execute(
                    update(s.observations)
                    .where(s.observations.c.file_path.in_(part))
                    .values(last_verified=now)
                )

    def rename(self, old_path: str, new_path: str, *, source_path: str | None = None) -> int | None:
        """Move a record (and so its id, status history and lineage) to a new path.

        Returns
        -------
        int or None
            The record id, or ``None`` when ``old_path`` is unknown. A record already at
            ``new_path`` is replaced by the moved one.
        """
        now = utcnow()
        with write_transaction(self.engine) as connection:
            found = lookup_paths(connection, [old_path, new_path], SUMMARY_COLUMNS)
            if old_path not in found:
                return None
            if new_path in found:
                stale = found[new_path]
                apply_summary_changes(connection, [stale], [])
                connection.execute(delete(s.observations).where(s.observations.c.id == stale["id"]))
            record_id = int(found[old_path]["id"])
            connection.execute(
                update(s.observations)
                .where(s.observations.c.id == record_id)
                .values(
                    file_path=new_path,
                    last_updated=now,
                    **({"source_path": source_path} if source_path is not None else {}),
                )
            )
        return record_id

    def delete(self, key: int | str) -> None:
        """Remove a record with its relationships and status events."""
        record = self.get(key)
        with write_transaction(self.engine) as connection:
            apply_summary_changes(connection, current_rows(connection, [record["id"]]), [])
            for table, col in (
                (s.dataset_relationships, "parent_dataset_id"),
                (s.dataset_relationships, "child_dataset_id"),
                (s.status_events, "dataset_id"),
            ):
                connection.execute(delete(table).where(table.c[col] == record["id"]))
            connection.execute(delete(s.observations).where(s.observations.c.id == record["id"]))

    # -- relationships, summaries, runs --------------------------------------------------

    def summary(self, mission_id: str | None = None) -> list[dict[str, Any]]:
        """Return per-mission summaries (count, bytes, mean quality, calibrated, coverage).

        Spellings of one mission id that differ only in case (``COSMOS-7``,
        ``cosmos-7``) are one mission, named by its most used spelling; ``mission_id``
        matches in any case.
        """
        table = s.mission_summaries
        query = select(table).where(table.c.observation_count > 0)
        if mission_id is not None:
            query = query.where(func.lower(table.c.mission_id) == func.lower(literal(mission_id)))
        with read_connection(self.engine) as connection:
            rows = [dict(r._mapping) for r in connection.execute(query)]
        return [summary_row(row) for row in merge_spellings(rows)]

    def max_span_seconds(self, mission_id: str | None = None, connection: Any = None) -> float:
        """Return the longest observation span (seconds) of a mission, or of all."""
        table = s.mission_summaries
        query = select(func.max(table.c.max_span_seconds))
        if mission_id is not None:  # every spelling of the mission
            query = query.where(func.lower(table.c.mission_id) == func.lower(literal(mission_id)))
        if connection is not None:
            return float(connection.execute(query).scalar() or 0.0)
        with read_connection(self.engine) as own:
            return float(own.execute(query).scalar() or 0.0)

    def record_run(self, run: Mapping[str, Any]) -> int:
        """Store what an ingest/watch/validate run saw and did; return its id."""
        values = dict(run)
        values["details"] = json.loads(json.dumps(values.get("details") or {}, default=str))
        with write_transaction(self.engine) as connection:
            inserted = connection.execute(
                insert(s.ingest_runs).values(**values).returning(s.ingest_runs.c.id)
            )
            return int(inserted.scalar_one())

    def runs(self, limit: int = 20) -> list[dict[str, Any]]:
        """Return the latest ingest/watch/validate runs, newest first."""
        table = s.ingest_runs
        query = select(table).order_by(table.c.id.desc()).limit(limit)
        with read_connection(self.engine) as connection:
            return [dict(r._mapping) for r in connection.execute(query)]


__all__ = ["Catalog", "KnownSource", "UpsertResult"]
