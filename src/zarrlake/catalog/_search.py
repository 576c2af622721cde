"""Searching observations: filters, sorting and keyset pagination; lineage walks.

Pagination is by keyset, not OFFSET: a page's cursor holds the last row's sort value
and id, so page 1000 costs what page 1 costs and rows inserted meanwhile never shift a
page. Rows whose sort value is NULL come after all others (on both databases), in id
order.

Time-range searches find observations that *overlap* the range. Each mission's summary
keeps its longest observation span, so an overlap test can also bound the start time
from below and use the (mission, start) index.
"""

from __future__ import annotations

import base64
import json
import math
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, func, literal, literal_column, or_, select, true
from sqlalchemy.sql import operators

from zarrlake.catalog import schema as s
from zarrlake.catalog._engine import read_connection
from zarrlake.catalog._filters import compile_filter
from zarrlake.catalog._repository import Catalog
from zarrlake.catalog._text import text_condition, text_scanned
from zarrlake.catalog._values import to_utc_naive
from zarrlake.catalog._writes import batches
from zarrlake.errors import InvalidInputError

SORT_FIELDS = (
    "observation_timestamp",
    "data_quality_score",
    "file_size",
    "target_object",
    "mission_id",
    "instrument_type",
    "file_path",
    "last_updated",
    "id",
)
"""Fields a search can be sorted by."""

MAX_PAGE_SIZE = 1000
"""Larger ``limit`` values are clamped to this."""

PAGE_TEXT_CANDIDATES = 10_000
"""A page of a free text search takes its rows through the text index when it finds at
most this many (1M records: 5,500 candidates, 0.1-0.3 s; every row, 4.5 s); beyond, in
sort order through the scan, which meets a page's rows early when that many match."""


@dataclass
class SearchQuery:
    """What to search for; every criterion is optional and they combine with AND.

    Attributes
    ----------
    mission_id, satellite_name, instrument_type, target_object
        Matches in any case (target names: Unicode case folding on both databases;
        the others: the database's ``lower()``, which folds ASCII only on SQLite).
    start, end
        Time range: observations overlapping ``[start, end]``.
    min_quality
        ``data_quality_score >= min_quality`` (0..1).
    calibration_status, processing_status, format
        Matches in any case; a status must be one of the schema's, and a calibration
        or format value no record has is an error (not an empty answer).
    text
        Case-insensitive substring of the target name or the file path (``%`` and
        ``_`` are literal).
    include_missing
        Also return records whose files vanished.
    where
        An extra filter document in the original API's operators.
    conditions
        Extra SQL conditions on ``observations`` (for callers inside zarrlake, e.g.
        the STAC API's spatial prefilter).
    sort
        A field of :data:`SORT_FIELDS`, ``-`` in front for descending.
    limit
        Page size, at least 1 (clamped to :data:`MAX_PAGE_SIZE`).
    cursor
        The ``next_cursor`` of the previous page.
    """

    mission_id: str | None = None
    satellite_name: str | None = None
    instrument_type: str | None = None
    target_object: str | None = None
    start: Any = None
    end: Any = None
    min_quality: float | None = None
    calibration_status: str | None = None
    processing_status: str | None = None
    format: str | None = None
    text: str | None = None
    include_missing: bool = False
    where: dict[str, Any] | None = None
    conditions: tuple[ColumnElement[bool], ...] = ()
    sort: str = "observation_timestamp"
    limit: int = 50
    cursor: str | None = None


@dataclass
class Page:
    """One page of search results.

    Attributes
    ----------
    items
        The observations.
    next_cursor
        Pass as ``cursor`` for the next page; ``None`` on the last page.
    """

    items: list[dict[str, Any]] = field(default_factory=list)
    next_cursor: str | None = None


def search_conditions(
    catalog: Catalog,
    q: SearchQuery,
    connection: Any = None,
    *,
    quality_index: bool = True,
    text_candidates: int | None = None,
) -> list[ColumnElement[bool]]:
    """Return the SQL conditions of a query (shared by search, count and chart data).

    ``quality_index=False`` states the quality bar so that SQLite cannot read it through
    the quality index (an aggregate of most rows reads them faster in table order).
    ``text_candidates``: free text goes through its index only when that finds at most
    so many rows (``_text.text_condition``'s ``most``; a page in sort order).
    """
    obs = s.observations.c
    parts: list[ColumnElement[bool]] = []
    check_criteria(q)
    for name in _ANY_CASE:
        value = getattr(q, name)
        if value is not None:
            parts.append(func.lower(obs[name]) == func.lower(literal(str(value))))
    if q.processing_status is not None:
        parts.append(obs.processing_status == str(q.processing_status).lower())
    if q.target_object is not None:
        parts.append(obs.target_key == s.fold(q.target_object))
    if q.min_quality is not None:
        score = obs.data_quality_score if quality_index else obs.data_quality_score + 0.0
        parts.append(score >= float(q.min_quality))
    start = to_utc_naive(q.start, field="start")
    end = to_utc_naive(q.end, field="end")
    if start is not None and end is not None and start > end:
        raise InvalidInputError(
            f"the time range starts ({start}) after it ends ({end})",
            subject="start",
            hint="swap start and end",
        )
    if end is not None:
        parts.append(obs.observation_timestamp <= end)
    if start is not None:
        # Whole seconds, rounded up: a span the database computed in floating point may
        # fall a few microseconds short, and any wider bound is still correct.
        span = timedelta(
            seconds=math.ceil(catalog.max_span_seconds(q.mission_id, connection) + 1e-3)
        )
        if span < start - datetime.min:  # else every start is early enough
            parts.append(obs.observation_timestamp >= start - span)
        parts.append(func.coalesce(obs.observation_end, obs.observation_timestamp) >= start)
    if q.text:  # % and _ are literal; through the free text index where there is one
        parts.append(text_condition(connection, q.text, most=text_candidates))
    if not q.include_missing:
        parts.append(obs.missing.is_(False))
    if q.where:
        parts.append(compile_filter(s.observations, q.where))
    parts.extend(q.conditions)
    return parts


_ANY_CASE = ("mission_id", "satellite_name", "instrument_type", "calibration_status", "format")
_TEXT_CRITERIA = (*_ANY_CASE, "processing_status", "target_object", "text")
_VOCABULARY = ("calibration_status", "format")  # free values, but a value no record has is a typo


def check_criteria(q: SearchQuery) -> None:
    """Refuse criteria that could only give a wrong or an empty answer.

    Raises
    ------
    InvalidInputError
        For an unknown processing status, a quality bar outside 0..1, or text holding
        a NUL character, naming the criterion.
    """
    for name in _TEXT_CRITERIA:
        value = getattr(q, name)
        if isinstance(value, str) and "\x00" in value:
            raise InvalidInputError(
                f"search criterion {name} contains a NUL character (\\x00)",
                subject=name,
                hint="remove it; no catalog value holds one",
            )
    if q.processing_status is not None:
        status = str(q.processing_status).lower()
        if status not in s.PROCESSING_STATUSES:
            raise InvalidInputError(
                f"processing_status {q.processing_status!r} is not one of "
                f"{', '.join(s.PROCESSING_STATUSES)}",
                subject="processing_status",
                hint="statuses are matched in any case",
            )
    if q.min_quality is not None:
        bar = float(q.min_quality)
        if not 0.0 <= bar <= 1.0:
            raise InvalidInputError(
                f"min_quality {q.min_quality} is outside 0..1",
                subject="min_quality",
                hint="quality scores are fractions between 0.0 and 1.0",
            )


def check_vocabulary(connection: Any, q: SearchQuery) -> None:
    """After an empty answer: refuse a calibration or format value no record has.

    Raises
    ------
    InvalidInputError
        Naming the value and listing the ones the catalog has.
    """
    for name in _VOCABULARY:
        value = getattr(q, name)
        if value is None:
            continue
        column = s.observations.c[name]
        given = func.lower(literal(str(value)))
        if connection.execute(select(column).where(func.lower(column) == given).limit(1)).first():
            continue
        known = connection.execute(
            select(column).distinct().where(column.is_not(None)).order_by(column).limit(50)
        ).scalars()
        raise InvalidInputError(
            f"no observation has {name} {value!r} (in any case); the catalog has: "
            f"{', '.join(str(k) for k in known) or 'none'}",
            subject=name,
            hint=f"give one of the {name} values listed",
        )


def _encode_cursor(phase: str, value: Any, last_id: int) -> str:
    if isinstance(value, datetime):
        value = {"t": value.isoformat()}
    raw = json.dumps([phase, value, last_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[str, Any, int]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        phase, value, last_id = json.loads(base64.urlsafe_b64decode(padded))
        if isinstance(value, dict):
            value = datetime.fromisoformat(value["t"])
        if phase not in ("v", "n"):
            raise ValueError(phase)
        return phase, value, int(last_id)
    except Exception as exc:
        raise InvalidInputError(
            f"cursor {cursor!r} is not one this catalog issued",
            subject="cursor",
            hint="start again without a cursor",
        ) from exc


def cursor_after(record: dict[str, Any], sort: str = "observation_timestamp") -> str:
    """Return the cursor of the page that starts right after ``record``.

    For callers that keep only some rows of a page (the STAC API's exact spatial
    test): the same cursor :func:`search` gives when ``record`` ends a page.
    """
    name = sort.lstrip("-+")
    if name != "id" and record[name] is None:
        return _encode_cursor("n", None, int(record["id"]))
    return _encode_cursor("v", record[name], int(record["id"]))


def search(catalog: Catalog, query: SearchQuery | None = None, **criteria: Any) -> Page:
    """Return one page of observations matching a query.

    Parameters
    ----------
    catalog
        The catalog.
    query
        The criteria; or give them as keyword arguments.
    **criteria
        :class:`SearchQuery` fields.

    Returns
    -------
    Page
        Items and the cursor of the next page.

    Raises
    ------
    InvalidInputError
        For an unknown sort field, a bad cursor, a reversed time range or a bad filter.
    """
    q = query or SearchQuery(**criteria)
    descending = q.sort.startswith("-")
    sort_name = q.sort.lstrip("-+")
    if sort_name not in SORT_FIELDS:
        raise InvalidInputError(
            f"cannot sort by {sort_name!r}",
            subject="sort",
            hint=f"sort by {', '.join(SORT_FIELDS)}",
        )
    if int(q.limit) < 1:
        raise InvalidInputError(
            f"limit {q.limit} must be at least 1",
            subject="limit",
            hint=f"give a page size of 1 or more (more than {MAX_PAGE_SIZE} is clamped)",
        )
    limit = min(int(q.limit), MAX_PAGE_SIZE)
    table = s.observations
    sort_col = table.c[sort_name]
    id_col = table.c.id
    phase, last_value, last_id = _decode_cursor(q.cursor) if q.cursor else ("v", None, None)

    def ordered(column: Any) -> Any:
        return column.desc() if descending else column.asc()

    items: list[dict[str, Any]] = []
    next_cursor: str | None = None
    with read_connection(catalog.engine, scan=bool(q.text)) as connection:
        base = search_conditions(catalog, q, connection, text_candidates=PAGE_TEXT_CANDIDATES)
        if phase == "v":
            conditions = [*base, sort_col.is_not(None)]
            if last_id is not None and sort_name != "id":
                beyond = sort_col < last_value if descending else sort_col > last_value
                tie_break = id_col < last_id if descending else id_col > last_id
                conditions.append(or_(beyond, and_(sort_col == last_value, tie_break)))
            elif last_id is not None:
                conditions.append(id_col < last_id if descending else id_col > last_id)
            order = (
                [ordered(sort_col)] if sort_name == "id" else [ordered(sort_col), ordered(id_col)]
            )
            if q.text and text_scanned(connection, q.text):
                rows = _scanned_text_page(catalog, q, connection, conditions[len(base) :], order)
            else:
                rows = connection.execute(
                    select(table).where(and_(true(), *conditions)).order_by(*order).limit(limit + 1)
                ).all()
            items = [dict(r._mapping) for r in rows[:limit]]
            if len(rows) > limit:
                last = items[-1]
                return Page(items, _encode_cursor("v", last[sort_name], last["id"]))
            phase, last_id = "n", None
        remaining = limit - len(items)
        if sort_name != "id":
            conditions = [*base, sort_col.is_(None)]
            if last_id is not None:
                conditions.append(id_col > last_id)
            rows = connection.execute(
                select(table).where(and_(true(), *conditions)).order_by(id_col).limit(remaining + 1)
            ).all()
            items.extend(dict(r._mapping) for r in rows[:remaining])
            if len(rows) > remaining:
                next_cursor = _encode_cursor("n", None, items[-1]["id"])
        if not items and q.cursor is None:
            check_vocabulary(connection, q)
    return Page(items, next_cursor)


PAGE_WALK = 20_000
"""A page of a free text search the index cannot narrow (fewer than three characters)
first reads a twentieth of this many rows in sort order, then this many (SQLite, 1M
records: 0.02 s); when they hold less than a page of matches, every row is read and the
matches sorted (0.35 s), instead of the whole catalog walked in sort order (0.85 s)."""


def _scanned_text_page(
    catalog: Catalog,
    q: SearchQuery,
    connection: Any,
    keyset: list[ColumnElement[bool]],
    order: list[Any],
) -> list[Any]:
    """Return the first ``limit + 1`` rows of a free text search read without its index.

    First the first rows (:data:`PAGE_WALK`) in sort order of the search less its text
    (``keyset``: the page's cursor and sort conditions), those with the text kept: when
    they are more than a page, they are the page's rows (no row before them was left
    out). Else the rows with the text among all, sorted: on SQLite by the sort column
    marked with a unary ``+`` (same order, collation and all), so the planner cannot
    walk its index row by row through a catalog that seldom holds the text.
    """
    table = s.observations
    limit = min(int(q.limit), MAX_PAGE_SIZE)
    rest = [*search_conditions(catalog, replace(q, text=None), connection), *keyset]
    held = text_condition(connection, str(q.text))
    for walk in (PAGE_WALK // 20, PAGE_WALK):
        first = select(table.c.id).where(and_(true(), *rest)).order_by(*order).limit(walk)
        walked = select(first.subquery().c.id)
        rows = connection.execute(
            select(table).where(table.c.id.in_(walked), held).order_by(*order).limit(limit + 1)
        ).all()
        if len(rows) > limit:
            return list(rows)
    if connection.dialect.name == "sqlite":
        order = [_unindexed(term) for term in order]
    return list(
        connection.execute(
            select(table).where(and_(true(), *rest), held).order_by(*order).limit(limit + 1)
        ).all()
    )


def _unindexed(term: Any) -> Any:
    """Return an ``ORDER BY`` term with its column under SQLite's unary ``+``."""
    column = term.element
    marked: Any = literal_column(f"+{column.table.name}.{column.name}")
    return marked.desc() if term.modifier is operators.desc_op else marked.asc()


def count(catalog: Catalog, query: SearchQuery | None = None, **criteria: Any) -> int:
    """Return how many observations match (all pages)."""
    q = query or SearchQuery(**criteria)
    with read_connection(catalog.engine, scan=True) as connection:
        statement = select(func.count()).select_from(s.observations)
        found = int(
            connection.execute(
                statement.where(and_(true(), *search_conditions(catalog, q, connection)))
            ).scalar_one()
        )
        if not found:
            check_vocabulary(connection, q)
        return found


def related(catalog: Catalog, dataset: int | str, depth: int = 1) -> list[dict[str, Any]]:
    """Return datasets linked to one, both ways, up to ``depth`` links away.

    Parameters
    ----------
    catalog
        The catalog.
    dataset
        Id or path of the dataset.
    depth
        How many links to follow (1 = direct parents and children).

    Returns
    -------
    list of dict
        One entry per related dataset and direction: ``direction`` (``parent`` for
        ancestors, ``child`` for descendants), ``depth``, the link that reached it
        (``relationship_type``, ``relationship_id``, ``relationship_metadata``), ``via``
        (the id at that link's other end: the start, or a nearer entry; one shortest
        path's), and ``dataset`` (the observation record). Nearest first.

    Raises
    ------
    NotFoundError
        For an unknown dataset.
    InvalidInputError
        For a depth below 1.
    """
    if int(depth) < 1:
        raise InvalidInputError(f"depth {depth} must be at least 1", subject="depth")
    root = catalog.get(dataset)["id"]
    rel = s.dataset_relationships.c
    found: dict[tuple[str, int], dict[str, Any]] = {}
    with read_connection(catalog.engine) as connection:
        for direction, near, far in (
            ("parent", rel.child_dataset_id, rel.parent_dataset_id),
            ("child", rel.parent_dataset_id, rel.child_dataset_id),
        ):
            seed = select(
                far.label("node"),
                literal(1).label("depth"),
                rel.relationship_type.label("kind"),
                near.label("via"),
                rel.id.label("link"),
            ).where(near == root)
            walk = seed.cte(f"walk_{direction}", recursive=True)
            step = (
                select(far, walk.c.depth + 1, rel.relationship_type, near, rel.id)
                .select_from(s.dataset_relationships.join(walk, near == walk.c.node))
                .where(walk.c.depth < int(depth))
            )
            walk = walk.union(step)
            rows = connection.execute(
                select(walk.c.node, walk.c.depth, walk.c.kind, walk.c.via, walk.c.link).order_by(
                    walk.c.depth, walk.c.via, walk.c.kind, walk.c.link
                )
            ).all()
            for node, level, kind, via, link in rows:  # each node once, by a shortest path
                if node != root and (direction, node) not in found:
                    found[(direction, node)] = {
                        "direction": direction,
                        "depth": int(level),
                        "relationship_type": kind,
                        "relationship_id": int(link),
                        "via": int(via),
                        "id": node,
                    }
        links = [entry["relationship_id"] for entry in found.values()]
        metadata: dict[int, Any] = {}
        for part in batches(links):
            query = select(rel.id, rel.relationship_metadata).where(rel.id.in_(part))
            metadata.update({int(i): m for i, m in connection.execute(query)})
    for entry in found.values():
        entry["relationship_metadata"] = metadata.get(entry["relationship_id"]) or {}
    records = catalog.get_many(entry["id"] for entry in found.values())
    out = []
    for entry in sorted(found.values(), key=lambda e: (e["depth"], e["direction"], e["id"])):
        entry["dataset"] = records.get(entry.pop("id"))
        out.append(entry)
    return out


__all__ = [
    "MAX_PAGE_SIZE",
    "SORT_FIELDS",
    "Page",
    "SearchQuery",
    "count",
    "cursor_after",
    "related",
    "search",
]
