"""STAC times: RFC 3339 instants and intervals, strictly (STAC requires RFC 3339)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

from zarrlake.errors import InvalidInputError

# RFC 3339 date-time, as STAC requires: a time zone always, seconds always.
_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?([Zz]|[+-]\d{2}:\d{2})"
)


def parse_instant(text: str) -> datetime:
    """Read one RFC 3339 date-time (``Z`` or an offset) as a naive UTC datetime.

    Raises
    ------
    InvalidInputError
        For text that is not RFC 3339 (a date alone, no time zone, ``+0100``...) or
        names a day or time that does not exist.
    """
    match = _RFC3339.fullmatch(text)
    if match is None:
        raise _bad_datetime(f"{text!r} is not an RFC 3339 date-time")
    year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
    fraction, zone = match.group(7), match.group(8)
    micro = int((fraction or "0")[:6].ljust(6, "0"))
    if zone in ("Z", "z"):
        tz = UTC
    else:
        sign = -1 if zone[0] == "-" else 1
        hours, minutes = int(zone[1:3]), int(zone[4:6])
        if hours > 23 or minutes > 59:
            raise _bad_datetime(f"{text!r} has an impossible time zone offset {zone}")
        tz = timezone(sign * timedelta(hours=hours, minutes=minutes))
    try:
        moment = datetime(year, month, day, hour, minute, second, micro, tzinfo=tz)
    except ValueError as exc:
        raise _bad_datetime(f"{text!r} is not a real date-time: {exc}") from None
    return moment.astimezone(UTC).replace(tzinfo=None)


def parse_datetime(text: str | None) -> tuple[datetime | None, datetime | None]:
    """Read a STAC ``datetime``: an instant, or an interval with ``..`` or empty ends.

    Returns
    -------
    tuple
        ``(start, end)``; ``(None, None)`` when no datetime was given.

    Raises
    ------
    InvalidInputError
        For an instant that is not RFC 3339, an interval open at both ends, more than
        one ``/``, or a start after the end.
    """
    if not text:
        return None, None
    if "/" not in text:
        moment = parse_instant(text)
        return moment, moment
    parts = text.split("/")
    if len(parts) != 2:
        raise _bad_datetime(f"{text!r} has {len(parts) - 1} '/'; an interval has one")
    start, end = (None if p in ("", "..") else parse_instant(p) for p in parts)
    if start is None and end is None:
        raise _bad_datetime(f"the interval {text!r} is open at both ends")
    if start is not None and end is not None and start > end:
        raise _bad_datetime(f"the interval {text!r} starts after it ends")
    return start, end


def _bad_datetime(message: str) -> InvalidInputError:
    return InvalidInputError(
        message,
        subject="datetime",
        hint="e.g. 2026-03-01T00:00:00Z, or an interval 2026-03-01T00:00:00Z/.. ",
    )


__all__ = ["parse_datetime", "parse_instant"]
