"""FITS files: the primary header's keywords (astropy), plus a list of the HDUs.

Protocol: one observation per file. Its attributes are the primary header's keywords;
extension headers fill keywords the primary header lacks. A file is read as far as it
can be: a card astropy cannot parse (``QUALITY = NAN``) is kept as its text and
recorded as an ``unparsable_card`` issue; a header without ``END`` is read with
astropy's ``ignore_missing_end`` and recorded as a ``missing_end`` issue; other
astropy warnings become ``fits_warning`` issues. String values are stripped of their
padding, and values with bytes beyond ASCII are decoded from the raw header as UTF-8
(Latin-1 when not UTF-8; listed under ``non_ascii_cards``). Date keywords in FITS forms
(ISO 8601, ``DD/MM/YY``, ``DD/MM/YYYY``, completed by ``TIME-OBS``) become ISO text.
Only a file astropy cannot open at all is an error.
"""

from __future__ import annotations

import warnings
from typing import Any

from zarrlake._deps import require_dependency
from zarrlake.catalog.extractors.base import Extractor, RawObservation, Source
from zarrlake.catalog.extractors.fitscards import (
    DATE_KEYWORDS,
    decoded_strings,
    fits_clock,
    fits_date,
)
from zarrlake.errors import ExtractionError

# Structural keywords say how the bytes are laid out, not what was observed.
_STRUCTURAL = (
    "SIMPLE",
    "BITPIX",
    "NAXIS",
    "EXTEND",
    "PCOUNT",
    "GCOUNT",
    "COMMENT",
    "HISTORY",
    "CHECKSUM",
    "DATASUM",
)
_NON_ASCII_WARNING = "non-ASCII characters are present in the FITS file header"
_BOILERPLATE = ("Verification reported errors", "Note: astropy.io.fits uses zero-based")
_INSTALL_HINTS = {"uncompresspy": "pip install uncompresspy (reads .Z files)"}


class FitsExtractor(Extractor):
    """Primary-header keywords (MISSION, TELESCOP, INSTRUME, DATE-OBS, OBJECT, ...)."""

    name = "fits"
    version = "2"
    format = "fits"
    suffixes = (".fits", ".fit", ".fts", ".fits.gz", ".fits.bz2", ".fits.z", ".fits.fz")

    def read(self, source: Source) -> list[RawObservation]:
        """Read the primary header; extension headers fill keywords it lacks.

        Raises
        ------
        ExtractionError
            When astropy cannot open the file at all (not FITS, truncated header,
            a compression whose reader is not installed).
        """
        fits = require_dependency("astropy.io.fits", "fits")
        issues: list[dict[str, Any]] = []
        with source.open() as handle, warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            hdul = _open(fits, handle, source.path, issues, caught)
            with hdul:
                warned = any(str(w.message).startswith(_NON_ASCII_WARNING) for w in caught)
                attributes, hdus, non_ascii = _read_headers(fits, hdul, issues, raw=warned)
        if not hdus:
            raise ExtractionError(f"{source.path} has no HDUs", subject=source.path)
        for message in _warnings(caught):
            if message.startswith(_NON_ASCII_WARNING):
                continue  # values decoded from the raw bytes instead (comments are not kept)
            issues.append({"code": "fits_warning", "message": message[:500]})
        extra: dict[str, Any] = {"hdus": hdus}
        if non_ascii:
            extra["non_ascii_cards"] = non_ascii
        return [RawObservation(attributes, {"issues": issues}, extra)]


def _warnings(caught: list[warnings.WarningMessage]) -> list[str]:
    """Return astropy's warning texts, once each, without its boilerplate lines."""
    texts = (str(w.message).strip() for w in caught)
    return list(dict.fromkeys(t for t in texts if t and not t.startswith(_BOILERPLATE)))


def _open(
    fits: Any,
    handle: Any,
    path: str,
    issues: list[dict[str, Any]],
    caught: list[warnings.WarningMessage],
) -> Any:
    try:
        return fits.open(handle, memmap=False, lazy_load_hdus=False)
    except OSError as exc:
        if "END" not in str(exc):
            raise _unreadable(path, exc, caught) from exc
        first = exc
    except Exception as exc:
        raise _unreadable(path, exc, caught) from exc
    handle.seek(0)
    try:
        hdul = fits.open(handle, memmap=False, lazy_load_hdus=False, ignore_missing_end=True)
    except Exception as exc:
        raise _unreadable(path, exc, caught) from exc
    issues.append(
        {"code": "missing_end", "message": f"{first}; read with astropy's ignore_missing_end"}
    )
    return hdul


def _unreadable(
    path: str, exc: Exception, caught: list[warnings.WarningMessage]
) -> ExtractionError:
    missing = getattr(exc, "name", None) if isinstance(exc, ImportError) else None
    why = "; ".join(m for m in _warnings(caught) if not m.startswith(_NON_ASCII_WARNING))
    return ExtractionError(
        f"{path} is not a readable FITS file: {exc}" + (f" (astropy: {why})" if why else ""),
        subject=path,
        hint=_INSTALL_HINTS.get(missing or "", "check that the file is complete FITS"),
    )


def _read_headers(
    fits: Any, hdul: Any, issues: list[dict[str, Any]], *, raw: bool
) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
    attributes: dict[str, Any] = {}
    hdus: list[dict[str, Any]] = []
    non_ascii: list[dict[str, Any]] = []
    for index, hdu in enumerate(hdul):
        try:
            shape = list(getattr(hdu, "shape", ()) or ())
        except Exception as exc:  # a malformed data description: the header still counts
            shape = None
            issues.append({"code": "fits_warning", "hdu": index, "message": str(exc)[:500]})
        hdus.append({"name": hdu.name, "type": type(hdu).__name__, "shape": shape})
        values = _header_values(fits, hdu.header, index, issues)
        if raw and any(isinstance(v, str) and "?" in v for v in values.values()):
            values.update(_raw_strings(hdul, index, hdu.header, values, non_ascii, issues))
        _normalise_dates(values, index, issues)
        for key, value in values.items():
            if index == 0 or key not in attributes:
                attributes[key] = value
    return attributes, hdus, non_ascii


def _header_values(
    fits: Any, header: Any, index: int, issues: list[dict[str, Any]]
) -> dict[str, Any]:
    """Keyword to value of one header; unparsable cards as their text, with an issue."""
    values: dict[str, Any] = {}
    for card in header.cards:
        key = str(card.keyword)
        if not key or key.startswith(_STRUCTURAL):
            continue
        try:
            value = card.value
        except Exception as exc:  # astropy raises VerifyError and others for bad cards
            value = _unparsable(card, key, index, exc, issues)
        if isinstance(value, fits.card.Undefined):
            value = None
        elif isinstance(value, str):
            value = value.strip()
        values[key] = value  # a repeated keyword: its last card
    return values


def _unparsable(
    card: Any, key: str, index: int, exc: Exception, issues: list[dict[str, Any]]
) -> str | None:
    """Return a bad card's value as text (astropy's fix), recording the card as an issue."""
    value: str | None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # astropy's fix warnings: this issue says it all
        try:
            card.verify("silentfix")
            fixed = card.value
            value = fixed if isinstance(fixed, str) else str(fixed)
        except Exception:  # not even astropy's fix reads it
            value = None
    kept = f"kept as the text {value!r}" if value is not None else "no value kept"
    issues.append(
        {
            "code": "unparsable_card",
            "hdu": index,
            "keyword": key,
            "value": value,
            "message": f"FITS card {key!r} in HDU {index} cannot be parsed ({exc}); {kept}",
        }
    )
    return value


def _raw_strings(
    hdul: Any,
    index: int,
    header: Any,
    wanted: dict[str, Any],
    non_ascii: list[dict[str, Any]],
    issues: list[dict[str, Any]],
) -> dict[str, str]:
    """Return the wanted keywords' non-ASCII string values, decoded from the raw bytes."""
    info = hdul.fileinfo(index)
    if not info or info.get("file") is None:
        issues.append(
            {
                "code": "fits_warning",
                "hdu": index,
                "message": f"non-ASCII header text of HDU {index} replaced by '?': "
                "its raw bytes could not be read back",
            }
        )
        return {}
    file = info["file"]
    position = file.tell()
    try:
        file.seek(info["hdrLoc"])
        raw = file.read(info["datLoc"] - info["hdrLoc"])
    finally:
        file.seek(position)
    decoded = decoded_strings(raw if isinstance(raw, bytes) else bytes(raw))
    out: dict[str, str] = {}
    seen: dict[str, int] = {}
    for card in header.cards:
        key = str(card.keyword)
        number = seen.get(key.upper(), 0)
        seen[key.upper()] = number + 1
        hit = decoded.get((key.upper(), number))
        if hit is not None and key in wanted:
            out[key] = hit[0].strip()
            non_ascii.append({"hdu": index, "keyword": key, "encoding": hit[1]})
    return out


def _normalise_dates(values: dict[str, Any], index: int, issues: list[dict[str, Any]]) -> None:
    """Turn the header's date keywords into ISO text, with their ``TIME-OBS`` clock."""
    for key, clock_key in DATE_KEYWORDS.items():
        value = values.get(key)
        if not isinstance(value, str):
            continue
        date = fits_date(value)
        if date is None:
            continue  # left as written: the mapping records it as unreadable
        clock = values.get(clock_key) if clock_key else None
        if len(date) == 10 and isinstance(clock, str) and clock:
            moment = fits_clock(clock)
            if moment is None:
                issues.append(
                    {
                        "code": "unreadable_value",
                        "hdu": index,
                        "attribute": clock_key,
                        "value": clock[:200],
                        "message": f"{clock_key} {clock!r} is not a time (hh:mm:ss); "
                        f"{key} is the date {date} without a time",
                    }
                )
            else:
                date = f"{date}T{moment}"
        values[key] = date
