"""Catalog records as JSON: times in ISO 8601 UTC with ``Z``."""

from __future__ import annotations

from datetime import datetime
from typing import Any


def iso(value: datetime | None) -> str | None:
    """Format a stored (naive UTC) time as ISO 8601 with ``Z``."""
    return None if value is None else value.isoformat() + "Z"


def to_json(value: Any) -> Any:
    """Turn a record (or a list/dict of them) into JSON-ready values."""
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_json(v) for v in value]
    return value


def record_json(record: dict[str, Any]) -> dict[str, Any]:
    """Return one catalog row JSON-ready, fast: only its top-level times need converting.

    Its JSON columns came from JSON, so they hold no times.
    """
    return {k: (v.isoformat() + "Z" if type(v) is datetime else v) for k, v in record.items()}
