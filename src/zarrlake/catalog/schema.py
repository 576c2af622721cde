"""The catalog's tables (SQLAlchemy Core), their indexes, and the schema version.

Column names follow the original specification (``mission_id``, ``satellite_name``,
``observation_timestamp``, ...); the columns it lacks are what a real catalog needs to
stay correct when files change: format, mtime, checksum, extractor, issues, first seen /
last updated / last verified, and a ``missing`` flag instead of deleting a record whose
file vanished (its lineage stays intact).

All times are stored as naive UTC datetimes: SQLite has no time zones, and one rule for
both databases keeps comparisons exact.

How the columns map to IVOA ObsCore (exports and the STAC API use this):

====================== =============================
zarrlake               ObsCore
====================== =============================
mission_id             obs_collection
satellite_name         facility_name
instrument_type        instrument_name
target_object          target_name
observation_timestamp  t_min (as MJD)
observation_end        t_max (as MJD)
ra / dec               s_ra / s_dec
file_path              access_url
format                 access_format
file_size              access_estsize (in kbyte)
calibration_status     calib_level (0 raw ... 2 calibrated)
====================== =============================
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.visitors import InternalTraversal

SCHEMA_VERSION = 7
"""The schema version this zarrlake writes; older catalogs need ``catalog upgrade``.

Version 2 added ``target_key`` (the case-folded target name searches match on) and
indexes on ``lower()`` of mission, instrument and facility (matched in any case).
Version 3 added the dashboard's chart summaries (``chart_quality``, ``chart_days``), an
index of status events by time, and partial indexes of problem records.
Version 4 added ``chart_edges`` (footprint edges per mission: STAC collection extents).
Version 5 keyed ``chart_quality`` also by facility, instrument, format and calibration,
and added ``chart_months`` (the same keys, per month): the charts of a search narrowed
by those need no scan either.
Version 6 added ``chart_month_quality`` (the quality cells per UTC month, without facets)
and a partial index of the records whose ``observation_end`` is before their
``observation_timestamp``: a time-range search's charts come from whole days and months
of cells, which count such a record by its start.
Version 7 added bytes to ``chart_month_quality`` (the coverage of a quality bar on a bin
edge, per month or year, from the cells) and the free text index (``catalog/_text.py``:
an FTS5 trigram table kept by triggers on SQLite, ``pg_trgm`` indexes on PostgreSQL).
"""

PROCESSING_STATUSES = ("raw", "processing", "processed", "failed", "archived")
"""The allowed values of ``observations.processing_status``."""

RELATIONSHIP_TYPES = (
    "raw_to_processed",
    "calibration",
    "derived_from",
    "processed_from",
    "supersedes",
    "part_of",
)
"""Relationship types with a documented meaning (others are accepted as free text)."""

# JSONB on PostgreSQL: indexable, and ->> works on it; plain JSON text on SQLite.
JsonType = JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")
# SQLite maps BIGINT primary keys to ROWID only when declared INTEGER.
IdType = BigInteger().with_variant(Integer(), "sqlite")

metadata = MetaData()

catalog_info = Table(
    "catalog_info",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

observations = Table(
    "observations",
    metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("mission_id", String(128), nullable=False, default="unknown"),
    Column("satellite_name", String(128)),
    Column("instrument_type", String(128)),
    Column("observation_timestamp", DateTime),
    Column("observation_end", DateTime),
    Column("target_object", String(256)),
    # Case-folded (NFKC + str.casefold) target name: matching ignores case the same way
    # on both databases (SQLite's lower() folds ASCII only). Derived on every write.
    Column("target_key", Text),
    Column("data_quality_score", Float),
    Column("calibration_status", String(64)),
    Column("file_path", String(2048), nullable=False),
    Column("file_size", BigInteger),
    Column("processing_status", String(32), nullable=False, default="raw"),
    Column("version", String(64)),
    Column("mission_specific", JsonType),
    Column("format", String(32)),
    Column("mtime_ns", BigInteger),
    # The file the metadata was read from, as it was then: the data file itself, the
    # CSV an observation list row came from, or a Zarr archive's root. Incremental
    # ingest and validation compare these with the file system.
    Column("source_path", String(2048)),
    Column("source_size", BigInteger),
    Column("source_mtime_ns", BigInteger),
    Column("checksum", String(128)),
    Column("ra", Float),
    Column("dec", Float),
    Column("extractor", String(64)),
    Column("extractor_version", String(32)),
    Column("extraction_error", Text),
    Column("issues", JsonType),
    Column("first_seen", DateTime, nullable=False),
    Column("last_updated", DateTime, nullable=False),
    Column("last_verified", DateTime),
    Column("missing", Boolean, nullable=False, default=False),
    UniqueConstraint("file_path", name="uq_observations_file_path"),
    CheckConstraint(
        "data_quality_score IS NULL OR (data_quality_score >= 0 AND data_quality_score <= 1)",
        name="ck_observations_quality_range",
    ),
    CheckConstraint(
        "processing_status IN ({})".format(", ".join(f"'{s}'" for s in PROCESSING_STATUSES)),
        name="ck_observations_processing_status",
    ),
)

# Every search the catalog offers has an index that serves its first page in order
# (filter columns first, then the sort key and id for keyset pagination).
Index("ix_obs_time", observations.c.observation_timestamp, observations.c.id)
# Missions, instruments and facilities match in any case (the spellings are kept).
Index(
    "ix_obs_mission_ci_time",
    func.lower(observations.c.mission_id),
    observations.c.observation_timestamp,
    observations.c.id,
)
Index(
    "ix_obs_target_key_time",
    observations.c.target_key,
    observations.c.observation_timestamp,
    observations.c.id,
)
Index("ix_obs_quality", observations.c.data_quality_score, observations.c.id)
Index(
    "ix_obs_instrument_ci",
    func.lower(observations.c.instrument_type),
    observations.c.observation_timestamp,
)
Index(
    "ix_obs_satellite_ci",
    func.lower(observations.c.satellite_name),
    observations.c.observation_timestamp,
)
Index(
    "ix_obs_status_time",
    observations.c.processing_status,
    observations.c.observation_timestamp,
    observations.c.id,
)
Index("ix_obs_source", observations.c.source_path)
# Records ending before they start (few, or none): a time-range search counts whole days
# from the chart cells, which hold such a record in its start's day even when it ends
# before the range (catalog/_stats.py looks them up here to take them out).
Index(
    "ix_obs_end_before",
    observations.c.observation_timestamp,
    observations.c.id,
    sqlite_where=observations.c.observation_end < observations.c.observation_timestamp,
    postgresql_where=observations.c.observation_end < observations.c.observation_timestamp,
)
# The dashboard's problems view lists each kind newest first; few records have one, so
# partial indexes stay small and a query reads only them. (The WHERE text must be the
# query's own for SQLite to use them.)
Index(
    "ix_obs_unreadable",
    observations.c.last_updated,
    observations.c.id,
    sqlite_where=observations.c.extraction_error.is_not(None),
    postgresql_where=observations.c.extraction_error.is_not(None),
)
Index(
    "ix_obs_with_issues",
    observations.c.last_updated,
    observations.c.id,
    sqlite_where=observations.c.issues.is_not(None),
    postgresql_where=observations.c.issues.is_not(None),
)
Index(
    "ix_obs_missing",
    observations.c.last_updated,
    observations.c.id,
    sqlite_where=observations.c.missing.is_(True),
    postgresql_where=observations.c.missing.is_(True),
)

dataset_relationships = Table(
    "dataset_relationships",
    metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column(
        "parent_dataset_id",
        IdType,
        ForeignKey("observations.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column(
        "child_dataset_id",
        IdType,
        ForeignKey("observations.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("relationship_type", String(64), nullable=False),
    Column("relationship_metadata", JsonType),
    Column("created_at", DateTime, nullable=False),
    UniqueConstraint(
        "parent_dataset_id", "child_dataset_id", "relationship_type", name="uq_relationship"
    ),
    CheckConstraint("parent_dataset_id <> child_dataset_id", name="ck_relationship_not_self"),
)
Index("ix_rel_parent", dataset_relationships.c.parent_dataset_id)
Index("ix_rel_child", dataset_relationships.c.child_dataset_id)

status_events = Table(
    "status_events",
    metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("dataset_id", IdType, ForeignKey("observations.id", ondelete="CASCADE"), nullable=False),
    Column("old_status", String(32)),
    Column("new_status", String(32), nullable=False),
    Column("reason", Text),
    Column("actor", String(128)),
    Column("at", DateTime, nullable=False),
)
Index("ix_status_dataset", status_events.c.dataset_id, status_events.c.at)
Index("ix_status_at", status_events.c.at, status_events.c.id)  # recent events, newest first

ingest_runs = Table(
    "ingest_runs",
    metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("kind", String(16), nullable=False),
    Column("root", String(2048)),
    Column("started_at", DateTime, nullable=False),
    Column("finished_at", DateTime),
    Column("seen", Integer, nullable=False, default=0),
    Column("new", Integer, nullable=False, default=0),
    Column("updated", Integer, nullable=False, default=0),
    Column("unchanged", Integer, nullable=False, default=0),
    Column("failed", Integer, nullable=False, default=0),
    Column("missing", Integer, nullable=False, default=0),
    Column("details", JsonType),
)

# Summaries are maintained on every write (a full GROUP BY over millions of rows takes
# seconds); the longest observation span per mission bounds time-overlap searches so
# they can use the (mission, start) index.
mission_summaries = Table(
    "mission_summaries",
    metadata,
    Column("mission_id", String(128), primary_key=True),
    Column("observation_count", BigInteger, nullable=False, default=0),
    Column("total_bytes", BigInteger, nullable=False, default=0),
    Column("quality_sum", Float, nullable=False, default=0.0),
    Column("quality_count", BigInteger, nullable=False, default=0),
    Column("calibrated_count", BigInteger, nullable=False, default=0),
    Column("time_min", DateTime),
    Column("time_max", DateTime),
    Column("max_span_seconds", Float, nullable=False, default=0.0),
)

# The dashboard's chart summaries, kept exact on every write (catalog/_cells.py): per
# mission spelling, status and missing flag, the quality histogram with sky-position and
# footprint counts, and observations and bytes per UTC day. The histogram and the months
# are also keyed by the facets (spellings of facility, instrument, format, calibration;
# '' for none).
FACET_COLUMNS = ("satellite_name", "instrument_type", "format", "calibration_status")
"""Observation columns the quality and month cells are keyed by, besides the mission."""


def _facets() -> list[Column[Any]]:
    return [Column(name, String(128), primary_key=True, default="") for name in FACET_COLUMNS]


chart_quality = Table(
    "chart_quality",
    metadata,
    Column("mission_id", String(128), primary_key=True),
    Column("processing_status", String(32), primary_key=True),
    Column("quality_bin", Integer, primary_key=True, autoincrement=False),  # -1: no score
    Column("missing", Boolean, primary_key=True),
    *_facets(),
    Column("observation_count", BigInteger, nullable=False, default=0),
    Column("positioned_count", BigInteger, nullable=False, default=0),
    Column("footprint_count", BigInteger, nullable=False, default=0),
)

chart_months = Table(
    "chart_months",
    metadata,
    Column("mission_id", String(128), primary_key=True),
    Column("processing_status", String(32), primary_key=True),
    Column("month", String(7), primary_key=True),  # YYYY-MM of observation_timestamp
    Column("missing", Boolean, primary_key=True),
    *_facets(),
    Column("observation_count", BigInteger, nullable=False, default=0),
    Column("total_bytes", BigInteger, nullable=False, default=0),
)

chart_month_quality = Table(
    "chart_month_quality",
    metadata,
    Column("mission_id", String(128), primary_key=True),
    Column("processing_status", String(32), primary_key=True),
    Column("month", String(7), primary_key=True),  # YYYY-MM of observation_timestamp
    Column("quality_bin", Integer, primary_key=True, autoincrement=False),  # -1: no score
    Column("missing", Boolean, primary_key=True),
    Column("observation_count", BigInteger, nullable=False, default=0),
    Column("positioned_count", BigInteger, nullable=False, default=0),
    Column("footprint_count", BigInteger, nullable=False, default=0),
    Column("total_bytes", BigInteger, nullable=False, default=0),  # version 7
)

chart_days = Table(
    "chart_days",
    metadata,
    Column("mission_id", String(128), primary_key=True),
    Column("processing_status", String(32), primary_key=True),
    Column("day", String(10), primary_key=True),  # YYYY-MM-DD of observation_timestamp
    Column("missing", Boolean, primary_key=True),
    Column("observation_count", BigInteger, nullable=False, default=0),
    Column("total_bytes", BigInteger, nullable=False, default=0),
)

# Per mission spelling and missing flag, how many footprints have each edge (in
# tenths of a degree): the STAC collections' spatial extents (catalog/_footprint.py).
chart_edges = Table(
    "chart_edges",
    metadata,
    Column("mission_id", String(128), primary_key=True),
    Column("missing", Boolean, primary_key=True),
    Column("edge", String(8), primary_key=True),  # start, end (of longitude), south, north
    Column("value", Integer, primary_key=True, autoincrement=False),
    Column("footprint_count", BigInteger, nullable=False, default=0),
)

OBSERVATION_FIELDS: tuple[str, ...] = tuple(c.name for c in observations.columns)
"""Every column of ``observations``."""

DERIVED_KEYS: dict[str, str] = {"target_key": "target_object"}
"""Columns zarrlake derives (case-folded) from another column on every write."""


def fold(value: object) -> str | None:
    """Return the case-folded form text is matched by (NFKC, then ``str.casefold``).

    ``"Ωmega Cen"``, ``"ωMEGA CEN"`` and ``"ΩMEGA cen"`` fold alike, and so do
    ``"Straße"`` and ``"STRASSE"``; accents stay (``"Andromède"`` is not
    ``"Andromede"``). ``None`` stays ``None``.
    """
    if value is None:
        return None
    text = str(value)
    if text.isascii():  # NFKC leaves ASCII as it is, and casefold is lower
        return text.lower()
    return unicodedata.normalize("NFKC", text).casefold()


TABLES: dict[str, Table] = {
    "observations": observations,
    "dataset_relationships": dataset_relationships,
    "status_events": status_events,
    "ingest_runs": ingest_runs,
}
"""The tables callers may address by name (``CatalogClient.query(table, ...)``)."""


_SAFE_KEY = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")


class JsonKey(ColumnElement[Any]):
    """``column[key]`` as text, number or boolean, with the key written as a literal.

    Expression indexes only serve queries whose expression is textually the same, so
    the key cannot be a bound parameter (SQLAlchemy's own JSON indexing binds it).
    """

    inherit_cache = True
    _traverse_internals = [
        ("column", InternalTraversal.dp_clauseelement),
        ("key", InternalTraversal.dp_string),
        ("kind", InternalTraversal.dp_string),
    ]

    def __init__(self, column: Any, key: str, kind: str):
        if not _SAFE_KEY.match(key):
            from zarrlake.errors import InvalidInputError

            raise InvalidInputError(
                f"JSON key {key!r} may use letters, digits and _ . : - only",
                subject=key,
            )
        self.column = column
        self.key = key
        self.kind = kind
        self.type: Any = {"number": Float(), "boolean": Boolean()}.get(kind, String())


@compiles(JsonKey, "sqlite")
def _json_key_sqlite(element: JsonKey, compiler: Any, **kw: Any) -> str:
    column = compiler.process(element.column, **kw)
    path = f"'$.\"{element.key}\"'"
    extract = f"JSON_EXTRACT({column}, {path})"
    if element.kind == "number":
        kind = f"JSON_TYPE({column}, {path})"
        return f"(CASE WHEN {kind} IN ('integer', 'real') THEN {extract} END)"
    return extract


@compiles(JsonKey, "postgresql")
def _json_key_postgresql(element: JsonKey, compiler: Any, **kw: Any) -> str:
    column = compiler.process(element.column, **kw)
    if element.kind == "number":
        return (
            f"(CASE WHEN jsonb_typeof({column} -> '{element.key}') = 'number' "
            f"THEN ({column} ->> '{element.key}')::double precision END)"
        )
    if element.kind == "boolean":
        return (
            f"(CASE WHEN jsonb_typeof({column} -> '{element.key}') = 'boolean' "
            f"THEN ({column} ->> '{element.key}')::boolean END)"
        )
    return f"({column} ->> '{element.key}')"


def json_key(column: Any, key: str, sample: object = None) -> ColumnElement[Any]:
    """Return an expression for ``column[key]`` typed after ``sample``.

    Parameters
    ----------
    column
        A JSON column such as ``observations.c.mission_specific``.
    key
        The top-level key (letters, digits and ``_ . : -``).
    sample
        A value the expression is compared with: numbers compare as numbers (values of
        another JSON type are NULL), booleans as booleans, everything else as text.

    Returns
    -------
    ColumnElement
        The typed expression (the same one promoted indexes are built on).
    """
    if isinstance(sample, bool):
        return JsonKey(column, key, "boolean")
    if isinstance(sample, int | float):
        return JsonKey(column, key, "number")
    return JsonKey(column, key, "string")


def promoted_key_index(key: str, kind: str = "string") -> Index:
    """Return the expression index for a ``mission_specific`` key missions query often.

    Parameters
    ----------
    key
        The top-level key inside ``mission_specific``.
    kind
        ``string`` or ``number``: how the key is compared in searches.

    Returns
    -------
    Index
        An index named ``ix_ms_<key>`` (not attached to the metadata; created by
        :meth:`zarrlake.catalog.Catalog.init` from configuration).
    """
    sample: object = 0.0 if kind == "number" else ""
    safe = "".join(ch if ch.isalnum() else "_" for ch in key)
    expression = json_key(observations.c.mission_specific, key, sample)
    return Index(f"ix_ms_{safe}_{kind}", expression, observations.c.id)
