"""The original API's document filters and aggregation pipelines, translated to SQL.

Filters use the specification's operators: equality, ``$gt $gte $lt $lte $ne $in $nin
$exists $or $and``; a field is a column, ``_id`` (the record id) or a dotted
``mission_specific.key``. Pipelines take ``$match``, ``$group`` (accumulators ``$sum``,
``$avg``, ``$min``, ``$max``; expressions ``$cond`` and the comparison operators),
``$sort`` and ``$limit``. Everything becomes one SQL statement; no row is evaluated in
Python.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import Table, and_, case, false, func, literal, not_, or_, select, true
from sqlalchemy.sql.elements import ColumnElement

from zarrlake.catalog._values import TIME_FIELDS, to_utc_naive
from zarrlake.catalog.schema import json_key
from zarrlake.errors import InvalidInputError

_COMPARISONS: dict[str, Callable[[Any, Any], Any]] = {
    "$eq": lambda c, v: c.is_(None) if v is None else c == v,
    "$ne": lambda c, v: c.is_not(None) if v is None else or_(c != v, c.is_(None)),
    "$gt": lambda c, v: c > v,
    "$gte": lambda c, v: c >= v,
    "$lt": lambda c, v: c < v,
    "$lte": lambda c, v: c <= v,
}
_TIME_COLUMNS = frozenset(TIME_FIELDS) | {"last_verified", "created_at", "at", "started_at"}


def column_for(table: Table, field: str, sample: object = None) -> ColumnElement[Any]:
    """Return the SQL expression a filter field names.

    Parameters
    ----------
    table
        The table queried.
    field
        A column name, ``_id`` (the id column) or ``<json column>.<key>``.
    sample
        A value compared with the field (types a JSON key's expression).

    Returns
    -------
    ColumnElement
        The column or JSON expression.

    Raises
    ------
    InvalidInputError
        For a field the table does not have.
    """
    name = "id" if field == "_id" else field
    if name in table.c:
        return table.c[name]
    head, dot, key = name.partition(".")
    if dot and head in table.c and key:
        return json_key(table.c[head], key, sample)
    raise InvalidInputError(
        f"{table.name} has no field {field!r}",
        subject=field,
        hint=f"fields: {', '.join(c.name for c in table.c)}, or mission_specific.KEY",
    )


def _value(field: str, value: Any) -> Any:
    if field.split(".")[-1] in _TIME_COLUMNS and not isinstance(value, list | tuple | dict):
        return to_utc_naive(value, field=field)
    return value


def compile_filter(table: Table, document: Mapping[str, Any] | None) -> ColumnElement[bool]:
    """Translate a filter document into a SQL condition.

    Parameters
    ----------
    table
        The table the filter applies to.
    document
        ``{field: value}`` for equality, ``{field: {"$gte": v, ...}}`` for comparisons,
        ``{"$or": [doc, ...]}`` / ``{"$and": [doc, ...]}``; ``None`` or ``{}`` match all.

    Returns
    -------
    ColumnElement
        The condition.

    Raises
    ------
    InvalidInputError
        For an unknown field or operator, or a malformed value.
    """
    if not document:
        return true()
    if not isinstance(document, Mapping):
        raise InvalidInputError(
            f"a filter must be a mapping, not {type(document).__name__}", subject="filter"
        )
    parts: list[ColumnElement[bool]] = []
    for field, condition in document.items():
        if field in ("$or", "$and"):
            if not isinstance(condition, list | tuple) or not condition:
                raise InvalidInputError(f"{field} needs a non-empty list of filters", subject=field)
            subs = [compile_filter(table, sub) for sub in condition]
            parts.append(or_(*subs) if field == "$or" else and_(*subs))
        elif field.startswith("$"):
            raise InvalidInputError(
                f"unknown filter operator {field!r}",
                subject=field,
                hint="top-level operators: $or, $and",
            )
        elif isinstance(condition, Mapping) and any(str(k).startswith("$") for k in condition):
            parts.extend(_field_conditions(table, field, condition))
        else:
            column = column_for(table, field, condition)
            parts.append(_COMPARISONS["$eq"](column, _value(field, condition)))
    return and_(*parts)


ATTRIBUTE_KEY = re.compile(r"[A-Za-z0-9_.:-]{1,128}")
"""The keys an attribute filter names (as ``mission_specific`` keys are indexed)."""

_ATTRIBUTE = re.compile(r"\s*([^\s<>=!]+)\s*(?:(>=|<=|!=|=|>|<)\s*(.*?))?\s*")
_OPERATORS = {"=": "$eq", "!=": "$ne", ">=": "$gte", "<=": "$lte", ">": "$gt", "<": "$lt"}


def attribute_filter(expressions: list[str]) -> dict[str, Any] | None:
    """Translate ``KEY=VALUE`` expressions on a record's document into a filter document.

    Parameters
    ----------
    expressions
        Each ``KEY OP VALUE`` with ``OP`` one of ``= != >= <= > <``, or ``KEY`` alone (the
        document has the key). ``KEY`` is a top-level key of ``mission_specific`` (the
        attributes and header cards extracted from the file). A value that reads as a
        JSON number or ``true``/``false`` compares as one (numbers numerically: ``30``
        matches ``30.0``), a value in double quotes as the text inside, anything else as
        text. ``!=`` also matches records without the key. A value starting with ``<``,
        ``>`` or ``=`` must be quoted (unquoted, it is taken for a mistyped operator).

    Returns
    -------
    dict or None
        A filter document for :func:`compile_filter` (all expressions must hold), or
        ``None`` for no expression.

    Raises
    ------
    InvalidInputError
        For an expression that is not of that form, naming it.
    """
    conditions: list[dict[str, Any]] = []
    for expression in expressions:
        match = _ATTRIBUTE.fullmatch(expression)
        # A value starting with an operator is a typo ("A=>1"); quoted, it is text.
        if (
            match is None
            or not ATTRIBUTE_KEY.fullmatch(match[1])
            or (match[3] or "")[:1] in ("<", ">", "=")
        ):
            raise InvalidInputError(
                f"attribute filter {expression!r} is not KEY=VALUE",
                subject="attr",
                hint="write KEY=VALUE, KEY!=VALUE, KEY>=VALUE, KEY<=VALUE, KEY>VALUE, "
                "KEY<VALUE or KEY alone (has the key); KEY: letters, digits, _ . : -; "
                'quote a value that starts with < > or = ("=x")',
            )
        field = f"mission_specific.{match[1]}"
        if match[2] is None:
            conditions.append({field: {"$exists": True}})
        else:
            conditions.append({field: {_OPERATORS[match[2]]: _typed(match[3])}})
    if not conditions:
        return None
    return conditions[0] if len(conditions) == 1 else {"$and": conditions}


def _typed(text: str) -> Any:
    if len(text) >= 2 and text[0] == text[-1] == '"':
        return text[1:-1]
    try:
        value = json.loads(text)
    except ValueError:
        return text
    if isinstance(value, bool | int | float) and math.isfinite(value):
        return value
    return text


def _field_conditions(
    table: Table, field: str, condition: Mapping[str, Any]
) -> list[ColumnElement[bool]]:
    parts: list[ColumnElement[bool]] = []
    for op, raw in condition.items():
        if op in ("$in", "$nin"):
            if not isinstance(raw, list | tuple | set):
                raise InvalidInputError(f"{op} on {field} needs a list", subject=field)
            values = [_value(field, v) for v in raw]
            sample = values[0] if values else None
            column = column_for(table, field, sample)
            if field == "_id" or field == "id":
                values = [_as_id(v) for v in values]
            if not values:
                parts.append(false() if op == "$in" else true())
            else:
                parts.append(column.in_(values) if op == "$in" else not_(column.in_(values)))
        elif op == "$exists":
            column = column_for(table, field)
            parts.append(column.is_not(None) if raw else column.is_(None))
        elif op in _COMPARISONS:
            value = _value(field, raw)
            if field in ("_id", "id"):
                value = _as_id(value)
            parts.append(_COMPARISONS[op](column_for(table, field, value), value))
        else:
            raise InvalidInputError(
                f"unknown operator {op!r} on field {field!r}",
                subject=op,
                hint="field operators: $eq $ne $gt $gte $lt $lte $in $nin $exists",
            )
    return parts


def _as_id(value: Any) -> Any:
    try:
        return int(value)
    except (TypeError, ValueError):
        return value


def _expression(table: Table, expr: Any) -> Any:
    """Translate an aggregation expression (``"$field"``, a literal, ``$cond``, ``$eq``...)."""
    if isinstance(expr, str) and expr.startswith("$"):
        return column_for(table, expr[1:])
    if isinstance(expr, Mapping):
        if len(expr) != 1:
            raise InvalidInputError(f"expression {dict(expr)!r} must have one operator")
        ((op, args),) = expr.items()
        if op == "$cond":
            if isinstance(args, Mapping):
                args = [args.get("if"), args.get("then"), args.get("else")]
            if not isinstance(args, list) or len(args) != 3:
                raise InvalidInputError("$cond needs [if, then, else]", subject="$cond")
            return case(
                (_expression(table, args[0]), _expression(table, args[1])),
                else_=_expression(table, args[2]),
            )
        if op in _COMPARISONS:
            if not isinstance(args, list) or len(args) != 2:
                raise InvalidInputError(f"{op} needs two arguments", subject=op)
            left, right = (_expression(table, a) for a in args)
            return _COMPARISONS[op](left, right)
        raise InvalidInputError(
            f"unknown expression operator {op!r}",
            subject=op,
            hint="expressions: $cond, $eq, $ne, $gt, $gte, $lt, $lte and $field references",
        )
    return literal(_value("", expr))


_ROWS = "__rows"
_ACCUMULATORS: dict[str, Any] = {
    "$sum": func.sum,
    "$avg": func.avg,
    "$min": func.min,
    "$max": func.max,
}


def compile_pipeline(table: Table, pipeline: list[Mapping[str, Any]]) -> Any:
    """Translate an aggregation pipeline into one SELECT.

    Parameters
    ----------
    table
        The table aggregated.
    pipeline
        Stages: any number of ``$match`` before one ``$group``, then optional ``$sort``
        (``{name: 1|-1}`` over the group's outputs) and ``$limit``.

    Returns
    -------
    sqlalchemy.Select
        The statement; its rows carry ``_id`` and the accumulator names.

    Raises
    ------
    InvalidInputError
        For an unknown stage, accumulator or field.
    """
    if not isinstance(pipeline, list | tuple):
        raise InvalidInputError("a pipeline is a list of stages", subject="pipeline")
    condition: list[ColumnElement[bool]] = []
    group: Mapping[str, Any] | None = None
    order: list[Any] = []
    limit: int | None = None
    for stage in pipeline:
        if not isinstance(stage, Mapping) or len(stage) != 1:
            raise InvalidInputError(
                f"stage {stage!r} must be a one-key mapping", subject="pipeline"
            )
        ((name, body),) = stage.items()
        if name == "$match" and group is None:
            condition.append(compile_filter(table, body))
        elif name == "$group" and group is None:
            if not isinstance(body, Mapping) or "_id" not in body:
                raise InvalidInputError("$group needs an _id", subject="$group")
            group = body
        elif name == "$sort" and group is not None:
            order = [(key, direction) for key, direction in dict(body).items()]
        elif name == "$limit":
            limit = int(body)
        else:
            raise InvalidInputError(
                f"unsupported pipeline stage {name!r} here",
                subject=name,
                hint="use $match stages, one $group, then $sort/$limit",
            )
    if group is None:
        raise InvalidInputError("the pipeline needs a $group stage", subject="pipeline")
    key = group["_id"]
    keys: list[Any] = []
    if isinstance(key, Mapping):
        keys = [_expression(table, v).label(f"_id.{k}") for k, v in key.items()]
    elif key is not None:
        keys = [_expression(table, key).label("_id")]
    outputs: list[Any] = []
    for name, spec in group.items():
        if name == "_id":
            continue
        if not isinstance(spec, Mapping) or len(spec) != 1:
            raise InvalidInputError(f"accumulator {name!r} must be {{'$op': expr}}", subject=name)
        ((op, arg),) = spec.items()
        if op == "$count":
            outputs.append(func.count().label(name))
            continue
        if op not in _ACCUMULATORS:
            raise InvalidInputError(
                f"unknown accumulator {op!r} for {name!r}",
                subject=op,
                hint="accumulators: $sum, $avg, $min, $max, $count",
            )
        outputs.append(_ACCUMULATORS[op](_expression(table, arg)).label(name))
    if not keys:
        # SQL returns one row for an empty input; a document pipeline returns none.
        outputs.append(func.count().label(_ROWS))
    statement = select(*keys, *outputs).select_from(table)
    if condition:
        statement = statement.where(and_(*condition))
    if keys:
        statement = statement.group_by(*(k.element for k in keys))
    for name, direction in order:
        label = next((c for c in [*keys, *outputs] if c.name == name), None)
        if label is None:
            raise InvalidInputError(f"$sort on {name!r}, which the $group does not produce")
        statement = statement.order_by(label.desc() if direction == -1 else label.asc())
    if limit is not None:
        statement = statement.limit(limit)
    return statement


def pipeline_rows(result_rows: Any) -> list[dict[str, Any]]:
    """Shape aggregate result rows like the original API (``_id`` nested for compound keys)."""
    out: list[dict[str, Any]] = []
    for row in result_rows:
        record: dict[str, Any] = {}
        compound: dict[str, Any] = {}
        if row._mapping.get(_ROWS) == 0:
            continue
        for name, value in row._mapping.items():
            if name == _ROWS:
                continue
            if name.startswith("_id."):
                compound[name[4:]] = value
            else:
                record[name] = value
        if compound:
            record["_id"] = compound
        record.setdefault("_id", None)
        out.append(record)
    return out
