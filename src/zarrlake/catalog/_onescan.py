"""A scanned search's counts and coverage from one grouped query instead of two scans.

The protocol: free text the trigram index cannot narrow (SQLite, fewer than three
characters) is found by reading every row, and the dashboard asks for the counts per
status and quality bin (:func:`~._stats.quality_groups`) and for the coverage per
period (:func:`~._stats.coverage`) of the same search at once; a service reads SQLite
one query at a time, so two scans cost twice one. :func:`row_cube` groups the matching
rows once by status, quality bin, period and mission, and both answers are sums of
those groups: exactly what the two row queries return (the tests compare them). For a
text most rows hold, where the cells answer the search less its text for both
(``_stats._by_complement``), the one scan groups the rows without the text instead,
and both answers are the cells' less those.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sqlalchemy import and_, case, func, literal, select

from zarrlake.catalog import schema as s
from zarrlake.catalog._cells import NO_SCORE, quality_bin_sql
from zarrlake.catalog._engine import read_connection
from zarrlake.catalog._footprint import footprint_sql
from zarrlake.catalog._repository import Catalog
from zarrlake.catalog._search import SearchQuery, check_vocabulary
from zarrlake.catalog._stats import (
    PERIOD_LENGTHS,
    Group,
    _by_complement,
    _coverage_sums,
    _group_sums,
    _period_bucket,
    _row_where,
    _unmatched,
)
from zarrlake.catalog._text import text_scanned


def one_scan(catalog: Catalog, q: SearchQuery, period: str) -> bool:
    """Tell whether a search's counts and its coverage per ``period`` come from one scan.

    Parameters
    ----------
    catalog
        The catalog.
    q
        The search: free text that is scanned (see the module's protocol).
    period
        The coverage's period.

    Returns
    -------
    bool
        Whether :func:`row_cube` answers both.
    """
    if not q.text or period not in PERIOD_LENGTHS:
        return False
    with read_connection(catalog.engine) as connection:
        if not text_scanned(connection, q.text):
            return False
        return _complement(catalog, q, connection, period) is not None


def _complement(catalog: Catalog, q: SearchQuery, connection: Any, period: str) -> bool | None:
    """Tell how both answers come: as the cells less the rows without the text, or not.

    ``True``: both the search less its text, less its rows without the text; ``False``:
    both from the rows; ``None``: one each way (two queries then).
    """
    groups = _by_complement(catalog, q, connection, None)
    if groups != _by_complement(catalog, q, connection, period):
        return None
    return groups


def row_cube(
    catalog: Catalog, q: SearchQuery, period: str, *, summaries: bool = True
) -> tuple[list[Group], list[dict[str, Any]]]:
    """Return a search's groups and coverage per ``period`` from one query on its rows.

    Parameters
    ----------
    catalog
        The catalog.
    q
        The search.
    period
        ``year``, ``month``, ``day`` or ``hour``.
    summaries
        For a text most rows hold, when the cells answer the search less its text for
        both: those less the one scan's rows without the text (``False``: the rows').

    Returns
    -------
    tuple
        What ``quality_groups(catalog, q, summaries=False)`` and ``coverage(catalog, q,
        period, summaries=False)`` return.

    Raises
    ------
    InvalidInputError
        As :func:`~zarrlake.catalog.count`, for a calibration or format no record has.
    """
    obs = s.observations.c
    status = func.coalesce(obs.processing_status, "")  # not through the status index
    score_bin = func.coalesce(quality_bin_sql(catalog.dialect), literal(NO_SCORE))
    bucket = _period_bucket(catalog, period)  # NULL without a start: not in the coverage
    positioned = case((and_(obs.ra.is_not(None), obs.dec.is_not(None)), 1))
    groups: dict[tuple[str, int], list[int]] = {}
    periods: dict[tuple[str, str], list[int]] = {}
    with read_connection(catalog.engine, scan=True) as connection:
        sign, where = 1, and_(_row_where(catalog, q, connection))
        if summaries and q.text and _complement(catalog, q, connection, period):
            # The search less its text (from the cells), less its rows without the text.
            rest = replace(q, text=None)
            groups = _group_sums(catalog, rest, connection, summaries)
            periods = _coverage_sums(catalog, rest, period, connection, summaries)
            sign, where = -1, _unmatched(catalog, q, connection)
        query = (
            select(
                status,
                score_bin,
                bucket,
                obs.mission_id,
                func.count(),
                func.count(positioned),
                func.count(case((footprint_sql(), 1))),
                func.coalesce(func.sum(obs.file_size), 0),
            )
            .where(where)
            .group_by(status, score_bin, bucket, obs.mission_id)
        )
        for st, b, when, mission, n, p, f, size in connection.execute(query):
            group = groups.setdefault((str(st), int(b)), [0, 0, 0])
            for position, value in enumerate((n, p, f)):
                group[position] += sign * int(value or 0)
            if when is not None:
                cell = periods.setdefault((str(when).replace(" ", "T"), str(mission)), [0, 0])
                cell[0] += sign * int(n)
                cell[1] += sign * int(size or 0)
        found = [(st, b, n, p, f) for (st, b), (n, p, f) in groups.items() if n]
        if not found:
            check_vocabulary(connection, q)
    rows = [
        {"period": p, "mission": m, "observations": n, "bytes": b}
        for (p, m), (n, b) in sorted(periods.items())
        if n
    ]
    return found, rows


__all__ = ["one_scan", "row_cube"]
