"""Pipelines and the catalog: register outputs, move statuses, link inputs to outputs."""

from __future__ import annotations

from typing import Any

from zarrlake.catalog.extractors import ExtractionConfig, extract_source
from zarrlake.catalog.repository import Catalog
from zarrlake.catalog.scan import stat_source


def register(
    catalog: Catalog,
    path: str,
    *,
    extract: bool = True,
    config: ExtractionConfig | None = None,
    storage_options: dict[str, Any] | None = None,
    **fields: Any,
) -> int:
    """Register or update the dataset at ``path``; return its id.

    Parameters
    ----------
    catalog
        The catalog.
    path
        Path or URL of the dataset (a file or a Zarr archive).
    extract
        Read the file's metadata first when it exists (given ``fields`` win).
    config
        Attribute mapping and quality rules.
    storage_options
        fsspec options for URLs.
    **fields
        Observation fields to set (``mission_id``, ``processing_status``, ...).

    Returns
    -------
    int
        The record id.

    Raises
    ------
    InvalidInputError
        For an unknown field or an invalid value (nothing is written).
    """
    record: dict[str, Any] = {"file_path": path}
    source = stat_source(path, storage_options) if extract else None
    if source is not None:
        extracted = extract_source(source, config)
        if len(extracted) == 1:
            record.update(extracted[0])
            record["file_path"] = path
    record.update(fields)
    return catalog.upsert_observations([record], actor="register").ids[0]
