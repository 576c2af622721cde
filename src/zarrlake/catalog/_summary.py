"""Per-mission summaries kept up to date on every write instead of scanned on demand.

Each observation contributes to its mission's row (count, bytes, quality sum and count,
calibrated count, first start, last end, longest span) unless it is marked missing.
A write subtracts the old rows' contributions and adds the new ones in the same
transaction, so summaries are exact and cost O(missions touched) to read. Counts and
sums move by deltas; time bounds only widen on insert and are recomputed from the
(mission, time) indexes when a row that held a bound changes or leaves.

The same calls keep the dashboard's chart cells (``_cells``) in step: every write path
that moves a summary moves the cells with the same old and new rows.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, case, func, select, update

from zarrlake.catalog._cells import CELL_COLUMNS, apply_cell_changes, rebuild_cells
from zarrlake.catalog._values import CALIBRATED_VALUES, is_calibrated
from zarrlake.catalog.schema import mission_summaries, observations

SUMMARY_COLUMNS = tuple(
    dict.fromkeys(
        (
            "mission_id",
            "file_size",
            "data_quality_score",
            "calibration_status",
            "observation_timestamp",
            "observation_end",
            "missing",
            *CELL_COLUMNS,
        )
    )
)
"""The observation columns a summary (or a chart cell) depends on."""


@dataclass
class _Delta:
    count: int = 0
    total_bytes: int = 0
    quality_sum: float = 0.0
    quality_count: int = 0
    calibrated: int = 0
    starts: list[datetime] = field(default_factory=list)
    ends: list[datetime] = field(default_factory=list)
    max_span: float = 0.0
    removed_first: datetime | None = None
    removed_last: datetime | None = None


def _add(delta: _Delta, row: Mapping[str, Any], sign: int) -> None:
    start = row.get("observation_timestamp")
    end = row.get("observation_end") or start
    if sign > 0 and start is not None and end is not None:
        delta.max_span = max(delta.max_span, (end - start).total_seconds())
    if row.get("missing"):
        return
    delta.count += sign
    delta.total_bytes += sign * int(row.get("file_size") or 0)
    quality = row.get("data_quality_score")
    if quality is not None:
        delta.quality_sum += sign * float(quality)
        delta.quality_count += sign
    if is_calibrated(row.get("calibration_status")):
        delta.calibrated += sign
    if sign > 0:
        if start is not None:
            delta.starts.append(start)
        if end is not None:
            delta.ends.append(end)
    elif start is not None:
        first = delta.removed_first
        delta.removed_first = start if first is None else min(first, start)
        stop: datetime = end if end is not None else start
        last = delta.removed_last
        delta.removed_last = stop if last is None else max(last, stop)


def apply_summary_changes(
    connection: Any,
    old_rows: Iterable[Mapping[str, Any]],
    new_rows: Iterable[Mapping[str, Any]],
    inserted_ids: tuple[int, int] | None = None,
) -> None:
    """Move mission summaries and chart cells from ``old_rows`` to ``new_rows``.

    Parameters
    ----------
    connection
        A connection inside the write transaction that changed the observations.
    old_rows
        The rows as they were before the write (summary columns only are read).
    new_rows
        The rows as written.
    inserted_ids
        ``(first, last)``: also add the rows inserted with these consecutive ids (SQLite
        bulk inserts), aggregated by the database instead of row by row in Python.
    """
    old_rows, new_rows = list(old_rows), list(new_rows)
    apply_cell_changes(connection, old_rows, new_rows, inserted_ids)
    deltas: dict[str, _Delta] = defaultdict(_Delta)
    for row in old_rows:
        _add(deltas[str(row.get("mission_id"))], row, -1)
    for row in new_rows:
        _add(deltas[str(row.get("mission_id"))], row, +1)
    if inserted_ids is not None:
        _add_inserted(connection, deltas, *inserted_ids)
    if not deltas:
        return
    _ensure_rows(connection, list(deltas))
    bounds = _bounds(connection, [m for m, d in deltas.items() if d.removed_first is not None])
    for mission, delta in sorted(deltas.items()):
        values: dict[str, Any] = {
            "d_mission": mission,
            "d_count": delta.count,
            "d_bytes": delta.total_bytes,
            "d_quality_sum": delta.quality_sum,
            "d_quality_count": delta.quality_count,
            "d_calibrated": delta.calibrated,
        }
        if delta.starts:
            values["d_first"] = min(delta.starts)
        if delta.ends:
            values["d_last"] = max(delta.ends)
        if delta.max_span:
            values["d_span"] = delta.max_span
        shape = (bool(delta.starts), bool(delta.ends), bool(delta.max_span))
        connection.execute(_summary_update(*shape), values)
        if mission in bounds and _held_a_bound(delta, *bounds[mission]):
            _recompute_bounds(connection, mission)


@functools.cache
def _summary_update(starts: bool, ends: bool, span: bool) -> Any:
    """Return the UPDATE that moves one mission's summary by bound deltas (built once).

    Parameters (``d_`` and): ``mission``, ``count``, ``bytes``, ``quality_sum``,
    ``quality_count``, ``calibrated``; with ``starts`` the delta's first start ``first``
    (the time range widens to it), with ``ends`` its last end ``last``, with ``span`` its
    longest ``span``. The ``d_`` keeps them apart from the column names, which
    SQLAlchemy keeps for SET values. Eight shapes, each built once (building one took
    ~1.5 ms a write).
    """
    c = mission_summaries.c

    def bound(name: str, column: Any) -> Any:
        return bindparam(name, type_=column.type)

    values: dict[str, Any] = {
        "observation_count": c.observation_count + bound("d_count", c.observation_count),
        "total_bytes": c.total_bytes + bound("d_bytes", c.total_bytes),
        "quality_sum": c.quality_sum + bound("d_quality_sum", c.quality_sum),
        "quality_count": c.quality_count + bound("d_quality_count", c.quality_count),
        "calibrated_count": c.calibrated_count + bound("d_calibrated", c.calibrated_count),
    }
    if starts:
        first = bound("d_first", c.time_min)
        values["time_min"] = case(
            (c.time_min.is_(None), first), (c.time_min > first, first), else_=c.time_min
        )
    if ends:
        last = bound("d_last", c.time_max)
        values["time_max"] = case(
            (c.time_max.is_(None), last), (c.time_max < last, last), else_=c.time_max
        )
    if span:
        longest = bound("d_span", c.max_span_seconds)
        values["max_span_seconds"] = case(
            (c.max_span_seconds < longest, longest), else_=c.max_span_seconds
        )
    mission = bound("d_mission", c.mission_id)
    return update(mission_summaries).where(c.mission_id == mission).values(**values)


_OBSERVATION_END = func.coalesce(
    observations.c.observation_end, observations.c.observation_timestamp
)


def _span_seconds(dialect: str) -> Any:
    """Return an SQL expression for a row's span in seconds (NULL without an end)."""
    obs = observations.c
    if dialect == "postgresql":
        return func.extract("epoch", obs.observation_end - obs.observation_timestamp)
    return (func.julianday(obs.observation_end) - func.julianday(obs.observation_timestamp)) * (
        86400.0
    )


def _aggregates(dialect: str) -> Any:
    """Return the per-mission SELECT every summary is made of, in one scan.

    Columns: mission, count, bytes, quality sum, quality count, calibrated count, first
    start, last end — over the rows not marked missing — and the longest span over all
    rows (searches that include missing rows bound their time range by it). Calibrated
    is compared as :func:`is_calibrated` does (trimmed, any case).
    """
    obs = observations.c
    present = obs.missing.is_(False)
    calibrated = func.upper(func.trim(func.coalesce(obs.calibration_status, ""))).in_(
        sorted(CALIBRATED_VALUES)
    )

    def kept(value: Any) -> Any:
        return case((present, value))  # NULL otherwise, which aggregates skip

    return select(
        obs.mission_id,
        func.count(kept(1)),
        func.coalesce(func.sum(kept(obs.file_size)), 0),
        func.coalesce(func.sum(kept(obs.data_quality_score)), 0.0),
        func.count(kept(obs.data_quality_score)),
        func.sum(case((and_(present, calibrated), 1), else_=0)),
        func.min(kept(obs.observation_timestamp)),
        func.max(kept(_OBSERVATION_END)),
        func.max(_span_seconds(dialect)),
    ).group_by(obs.mission_id)


@functools.cache
def _inserted_aggregates(dialect: str) -> Any:
    """Return :func:`_aggregates` of the rows with ids ``first_id..last_id`` (built once)."""
    inserted = observations.c.id.between(bindparam("first_id"), bindparam("last_id"))
    return _aggregates(dialect).where(inserted)


def _add_inserted(connection: Any, deltas: dict[str, _Delta], first: int, last: int) -> None:
    query = _inserted_aggregates(connection.dialect.name)
    ids = {"first_id": first, "last_id": last}
    for mission, n, size, qsum, qcount, cal, start, stop, longest in connection.execute(query, ids):
        delta = deltas[str(mission)]
        delta.count += n
        delta.total_bytes += int(size)
        delta.quality_sum += float(qsum)
        delta.quality_count += qcount
        delta.calibrated += int(cal or 0)
        if start is not None:
            delta.starts.append(start)
        if stop is not None:
            delta.ends.append(stop)
        delta.max_span = max(delta.max_span, float(longest or 0.0))


def _bounds(connection: Any, missions: list[str]) -> dict[str, tuple[Any, Any]]:
    if not missions:
        return {}
    table = mission_summaries
    rows = connection.execute(
        select(table.c.mission_id, table.c.time_min, table.c.time_max).where(
            table.c.mission_id.in_(missions)
        )
    )
    return {r.mission_id: (r.time_min, r.time_max) for r in rows}


def _held_a_bound(delta: _Delta, time_min: datetime | None, time_max: datetime | None) -> bool:
    # Only a removed row that sat on the first start or the last end moves a bound.
    first, last = delta.removed_first, delta.removed_last
    return (first is not None and (time_min is None or first <= time_min)) or (
        last is not None and (time_max is None or last >= time_max)
    )


def _ensure_rows(connection: Any, missions: list[str]) -> None:
    existing = set(connection.execute(_existing_rows(), {"missions": missions}).scalars())
    fresh = [m for m in missions if m not in existing]
    if not fresh:
        return
    rows = [
        {
            "mission_id": m,
            "observation_count": 0,
            "total_bytes": 0,
            "quality_sum": 0.0,
            "quality_count": 0,
            "calibrated_count": 0,
            "max_span_seconds": 0.0,
        }
        for m in fresh
    ]
    connection.execute(_new_rows(connection.dialect.name), rows)


@functools.cache
def _existing_rows() -> Any:
    """Return the SELECT of the missions among ``missions`` that have a row (built once)."""
    c = mission_summaries.c
    return select(c.mission_id).where(c.mission_id.in_(bindparam("missions", expanding=True)))


@functools.cache
def _new_rows(dialect_name: str) -> Any:
    """Return the INSERT of empty summary rows, skipping a row another writer added."""
    from sqlalchemy.dialects import postgresql, sqlite

    dialect = postgresql if dialect_name == "postgresql" else sqlite
    return dialect.insert(mission_summaries).on_conflict_do_nothing()


def _recompute_bounds(connection: Any, mission: str) -> None:
    # Each MIN/MAX is one probe of a (mission_id, time) index.
    present = and_(observations.c.mission_id == mission, observations.c.missing.is_(False))
    first = connection.execute(
        select(func.min(observations.c.observation_timestamp)).where(present)
    ).scalar()
    last_start = connection.execute(
        select(func.max(observations.c.observation_timestamp)).where(present)
    ).scalar()
    last_end = connection.execute(
        select(func.max(observations.c.observation_end)).where(present)
    ).scalar()
    ends = [t for t in (last_start, last_end) if t is not None]
    connection.execute(
        update(mission_summaries)
        .where(mission_summaries.c.mission_id == mission)
        .values(time_min=first, time_max=max(ends) if ends else None)
    )


def current_rows(connection: Any, ids: Iterable[int]) -> list[dict[str, Any]]:
    """Return the summary columns of records by id, read inside the write transaction.

    A write that read its record before its transaction began could subtract a stale
    version from the summaries; this is the version the write replaces.
    """
    columns = [observations.c[name] for name in SUMMARY_COLUMNS]
    query = select(observations.c.id, *columns).where(observations.c.id.in_(list(ids)))
    return [dict(row._mapping) for row in connection.execute(query)]


def rebuild_summaries(connection: Any) -> None:
    """Recompute every mission summary and chart cell (bulk loads, upgrades and repairs).

    Parameters
    ----------
    connection
        A connection inside a write transaction.
    """
    from sqlalchemy import delete, insert

    rebuild_cells(connection)
    rows = connection.execute(_aggregates(connection.dialect.name)).all()
    connection.execute(delete(mission_summaries))
    if rows:
        connection.execute(
            insert(mission_summaries),
            [
                {
                    "mission_id": r[0],
                    "observation_count": r[1],
                    "total_bytes": int(r[2]),
                    "quality_sum": float(r[3]),
                    "quality_count": r[4],
                    "calibrated_count": int(r[5] or 0),
                    "time_min": r[6],
                    "time_max": r[7],
                    "max_span_seconds": float(r[8] or 0.0),
                }
                for r in rows
            ],
        )


def merge_spellings(rows: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Merge ``mission_summaries`` rows whose mission ids differ only in case.

    The merged row is named by the spelling with the most observations (the first
    in sort order on a tie); rows come back sorted by mission, ignoring case.
    """
    groups: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for row in rows:
        groups[str(row["mission_id"]).casefold()].append(row)
    merged = []
    for key in sorted(groups):
        group = sorted(groups[key], key=lambda r: (-int(r["observation_count"]), r["mission_id"]))
        out = dict(group[0])
        for name in ("observation_count", "total_bytes", "quality_sum", "quality_count"):
            out[name] = sum(r[name] for r in group)
        out["calibrated_count"] = sum(r["calibrated_count"] for r in group)
        starts = [r["time_min"] for r in group if r["time_min"] is not None]
        ends = [r["time_max"] for r in group if r["time_max"] is not None]
        out["time_min"] = min(starts) if starts else None
        out["time_max"] = max(ends) if ends else None
        out["max_span_seconds"] = max(r["max_span_seconds"] for r in group)
        merged.append(out)
    return merged


def summary_row(row: Mapping[str, Any]) -> dict[str, Any]:
    """Turn a ``mission_summaries`` row into the public summary dict."""
    count = int(row["quality_count"])
    return {
        "mission_id": row["mission_id"],
        "observations": int(row["observation_count"]),
        "total_bytes": int(row["total_bytes"]),
        "mean_quality": (float(row["quality_sum"]) / count) if count else None,
        "calibrated": int(row["calibrated_count"]),
        "time_min": row["time_min"],
        "time_max": row["time_max"],
    }
