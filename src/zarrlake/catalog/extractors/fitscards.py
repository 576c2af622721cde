"""FITS header cards astropy cannot give as written: non-ASCII text and FITS date forms.

Protocol: :func:`decoded_strings` takes a header's raw bytes (80-byte cards up to
``END``) and returns, for each string-valued card whose value holds bytes beyond ASCII,
the value decoded as UTF-8 (or, when those bytes are not UTF-8, Latin-1), keyed by
``(KEYWORD, occurrence)`` as astropy lists the cards (long strings continued with
``CONTINUE`` count as one card). astropy itself reads headers as ASCII and replaces
every other byte with ``?``.

:func:`fits_date` turns a FITS date keyword into ISO 8601 text: ``YYYY-MM-DD`` with an
optional ``Thh:mm:ss[.s]`` and ``Z``, or the pre-2000 forms ``DD/MM/YY`` (the year
19YY) and ``DD/MM/YYYY``; :func:`fits_clock` checks the ``TIME-OBS`` that completes a
date without a time.
"""

from __future__ import annotations

import re
from datetime import datetime, time

CARD = 80
_OLD_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{2}|\d{4})$")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")

DATE_KEYWORDS = {
    "DATE-OBS": "TIME-OBS",
    "DATE_OBS": "TIME_OBS",
    "DATE-BEG": None,
    "DATE-END": "TIME-END",
    "DATE_END": "TIME_END",
}
"""FITS date keywords normalised to ISO 8601, with the keyword holding their clock."""


def decoded_strings(raw: bytes) -> dict[tuple[str, int], tuple[str, str]]:
    """Decode the string values that hold non-ASCII bytes in a raw FITS header.

    Parameters
    ----------
    raw
        The header's bytes, from its first card (cards after ``END`` are ignored).

    Returns
    -------
    dict
        ``(KEYWORD, n)`` (the keyword upper-cased, ``n`` counting its cards from 0)
        to ``(value, encoding)``, with ``encoding`` ``utf-8`` or ``latin-1``; only
        cards with non-ASCII bytes in their value appear.
    """
    out: dict[tuple[str, int], tuple[str, str]] = {}
    seen: dict[str, int] = {}
    last: tuple[str, int] | None = None
    parts: list[str] = []
    encodings: set[str] = set()

    def finish() -> None:
        if last is not None and encodings:
            out[last] = ("".join(parts).rstrip(), "latin-1" if "latin-1" in encodings else "utf-8")

    for start in range(0, len(raw) - CARD + 1, CARD):
        card = raw[start : start + CARD]
        keyword = card[:8].decode("ascii", "replace").strip().upper()
        if keyword == "END":
            break
        if keyword == "CONTINUE" and parts and parts[-1].endswith("&"):
            value, encoding = _string_value(card[8:])
            if value is not None:
                parts[-1] = parts[-1][:-1]
                parts.append(value)
                if encoding:
                    encodings.add(encoding)
                continue
        finish()
        parts, encodings, last = [], set(), None
        value_bytes = card[10:] if card[8:10] == b"= " else None
        if keyword == "HIERARCH" and b"=" in card:
            name, _, value_bytes = card[8:].partition(b"=")
            keyword = name.decode("ascii", "replace").strip().upper()
        number = seen.get(keyword, 0)
        seen[keyword] = number + 1
        if value_bytes is None:
            continue
        value, encoding = _string_value(value_bytes)
        if value is None:
            continue
        last = (keyword, number)
        parts = [value]
        if encoding:
            encodings.add(encoding)
    finish()
    return out


def _string_value(field: bytes) -> tuple[str | None, str | None]:
    """Return a quoted FITS string value and the encoding its bytes needed (None: ASCII)."""
    text, encoding = _decode(field)
    text = text.lstrip()
    if not text.startswith("'"):
        return None, None
    chars: list[str] = []
    index = 1
    while index < len(text):
        char = text[index]
        if char == "'":
            if text[index + 1 : index + 2] == "'":
                chars.append("'")
                index += 2
                continue
            break
        chars.append(char)
        index += 1
    else:
        return None, None  # no closing quote: not a string card
    value = "".join(chars)
    return value, (encoding if not value.isascii() else None)


def _decode(data: bytes) -> tuple[str, str]:
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return data.decode("latin-1"), "latin-1"


def fits_date(value: str) -> str | None:
    """Return a FITS date keyword's value as ISO 8601 text.

    Parameters
    ----------
    value
        ``2026-03-01``, ``2026-03-01T12:00:00.5``, ``2026-03-01T12:00:00Z``,
        ``01/03/96`` (the pre-2000 form: 1996) or ``01/03/1996``; padding spaces
        allowed.

    Returns
    -------
    str or None
        ``YYYY-MM-DD`` with the time part as given; ``None`` for any other form or a
        day that does not exist.
    """
    text = value.strip()
    old = _OLD_DATE.match(text)
    if old:
        day, month, year = int(old[1]), int(old[2]), int(old[3])
        if len(old[3]) == 2:
            year += 1900  # FITS 3.0, section 9.1.1: DD/MM/YY means 19YY
        text = f"{year:04d}-{month:02d}-{day:02d}"
    elif not (_ISO_DATE.match(text[:10]) and text[10:11] in ("", "T")):
        return None
    try:
        datetime.fromisoformat(text[:10])
    except ValueError:
        return None
    return text


def fits_clock(value: str) -> str | None:
    """Return a ``TIME-OBS`` value (``hh:mm:ss[.s]``, padding allowed), or ``None`` if not one."""
    text = value.strip()
    try:
        time.fromisoformat(text.removesuffix("Z"))
    except ValueError:
        return None
    return text
