"""Schema upgrades of existing catalogs: columns, derived values and indexes added since.

Tables added since (version 3: the chart summaries) are created by ``Catalog.upgrade``,
which then rebuilds every summary from the observations. Summary tables whose columns
changed since (version 5: the chart cells' facets; version 7: the month quality cells'
bytes) are dropped first and made anew. The free text index (version 7) is created by
``_text.create_text_index``.

Each step checks what the database has, so an upgrade can run any number of times and
from any older version.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, inspect, select, update

from zarrlake.catalog import schema as s

_BATCH = 5000
# Version 1's: lower(target_object) (ASCII only on SQLite); exact mission, instrument
# and facility (searches match them in any case now).
_REPLACED_INDEXES = (
    "ix_obs_target_time",
    "ix_obs_mission_time",
    "ix_obs_instrument",
    "ix_obs_satellite",
)


def upgrade_columns(connection: Any) -> list[str]:
    """Add the derived key columns a catalog lacks, fill them, and rebuild their indexes.

    Parameters
    ----------
    connection
        A connection inside the upgrade's write transaction.

    Returns
    -------
    list of str
        What was done.
    """
    steps: list[str] = []
    have = {c["name"] for c in inspect(connection).get_columns("observations")}
    table = s.observations
    for key, source in s.DERIVED_KEYS.items():
        if key in have:
            continue
        kind = table.c[key].type.compile(dialect=connection.dialect)
        connection.exec_driver_sql(f"ALTER TABLE observations ADD COLUMN {key} {kind}")
        filled = _fill(connection, key, source)
        steps.append(f"added column {key} (case-folded {source}) to {filled} record(s)")
    existing = index_names(connection, "observations")
    for name in _REPLACED_INDEXES:
        if name in existing:
            connection.exec_driver_sql(f"DROP INDEX {name}")
            steps.append(f"dropped index {name}")
    for index in sorted(table.indexes, key=lambda ix: str(ix.name)):
        if index.name not in existing:
            index.create(connection)
            steps.append(f"created index {index.name}")
    # Indexes added since on the other tables (version 3: status events by time).
    for other in (s.status_events, s.dataset_relationships):
        have_other = index_names(connection, other.name)
        for index in sorted(other.indexes, key=lambda ix: str(ix.name)):
            if index.name not in have_other:
                index.create(connection)
                steps.append(f"created index {index.name}")
    return steps


def drop_outdated_summaries(connection: Any) -> list[str]:
    """Drop summary tables that lack a column this version has (rebuilt after).

    Parameters
    ----------
    connection
        A connection inside the upgrade's write transaction, before the tables are
        created.

    Returns
    -------
    list of str
        What was done.
    """
    steps: list[str] = []
    inspector = inspect(connection)
    for table in (s.chart_quality, s.chart_months, s.chart_month_quality):
        if not inspector.has_table(table.name):
            continue
        have = {c["name"] for c in inspector.get_columns(table.name)}
        if not {c.name for c in table.columns} <= have:
            table.drop(connection)
            steps.append(f"dropped {table.name} (fewer columns; rebuilt)")
    return steps


def _fill(connection: Any, key: str, source: str) -> int:
    table = s.observations
    rows = connection.execute(
        select(table.c.id, table.c[source]).where(table.c[source].is_not(None))
    ).all()
    statement = update(table).where(table.c.id == bindparam("_id")).values({key: bindparam("_key")})
    for start in range(0, len(rows), _BATCH):
        part = rows[start : start + _BATCH]
        connection.execute(statement, [{"_id": i, "_key": s.fold(v)} for i, v in part])
    return len(rows)


def index_names(connection: Any, table: str) -> set[str]:
    """Return the names of a table's indexes, expression indexes included.

    SQLAlchemy's reflection skips expression indexes, so the system catalogs are asked.
    """
    if connection.dialect.name == "sqlite":
        query = "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ?"
    else:
        query = "SELECT indexname FROM pg_indexes WHERE tablename = %s"
    return {row[0] for row in connection.exec_driver_sql(query, (table,))}
