"""The STAC Filter extension: CQL2 (text or JSON) over the catalog's queryables, in SQL.

Basic CQL2 (comparisons, ``and``/``or``/``not``, ``isNull``) and the advanced
comparison operators (``like``, ``between``, ``in``) on the properties listed in
:data:`QUERYABLES`, each compared with a literal. Text properties match in any case,
as the catalog's own search does (targets by their case-folded key, so Unicode names
match the same way on both databases); a processing status must be one of the
schema's. Spatial and temporal operators, functions and property-to-property
comparisons are refused with a 400 that says what to use instead (``bbox``,
``intersects``, ``datetime``). cql2-text is parsed by the ``cql2`` package into
cql2-json; everything becomes one SQL condition -- no row is tested in Python.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, false, func, literal, not_, or_, true

from zarrlake.catalog import schema as s
from zarrlake.catalog.api.stac_time import parse_instant
from zarrlake.errors import InvalidInputError

CONFORMANCE = [
    "https://api.stacspec.org/v1.0.0-rc.2/item-search#filter",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-json",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2",
    "http://www.opengis.net/spec/cql2/1.0/conf/advanced-comparison-operators",
]
"""The Filter extension's conformance classes the API declares."""

LANGUAGES = ("cql2-text", "cql2-json")
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"


@dataclass(frozen=True)
class Queryable:
    """A property a filter may name.

    Attributes
    ----------
    column
        Returns the SQL expression compared.
    kind
        ``text`` (any case), ``target`` (case-folded key), ``status``, ``number``,
        ``id`` (item ids are text holding the numeric dataset id) or ``time``.
    title
        For the queryables document.
    """

    column: Callable[[], Any]
    kind: str
    title: str


_OBS = s.observations.c
QUERYABLES: dict[str, Queryable] = {
    "id": Queryable(lambda: _OBS.id, "id", "Item id"),
    "collection": Queryable(lambda: _OBS.mission_id, "text", "Collection (mission id)"),
    "mission": Queryable(lambda: _OBS.mission_id, "text", "Mission id"),
    "platform": Queryable(lambda: _OBS.satellite_name, "text", "Platform (satellite, telescope)"),
    "instruments": Queryable(lambda: _OBS.instrument_type, "text", "Instrument"),
    "datetime": Queryable(lambda: _OBS.observation_timestamp, "time", "Start of the observation"),
    "start_datetime": Queryable(lambda: _OBS.observation_timestamp, "time", "Start"),
    "end_datetime": Queryable(
        lambda: func.coalesce(_OBS.observation_end, _OBS.observation_timestamp), "time", "End"
    ),
    "zarrlake:target": Queryable(lambda: _OBS.target_key, "target", "Target name"),
    "zarrlake:quality": Queryable(lambda: _OBS.data_quality_score, "number", "Quality, 0..1"),
    "zarrlake:calibration": Queryable(lambda: _OBS.calibration_status, "text", "Calibration"),
    "zarrlake:processing_status": Queryable(
        lambda: _OBS.processing_status, "status", "Processing status"
    ),
    "zarrlake:ra": Queryable(lambda: _OBS.ra, "number", "Right ascension (degrees)"),
    "zarrlake:dec": Queryable(lambda: _OBS.dec, "number", "Declination (degrees)"),
}
"""Filterable properties (also under ``properties.NAME``)."""

_SCHEMA_TYPES: dict[str, dict[str, Any]] = {
    "text": {"type": "string"},
    "target": {"type": "string"},
    "status": {"type": "string", "enum": list(s.PROCESSING_STATUSES)},
    "number": {"type": "number"},
    "id": {"type": "string"},
    "time": {"type": "string", "format": "date-time"},
}


def queryables(url: str) -> dict[str, Any]:
    """Return the queryables document (JSON Schema) served at ``url``."""
    return {
        "$schema": "https://json-schema.org/draft/2019-09/schema",
        "$id": url,
        "type": "object",
        "title": "zarrlake observations",
        "properties": {
            name: {"title": q.title, **_SCHEMA_TYPES[q.kind]} for name, q in QUERYABLES.items()
        },
        "additionalProperties": False,
    }


def parse_filter(
    value: str | Mapping[str, Any], language: str | None, crs: str | None = None
) -> ColumnElement[bool]:
    """Turn a ``filter`` parameter into a SQL condition.

    Parameters
    ----------
    value
        cql2-text, cql2-json text (GET) or a cql2-json object (POST).
    language
        ``filter-lang``: ``cql2-text`` or ``cql2-json``; ``None`` means cql2-json for
        an object and cql2-text for text.
    crs
        ``filter-crs``: only CRS84 (longitude, latitude) is known.

    Returns
    -------
    ColumnElement
        The condition.

    Raises
    ------
    InvalidInputError
        For an unknown language or CRS, text that does not parse, an unknown property
        (the error lists the queryables) or an operator that is not supported.
    """
    if crs not in (None, CRS84):
        raise _bad(f"filter-crs {crs!r} is not supported; give {CRS84} or leave it out")
    language = language or ("cql2-json" if isinstance(value, Mapping) else "cql2-text")
    if language not in LANGUAGES:
        raise _bad(f"filter-lang {language!r} is not one of {', '.join(LANGUAGES)}")
    import cql2

    try:
        if isinstance(value, Mapping):
            if language != "cql2-json":
                raise _bad("a filter given as a JSON object is cql2-json; set filter-lang so")
            document = cql2.parse_json(json.dumps(value)).to_json()
        elif language == "cql2-json":
            document = cql2.parse_json(value).to_json()
        else:
            document = cql2.parse_text(value).to_json()
    except (cql2.ParseError, cql2.ValidationError, ValueError) as exc:
        first = str(exc).strip().splitlines()
        raise _bad(f"filter is not valid {language}: {' '.join(first)[:300]}") from None
    return _condition(document)


def _bad(message: str) -> InvalidInputError:
    return InvalidInputError(
        message,
        subject="filter",
        hint='e.g. filter="zarrlake:quality" >= 0.8 AND "zarrlake:target" = \'M31\'',
    )


def _condition(node: Any) -> ColumnElement[bool]:
    if isinstance(node, bool):
        return true() if node else false()
    if not isinstance(node, Mapping) or "op" not in node:
        raise _bad(f"{json.dumps(node)[:100]} is not a condition")
    op, args = str(node["op"]).lower(), list(node.get("args") or [])
    if op in ("and", "or"):
        parts = [_condition(a) for a in args]
        return and_(*parts) if op == "and" else or_(*parts)
    if op == "not":
        return not_(_condition(args[0]))
    if op == "isnull":
        column: ColumnElement[Any] = _property(args[0])[0]
        return column.is_(None)
    if op in _COMPARE:
        return _compare(op, args)
    if op == "like":
        column, queryable = _property(args[0])
        pattern = _text(args[1], queryable, "like")
        if queryable.kind == "text":  # any case, as the catalog's search matches
            return func.lower(column).like(func.lower(literal(pattern)), escape="\\")
        return column.like(pattern, escape="\\")
    if op == "between":
        column, queryable = _property(args[0])
        low, high = (_value(a, queryable) for a in args[1:3])
        return and_(column >= low, column <= high)
    if op == "in":
        column, queryable = _property(args[0])
        if not isinstance(args[1], list) or not args[1]:
            raise _bad("in needs a non-empty list of values")
        values = [_value(v, queryable) for v in args[1]]
        if queryable.kind == "text":
            return func.lower(column).in_([str(v).lower() for v in values])
        return column.in_(values)
    raise _bad(
        f"operator {node['op']!r} is not supported; filters take comparisons, like, between, "
        "in, isNull, and/or/not (for space and time use bbox, intersects and datetime)"
    )


_COMPARE: dict[str, Callable[[Any, Any], Any]] = {
    "=": lambda c, v: c == v,
    "<>": lambda c, v: c != v,
    "<": lambda c, v: c < v,
    "<=": lambda c, v: c <= v,
    ">": lambda c, v: c > v,
    ">=": lambda c, v: c >= v,
}


def _compare(op: str, args: list[Any]) -> ColumnElement[bool]:
    if len(args) != 2:
        raise _bad(f"{op} needs two arguments")
    left, right = args
    if _is_property(right) and not _is_property(left):  # 0.8 <= quality
        flipped = {"<": ">", "<=": ">=", ">": "<", ">=": "<="}.get(op, op)
        return _compare(flipped, [right, left])
    column, queryable = _property(left)
    if _is_property(right):
        raise _bad("comparing two properties is not supported; compare a property with a value")
    if queryable.kind == "text" and op in ("=", "<>"):
        given = func.lower(literal(_text(right, queryable, op)))
        return _COMPARE[op](func.lower(column), given)  # type: ignore[no-any-return]
    return _COMPARE[op](column, _value(right, queryable))  # type: ignore[no-any-return]


def _is_property(node: Any) -> bool:
    return isinstance(node, Mapping) and "property" in node


def _property(node: Any) -> tuple[Any, Queryable]:
    if not _is_property(node):
        raise _bad(f"{json.dumps(node)[:100]} is not a property; name one of the queryables")
    name = str(node["property"])
    queryable = QUERYABLES.get(name.removeprefix("properties."))
    if queryable is None:
        raise InvalidInputError(
            f"{name!r} is not a queryable property",
            subject="filter",
            hint=f"queryables: {', '.join(QUERYABLES)} (see /stac/queryables)",
        )
    return queryable.column(), queryable


def _text(node: Any, queryable: Queryable, op: str) -> str:
    if not isinstance(node, str) or queryable.kind not in ("text", "target", "status"):
        raise _bad(f"{op} compares text properties with text, not {json.dumps(node)[:60]}")
    return _value(node, queryable, pattern=op == "like")  # type: ignore[no-any-return]


def _value(node: Any, queryable: Queryable, *, pattern: bool = False) -> Any:
    kind = queryable.kind
    if kind == "id":
        # Item ids are text; one that is not a dataset id matches nothing (ids are >= 1).
        text = str(node) if isinstance(node, int | str) and not isinstance(node, bool) else ""
        return int(text) if text.isascii() and text.isdigit() and len(text) < 19 else -1
    if kind == "number":
        if isinstance(node, bool) or not isinstance(node, int | float):
            raise _bad(f"{queryable.title} is compared with numbers, not {json.dumps(node)}")
        return node
    if kind == "time":
        return _time(node)
    if not isinstance(node, str):
        raise _bad(f"{queryable.title} is compared with text, not {json.dumps(node)[:60]}")
    if "\x00" in node:
        raise _bad("filter text contains a NUL character (\\x00)")
    if kind == "target":
        return s.fold(node)
    if kind == "status":
        status = node.lower()
        if not pattern and status not in s.PROCESSING_STATUSES:
            raise _bad(
                f"processing status {node!r} is not one of {', '.join(s.PROCESSING_STATUSES)}"
            )
        return status
    return node


def _time(node: Any) -> datetime:
    if isinstance(node, Mapping) and "timestamp" in node:
        return parse_instant(str(node["timestamp"]))
    if isinstance(node, Mapping) and "date" in node:
        return parse_instant(f"{node['date']}T00:00:00Z")
    raise _bad(
        f"times are compared with TIMESTAMP('...') or DATE('...'), not {json.dumps(node)[:60]}"
    )
