"""Checking and normalising observation records before they reach the database.

Plain functions over dicts, not a pydantic model: bulk loads push hundreds of
thousands of records a second through here.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

import orjson

from zarrlake.catalog.schema import (
    DERIVED_KEYS,
    OBSERVATION_FIELDS,
    PROCESSING_STATUSES,
    fold,
    observations,
)
from zarrlake.errors import InvalidInputError

TIME_FIELDS = ("observation_timestamp", "observation_end", "first_seen", "last_updated")
_WRITABLE = frozenset(OBSERVATION_FIELDS) - {"id", *DERIVED_KEYS}
# spec's file-info key; compat id key; derived keys (recomputed: a record read back
# can be written again)
_ALIASES = {"modified_time": None, "_id": None, **dict.fromkeys(DERIVED_KEYS)}
_ALL_TIME_FIELDS = (*TIME_FIELDS, "last_verified")
CALIBRATED_VALUES = frozenset({"COMPLETE", "CALIBRATED", "DONE", "YES", "TRUE"})
"""Calibration status values (compared case-insensitively) counted as calibrated."""
_JSON_OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY
TEXT_LIMITS: dict[str, int | None] = {
    c.name: getattr(c.type, "length", None)
    for c in observations.columns
    if c.type.python_type is str and c.name != "id"
}
"""Text columns of ``observations`` and their longest value (``None``: unlimited)."""


def visible(text: str) -> str:
    r"""Return ``text`` with NUL characters written as ``\x00`` (for messages and logs)."""
    return text.replace("\x00", "\\x00")


def check_text(value: str, field: str, path: str, limit: int | None = None) -> None:
    """Refuse text a catalog database cannot store the same way on SQLite and PostgreSQL.

    Raises
    ------
    InvalidInputError
        For a NUL character (PostgreSQL cannot store one in text) or text longer than
        ``limit`` characters (the column's size), naming the field and the record.
    """
    if "\x00" in value:
        raise InvalidInputError(
            f"{field} of {path} contains a NUL character (\\x00), which a catalog cannot store",
            subject=field,
            hint="remove NUL characters from the source (a damaged file or CSV cell?)",
        )
    if limit is not None and len(value) > limit:
        raise InvalidInputError(
            f"{field} of {path} has {len(value)} characters; the catalog stores at most {limit}",
            subject=field,
            hint=f"shorten {field}, or keep long values under mission_specific",
        )


def absolute_path(path: str) -> str:
    """Return a local path made absolute (the catalog stores local paths that way); URLs as is."""
    if "://" in path:
        return path
    return os.path.abspath(path)


def utcnow() -> datetime:
    """Return the current time as the catalog stores it (naive UTC)."""
    return datetime.now(UTC).replace(tzinfo=None)


def to_utc_naive(value: Any, *, field: str) -> datetime | None:
    """Turn a time value into a naive UTC datetime.

    Parameters
    ----------
    value
        ``None``, a datetime (aware ones are converted to UTC), a date, an ISO 8601
        string (``Z`` accepted), a NumPy ``datetime64`` or a pandas ``Timestamp``.
    field
        The field name, for the error message.

    Returns
    -------
    datetime or None
        The time without tzinfo, in UTC.

    Raises
    ------
    InvalidInputError
        For a value that is not a time.
    """
    if value is None:
        return None
    if isinstance(value, datetime):
        moment: datetime = value
        if moment.tzinfo is not None:
            moment = moment.astimezone(UTC).replace(tzinfo=None)
        return moment
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        try:
            return to_utc_naive(datetime.fromisoformat(text.replace("Z", "+00:00")), field=field)
        except ValueError as exc:
            raise InvalidInputError(
                f"{field} {value!r} is not an ISO 8601 time",
                subject=field,
                hint="write times like 2026-03-01T12:00:00 or 2026-03-01T12:00:00Z",
            ) from exc
    type_name = type(value).__name__
    if type_name == "datetime64" or type_name == "Timestamp":
        import pandas as pd

        stamp = pd.Timestamp(value)
        if stamp is pd.NaT:
            return None
        return to_utc_naive(stamp.to_pydatetime(), field=field)
    raise InvalidInputError(
        f"{field} has a {type_name}, not a time", subject=field, hint="give a datetime or ISO text"
    )


def normalize_observation(record: Mapping[str, Any]) -> dict[str, Any]:
    """Check one observation record and return it ready for the database.

    Parameters
    ----------
    record
        Column name to value. ``file_path`` is required; unknown keys are an error
        (except ``modified_time`` and ``_id``, which the original API passes along, and
        the derived ``target_key``, always recomputed from ``target_object``).

    Returns
    -------
    dict
        Only the table columns given (defaults are the database's business, so an
        update never resets a field the record does not name), times as naive UTC,
        numbers as numbers.

    Raises
    ------
    InvalidInputError
        Naming the field at fault: a missing path, an unknown column, a quality score
        outside 0..1, an unknown processing status, or a value of the wrong type.
    """
    path = record.get("file_path")
    if not path or not isinstance(path, str):
        raise InvalidInputError(
            "an observation needs a file_path (a path or URL)",
            subject="file_path",
            hint="give file_path as text",
        )
    keys = record.keys()
    if keys <= _WRITABLE:
        out = dict(record)
    else:
        unknown = [key for key in keys if key not in _WRITABLE and key not in _ALIASES]
        if unknown:
            raise InvalidInputError(
                f"unknown observation field(s) {', '.join(sorted(unknown))} for {path}",
                subject=unknown[0],
                hint="put mission-specific values under mission_specific",
            )
        out = {key: value for key, value in record.items() if key in _WRITABLE}
    for field in _ALL_TIME_FIELDS:
        value = out.get(field)
        if value is not None and (type(value) is not datetime or value.tzinfo is not None):
            out[field] = to_utc_naive(value, field=field)
    if "data_quality_score" in out:
        out["data_quality_score"] = _quality(out["data_quality_score"], path)
    if "processing_status" in out:
        status = str(out["processing_status"] or "raw").lower()
        if status not in PROCESSING_STATUSES:
            raise InvalidInputError(
                f"processing_status {status!r} of {path} is not one of "
                f"{', '.join(PROCESSING_STATUSES)}",
                subject="processing_status",
            )
        out["processing_status"] = status
    if "mission_id" in out:
        out["mission_id"] = str(out["mission_id"] or "unknown")
    for field in ("file_size", "mtime_ns", "source_size", "source_mtime_ns"):
        if out.get(field) is not None:
            out[field] = _integer(out[field], field, path)
    for field in ("ra", "dec"):
        if out.get(field) is not None:
            out[field] = _number(out[field], field, path)
    for field, value in out.items():  # the common case costs two tests per text value
        if isinstance(value, str) and field in TEXT_LIMITS:
            limit = TEXT_LIMITS[field]
            if "\x00" in value or (limit is not None and len(value) > limit):
                check_text(value, field, path, limit)
    for key, source in DERIVED_KEYS.items():
        if source in out:
            out[key] = fold(out[source])
    for field in ("mission_specific", "issues"):
        if out.get(field) is not None and not isinstance(out[field], dict | list):
            raise InvalidInputError(
                f"{field} of {path} must be a JSON object", subject=field, hint="pass a dict"
            )
    return out


def _quality(value: Any, path: str) -> float | None:
    if value is None:
        return None
    score = _number(value, "data_quality_score", path)
    if not 0.0 <= score <= 1.0:
        raise InvalidInputError(
            f"data_quality_score {score} of {path} is outside 0..1",
            subject="data_quality_score",
            hint="scores are fractions between 0.0 and 1.0",
        )
    return score


def _number(value: Any, field: str, path: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(
            f"{field} {value!r} of {path} is not a number", subject=field
        ) from exc
    if math.isnan(number):
        raise InvalidInputError(f"{field} of {path} is NaN", subject=field)
    return number


def _integer(value: Any, field: str, path: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(
            f"{field} {value!r} of {path} is not an integer", subject=field
        ) from exc


def is_calibrated(status: str | None) -> bool:
    """Return whether a calibration status counts as calibrated in summaries."""
    return status is not None and status.strip().upper() in CALIBRATED_VALUES


def dump_json(value: Any) -> str:
    """Encode a JSON column's value (``mission_specific``, ``issues``) for the database.

    NumPy values and non-text keys are accepted; NaN and infinities become ``null``
    (SQLite's JSON functions reject them).

    Raises
    ------
    InvalidInputError
        For a value JSON cannot hold (a set, an arbitrary object).
    """
    try:
        text = orjson.dumps(value, option=_JSON_OPTIONS).decode()
    except orjson.JSONEncodeError as exc:
        raise InvalidInputError(
            f"cannot store {type(value).__name__} value as JSON: {exc}",
            hint="give numbers, text, booleans, lists and objects (see jsonable())",
        ) from exc
    if "\\u0000" in text and _has_nul(value):  # PostgreSQL's JSONB refuses it
        raise InvalidInputError(
            "cannot store text with a NUL character (\\x00) as JSON",
            hint="remove NUL characters from the source (a damaged file or CSV cell?)",
        )
    return text


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, Mapping):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_has_nul(v) for v in value)
    return False


def jsonable(value: Any) -> Any:
    """Convert a value read from a file header into something JSON can store."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return None if math.isnan(value) or math.isinf(value) else value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    item = getattr(value, "item", None)  # NumPy scalars and 0-d arrays
    if callable(item) and getattr(value, "size", 1) == 1:
        return jsonable(item())
    tolist = getattr(value, "tolist", None)
    if callable(tolist):
        return jsonable(tolist())
    return str(value)
