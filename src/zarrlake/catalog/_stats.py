"""Chart data for a search: counts, coverage per period, quality and status, positions.

A search narrowed only by mission, processing status, the missing flag (the unfiltered
dashboard among them) and the facets (facility, instrument, format, calibration) is
answered from the chart cells kept on every write (``_cells``): thousands of small rows
instead of every observation. Coverage comes from the day cells (no facet given) or the
month cells (per month or year). A time range adds the whole UTC days (months) inside
it from the day (month) cells to its partial days' rows; a quality bar on a bin edge
counts the quality cells from that bin up, and takes its coverage per month or year
from the month quality cells (with a time range too, without facets: whole months from
the cells). Any other search groups its matching rows in the database, in one query per
chart, through the indexes its criteria allow.
``summaries=False`` forces the direct aggregate (the tests compare both answers).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, literal, select, true

from zarrlake.catalog import schema as s
from zarrlake.catalog._answers import (
    TIMED,
    bar_split,
    cell_where,
    facets_given,
    from_cells,
    groups_from_cells,
    month_quality_answers,
)
from zarrlake.catalog._cells import (
    NO_SCORE,
    QUALITY_BINS,
    day_key,
    quality_bin,
    quality_bin_sql,
)
from zarrlake.catalog._engine import read_connection
from zarrlake.catalog._footprint import footprint_sql
from zarrlake.catalog._repository import Catalog
from zarrlake.catalog._search import (
    SearchQuery,
    check_vocabulary,
    search_conditions,
)
from zarrlake.catalog._text import text_condition
from zarrlake.catalog._values import to_utc_naive

STATUSES = s.PROCESSING_STATUSES

PERIOD_LENGTHS = {"year": 4, "month": 7, "day": 10, "hour": 13}
"""Periods as prefixes of an ISO time (SQLite stores times as such text)."""

_POSTGRES_FORMATS = {
    "year": "YYYY",
    "month": "YYYY-MM",
    "day": "YYYY-MM-DD",
    "hour": 'YYYY-MM-DD"T"HH24',
}

BROAD_SHARE = 0.2
"""A quality bar met by more than this share of the catalog is not read through its index
(SQLite): the rows' random lookups cost more than reading every row in table order
(on 1M records, a bar met by half: 2.3 s through the index, 1.5 s in table order)."""


def _row_where(catalog: Catalog, q: SearchQuery, connection: Any) -> ColumnElement[bool]:
    broad = q.min_quality is not None and _share_above(connection, float(q.min_quality))
    conditions = search_conditions(catalog, q, connection, quality_index=not broad)
    return and_(true(), *conditions)


def _share_above(connection: Any, bar: float) -> bool:
    """Tell whether more than :data:`BROAD_SHARE` of the scores could meet ``bar`` (SQLite).

    Counted from the quality cells (the bins from the bar's own up, a slight overcount).
    """
    if connection.dialect.name != "sqlite":
        return False  # PostgreSQL's planner estimates the share itself
    t = s.chart_quality
    above = func.sum(case((t.c.quality_bin >= quality_bin(bar), t.c.observation_count), else_=0))
    every = func.sum(t.c.observation_count)
    high, total = connection.execute(select(above, every)).one()
    return bool(total) and int(high or 0) > BROAD_SHARE * int(total)


Group = tuple[str, int, int, int, int]
"""Processing status, quality bin (``-1``: no score), observations, with a sky position,
with a footprint."""


def quality_groups(catalog: Catalog, q: SearchQuery, *, summaries: bool = True) -> list[Group]:
    """Count the matching observations per status and quality bin, in one query.

    The counts, the status and quality charts and the map totals all follow from these
    groups (:func:`totals`, :func:`status_quality`).

    Parameters
    ----------
    catalog
        The catalog.
    q
        The search.
    summaries
        Use the chart cells when they answer.

    Returns
    -------
    list of tuple
        One :data:`Group` per status and bin with observations.

    Raises
    ------
    InvalidInputError
        As :func:`~zarrlake.catalog.count`, for a calibration or format no record has.
    """
    with read_connection(catalog.engine, scan=True) as connection:
        sums = _group_sums(catalog, q, connection, summaries)
        groups = [(st, b, n, p, f) for (st, b), (n, p, f) in sums.items() if n]
        if not groups:
            check_vocabulary(connection, q)
    return groups


def _group_sums(
    catalog: Catalog, q: SearchQuery, connection: Any, summaries: bool
) -> dict[tuple[str, int], list[int]]:
    """Return observations, positioned and footprints per status and bin (see above)."""
    sums: dict[tuple[str, int], list[int]] = {}
    if summaries and q.text and _by_complement(catalog, q, connection, None):
        # The search less its text (from the cells), less its rows without the text.
        sums = _group_sums(catalog, replace(q, text=None), connection, summaries)
        cell_q, parts = q, [(-1, _unmatched(catalog, q, connection), None)]
    else:
        cell_q, parts = _group_parts(catalog, q, connection, summaries)
    for sign, where, cells in parts:
        query = _row_groups(catalog, where) if cells is None else _cell_groups(cells, cell_q, where)
        for st, b, n, p, f in connection.execute(query):
            total = sums.setdefault((str(st), int(b)), [0, 0, 0])
            for position, value in enumerate((n, p, f)):
                total[position] += sign * int(value or 0)
    return sums


def _group_parts(
    catalog: Catalog, q: SearchQuery, connection: Any, summaries: bool
) -> tuple[SearchQuery, list[_Part]]:
    """Split a search's groups into cells and rows; return the search the cells answer."""
    timed = q.start is not None or q.end is not None
    cell_q = q
    parts: list[_Part] = []
    split = bar_split(q) if summaries else None
    if split is not None and (from_cells(split[0]) or (timed and month_quality_answers(split[0]))):
        cell_q = split[0]
        parts.append((1, _partial_bin(catalog, q, split[1], connection), None))
    if summaries and from_cells(cell_q):
        parts.append((1, true(), s.chart_quality))
    elif summaries and timed and month_quality_answers(cell_q):
        # Whole months of the month cells, the rest of the range from its rows.
        parts.extend(_time_parts(catalog, cell_q, connection, s.chart_month_quality))
    else:
        parts = [(1, and_(_row_where(catalog, q, connection)), None)]
    return cell_q, parts


def _partial_bin(catalog: Catalog, q: SearchQuery, edge: float, connection: Any) -> Any:
    """Return the conditions of a search's rows scored from its bar up to ``edge``.

    Through the quality index where the planner takes it: one bin's share of the
    rows at most (:func:`bar_split`).
    """
    score = s.observations.c.data_quality_score
    return and_(*search_conditions(catalog, q, connection), score < edge)


def _cell_groups(t: Any, q: SearchQuery, where: Any) -> Any:
    return (
        select(
            t.c.processing_status,
            t.c.quality_bin,
            func.sum(t.c.observation_count),
            func.sum(t.c.positioned_count),
            func.sum(t.c.footprint_count),
        )
        .where(cell_where(t, q), where)
        .group_by(t.c.processing_status, t.c.quality_bin)
    )


def _row_groups(catalog: Catalog, where: Any) -> Any:
    obs = s.observations.c
    quality_bin = func.coalesce(quality_bin_sql(catalog.dialect), literal(NO_SCORE))
    # Not the bare column: SQLite would read every row through the status index (in
    # status order, for the grouping), one random lookup a row.
    status = func.coalesce(obs.processing_status, "")
    return (
        select(
            status,
            quality_bin,
            func.count(),
            func.count(case((and_(obs.ra.is_not(None), obs.dec.is_not(None)), 1))),
            func.count(case((footprint_sql(), 1))),
        )
        .where(where)
        .group_by(status, quality_bin)
    )


def totals(
    catalog: Catalog,
    q: SearchQuery,
    *,
    summaries: bool = True,
    groups: list[Group] | None = None,
) -> dict[str, int]:
    """Return how many observations match, and how many of them have a position / footprint.

    ``groups``: the search's :func:`quality_groups`, when the caller has them.
    """
    if groups is None:
        groups = quality_groups(catalog, q, summaries=summaries)
    return {
        "count": sum(g[2] for g in groups),
        "positioned": sum(g[3] for g in groups),
        "footprints": sum(g[4] for g in groups),
    }


def match_count(catalog: Catalog, q: SearchQuery) -> int:
    """Return how many observations match (as :func:`~zarrlake.catalog.count`).

    Raises
    ------
    InvalidInputError
        As :func:`~zarrlake.catalog.count`, for a calibration or format no record has.
    """
    return totals(catalog, q)["count"]


def status_quality(
    catalog: Catalog,
    q: SearchQuery,
    *,
    summaries: bool = True,
    groups: list[Group] | None = None,
) -> dict[str, Any]:
    """Count the matching observations per processing status, and per quality bin.

    ``groups``: the search's :func:`quality_groups`, when the caller has them.

    Returns
    -------
    dict
        ``counts`` (every status, zeros too), ``quality`` (``low``, ``high``,
        ``count`` per bin of 0.1; a score of 1 counts in the last bin) and
        ``unscored`` (observations without a score: in no bin).
    """
    if groups is None:
        groups = quality_groups(catalog, q, summaries=summaries)
    counts: dict[str, int] = {name: 0 for name in STATUSES}
    bins = [0] * QUALITY_BINS
    unscored = 0
    for status, bin_, number, _, _ in groups:
        counts[status] = counts.get(status, 0) + number
        if bin_ != NO_SCORE:
            bins[bin_] += number
        else:
            unscored += number
    quality = [
        {"low": i / QUALITY_BINS, "high": (i + 1) / QUALITY_BINS, "count": n}
        for i, n in enumerate(bins)
    ]
    return {"counts": counts, "quality": quality, "unscored": unscored}


def auto_period(catalog: Catalog, q: SearchQuery) -> str:
    """Return the period the dashboard shows a search's coverage per.

    The span is the search's time range; a bound not given is the first start or the
    last end of the search's mission (every mission without one), as the mission
    summaries keep them. Over three years: ``year``; over 90 days: ``month``; over
    three days: ``day``; else ``hour``.

    Parameters
    ----------
    catalog
        The catalog.
    q
        The search.

    Returns
    -------
    str
        ``year``, ``month``, ``day`` or ``hour``.
    """
    low = to_utc_naive(q.start, field="start")
    high = to_utc_naive(q.end, field="end")
    if low is None or high is None:
        t = s.mission_summaries
        query = select(func.min(t.c.time_min), func.max(t.c.time_max)).where(
            t.c.observation_count > 0
        )
        if q.mission_id is not None:
            query = query.where(func.lower(t.c.mission_id) == func.lower(literal(q.mission_id)))
        with read_connection(catalog.engine) as connection:
            first, last = connection.execute(query).one()
        low = low if low is not None else first
        high = high if high is not None else last
    if low is None or high is None:
        return "year"
    days = (high - low).total_seconds() / 86400
    if days > 3 * 365:
        return "year"
    if days > 90:
        return "month"
    return "day" if days > 3 else "hour"


def coverage(
    catalog: Catalog, q: SearchQuery, period: str, *, summaries: bool = True
) -> list[dict[str, Any]]:
    """Return observations and bytes per period and mission, in period order.

    Parameters
    ----------
    catalog
        The catalog.
    q
        The search.
    period
        ``year``, ``month``, ``day`` or ``hour`` (of ``observation_timestamp``, UTC;
        observations without one are left out).
    summaries
        Use the chart cells when they answer (days and coarser).

    Returns
    -------
    list of dict
        ``period`` (``2026``, ``2026-03``, ``2026-03-01``, ``2026-03-01T05``),
        ``mission``, ``observations``, ``bytes``.
    """
    with read_connection(catalog.engine, scan=True) as connection:
        sums = _coverage_sums(catalog, q, period, connection, summaries)
    # Sorted here, not by the database: PostgreSQL's collation would order mission
    # spellings differently from one answer to the next part.
    return [
        {"period": p, "mission": m, "observations": n, "bytes": b}
        for (p, m), (n, b) in sorted(sums.items())
        if n
    ]


def _coverage_sums(
    catalog: Catalog, q: SearchQuery, period: str, connection: Any, summaries: bool
) -> dict[tuple[str, str], list[int]]:
    """Return observations and bytes per period and mission (see :func:`coverage`)."""
    length = PERIOD_LENGTHS[period]
    sums: dict[tuple[str, str], list[int]] = {}
    cell_q = q
    parts: list[_Part] = []
    split = bar_split(q) if summaries else None
    if summaries and q.text and _by_complement(catalog, q, connection, period):
        # The search less its text (from the cells), less its rows without the text.
        sums = _coverage_sums(catalog, replace(q, text=None), period, connection, summaries)
        parts = [(-1, _unmatched(catalog, q, connection), None)]
    elif split is not None and from_cells(split[0], period):
        cell_q = split[0]
        parts = [(1, _partial_bin(catalog, q, split[1], connection), None)]
        parts.extend(_coverage_parts(catalog, cell_q, period, connection))
    elif summaries and from_cells(q, period):
        parts = _coverage_parts(catalog, q, period, connection)
    else:
        parts = [(1, and_(_row_where(catalog, q, connection)), None)]
    for sign, where, cells in parts:
        query = (
            _row_coverage(catalog, length, period, where)
            if cells is None
            else _cell_coverage(cells, cell_q, length, where)
        )
        for p, m, n, b in connection.execute(query):
            total = sums.setdefault((str(p).replace(" ", "T"), str(m)), [0, 0])
            total[0] += sign * int(n)
            total[1] += sign * int(b or 0)
    return sums


TEXT_PROBES = 1000
"""Rows sampled (spread over the ids) to tell whether a free text is in most rows."""


def _by_complement(catalog: Catalog, q: SearchQuery, connection: Any, period: str | None) -> bool:
    """Tell whether to count a free text search as the search less its text, less the rest.

    So when the cells answer the search less its text and a sample of its rows mostly
    holds the text: grouping the few rows without it costs less than grouping the many
    with it (SQLite sorts them), and the scan for the text is the same.

    ``period``: of a coverage (``None``: the counts per status and quality bin).
    """
    rest = replace(q, text=None)
    split = bar_split(rest)
    if period is None:
        timed = rest.start is not None or rest.end is not None
        cheap = groups_from_cells(rest) or (
            timed and month_quality_answers(rest if split is None else split[0])
        )
    else:
        cheap = from_cells(rest, period) or (split is not None and from_cells(split[0], period))
    if not cheap:
        return False
    obs = s.observations.c
    largest = int(connection.execute(select(func.max(obs.id))).scalar() or 0)
    step = max(largest / TEXT_PROBES, 1.0)
    probes = sorted({round(k * step) for k in range(1, min(TEXT_PROBES, largest) + 1)})
    held = text_condition(connection, str(q.text), use_index=False)
    sample = select(func.count(), func.count(case((held, 1)))).where(
        obs.id.in_(probes), *search_conditions(catalog, rest, connection)
    )
    rows, holding = connection.execute(sample).one()
    return 2 * int(holding) > int(rows) > 0


def _unmatched(catalog: Catalog, q: SearchQuery, connection: Any) -> ColumnElement[bool]:
    """Return the conditions of the search less its text, on rows without the text.

    Stated as "not true" (``CASE``), so a row whose text test is unknown (no target)
    is among them exactly when the search leaves it out.
    """
    rest = replace(q, text=None)
    held = text_condition(connection, str(q.text), use_index=False)
    return and_(_row_where(catalog, rest, connection), case((held, 0), else_=1) == 1)


_Part = tuple[int, ColumnElement[bool], Any]
"""A share of a coverage: sign, conditions, and the cell table (``None``: the rows)."""


def _coverage_parts(catalog: Catalog, q: SearchQuery, period: str, connection: Any) -> list[_Part]:
    """Split a search's coverage into cells and rows (see :func:`from_cells`)."""
    if q.min_quality is not None:  # on a bin edge (from_cells)
        cells = s.chart_month_quality
    elif period == "day" or not facets_given(q, TIMED):
        cells = s.chart_days
    else:
        cells = s.chart_months
    return _time_parts(catalog, q, connection, cells)


def _time_parts(catalog: Catalog, q: SearchQuery, connection: Any, cells: Any) -> list[_Part]:
    """Split a search into cells and rows.

    Without a time range: the cells. With one: the whole UTC days (months, for the
    month cells) inside the range from the cells; the rows before the first and after
    the last from the rows, with every criterion; minus the rows in those whole days
    that end before the range starts (the cells count them; the search does not).
    """
    start = to_utc_naive(q.start, field="start")
    end = to_utc_naive(q.end, field="end")
    if start is None and end is None:
        return [(1, true(), cells)]
    monthly = cells is not s.chart_days
    first = _period_start(start, monthly, up=True) if start is not None else None
    last = _period_start(end, monthly, up=False) if end is not None else None
    obs = s.observations.c
    stamp = obs.observation_timestamp
    every = and_(_row_where(catalog, q, connection))
    if first is not None and last is not None and first >= last:
        return [(1, every, None)]  # no whole day (month) inside the range
    key = cells.c.month if monthly else cells.c.day
    length = 7 if monthly else 10
    inside: list[ColumnElement[bool]] = []
    parts: list[_Part] = []
    if first is not None:
        inside.append(stamp >= first)
        parts.append((1, and_(every, stamp < first), None))
        parts.append((1, key >= str(day_key(first))[:length], cells))
    if last is not None:
        inside.append(stamp < last)
        parts.append((1, and_(every, stamp >= last), None))
        parts.append((1, key < str(day_key(last))[:length], cells))
    cell_parts = [p for p in parts if p[2] is not None]
    parts = [p for p in parts if p[2] is None]
    parts.append((1, and_(*(p[1] for p in cell_parts)), cells))
    if start is not None:
        # Through the partial index of such records: its condition stated as it is.
        untimed = replace(q, start=None, end=None)
        parts.append(
            (
                -1,
                and_(
                    *search_conditions(catalog, untimed, connection),
                    obs.observation_end < obs.observation_timestamp,
                    obs.observation_end < start,
                    *inside,
                ),
                None,
            )
        )
    return parts


def _period_start(when: datetime, monthly: bool, *, up: bool) -> datetime:
    """Return the start of the day (month) of ``when``, or of the next one (``up``)."""
    floor = datetime(when.year, when.month, 1 if monthly else when.day)
    if not up or floor == when:
        return floor
    if not monthly:
        return floor + timedelta(days=1)
    return datetime(when.year + when.month // 12, when.month % 12 + 1, 1)


def _cell_coverage(cells: Any, q: SearchQuery, length: int, where: Any) -> Any:
    bucket = func.substr(cells.c.day if cells is s.chart_days else cells.c.month, 1, length)
    return (
        select(
            bucket,
            cells.c.mission_id,
            func.sum(cells.c.observation_count),
            func.sum(cells.c.total_bytes),
        )
        .where(cell_where(cells, q), where)
        .group_by(bucket, cells.c.mission_id)
    )


def _period_bucket(catalog: Catalog, period: str) -> Any:
    """Return a row's period of ``observation_timestamp`` as SQL text (NULL without one)."""
    column = s.observations.c.observation_timestamp
    if catalog.dialect == "postgresql":
        return func.to_char(column, _POSTGRES_FORMATS[period])
    return func.substr(column, 1, PERIOD_LENGTHS[period])


def _row_coverage(catalog: Catalog, length: int, period: str, where: Any) -> Any:
    obs = s.observations.c
    column = obs.observation_timestamp
    bucket = _period_bucket(catalog, period)
    return (
        select(bucket, obs.mission_id, func.count(), func.coalesce(func.sum(obs.file_size), 0))
        .where(where, column.is_not(None))
        .group_by(bucket, obs.mission_id)
    )


def chart_data(catalog: Catalog, query: SearchQuery) -> dict[str, Any]:
    """Return the months, quality bins and unscored count of a search's observations.

    ``{per_month: [{month, observations, bytes}], quality: [{low, high, count}],
    unscored}``, all over the rows the query matches (all missions of it together); ``unscored``
    counts those without a quality score (in no bin).
    """
    months: dict[str, list[int]] = {}
    for row in coverage(catalog, query, "month"):
        month = months.setdefault(row["period"], [0, 0])
        month[0] += row["observations"]
        month[1] += row["bytes"]
    per_month = [
        {"month": m, "observations": n, "bytes": b} for m, (n, b) in sorted(months.items())
    ]
    scores = status_quality(catalog, query)
    return {"per_month": per_month, "quality": scores["quality"], "unscored": scores["unscored"]}
