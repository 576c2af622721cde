"""Time coverage from a CF time coordinate (first and last value, any calendar).

The coordinate is a 1-D or scalar variable named ``time``, or with ``axis = T`` or
``standard_name = time``, whose units read ``<unit> since <date>``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import numpy as np

from zarrlake.catalog._values import to_utc_naive


def is_time_variable(name: str, attrs: dict[str, Any], ndim: int) -> bool:
    """Return whether a variable is the time coordinate (by name, axis or standard name).

    A CF time coordinate has one dimension, or none (a scalar coordinate: one instant).
    """
    if ndim > 1:
        return False
    units = str(attrs.get("units", ""))
    return (
        name == "time" or attrs.get("axis") == "T" or attrs.get("standard_name") == "time"
    ) and " since " in units


def coverage(
    values: Any, units: str, calendar: str | None
) -> tuple[datetime | None, datetime | None]:
    """Return the earliest and latest time of encoded CF time values.

    Parameters
    ----------
    values
        The raw numbers (fill values and NaN are ignored).
    units
        CF units, e.g. ``hours since 2000-01-01``.
    calendar
        CF calendar (``standard`` when ``None``).

    Returns
    -------
    tuple
        ``(start, end)`` as naive UTC datetimes; dates a non-standard calendar has but
        the Gregorian one lacks (30 February) are moved to the nearest real date.
    """
    import cftime

    data: np.ndarray[Any, Any] = np.ma.masked_invalid(
        np.ma.asarray(values, dtype="float64")
    ).compressed()
    if data.size == 0:
        return None, None
    low, high = float(data.min()), float(data.max())
    dates = cftime.num2date(
        [low, high], units, calendar or "standard", only_use_cftime_datetimes=True
    )
    return _to_datetime(dates[0]), _to_datetime(dates[1])


def _to_datetime(value: Any) -> datetime:
    try:
        return to_utc_naive(datetime.fromisoformat(value.isoformat()), field="time")  # type: ignore[return-value]
    except ValueError:
        day = min(value.day, 28)
        return datetime(value.year, value.month, day, value.hour, value.minute, value.second)
