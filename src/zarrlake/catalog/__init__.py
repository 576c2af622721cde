"""The observation catalog: schema, repository, search, extraction and ingest workflows.

Public modules besides these names: :mod:`zarrlake.catalog.schema` (the tables, for SQL
users), :mod:`zarrlake.catalog.pipeline` (lineage and status from processing pipelines),
:mod:`zarrlake.catalog.extractors` (the extractor contract and plugins) and
:mod:`zarrlake.catalog.api` (the REST/STAC service).
"""

from zarrlake.catalog._engine import read_connection, write_transaction
from zarrlake.catalog._filters import column_for, compile_filter, compile_pipeline, pipeline_rows
from zarrlake.catalog._ingest import ingest, ingest_sources
from zarrlake.catalog._repository import Catalog, KnownSource, UpsertResult
from zarrlake.catalog._scan import local_source
from zarrlake.catalog._search import Page, SearchQuery, count, related, search
from zarrlake.catalog._validate import validate_catalog
from zarrlake.catalog._values import utcnow
from zarrlake.catalog._watch import CatalogWatcher, watch
from zarrlake.catalog.schema import SCHEMA_VERSION

__all__ = [
    "SCHEMA_VERSION",
    "Catalog",
    "CatalogWatcher",
    "KnownSource",
    "Page",
    "SearchQuery",
    "UpsertResult",
    "column_for",
    "compile_filter",
    "compile_pipeline",
    "count",
    "ingest",
    "ingest_sources",
    "local_source",
    "pipeline_rows",
    "read_connection",
    "related",
    "search",
    "utcnow",
    "validate_catalog",
    "watch",
    "write_transaction",
]
