"""Chart data for a search: observations and bytes per month, and a quality histogram."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Integer, and_, case, cast, func, select, true

from zarrlake.catalog import schema as s
from zarrlake.catalog._engine import read_connection
from zarrlake.catalog._repository import Catalog
from zarrlake.catalog._search import SearchQuery, search_conditions

QUALITY_BINS = 10


def chart_data(catalog: Catalog, query: SearchQuery) -> dict[str, Any]:
    """Return ``{per_month: [{month, observations, bytes}], quality: [{low, high, count}]}``.

    Both are grouped by the database over the rows the query matches.
    """
    obs = s.observations.c
    if catalog.dialect == "sqlite":
        month = func.strftime("%Y-%m", obs.observation_timestamp)
    else:
        month = func.to_char(obs.observation_timestamp, "YYYY-MM")
    top = QUALITY_BINS - 1
    raw_bin = cast(obs.data_quality_score * QUALITY_BINS, Integer)
    quality_bin = case((raw_bin > top, top), else_=raw_bin)  # a score of 1.0 joins the last bin
    with read_connection(catalog.engine) as connection:
        where = and_(true(), *search_conditions(catalog, query, connection))
        per_month = (
            select(month.label("month"), func.count(), func.coalesce(func.sum(obs.file_size), 0))
            .where(where, obs.observation_timestamp.is_not(None))
            .group_by(month)
            .order_by(month)
        )
        quality = (
            select(quality_bin.label("bin"), func.count())
            .where(where, obs.data_quality_score.is_not(None))
            .group_by(quality_bin)
        )
        months = [
            {"month": m, "observations": int(n), "bytes": int(b)}
            for m, n, b in connection.execute(per_month)
        ]
        counts = dict(connection.execute(quality).all())
    bins = [
        {"low": i / QUALITY_BINS, "high": (i + 1) / QUALITY_BINS, "count": int(counts.get(i, 0))}
        for i in range(QUALITY_BINS)
    ]
    return {"per_month": months, "quality": bins}
