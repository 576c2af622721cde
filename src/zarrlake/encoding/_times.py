"""CF time encoding, exact in every CF calendar: one codec for convert and append.

Protocol. A :class:`TimeEncoding` is ``(units, calendar, dtype)`` as stored on a time
variable (``"days since 1850-01-01"``, ``"noleap"``, ``"float64"``). Its law:

    decode(encode(t)) == t   for every label t it accepts, exactly,

where ``decode`` is what a reader does (xarray's CF decoder). :meth:`TimeEncoding.encode`
computes each label's offset from the reference as an exact integer (microseconds, or
nanoseconds for sub-microsecond ``datetime64`` values) in the label's calendar, divides
it by the unit, and then decodes the numbers with xarray and compares: a label that
does not survive (12:00 in ``days`` stored as integers, a date that does not exist in
the calendar) is an :class:`~zarrlake.errors.InvalidInputError` naming the variable
and the label. Nothing is rounded or rescaled silently.

:func:`choose_time_encoding` picks the encoding of a new archive: the one the source
declared (its units, calendar and dtype) when every label fits it, else integers in the
coarsest unit that holds every label (and a step that later appends will add), counted
from the first label's midnight (or the declared reference).

Labels are ``datetime64`` arrays (standard calendars) or ``cftime`` objects (any
calendar); ``NaT``/``None`` are missing and encode to NaN (float dtypes only).
"""

from __future__ import annotations

import datetime as _dt
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from zarrlake.errors import InvalidInputError

__all__ = [
    "TimeEncoding",
    "choose_time_encoding",
    "describe_duration",
    "is_time_like",
    "label_key",
    "label_text",
    "normalize_calendar",
]

_US_PER_UNIT = {
    "days": 86_400_000_000,
    "hours": 3_600_000_000,
    "minutes": 60_000_000,
    "seconds": 1_000_000,
    "milliseconds": 1_000,
    "microseconds": 1,
}
_UNIT_ALIASES = {
    "day": "days",
    "d": "days",
    "hour": "hours",
    "hr": "hours",
    "h": "hours",
    "minute": "minutes",
    "min": "minutes",
    "second": "seconds",
    "sec": "seconds",
    "s": "seconds",
    "millisecond": "milliseconds",
    "ms": "milliseconds",
    "microsecond": "microseconds",
    "us": "microseconds",
}
_STANDARD = {"standard", "gregorian", "proleptic_gregorian"}
_CALENDAR_ALIASES = {"gregorian": "standard", "365_day": "noleap", "366_day": "all_leap"}
_UNITS_RE = re.compile(r"^\s*(\w+)\s+since\s+(.+?)\s*$", re.IGNORECASE)


def normalize_calendar(calendar: str | None) -> str:
    """Return the canonical name of a CF calendar (``gregorian`` -> ``standard``...)."""
    name = (calendar or "standard").lower()
    return _CALENDAR_ALIASES.get(name, name)


def is_time_like(values: np.ndarray[Any, Any]) -> bool:
    """Whether an array holds times (``datetime64`` or cftime objects)."""
    if values.dtype.kind == "M":
        return True
    if values.dtype != object or not values.size:
        return False
    first = next((v for v in values.flat if v is not None), None)
    return first is not None and hasattr(first, "calendar") and hasattr(first, "year")


def time_dimensions(ds: Any) -> list[str]:
    """Name the dimensions a dataset's time runs along, most likely first.

    A dimension counts when its coordinate holds times or is marked as CF time
    (``axis: T``, ``standard_name: time``); the file's unlimited dimension comes first.
    Used to say which dimension to join files along when the configured one is absent
    (NEMO files run along ``time_counter``, for one).
    """
    unlimited = set(ds.encoding.get("unlimited_dims") or ())
    found = []
    for dim in map(str, ds.dims):
        coord = ds.variables.get(dim)
        if coord is None or coord.ndim != 1:
            continue
        attrs = {**coord.encoding, **coord.attrs}
        if (
            is_time_like(np.asarray(coord.values[:1]))
            or attrs.get("axis") == "T"
            or attrs.get("standard_name") == "time"
            or " since " in str(attrs.get("units", ""))
        ):
            found.append(dim)
    return sorted(found, key=lambda dim: dim not in unlimited)


def join_hint(option: str, flag: str, ds: Any) -> str:
    """Say what to do when the dimension to join along is missing: the option, a guess.

    Parameters
    ----------
    option
        The config key (``concat_dim``, ``append_dim``).
    flag
        The command-line option that sets it (``--concat-dim``).
    ds
        The dataset lacking the dimension.

    Returns
    -------
    str
        E.g. ``its time runs along 'time_counter': --concat-dim time_counter (or
        concat_dim in the config)``.
    """
    dims = time_dimensions(ds)
    if not dims:
        return f"set {option} (or {flag}) to the dimension the files are joined along"
    return f"its time runs along {dims[0]!r}: {flag} {dims[0]} (or {option} in the config)"


def label_key(value: Any) -> Any:
    """Return a hashable, exactly comparable key for one label (time or number)."""
    if isinstance(value, np.datetime64):
        return int(value.astype("datetime64[ns]").astype("int64"))
    if isinstance(value, np.generic):
        return value.item()
    return value


def label_text(label: Any) -> str:
    """Say one label as people read it (``2026-01-01T03:00``, not nanoseconds)."""
    if isinstance(label, np.datetime64):
        return str(np.datetime_as_string(label, unit="auto"))
    return str(label)


def describe_duration(microseconds: int) -> str:
    """Say a duration as people read it: ``3 days``, ``6 hours``, ``1 day 12 hours``."""
    sign = "-" if microseconds < 0 else ""
    rest = abs(int(microseconds))
    parts = []
    for name, size in (("day", 86_400_000_000), ("hour", 3_600_000_000), ("minute", 60_000_000)):
        count, rest = divmod(rest, size)
        if count:
            parts.append(f"{count} {name}{'s' if count != 1 else ''}")
    if rest or not parts:
        seconds = rest / 1e6
        parts.append(f"{seconds:g} second{'s' if seconds != 1 else ''}")
    return sign + " ".join(parts)


def _split_units(units: str) -> tuple[str, str]:
    match = _UNITS_RE.match(units)
    if match is None:
        raise InvalidInputError(
            f"time units {units!r} are not '<unit> since <date>'",
            subject=units,
            hint="use CF time units such as 'days since 1850-01-01'",
        )
    unit = match.group(1).lower()
    unit = _UNIT_ALIASES.get(unit, unit)
    if unit not in _US_PER_UNIT:
        raise InvalidInputError(
            f"time unit {match.group(1)!r} of {units!r} is not supported",
            subject=units,
            hint=f"use one of {', '.join(_US_PER_UNIT)} (months and years are not fixed lengths)",
        )
    return unit, match.group(2)


def _reference(units: str, calendar: str) -> Any:
    import cftime

    try:
        return cftime.num2date(0, units, calendar=calendar, only_use_cftime_datetimes=True)
    except (ValueError, TypeError) as exc:
        raise InvalidInputError(
            f"time units {units!r} in calendar {calendar!r} cannot be read: {exc}",
            subject=units,
        ) from None


def _missing(values: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    if values.dtype.kind == "M":
        missing: np.ndarray[Any, Any] = np.isnat(values)
        return missing
    return np.array([v is None or (isinstance(v, float) and v != v) for v in values.flat]).reshape(
        values.shape
    )


def _same_calendar(value: Any, calendar: str) -> bool:
    theirs = normalize_calendar(getattr(value, "calendar", ""))
    ours = normalize_calendar(calendar)
    if theirs == ours:
        return True
    # The standard and proleptic Gregorian calendars agree after the Gregorian reform.
    return {theirs, ours} <= {"standard", "proleptic_gregorian"} and (
        value.year,
        value.month,
        value.day,
    ) >= (1582, 10, 15)


def _in_calendar(
    values: np.ndarray[Any, Any], missing: np.ndarray[Any, Any], calendar: str
) -> np.ndarray[Any, Any]:
    """Turn ``datetime64`` labels into cftime dates of another calendar, field by field."""
    import cftime

    out = np.full(values.shape, None, dtype=object)
    for index in np.ndindex(values.shape):
        if missing[index]:
            continue
        stamp = values[index].astype("datetime64[us]").item()
        try:
            out[index] = cftime.datetime(
                stamp.year,
                stamp.month,
                stamp.day,
                stamp.hour,
                stamp.minute,
                stamp.second,
                stamp.microsecond,
                calendar=calendar,
            )
        except ValueError:
            raise InvalidInputError(
                f"time {stamp.isoformat()} does not exist in calendar {calendar!r}",
                subject=calendar,
                hint="drop or move that date, or use a calendar that has it",
            ) from None
    return out


def _offsets(values: np.ndarray[Any, Any], reference: Any, calendar: str) -> np.ndarray[Any, Any]:
    """Exact offsets from ``reference`` in microseconds (an object array; ``None`` missing).

    Sub-microsecond ``datetime64`` offsets come back as floats, which no unit holds.
    """
    import cftime

    out = np.full(values.shape, None, dtype=object)
    missing = _missing(values)
    if values.dtype.kind == "M" and normalize_calendar(calendar) not in _STANDARD:
        values = _in_calendar(values, missing, calendar)
    if values.dtype.kind == "M":
        ref = np.datetime64(reference.strftime("%Y-%m-%dT%H:%M:%S"), "ns") + np.timedelta64(
            reference.microsecond, "us"
        )
        delta = (values.astype("datetime64[ns]") - ref).astype(np.int64)
        whole = delta % 1000 == 0
        out[~missing & whole] = (delta[~missing & whole] // 1000).astype(object)
        out[~missing & ~whole] = (delta[~missing & ~whole] / 1000).astype(object)
        return out
    for index in np.ndindex(values.shape):
        if missing[index]:
            continue
        value: Any = values[index]
        if not _same_calendar(value, calendar):
            raise InvalidInputError(
                f"time {value} is in calendar {value.calendar!r}, the archive in {calendar!r}",
                subject=calendar,
                hint="convert or append times of one calendar",
            )
        if normalize_calendar(value.calendar) != normalize_calendar(reference.calendar):
            value = cftime.datetime(
                value.year,
                value.month,
                value.day,
                value.hour,
                value.minute,
                value.second,
                value.microsecond,
                calendar=reference.calendar,
            )
        delta_td: _dt.timedelta = value - reference
        out[index] = (delta_td.days * 86_400 + delta_td.seconds) * 1_000_000 + delta_td.microseconds
    return out


@dataclass(frozen=True)
class TimeEncoding:
    """How times are stored: CF ``units``, ``calendar`` and the stored ``dtype``."""

    units: str
    calendar: str
    dtype: str = "int64"
    calendar_attribute: bool = True
    """Whether ``calendar`` is written; a source that left it out (CF's default,
    ``standard``) keeps it out."""

    @property
    def unit(self) -> str:
        """The unit word (``days``, ``hours``...)."""
        return _split_units(self.units)[0]

    @property
    def unit_microseconds(self) -> int:
        """Length of one unit in microseconds."""
        return _US_PER_UNIT[self.unit]

    @property
    def is_float(self) -> bool:
        """Whether numbers are stored as floats."""
        return np.dtype(self.dtype).kind == "f"

    def attrs(self) -> dict[str, str]:
        """Return the CF attributes of the stored variable."""
        if not self.calendar_attribute:
            return {"units": self.units}
        return {"units": self.units, "calendar": self.calendar}

    def fits(self, values: np.ndarray[Any, Any]) -> bool:
        """Whether every label encodes exactly."""
        try:
            self.encode(values)
        except InvalidInputError:
            return False
        return True

    def encode(
        self, values: Any, *, name: str = "time", where: str | None = None
    ) -> np.ndarray[Any, Any]:
        """Return the stored numbers of some labels, exactly or not at all.

        Parameters
        ----------
        values
            ``datetime64`` or cftime labels (any shape).
        name, where
            The variable and the file or slice, for messages.

        Returns
        -------
        numpy.ndarray
            Numbers of :attr:`dtype`; missing labels are NaN.

        Raises
        ------
        InvalidInputError
            When a label cannot be stored exactly in these units, calendar and dtype.
        """
        array = np.asarray(values)
        unit, _ = _split_units(self.units)
        size = _US_PER_UNIT[unit]
        reference = _reference(self.units, self.calendar)
        offsets = _offsets(array, reference, self.calendar)
        dtype = np.dtype(self.dtype)
        origin = f" of {where}" if where else ""
        numbers = np.empty(array.shape, dtype=dtype)
        missing = np.zeros(array.shape, dtype=bool)
        for index in np.ndindex(array.shape):
            offset: Any = offsets[index]
            if offset is None:
                missing[index] = True
                continue
            if dtype.kind in "iu":
                if isinstance(offset, float) or offset % size:
                    raise self._not_exact(array[index], name, origin)
                numbers[index] = offset // size
            else:
                numbers[index] = offset / size
        if missing.any():
            if dtype.kind != "f":
                raise InvalidInputError(
                    f"{name!r}{origin} has missing times, which {self.dtype} cannot store",
                    subject=name,
                    hint="store times as float64, or fill the missing times",
                )
            numbers[missing] = np.nan
        self._check_round_trip(array, offsets, numbers, missing, name, origin)
        return numbers

    def decode(self, numbers: Any, *, use_cftime: bool = True) -> np.ndarray[Any, Any]:
        """Decode stored numbers as a reader does (xarray's CF decoder)."""
        import xarray as xr

        array = np.asarray(numbers)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            decoded = xr.coding.times.decode_cf_datetime(
                array.ravel(), self.units, self.calendar, use_cftime=use_cftime
            )
        return np.asarray(decoded).reshape(array.shape)

    def _check_round_trip(
        self,
        array: np.ndarray[Any, Any],
        offsets: np.ndarray[Any, Any],
        numbers: np.ndarray[Any, Any],
        missing: np.ndarray[Any, Any],
        name: str,
        origin: str,
    ) -> None:
        present = ~missing
        if not present.any():
            return
        try:
            decoded = self.decode(numbers[present], use_cftime=True)
        except (ValueError, OverflowError, TypeError) as exc:
            raise InvalidInputError(
                f"times of {name!r}{origin} cannot be stored in {self.units!r} "
                f"({self.calendar}): {exc}",
                subject=name,
            ) from None
        back = _offsets(decoded, _reference(self.units, self.calendar), self.calendar)
        wanted = offsets[present]
        for i in range(len(back)):
            if back[i] != wanted[i]:
                raise self._not_exact(array[present][i], name, origin)

    def _not_exact(self, label: Any, name: str, origin: str) -> InvalidInputError:
        return InvalidInputError(
            f"time {label_text(label)} of {name!r}{origin} cannot be stored exactly as "
            f"{self.dtype} {self.units!r} (calendar {self.calendar}); it would be rounded",
            subject=name,
            hint="write it into an archive whose time units are fine enough (e.g. hours or "
            "seconds), or fix the label",
        )


def _midnight(first: Any) -> str:
    if isinstance(first, np.datetime64):
        return str(first.astype("datetime64[D]"))
    return f"{first.year:04d}-{first.month:02d}-{first.day:02d}"


def choose_time_encoding(
    values: Sequence[np.ndarray[Any, Any]] | np.ndarray[Any, Any],
    *,
    calendar: str | None = None,
    declared: dict[str, Any] | None = None,
    step_microseconds: int | None = None,
    finest_default: str = "seconds",
) -> TimeEncoding:
    """Choose how a new archive stores its times.

    Parameters
    ----------
    values
        Every label that will be stored now (the axis, bounds...), one or more arrays.
    calendar
        The labels' calendar (default: the declared one, the cftime objects', or
        ``proleptic_gregorian`` for ``datetime64``).
    declared
        The source's encoding (``units``, ``calendar``, ``dtype``); kept when every
        label fits it exactly and, for integers, later steps fit too (the step, or
        ``finest_default`` when the step is unknown); otherwise its reference date and
        calendar are kept.
    step_microseconds
        A step that later appends will add (the units must hold it).
    finest_default
        The coarsest unit kept when choosing units with a step unknown: later appends
        of finer labels need it (``seconds`` for append, ``days`` lets convert pick
        from the labels alone).

    Returns
    -------
    TimeEncoding
        The encoding; every given label encodes exactly with it.
    """
    arrays = [np.asarray(v) for v in (values if isinstance(values, (list, tuple)) else [values])]
    flat = np.concatenate([a.ravel() for a in arrays]) if arrays else np.array([])
    present = flat[~_missing(flat)] if flat.size else flat
    declared = declared or {}
    if calendar is None:
        calendar = declared.get("calendar")
    if calendar is None:
        first = present[0] if present.size else None
        calendar = getattr(first, "calendar", None) or "proleptic_gregorian"
    if declared.get("units") and " since " in str(declared["units"]):
        dtype = np.dtype(declared.get("dtype", "float64"))
        if dtype.kind not in "iuf":
            dtype = np.dtype("float64")
        # The declared dtype when every label fits it; float32 rarely holds a time
        # axis exactly, and then float64 in the same units keeps the units at least.
        # Integer units coarser than the floor are kept only for a step they hold:
        # a file written with "days since" for its midnight label must not refuse the
        # next hour's slice.
        floor_us = _US_PER_UNIT[finest_default]
        for stored in dict.fromkeys([str(dtype), "float64" if dtype.kind == "f" else str(dtype)]):
            kept = TimeEncoding(
                str(declared["units"]),
                str(calendar),
                stored,
                calendar_attribute="calendar" in declared
                or normalize_calendar(str(calendar)) not in _STANDARD,
            )
            if step_microseconds is not None:
                later_fit = step_microseconds % kept.unit_microseconds == 0
            else:
                later_fit = kept.unit_microseconds <= floor_us
            if (kept.is_float or later_fit) and kept.fits(present):
                return kept
    reference = (
        _midnight(present.min() if present.dtype.kind == "M" else present[0])
        if (present.size)
        else "1970-01-01"
    )
    if declared.get("units") and " since " in str(declared["units"]):
        reference = _split_units(str(declared["units"]))[1]
    floor = _US_PER_UNIT[finest_default]
    if step_microseconds:
        floor = max(floor, abs(int(step_microseconds)))
    for unit, size in _US_PER_UNIT.items():  # coarsest first
        if size > floor or floor % size:
            continue
        candidate = TimeEncoding(f"{unit} since {reference}", str(calendar), "int64")
        if candidate.fits(present):
            return candidate
    candidate = TimeEncoding(f"microseconds since {reference}", str(calendar), "float64")
    candidate.encode(present)  # sub-microsecond labels: the error names the first
    return candidate
