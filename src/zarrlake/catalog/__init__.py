"""The observation catalog: schema, repository, search, extraction and ingest workflows."""

from zarrlake.catalog.repository import Catalog, KnownSource, UpsertResult
from zarrlake.catalog.search import Page, SearchQuery, count, related, search

__all__ = [
    "Catalog",
    "KnownSource",
    "Page",
    "SearchQuery",
    "UpsertResult",
    "count",
    "related",
    "search",
]
