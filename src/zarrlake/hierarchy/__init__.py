"""The Zarr metadata model: document names and keys, reading them, walking, consolidating.

Formats 2 and 3 alike. A hierarchy is known by its metadata documents only (chunks are
never listed or read here): :func:`awalk` finds every node and records damage instead of
stopping at it; :func:`build_consolidated` and :func:`consolidated_updates` make the
consolidated documents that every zarrlake write commits with. Nothing here knows xarray;
writes go through :mod:`zarrlake.txn`.
"""

from zarrlake.hierarchy._consolidated import (
    acollect_documents,
    build_consolidated,
    consolidated_updates,
    v2_consolidated,
    v3_consolidated,
)
from zarrlake.hierarchy._documents import (
    adetect_format,
    aread_document,
    aread_root_documents,
    corrupt_document,
    dumps,
    format_of,
    loads,
)
from zarrlake.hierarchy._keys import (
    CONSOLIDATED_V2,
    METADATA_NAMES,
    NODE_DOCUMENTS,
    V2_ARRAY,
    V2_ATTRS,
    V2_GROUP,
    V3_DOCUMENT,
    ZARRLAKE_PREFIX,
    ZarrFormat,
    ancestors,
    commit_key,
    document_name,
    is_metadata_key,
    is_private_key,
    join,
    node_path,
    parent,
    relative,
)
from zarrlake.hierarchy._walk import Hierarchy, Listing, Node, awalk, classify

__all__ = [
    "CONSOLIDATED_V2",
    "METADATA_NAMES",
    "NODE_DOCUMENTS",
    "V2_ARRAY",
    "V2_ATTRS",
    "V2_GROUP",
    "V3_DOCUMENT",
    "ZARRLAKE_PREFIX",
    "Hierarchy",
    "Listing",
    "Node",
    "ZarrFormat",
    "acollect_documents",
    "adetect_format",
    "ancestors",
    "aread_document",
    "aread_root_documents",
    "awalk",
    "build_consolidated",
    "classify",
    "commit_key",
    "consolidated_updates",
    "corrupt_document",
    "document_name",
    "dumps",
    "format_of",
    "is_metadata_key",
    "is_private_key",
    "join",
    "loads",
    "node_path",
    "parent",
    "relative",
    "v2_consolidated",
    "v3_consolidated",
]
