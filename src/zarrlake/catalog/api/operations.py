"""The dashboard's operator views: problems, the pipeline, and lineage graphs.

Protocol: each answer is read in one snapshot and kept until a SQLite catalog changes
(``api/kept.py``). Problems are the newest records of each kind (unreadable, with
issues, missing) through the kind's partial index, filtered by mission and text, and
merged newest first; each problem is one sentence (an issue's message, or one made
from its code and fields). The pipeline lists the records processing now, the failed
ones with the reason of their last failure, and the newest status events. A lineage
graph holds the dataset, every dataset within ``depth`` links of it either way
(``catalog.related``) and every link between two of them.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse, StreamingResponse
from sqlalchemy import Text, and_, cast, desc, func, or_, select

from zarrlake.catalog import schema as s
from zarrlake.catalog._engine import read_connection
from zarrlake.catalog._repository import Catalog
from zarrlake.catalog._search import related
from zarrlake.catalog._text import like_literal
from zarrlake.catalog._writes import batches
from zarrlake.catalog.api.datasets import CatalogDep, DatasetId, ok
from zarrlake.catalog.api.errors import responses
from zarrlake.catalog.api.kept import cached
from zarrlake.catalog.api.serialize import iso

router = APIRouter(prefix="/dashboard", tags=["dashboard"])

PROBLEM_KINDS = ("unreadable", "issues", "missing")
PROBLEM_COLUMNS = ("id", "kind", "mission_id", "file_path", "problem", "last_updated")


def _problems(
    catalog: Catalog, kind: str | None, limit: int, mission: str | None, text: str | None
) -> list[dict[str, Any]]:
    obs = s.observations.c
    kinds = [kind] if kind else list(PROBLEM_KINDS)
    tests = {
        "unreadable": obs.extraction_error.is_not(None),
        # An unreadable file's one issue is its error: listed as unreadable only.
        "issues": and_(obs.issues.is_not(None), obs.extraction_error.is_(None)),
        "missing": obs.missing.is_(True),
    }
    narrowing = []
    if mission:
        narrowing.append(func.lower(obs.mission_id) == mission.lower())
    if text:
        held = f"%{like_literal(text.lower())}%"  # % and _ are literal, as in search
        narrowing.append(
            or_(
                func.lower(obs.file_path).like(held, escape="\\"),
                func.lower(obs.extraction_error).like(held, escape="\\"),
                func.lower(cast(obs.issues, Text)).like(held, escape="\\"),
            )
        )
    columns = (
        obs.id,
        obs.mission_id,
        obs.file_path,
        obs.extraction_error,
        obs.issues,
        obs.missing,
        obs.last_updated,
    )
    newest = (desc(obs.last_updated), desc(obs.id))
    # The newest records of each kind through its partial index, then the newest of
    # those: the same rows as one query over "any kind", which would read every row.
    found: dict[int, Any] = {}
    with read_connection(catalog.engine) as connection:
        for name in kinds:
            where = and_(tests[name], *narrowing)
            query = select(*columns).where(where).order_by(*newest).limit(limit)
            found.update((row.id, row) for row in connection.execute(query))
    chosen = sorted(found.values(), key=lambda r: (r.last_updated, r.id), reverse=True)[:limit]
    rows: list[dict[str, Any]] = []
    for row in chosen:
        issues = row.issues or []
        problems = {
            "unreadable": row.extraction_error,
            "issues": None if row.extraction_error else "; ".join(map(issue_text, issues)),
            "missing": "the file is gone" if row.missing else None,
        }
        for name in kinds:
            if problems[name]:
                rows.append(
                    {
                        "id": row.id,
                        "kind": name,
                        "mission_id": row.mission_id,
                        "file_path": row.file_path,
                        "problem": problems[name],
                        "last_updated": iso(row.last_updated),
                    }
                )
    return rows


def issue_text(issue: Any) -> str:
    """Return one sentence for an extraction issue (a dict with ``code`` and its fields).

    Parameters
    ----------
    issue
        One entry of a record's ``issues``.

    Returns
    -------
    str
        The issue's own ``message`` when it has one; else a sentence made from its code
        and fields (``mission_id not found in the file's metadata``).
    """
    if not isinstance(issue, dict):
        return str(issue)
    if issue.get("message"):
        return str(issue["message"])
    code = str(issue.get("code", "issue"))
    field, attribute, value = issue.get("field"), issue.get("attribute"), issue.get("value")
    if code == "missing_field" and field:
        return f"{field} not found in the file's metadata"
    if code == "unreadable_value" and attribute:
        return f"{attribute} = {value!r} cannot be read as {field or 'a value'}"
    if code == "quality_out_of_range" and attribute:
        return f"{attribute} = {value} is outside 0..1: not taken as {field}"
    rest = ", ".join(f"{k} {v}" for k, v in issue.items() if k != "code" and v is not None)
    return f"{code.replace('_', ' ')}: {rest}" if rest else code.replace("_", " ")


@router.get("/problems", responses=responses(400), response_model=None)
def problems(
    catalog: CatalogDep,
    kind: Annotated[Literal["unreadable", "issues", "missing"] | None, Query()] = None,
    mission: Annotated[str | None, Query(max_length=128)] = None,
    q: Annotated[
        str | None, Query(max_length=256, description="Text in the path or the problem.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=10000)] = 500,
    format: Annotated[Literal["json", "csv"], Query()] = "json",
) -> JSONResponse | StreamingResponse:
    """Unreadable files with their error, records with issues, missing files; newest first."""
    key = ("problems", kind, limit, mission, q)
    rows = cached(catalog, key, lambda: _problems(catalog, kind, limit, mission, q))
    if format == "json":
        return ok({"items": rows})

    def lines() -> Iterator[str]:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, PROBLEM_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
        yield buffer.getvalue()

    return StreamingResponse(
        lines(),
        media_type="text/csv",
        headers={"Content-Disposition": 'attachment; filename="problems.csv"'},
    )


@router.get("/lineage/{dataset_id}", responses=responses(400, 404))
def lineage(
    dataset_id: DatasetId,
    catalog: CatalogDep,
    depth: Annotated[int, Query(ge=1, le=3)] = 1,
) -> JSONResponse:
    """Return a dataset's lineage as a graph: the datasets within ``depth`` links, all links.

    ``nodes``: the dataset (``depth`` 0, ``direction`` ``self``) and each related one
    (``parent`` for inputs, ``child`` for outputs, nearest way); ``edges``: every link
    whose two ends are nodes (``parent``, ``child``, ``type``), the links between two
    inputs of the dataset among them.
    """
    return ok(
        cached(catalog, ("lineage", dataset_id, depth), lambda: _graph(catalog, dataset_id, depth))
    )


def _graph(catalog: Catalog, dataset_id: int, depth: int) -> dict[str, Any]:
    root = catalog.get(dataset_id)
    nodes = {root["id"]: _node(root, 0, "self")}
    for entry in related(catalog, dataset_id, depth):
        record = entry["dataset"]
        if record is not None and record["id"] not in nodes:
            nodes[record["id"]] = _node(record, entry["depth"], entry["direction"])
    rel = s.dataset_relationships.c
    edges: list[dict[str, Any]] = []
    with read_connection(catalog.engine) as connection:
        for part in batches(list(nodes)):
            query = select(
                rel.id, rel.parent_dataset_id, rel.child_dataset_id, rel.relationship_type
            ).where(rel.parent_dataset_id.in_(part))
            edges.extend(
                {"id": i, "parent": parent, "child": child, "type": kind}
                for i, parent, child, kind in connection.execute(query)
                if child in nodes
            )
    edges.sort(key=lambda e: e["id"])
    return {"root": root["id"], "nodes": list(nodes.values()), "edges": edges}


def _node(record: dict[str, Any], depth: int, direction: str) -> dict[str, Any]:
    return {
        "id": record["id"],
        "file_path": record["file_path"],
        "mission_id": record["mission_id"],
        "processing_status": record["processing_status"],
        "depth": depth,
        "direction": direction,
    }


@router.get("/pipeline")
def pipeline(catalog: CatalogDep, limit: Annotated[int, Query(ge=1, le=1000)] = 50) -> JSONResponse:
    """List what is processing now, what failed (with the reason), recent status events."""
    return ok(cached(catalog, ("pipeline", limit), lambda: _pipeline(catalog, limit)))


def _pipeline(catalog: Catalog, limit: int) -> dict[str, Any]:
    obs, events = s.observations.c, s.status_events.c
    newest = (desc(events.at), desc(events.id))
    recent = (
        select(events.dataset_id, events.old_status, events.new_status, events.reason)
        .add_columns(events.actor, events.at, obs.mission_id, obs.file_path)
        .join_from(s.status_events, s.observations, obs.id == events.dataset_id)
        .order_by(*newest)
        .limit(limit)
    )
    with read_connection(catalog.engine) as connection:
        recent_rows = [dict(r._mapping) for r in connection.execute(recent)]
        lists = {}
        for status in ("processing", "failed"):
            query = (
                select(obs.id, obs.mission_id, obs.file_path, obs.last_updated)
                .where(obs.processing_status == status)
                .order_by(desc(obs.last_updated), desc(obs.id))
                .limit(limit)
            )
            lists[status] = [dict(r._mapping) for r in connection.execute(query)]
        failed_ids = [r["id"] for r in lists["failed"]]
        reasons: dict[int, str | None] = {}
        if failed_ids:
            why = (
                select(events.dataset_id, events.reason)
                .where(events.dataset_id.in_(failed_ids), events.new_status == "failed")
                .order_by(events.at, events.id)
            )
            reasons = {d: r for d, r in connection.execute(why)}
    for row in lists["failed"]:
        row["reason"] = reasons.get(row["id"])
    return {
        "processing": [_times(r) for r in lists["processing"]],
        "failed": [_times(r) for r in lists["failed"]],
        "events": [_times(r) for r in recent_rows],
    }


def _times(row: dict[str, Any]) -> dict[str, Any]:
    return {k: iso(v) if k in ("at", "last_updated") else v for k, v in row.items()}
