"""Chart summaries ("cells") kept exact on every write, so dashboard charts need no scan.

Grouping a million observations by month, mission, status or quality bin takes seconds
on SQLite; the dashboard asks for those groups on every visit. Each observation instead
adds one to two small tables, per combination of the criteria a chart can be narrowed
by without reading rows (mission spelling, processing status, missing flag):

* ``chart_quality``: per quality bin (``-1``: no score) and facets (the spellings of
  facility, instrument, format and calibration, ``''`` for none), the count, and how
  many of those have a sky position (RA and Dec) and a geographic footprint (the four
  ACDD ``geospatial_*`` bounds in ``mission_specific`` making a box, as ``_footprint``
  reads them);
* ``chart_days``: per UTC day of ``observation_timestamp`` (rows without one are left
  out, as the coverage chart leaves them out), count and bytes;
* ``chart_months``: the same per UTC month and facets (the coverage of a search by
  facility, instrument, format or calibration, per month or year);
* ``chart_month_quality``: the quality cells (without facets) per UTC month of
  ``observation_timestamp``, with bytes: the counts, status and quality of a time
  range, and the coverage per month or year of a quality bar on a bin edge;
* ``chart_edges``: per mission spelling and missing flag, how many footprints have
  each edge (``_footprint.edge_values``), from which the STAC collections' spatial
  extents follow without reading the observations.

Writes move cells by deltas like the mission summaries (see ``_summary``): the old rows'
contributions are subtracted and the new ones added in the same transaction, through
:func:`apply_cell_changes`; bulk loads and upgrades call :func:`rebuild_cells`. Every key
is computed in Python exactly as the SQL expressions below compute it, so the deltas and
a rebuild agree; the tests compare both with direct aggregate queries.
"""

from __future__ import annotations

import functools
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import (
    Integer,
    and_,
    bindparam,
    case,
    cast,
    delete,
    func,
    insert,
    literal,
    select,
)

from zarrlake.catalog._footprint import (
    bound_columns,
    edge_values,
    footprint_of,
    footprint_sql,
    normalise,
)
from zarrlake.catalog.schema import (
    FACET_COLUMNS,
    chart_days,
    chart_edges,
    chart_month_quality,
    chart_months,
    chart_quality,
    observations,
)

QUALITY_BINS = 10
"""Quality histogram bins of 0.1; a score of 1.0 counts in the last one."""

NO_SCORE = -1
"""The ``quality_bin`` of observations without a quality score."""

CELL_COLUMNS = (
    "mission_id",
    "processing_status",
    "missing",
    "data_quality_score",
    "observation_timestamp",
    "file_size",
    "ra",
    "dec",
    "mission_specific",
    *FACET_COLUMNS,
)
"""The observation columns a cell depends on."""


# -- keys, in Python and in SQL --------------------------------------------------------


def quality_bin(score: float | None) -> int:
    """Return a score's histogram bin: ``floor(score * 10)``, 1.0 in bin 9, ``-1`` for none."""
    if score is None:
        return NO_SCORE
    return min(int(float(score) * QUALITY_BINS), QUALITY_BINS - 1)  # scores are >= 0


def bin_floor(k: int) -> float:
    """Return the smallest float in quality bin ``k`` (1..9): ``score >= it`` is ``bin >= k``.

    :func:`quality_bin` rounds monotonically, so a score is in bin ``k`` or higher
    exactly when it is at least this float. It is ``k / 10`` except for 0.9 (the float
    below 0.9 times 10 rounds to 9.0, so bin 9 starts one float lower).
    """
    if not 0 < k < QUALITY_BINS:
        raise ValueError(f"no quality bin {k} with a lower edge above 0")
    value = k / QUALITY_BINS
    while quality_bin(math.nextafter(value, -1.0)) >= k:
        value = math.nextafter(value, -1.0)
    while quality_bin(value) < k:
        value = math.nextafter(value, 2.0)
    return value


def quality_bin_sql(dialect: str) -> Any:
    """Return :func:`quality_bin` as SQL (NULL for no score; callers coalesce).

    PostgreSQL's cast to integer rounds, so the floor is explicit there; SQLite's cast
    truncates, which is the floor of a non-negative score.
    """
    scaled = observations.c.data_quality_score * QUALITY_BINS
    raw = cast(func.floor(scaled) if dialect == "postgresql" else scaled, Integer)
    return case((raw > QUALITY_BINS - 1, QUALITY_BINS - 1), else_=raw)


def day_key(when: Any) -> str | None:
    """Return the UTC day of a naive UTC time as ``YYYY-MM-DD`` (``None`` for none)."""
    if when is None:
        return None
    return f"{when.year:04d}-{when.month:02d}-{when.day:02d}"


def day_sql(dialect: str, length: int = 10) -> Any:
    """Return :func:`day_key` as SQL (SQLite stores times as text: its first 10 characters).

    ``length=7`` gives the month (``YYYY-MM``).
    """
    column = observations.c.observation_timestamp
    if dialect == "postgresql":
        return func.to_char(column, "YYYY-MM-DD"[:length])
    return func.substr(column, 1, length)


def facet_keys(row: Mapping[str, Any]) -> tuple[str, ...]:
    """Return a row's facets as cells key them (the spelling; ``''`` for none)."""
    return tuple(str(row.get(name) or "") for name in FACET_COLUMNS)


def facet_sql() -> list[Any]:
    """Return :func:`facet_keys` as SQL columns."""
    return [func.coalesce(observations.c[name], "").label(name) for name in FACET_COLUMNS]


# -- deltas ------------------------------------------------------------------------------

_QualityKey = tuple[Any, ...]  # mission, status, bin, missing, *facets
_DayKey = tuple[Any, ...]  # mission, status, day or month, missing(, *facets)
_EdgeKey = tuple[str, bool, str, int]


class CellDeltas:
    """What a write adds to (or, negative, removes from) each cell."""

    def __init__(self) -> None:
        # [count, positioned, footprints] and [count, bytes] per cell
        self.quality: dict[_QualityKey, list[int]] = defaultdict(lambda: [0, 0, 0])
        self.days: dict[_DayKey, list[int]] = defaultdict(lambda: [0, 0])
        self.months: dict[_DayKey, list[int]] = defaultdict(lambda: [0, 0])
        # [count, positioned, footprints, bytes]
        self.month_quality: dict[_QualityKey, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
        self.edges: dict[_EdgeKey, int] = defaultdict(int)  # footprints per edge

    def add(self, row: Mapping[str, Any], sign: int) -> None:
        """Count one observation row in (``sign=1``) or out (``sign=-1``)."""
        mission = str(row.get("mission_id"))
        status = str(row.get("processing_status"))
        missing = bool(row.get("missing"))
        facets = facet_keys(row)
        score = quality_bin(row.get("data_quality_score"))
        positioned = row.get("ra") is not None and row.get("dec") is not None
        box = footprint_of(row.get("mission_specific"))
        day = day_key(row.get("observation_timestamp"))
        size = sign * int(row.get("file_size") or 0)
        counted = [self.quality[(mission, status, score, missing, *facets)]]
        if day is not None:
            counted.append(self.month_quality[(mission, status, day[:7], score, missing)])
            counted[-1][3] += size
        for cell in counted:
            cell[0] += sign
            cell[1] += sign * positioned
            cell[2] += sign * (box is not None)
        if box is not None:
            for edge, value in edge_values(box):
                self.edges[(mission, missing, edge, value)] += sign
        if day is not None:
            for cells, key in (
                (self.days, (mission, status, day, missing)),
                (self.months, (mission, status, day[:7], missing, *facets)),
            ):
                moved = cells[key]
                moved[0] += sign
                moved[1] += size

    def add_inserted(self, connection: Any, first: int, last: int) -> None:
        """Count the rows inserted with ids ``first..last`` in, grouped by the database."""
        ids = {"first_id": first, "last_id": last}
        queries = _inserted_selects(connection.dialect.name)
        for query, cells, width in zip(
            queries,
            (self.quality, self.days, self.months, self.month_quality),
            (4 + len(FACET_COLUMNS), 4, 4 + len(FACET_COLUMNS), 5),
            strict=True,
        ):
            for row in connection.execute(query, ids):
                cell = cells[tuple(row[:width])]
                for position, value in enumerate(row[width:]):
                    cell[position] += int(value or 0)
        self._count_edges(connection.execute(_inserted_edges_select(), ids))

    def add_edges(self, connection: Any, where: Any = None) -> None:
        """Count the edges of the footprints of the rows ``where`` selects in.

        Read in Python through :func:`~zarrlake.catalog._footprint.edge_values`, the
        same code as :meth:`add`, so a rebuild and the deltas cannot disagree.
        """
        self._count_edges(connection.execute(_edges_select(where)))

    def _count_edges(self, groups: Iterable[Any]) -> None:
        for mission, missing, west, south, east, north, number in groups:
            box = normalise(float(west), float(south), float(east), float(north))
            if box is not None:  # always: footprint_sql() kept the row
                for edge, value in edge_values(box):
                    self.edges[(str(mission), bool(missing), edge, value)] += int(number)

    def changed(self) -> bool:
        """Tell whether any cell moves."""
        return (
            any(any(v) for v in self.quality.values())
            or any(any(v) for v in self.days.values())
            or any(any(v) for v in self.months.values())
            or any(any(v) for v in self.month_quality.values())
            or any(self.edges.values())
        )


_INSERTED_IDS = observations.c.id.between(bindparam("first_id"), bindparam("last_id"))
"""The rows a bulk insert added (ids ``first_id..last_id``), bound at execution."""


@functools.cache
def _inserted_selects(dialect: str) -> tuple[Any, ...]:
    """Return the four cell groupings of the inserted rows, built once per dialect.

    Building these SQLAlchemy statements took most of a one-record write's time
    (~20 statements, ~6 ms); executed with ``first_id``/``last_id`` they are reused.
    """
    return (
        _quality_select(dialect, _INSERTED_IDS),
        _days_select(dialect, _INSERTED_IDS),
        _months_select(dialect, _INSERTED_IDS),
        _month_quality_select(dialect, _INSERTED_IDS),
    )


def _edges_select(where: Any = None) -> Any:
    """Return footprint bounds grouped per mission and missing flag (rows ``where`` picks)."""
    obs = observations.c
    bounds = bound_columns()
    # Grouped by the bounds first: a gridded product repeats one box in every file.
    query = (
        select(obs.mission_id, obs.missing, *bounds, func.count())
        .where(footprint_sql())
        .group_by(obs.mission_id, obs.missing, *bounds)
    )
    return query if where is None else query.where(where)


@functools.cache
def _inserted_edges_select() -> Any:
    return _edges_select(None).where(_INSERTED_IDS)


def _quality_select(dialect: str, where: Any = None) -> Any:
    obs = observations.c
    bin_ = func.coalesce(quality_bin_sql(dialect), literal(NO_SCORE)).label("quality_bin")
    positioned = case((and_(obs.ra.is_not(None), obs.dec.is_not(None)), 1), else_=0)
    footprint = case((footprint_sql(), 1), else_=0)
    facets = facet_sql()
    query = select(
        obs.mission_id,
        obs.processing_status,
        bin_,
        obs.missing,
        *facets,
        func.count(),
        func.sum(positioned),
        func.sum(footprint),
    ).group_by(obs.mission_id, obs.processing_status, bin_, obs.missing, *facets)
    return query if where is None else query.where(where)


def _month_quality_select(dialect: str, where: Any = None) -> Any:
    obs = observations.c
    month = day_sql(dialect, 7).label("month")
    bin_ = func.coalesce(quality_bin_sql(dialect), literal(NO_SCORE)).label("quality_bin")
    positioned = case((and_(obs.ra.is_not(None), obs.dec.is_not(None)), 1), else_=0)
    footprint = case((footprint_sql(), 1), else_=0)
    query = (
        select(
            obs.mission_id,
            obs.processing_status,
            month,
            bin_,
            obs.missing,
            func.count(),
            func.sum(positioned),
            func.sum(footprint),
            func.coalesce(func.sum(obs.file_size), 0),
        )
        .where(obs.observation_timestamp.is_not(None))
        .group_by(obs.mission_id, obs.processing_status, month, bin_, obs.missing)
    )
    return query if where is None else query.where(where)


def _days_select(dialect: str, where: Any = None, length: int = 10) -> Any:
    obs = observations.c
    day = day_sql(dialect, length).label("day" if length == 10 else "month")
    facets = facet_sql() if length == 7 else []
    query = (
        select(
            obs.mission_id,
            obs.processing_status,
            day,
            obs.missing,
            *facets,
            func.count(),
            func.coalesce(func.sum(obs.file_size), 0),
        )
        .where(obs.observation_timestamp.is_not(None))
        .group_by(obs.mission_id, obs.processing_status, day, obs.missing, *facets)
    )
    return query if where is None else query.where(where)


def _months_select(dialect: str, where: Any = None) -> Any:
    return _days_select(dialect, where, length=7)


def _upsert(connection: Any, table: Any, rows: list[dict[str, Any]], sums: list[str]) -> None:
    connection.execute(_adding_upsert(connection.dialect.name, table, tuple(sums)), rows)


@functools.cache
def _adding_upsert(dialect_name: str, table: Any, sums: tuple[str, ...]) -> Any:
    """Return the INSERT ... ON CONFLICT DO UPDATE adding ``sums`` (built once per table)."""
    from sqlalchemy.dialects import postgresql, sqlite

    dialect = postgresql if dialect_name == "postgresql" else sqlite
    statement: Any = dialect.insert(table)
    return statement.on_conflict_do_update(
        index_elements=[c.name for c in table.primary_key.columns],
        set_={name: table.c[name] + statement.excluded[name] for name in sums},
    )


def apply_cell_changes(
    connection: Any,
    old_rows: Iterable[Mapping[str, Any]],
    new_rows: Iterable[Mapping[str, Any]],
    inserted_ids: tuple[int, int] | None = None,
) -> None:
    """Move the chart cells from ``old_rows`` to ``new_rows`` inside a write transaction.

    Parameters
    ----------
    connection
        A connection inside the write transaction that changed the observations.
    old_rows
        The rows as they were before the write (:data:`CELL_COLUMNS` are read).
    new_rows
        The rows as written.
    inserted_ids
        ``(first, last)``: also add the rows inserted with these consecutive ids.
    """
    deltas = CellDeltas()
    for row in old_rows:
        deltas.add(row, -1)
    for row in new_rows:
        deltas.add(row, +1)
    if inserted_ids is not None:
        deltas.add_inserted(connection, *inserted_ids)
    quality = [
        {
            "mission_id": m,
            "processing_status": st,
            "quality_bin": b,
            "missing": gone,
            **dict(zip(FACET_COLUMNS, facets, strict=False)),
            "observation_count": n,
            "positioned_count": p,
            "footprint_count": f,
        }
        for (m, st, b, gone, *facets), (n, p, f) in sorted(deltas.quality.items())
        if n or p or f
    ]
    days, months = (
        [
            {
                "mission_id": m,
                "processing_status": st,
                period: when,
                "missing": gone,
                **dict(zip(FACET_COLUMNS, facets, strict=False)),
                "observation_count": n,
                "total_bytes": size,
            }
            for (m, st, when, gone, *facets), (n, size) in sorted(cells.items())
            if n or size
        ]
        for cells, period in ((deltas.days, "day"), (deltas.months, "month"))
    )
    month_quality = [
        {
            "mission_id": m,
            "processing_status": st,
            "month": month,
            "quality_bin": b,
            "missing": gone,
            "observation_count": n,
            "positioned_count": p,
            "footprint_count": f,
            "total_bytes": size,
        }
        for (m, st, month, b, gone), (n, p, f, size) in sorted(deltas.month_quality.items())
        if n or p or f or size
    ]
    # Sorted keys: two writers on PostgreSQL take the cells' row locks in one order.
    if quality:
        _upsert(
            connection,
            chart_quality,
            quality,
            ["observation_count", "positioned_count", "footprint_count"],
        )
    if days:
        _upsert(connection, chart_days, days, ["observation_count", "total_bytes"])
    if months:
        _upsert(connection, chart_months, months, ["observation_count", "total_bytes"])
    if month_quality:
        _upsert(
            connection,
            chart_month_quality,
            month_quality,
            ["observation_count", "positioned_count", "footprint_count", "total_bytes"],
        )
    _write_edges(connection, deltas)


def _write_edges(connection: Any, deltas: CellDeltas) -> None:
    edges: list[dict[str, Any]] = [
        {"mission_id": m, "missing": gone, "edge": edge, "value": value, "footprint_count": n}
        for (m, gone, edge, value), n in sorted(deltas.edges.items())
        if n
    ]
    if edges:
        _upsert(connection, chart_edges, edges, ["footprint_count"])
    # Edges no footprint has any more are dropped, so the table stays as small as the set
    # of distinct edges (at most 3,601 longitudes and 1,801 latitudes per mission).
    # Only an edge counted down can reach zero: those are looked up by their key.
    dropped = [row for row in edges if row["footprint_count"] < 0]
    if dropped:
        t = chart_edges.c
        connection.execute(
            delete(chart_edges).where(
                t.mission_id == bindparam("m"),
                t.missing == bindparam("g"),
                t.edge == bindparam("e"),
                t.value == bindparam("v"),
                t.footprint_count <= 0,
            ),
            [
                {"m": r["mission_id"], "g": r["missing"], "e": r["edge"], "v": r["value"]}
                for r in dropped
            ],
        )


def rebuild_cells(connection: Any) -> None:
    """Recompute every chart cell from the observations (bulk loads, upgrades, repairs).

    Parameters
    ----------
    connection
        A connection inside a write transaction.
    """
    dialect = connection.dialect.name
    for table, query in (
        (chart_quality, _quality_select),
        (chart_days, _days_select),
        (chart_months, _months_select),
        (chart_month_quality, _month_quality_select),
    ):
        connection.execute(delete(table))
        names = [c.name for c in table.columns]
        connection.execute(insert(table).from_select(names, query(dialect)))
    connection.execute(delete(chart_edges))
    deltas = CellDeltas()
    deltas.add_edges(connection)
    _write_edges(connection, deltas)
