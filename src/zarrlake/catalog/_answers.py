"""Which searches the chart cells answer, and how a quality bar splits between cells and rows.

The protocol: the cells (``_cells``) are keyed by mission spelling, processing status,
the missing flag, the facets (facility, instrument, format, calibration; some tables)
and a quality bin (some tables). A search answers from them when every criterion it
gives is one of those keys, stated as the search states it (:func:`cell_where`), and a
quality bar sits on a bin edge (:func:`quality_edge`): the scores meeting it are then
exactly those of the bins from the edge up. A bar inside a bin splits
(:func:`bar_split`): the bins above from the cells, the bar's own bin from the rows.
"""

from __future__ import annotations

from dataclasses import fields, replace
from typing import Any

from sqlalchemy import ColumnElement, and_, func, literal, true

from zarrlake.catalog._cells import QUALITY_BINS, bin_floor, quality_bin
from zarrlake.catalog._search import SearchQuery, check_criteria
from zarrlake.catalog.schema import FACET_COLUMNS

# The criteria the cells are keyed by (the search's field names are the columns'); the
# others describe a page, not a set of rows.
_CELL_CRITERIA = frozenset({"mission_id", "processing_status", "include_missing"})
_FACETS = frozenset(FACET_COLUMNS)
_PAGE_FIELDS = frozenset({"sort", "limit", "cursor"})
TIMED = frozenset({"start", "end"})
"""The criteria of a time range."""


def facets_given(q: SearchQuery, also: frozenset[str] = frozenset()) -> list[str] | None:
    """Return the facet criteria given, or ``None`` when a criterion no cell has is given.

    ``also``: criteria the caller answers besides the cells' keys (a time range, a bar).
    """
    given = []
    for item in fields(q):
        value = getattr(q, item.name)
        if item.name in _CELL_CRITERIA or item.name in _PAGE_FIELDS or item.name in also:
            continue
        if value is None or (item.name in ("where", "conditions") and not value):
            continue
        if item.name not in _FACETS or value == "":  # no cell is keyed by '' as given
            return None
        given.append(item.name)
    return given


def quality_edge(bar: Any) -> int | None:
    """Return the quality bin a bar is the lower edge of, else ``None``.

    A score meets such a bar exactly when its bin is ``k`` or higher: the bar is 0
    (``k = 0``) or the smallest float in bin ``k`` (:func:`~._cells.bin_floor`), as
    ``score * 10`` rounds monotonically (in Python and in both databases). That is
    ``k / 10`` for 0.1 to 0.8; bin 9 starts one float below 0.9.
    """
    if bar is None:
        return None
    value = float(bar)
    k = quality_bin(value)
    if value == 0.0:
        return 0
    if 0 < k < QUALITY_BINS and value == bin_floor(k):
        return k
    return None


def bar_split(q: SearchQuery) -> tuple[SearchQuery, float] | None:
    """Split a quality bar off a bin edge into the bins above it and its own bin's rows.

    A bar in bin ``k`` (below 9) is met by every score of the bins from ``k + 1`` up
    (the search with the bar at :func:`~._cells.bin_floor` ``(k + 1)``, which the cells
    can answer) and by the scores from the bar to that edge (read from the rows through
    the quality index): together exactly the scores at least the bar.

    Returns
    -------
    tuple or None
        The search with the bar on the edge above, and that edge; ``None`` for no bar,
        one on an edge, or one in the last bin.
    """
    if q.min_quality is None or quality_edge(q.min_quality) is not None:
        return None
    k = quality_bin(float(q.min_quality))
    if not 0 <= k < QUALITY_BINS - 1:
        return None
    edge = bin_floor(k + 1)
    return replace(q, min_quality=edge), edge


def from_cells(q: SearchQuery, period: str | None = None) -> bool:
    """Tell whether the chart cells answer this search (and its coverage per ``period``).

    Parameters
    ----------
    q
        The search: cells answer one narrowed by mission, status, the missing flag and
        the facets (facility, instrument, format, calibration); the counts, quality
        and status also with a quality bar on a bin edge (0.1, 0.2, ...), the coverage
        also with a time range (whole days or months from the cells, the rest of the
        range from its rows).
    period
        ``None``: the counts, quality and status. ``year``, ``month``, ``day``: the
        coverage (per day only without facets; with a quality bar on a bin edge, per
        month or year and without facets; never per hour).

    Returns
    -------
    bool
        Whether the cells answer.
    """
    bar = q.min_quality is not None
    if bar and quality_edge(q.min_quality) is None:
        return False
    if period is None:
        if q.start is not None or q.end is not None:
            return False  # the day cells have no quality bins
        return facets_given(q, frozenset({"min_quality"})) is not None
    facets = facets_given(q, TIMED | {"min_quality"} if bar else TIMED)
    if facets is None:
        return False
    if bar:  # the month quality cells: no facets, no days
        return period in ("year", "month") and not facets
    return period in ("year", "month") or (period == "day" and not facets)


def groups_from_cells(q: SearchQuery) -> bool:
    """Tell whether a search's counts per status and quality bin come from the cells.

    Wholly (:func:`from_cells`), or but for the rows of a quality bar's own bin
    (:func:`bar_split`): cheaper than a plain count of the rows.
    """
    split = bar_split(q)
    return from_cells(q) or (split is not None and from_cells(split[0]))


def cell_where(table: Any, q: SearchQuery) -> ColumnElement[bool]:
    """Return the search's conditions on a cell table (as ``search_conditions`` states them)."""
    check_criteria(q)  # the same errors as a search
    parts: list[ColumnElement[bool]] = [true()]
    if q.mission_id is not None:
        parts.append(func.lower(table.c.mission_id) == func.lower(literal(str(q.mission_id))))
    if q.processing_status is not None:
        parts.append(table.c.processing_status == str(q.processing_status).lower())
    if not q.include_missing:
        parts.append(table.c.missing.is_(False))
    for name in _FACETS & set(table.c.keys()):
        value = getattr(q, name)
        if value is not None:
            parts.append(func.lower(table.c[name]) == func.lower(literal(str(value))))
    if q.min_quality is not None:
        edge = quality_edge(q.min_quality)
        if edge is None or "quality_bin" not in table.c:
            raise ValueError(f"the cells {table.name} cannot answer min_quality {q.min_quality}")
        parts.append(table.c.quality_bin >= edge)
    return and_(*parts)


def month_quality_answers(q: SearchQuery) -> bool:
    """Tell whether the month quality cells answer a search (less its time range)."""
    if q.min_quality is not None and quality_edge(q.min_quality) is None:
        return False
    return facets_given(q, TIMED | {"min_quality"}) == []
