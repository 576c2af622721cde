"""The write path of upserts: path lookups, inserts and updates in bulk.

Bulk loads push hundreds of thousands of rows through here, so on SQLite the rows go
to the driver directly (``executemany`` with values already in SQLAlchemy's storage
format) instead of through SQLAlchemy's per-row parameter processing, which costs
several times the insert itself. PostgreSQL uses SQLAlchemy's batched
``INSERT ... RETURNING``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from operator import itemgetter
from typing import Any, TypeVar

from sqlalchemy import Boolean, DateTime, insert, select, update
from sqlalchemy.exc import StatementError

from zarrlake.catalog import schema as s
from zarrlake.catalog._summary import SUMMARY_COLUMNS, apply_summary_changes
from zarrlake.catalog._values import dump_json, normalize_observation
from zarrlake.errors import InvalidInputError

LOOKUP_BATCH = 500
"""Paths per ``IN (...)`` lookup: far below every database's parameter limit."""

_T = TypeVar("_T")


def batches(items: Sequence[_T], size: int = LOOKUP_BATCH) -> Iterator[Sequence[_T]]:
    """Yield ``items`` in consecutive slices of at most ``size`` (``IN (...)`` lists)."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


# Known rows are read whole: an upsert that changes nothing writes nothing (validate
# and re-extraction must not bump last_updated or count a record as updated).
_COMPARED = tuple(c.name for c in s.observations.columns if c.name not in ("id", "file_path"))
_NOT_COMPARED = frozenset({"last_updated", "first_seen", "last_verified"})
_TYPES = {c.name: c.type for c in s.observations.columns}


@dataclass(frozen=True)
class UpsertFailure:
    """A record an isolated upsert could not store (the others were stored).

    Attributes
    ----------
    index
        Its position in the input.
    file_path
        Its path (as given).
    error
        Why: the check or the database error that refused it.
    """

    index: int
    file_path: str
    error: str


@dataclass
class UpsertResult:
    """What a batch upsert did.

    Attributes
    ----------
    ids
        Record id per stored input record, in input order (every record unless some
        failed in an isolated upsert).
    new
        Records inserted.
    updated
        Existing records (same ``file_path``) changed.
    unchanged
        Existing records the upsert would not change (nothing written for them).
    failures
        The records an isolated upsert could not store.
    """

    ids: list[int] = field(default_factory=list)
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    failures: list[UpsertFailure] = field(default_factory=list)


def _sqlite_time(value: datetime | None) -> str | None:
    # SQLAlchemy's SQLite DATETIME storage format: comparisons are on these strings.
    return None if value is None else value.isoformat(" ", "microseconds")


def _sqlite_bool(value: Any) -> int | None:
    return None if value is None else int(bool(value))


_JSON_COLUMNS = ("mission_specific", "issues")


def _is_json(name: str) -> bool:
    return name in _JSON_COLUMNS


def _converter(name: str) -> Any:
    kind = _TYPES[name]
    if isinstance(kind, DateTime):
        return _sqlite_time
    if _is_json(name):
        return dump_json
    if isinstance(kind, Boolean):
        return _sqlite_bool
    return None


_TO_SQLITE = {name: _converter(name) for name in _TYPES}


def _from_sqlite(name: str, value: Any) -> Any:
    if value is None:
        return None
    kind = _TYPES[name]
    if isinstance(kind, DateTime):
        return datetime.fromisoformat(value)
    if _is_json(name):
        return json.loads(value)
    if isinstance(kind, Boolean):
        return bool(value)
    return value


def _sqlite_values(names: list[str], rows: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """Return the rows as parameter tuples in SQLite storage format.

    The rows' values are converted in place (they are this module's own copies): bulk
    loads spend most of their Python time here, and a C-level ``itemgetter`` over
    complete rows is several times cheaper than a ``dict.get`` per value.
    """
    for row in rows:
        if len(row) != len(names):  # a key a row lacks is NULL
            for name in names:
                row.setdefault(name, None)
    for name in names:
        convert = _TO_SQLITE[name]
        if convert is _sqlite_time:
            texts: dict[int, str] = {}  # first_seen/last_updated: one shared object per batch
            for row in rows:
                value = row[name]
                if value is not None:
                    text = texts.get(id(value))
                    if text is None:
                        text = texts[id(value)] = value.isoformat(" ", "microseconds")
                    row[name] = text
        elif convert is not None:
            row = {}
            try:
                for row in rows:
                    if row[name] is not None:
                        row[name] = convert(row[name])
            except InvalidInputError as exc:
                raise _naming(exc, row, name) from exc
    if len(names) == 1:
        return [(row[names[0]],) for row in rows]
    return list(map(itemgetter(*names), rows))


def _naming(
    error: InvalidInputError, row: Mapping[str, Any], field: str | None = None
) -> InvalidInputError:
    """Return ``error`` (a value that cannot be stored) naming the record and field."""
    if field is None:  # COPY and UPDATE encode all JSON columns at once: find the culprit
        field = next((n for n in _JSON_COLUMNS if not _encodes(row.get(n))), "a JSON field")
    return InvalidInputError(
        f"{field} of {row.get('file_path')}: {error.message}", subject=field, hint=error.hint
    )


def _encodes(value: Any) -> bool:
    try:
        dump_json(value)
    except InvalidInputError:
        return False
    return True


def lookup_paths(
    connection: Any, paths: Sequence[str], columns: Sequence[str]
) -> dict[str, dict[str, Any]]:
    """Return ``{file_path: {id, file_path, *columns}}`` for the known paths among ``paths``."""
    names = ["id", "file_path", *columns]
    found: dict[str, dict[str, Any]] = {}
    table = s.observations
    for part in batches(list(paths)):
        if connection.dialect.name == "sqlite":
            marks = ", ".join("?" * len(part))
            sql = f"SELECT {', '.join(names)} FROM observations WHERE file_path IN ({marks})"
            for row in connection.exec_driver_sql(sql, tuple(part)):
                record = {n: _from_sqlite(n, v) for n, v in zip(names, row, strict=True)}
                found[record["file_path"]] = record
        else:
            query = select(*(table.c[n] for n in names)).where(table.c.file_path.in_(part))
            with _index_probes(connection):
                for row in connection.execute(query):
                    found[row.file_path] = dict(row._mapping)
    return found


@contextmanager
def _index_probes(connection: Any) -> Iterator[None]:
    """Make PostgreSQL look paths up through the index inside the block.

    Before autovacuum has analysed a table that grew fast, the planner takes it for tiny
    and scans it per lookup; a path lookup is always an index probe.
    """
    postgres = connection.dialect.name == "postgresql"
    if postgres:
        connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
    yield
    if postgres:
        connection.exec_driver_sql("SET LOCAL enable_seqscan = on")


def insert_rows(
    connection: Any, rows: list[dict[str, Any]]
) -> tuple[list[int], tuple[int, int] | None]:
    """Insert new observation rows (a key a row lacks is NULL).

    Returns
    -------
    tuple
        The ids in input order, and ``(first, last)`` when they are consecutive (SQLite).
    """
    names = sorted(set().union(*(row.keys() for row in rows)))
    if connection.dialect.name == "postgresql":
        return _copy_rows(connection, names, rows), None
    if connection.dialect.name != "sqlite":
        statement = insert(s.observations).returning(
            s.observations.c.id, sort_by_parameter_order=True
        )
        uniform = [{n: row.get(n) for n in names} for row in rows]  # executemany needs this
        return [int(i) for i in connection.execute(statement, uniform).scalars()], None
    before = connection.exec_driver_sql("SELECT max(id) FROM observations").scalar() or 0
    sql = f"INSERT INTO observations ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})"
    connection.exec_driver_sql(sql, _sqlite_values(names, rows))
    after = connection.exec_driver_sql("SELECT max(id) FROM observations").scalar() or 0
    if after - before == len(rows):
        # One writer inside BEGIN IMMEDIATE: SQLite gave the rows max(id)+1, +2, ...
        return list(range(before + 1, after + 1)), (before + 1, after)
    found = lookup_paths(connection, [r["file_path"] for r in rows], ())
    return [int(found[r["file_path"]]["id"]) for r in rows], None


def _copy_rows(connection: Any, names: list[str], rows: list[dict[str, Any]]) -> list[int]:
    # COPY is ~20x faster than a multi-row INSERT ... RETURNING through SQLAlchemy here;
    # it runs on the same connection, inside the same transaction.
    from psycopg.types.json import Jsonb

    wrap = [_is_json(n) for n in names]
    driver = connection.connection.driver_connection
    with driver.cursor() as cursor:
        with cursor.copy(f"COPY observations ({', '.join(names)}) FROM STDIN") as copy:
            row: dict[str, Any] = {}
            try:
                for row in rows:
                    copy.write_row(
                        [
                            Jsonb(row.get(n), dumps=dump_json)
                            if j and row.get(n) is not None
                            else row.get(n)
                            for n, j in zip(names, wrap, strict=True)
                        ]
                    )
            except InvalidInputError as exc:
                raise _naming(exc, row) from exc
        with _index_probes(connection):
            cursor.execute(
                "SELECT file_path, id FROM observations WHERE file_path = ANY(%s)",
                ([r["file_path"] for r in rows],),
            )
            ids = dict(cursor.fetchall())
    return [int(ids[r["file_path"]]) for r in rows]


def refusal(error: BaseException, row: Mapping[str, Any]) -> InvalidInputError | None:
    """Return the error as one naming the record when it is the record's fault, else ``None``.

    The record's fault: a value zarrlake cannot encode, or one the database refuses
    (SQLSTATE classes 22 *data exception* and 23 *integrity constraint violation*, an
    integer beyond 64 bits). Anything else (a lost connection, a lock) is not.
    """
    path = row.get("file_path")
    if isinstance(error, StatementError) and isinstance(error.orig, InvalidInputError):
        error = error.orig
    if isinstance(error, InvalidInputError):
        return error if str(path) in error.message else _naming(error, row)
    if isinstance(error, StatementError):
        error = error.orig if error.orig is not None else error
    state = str(getattr(error, "sqlstate", "") or "")
    sqlite_refused = type(error).__module__ == "sqlite3" and type(error).__name__ in (
        "IntegrityError",
        "DataError",
    )
    if isinstance(error, OverflowError) or state[:2] in ("22", "23") or sqlite_refused:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        return InvalidInputError(
            f"the catalog database refused the record of {path}: {reason}",
            subject=str(path),
            hint="check the record's values (numbers within 64 bits, text without NUL)",
        )
    return None


def status_event(
    dataset_id: int, old: str | None, new: str, reason: str | None, actor: str | None, at: datetime
) -> dict[str, Any]:
    """Return a ``status_events`` row: a dataset's status went from ``old`` to ``new``."""
    return {
        "dataset_id": dataset_id,
        "old_status": old,
        "new_status": new,
        "reason": reason,
        "actor": actor,
        "at": at,
    }


def upsert_batch(
    connection: Any,
    rows: list[dict[str, Any]],
    now: datetime,
    actor: str | None,
    result: UpsertResult,
    *,
    summaries: bool = True,
) -> None:
    """Insert or update one batch of normalised rows by ``file_path`` (see ``Catalog``).

    ``summaries=False`` leaves the mission summaries to a later rebuild (bulk loads).
    """
    by_path: dict[str, dict[str, Any]] = {}
    for row in rows:
        by_path[row["file_path"]] = row  # the last record for a path wins
    old = lookup_paths(connection, list(by_path), _COMPARED)
    fresh = [r for p, r in by_path.items() if p not in old]
    known = [r for p, r in by_path.items() if p in old]
    ids = {p: int(r["id"]) for p, r in old.items()}
    inserted: tuple[int, int] | None = None
    events: list[dict[str, Any]] = []
    # A record created with a status has it from its first event on (register --set).
    created = [
        (r["file_path"], r["processing_status"]) for r in fresh if r.get("processing_status")
    ]
    if fresh:
        for row in fresh:
            row.setdefault("mission_id", "unknown")
            row.setdefault("processing_status", "raw")
            row.setdefault("first_seen", now)
            row["last_updated"] = now
            row.setdefault("missing", False)
        new_ids, inserted = insert_rows(connection, fresh)
        for row, new_id in zip(fresh, new_ids, strict=True):
            ids[row["file_path"]] = new_id
        events.extend(
            status_event(ids[path], None, status, "record created", actor, now)
            for path, status in created
        )
    changed: list[dict[str, Any]] = []
    for row in known:
        before = old[row["file_path"]]
        row.setdefault("missing", False)
        row.pop("first_seen", None)
        if all(before.get(k) == v for k, v in row.items() if k not in _NOT_COMPARED):
            continue  # nothing to write
        changed.append(row)
        row["last_updated"] = now
        try:
            connection.execute(
                update(s.observations).where(s.observations.c.id == before["id"]).values(**row)
            )
        except StatementError as exc:  # SQLAlchemy wraps what its JSON serializer raised
            if isinstance(exc.orig, InvalidInputError):
                raise _naming(exc.orig, row) from exc
            raise
        status = row.get("processing_status", before["processing_status"])
        if status != before["processing_status"]:
            events.append(
                status_event(
                    before["id"], before["processing_status"], status, "record updated", actor, now
                )
            )
    if events:
        connection.execute(insert(s.status_events), events)
    if summaries:
        before_rows = [old[r["file_path"]] for r in changed]
        merged = [{**old[r["file_path"]], **r} for r in changed]
        if inserted is not None:
            apply_summary_changes(connection, before_rows, merged, inserted)
        elif fresh and connection.dialect.name == "sqlite":
            # The rows hold SQLite storage values now; read them back typed.
            typed = lookup_paths(connection, [r["file_path"] for r in fresh], SUMMARY_COLUMNS)
            apply_summary_changes(connection, before_rows, [*typed.values(), *merged])
        else:
            apply_summary_changes(connection, before_rows, [*fresh, *merged])
    result.ids.extend(ids[row["file_path"]] for row in rows)
    result.new += len(fresh)
    result.updated += len(changed)
    result.unchanged += len(known) - len(changed)


def write_batch(
    connection: Any,
    batch: Sequence[tuple[int, dict[str, Any]]],
    given: Sequence[Mapping[str, Any]],
    now: datetime,
    actor: str | None,
    result: UpsertResult,
    *,
    isolate: bool,
    summaries: bool = True,
) -> None:
    """Upsert a batch of ``(input index, normalised row)``; isolate the records refused.

    Fast path: the whole batch at once, in a savepoint (PostgreSQL aborts the whole
    transaction on an error otherwise). When the database refuses a record, the batch is
    written again one record at a time, each in its own savepoint, from fresh copies of
    ``given`` (the first try converted its rows in place): refused records are listed in
    ``result.failures`` when ``isolate``, else the first one raises.
    """
    try:
        with connection.begin_nested():
            rows = [row for _, row in batch]
            upsert_batch(connection, rows, now, actor, result, summaries=summaries)
        return
    except Exception as exc:
        if refusal(exc, {"file_path": "a record"}) is None:
            raise
    for index, _ in batch:
        row = normalize_observation(given[index])
        try:
            with connection.begin_nested():
                upsert_batch(connection, [row], now, actor, result, summaries=summaries)
        except Exception as exc:
            error = refusal(exc, row)
            if error is None:
                raise
            if not isolate:
                raise error from exc
            result.failures.append(UpsertFailure(index, str(row["file_path"]), str(error)))


def path_of(record: Any) -> str:
    """Return a record's ``file_path`` for messages (whatever the record holds)."""
    path = record.get("file_path") if isinstance(record, Mapping) else None
    return str(path) if path else "(no file_path)"
