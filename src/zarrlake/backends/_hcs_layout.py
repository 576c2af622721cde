"""Plate layouts and well names: one name per well, decided by the plate size alone.

Protocol: a well's path is ``<row>/<column>``. Rows are letters (A..Z, then AA..AF);
columns are numbers zero-padded to the width of the plate's column count, and to at
least two digits, as plate readers label wells (24 wells: ``01`` .. ``06``; 96:
``01`` .. ``12``; 384: ``01`` .. ``24``; 1536: ``01`` .. ``48``). The width belongs to the
plate: it is derived from the plate size when the plate is created and stored in the
plate's ``zarrlake.plate_layout`` attribute, and a plate that grows (96 -> 384 -> 1536)
keeps it (plates written by older zarrlake versions keep theirs). So the name of a
well never depends on which well was written first, nor on how the caller spelled the
column, and every writer that reads the same plate computes the same name.

Callers count both rows and columns from 1, like the labels printed on a plate:
``row`` is a letter (``"B"``, ``"b"``) or a number (``2``, ``"2"``); ``col`` is a number
(``3``, ``"3"``, ``"03"``). Anything else, or a number outside the plate, is refused
with an error naming the argument.
"""

from __future__ import annotations

import numbers
import string
from dataclasses import dataclass
from typing import Any

from zarrlake.backends._config import PLATE_SIZES, ZarrConfig
from zarrlake.errors import InvalidInputError, OutOfRangeError

__all__ = ["PlateLayout", "column_width", "resolve_layout", "row_name"]

_LETTERS = string.ascii_uppercase
# default plates, smallest first: a plate without plate_size grows along these
_GROWTH = (96, 384, 1536)


def row_name(index: int) -> str:
    """Return the name of plate row ``index`` counted from 0 (0 -> A, 25 -> Z, 26 -> AA)."""
    return _LETTERS[index] if index < 26 else _LETTERS[index // 26 - 1] + _LETTERS[index % 26]


def column_width(size: int) -> int:
    """Return the digits of column names on a new plate of ``size`` wells (at least 2)."""
    return max(2, len(str(PLATE_SIZES[size][1])))


def _number(value: Any, what: str, example: str) -> int:
    """Return ``value`` as a number counted from 1, or refuse it naming ``what``."""
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        number = int(value.strip())
    elif not isinstance(value, (bool, str)) and isinstance(value, numbers.Integral):
        number = int(value)
    else:
        raise InvalidInputError(
            f"well {what} {value!r} is not a {what} number",
            subject=what,
            hint=f"pass {example}",
        )
    if number < 1:
        raise OutOfRangeError(
            f"well {what} {value!r} is out of range: {what}s count from 1",
            subject=what,
            hint=f"pass {example} ({what}s are numbered from 1, like the plate's labels)",
        )
    return number


def _row_number(row: Any) -> int:
    """Return the row as a number counted from 1 (``"A"``, ``"a"``, ``1``, ``"1"`` -> 1)."""
    if isinstance(row, str) and row.strip().isalpha():
        letters = row.strip().upper()
        if len(letters) == 1 and letters.isascii():
            return _LETTERS.index(letters) + 1
        if len(letters) == 2 and letters.isascii():
            return (_LETTERS.index(letters[0]) + 1) * 26 + _LETTERS.index(letters[1]) + 1
        raise OutOfRangeError(
            f"well row {row!r} is not a plate row", subject="row", hint="pass a row such as 'B'"
        )
    return _number(row, "row", "a letter such as 'B' or a number from 1 (1 = A)")


def _column_number(col: Any) -> int:
    return _number(col, "column", "a number from 1, such as 3, '3' or '03'")


@dataclass(frozen=True)
class PlateLayout:
    """The physical rows and columns of a plate, and how its columns are named."""

    size: int
    column_width: int

    @classmethod
    def of_size(cls, size: int) -> PlateLayout:
        """Return the layout of a new plate of ``size`` wells."""
        return cls(size, column_width(size))

    @property
    def rows(self) -> list[str]:
        """Every row name, in order."""
        return [row_name(i) for i in range(PLATE_SIZES[self.size][0])]

    @property
    def columns(self) -> list[str]:
        """Every column name, in order."""
        return [str(i + 1).zfill(self.column_width) for i in range(PLATE_SIZES[self.size][1])]

    def holds(self, row: Any, col: Any) -> bool:
        """Whether the plate has the well (``row``, ``col``); bad input raises."""
        n_rows, n_columns = PLATE_SIZES[self.size]
        return _row_number(row) <= n_rows and _column_number(col) <= n_columns

    def well(self, row: Any, col: Any) -> tuple[str, str]:
        """Return the row and column names of a well, or refuse a well outside the plate.

        Raises
        ------
        InvalidInputError
            When ``row`` or ``col`` is not a row or column (``OutOfRangeError`` when it
            is outside this plate).
        """
        row_number, column_number = _row_number(row), _column_number(col)
        n_rows, n_columns = PLATE_SIZES[self.size]
        if row_number > n_rows or column_number > n_columns:
            shown = f"{row_name(row_number - 1)}{column_number}"
            raise OutOfRangeError(
                f"well {shown} (row={row!r}, col={col!r}) is outside the {self.size}-well "
                f"plate (rows A-{row_name(n_rows - 1)}, columns 1-{n_columns})",
                subject=shown,
                hint="check row/col (both count from 1), or set ZarrConfig(plate_size=...) "
                "to the plate used",
            )
        return row_name(row_number - 1), str(column_number).zfill(self.column_width)

    def fitting(self, row: Any, col: Any) -> PlateLayout:
        """Return this layout, or the next larger default plate that holds the well.

        The column width stays the plate's, so no well already written is renamed.
        """
        for size in [self.size, *(s for s in _GROWTH if s > self.size)]:
            layout = PlateLayout(size, self.column_width)
            if layout.holds(row, col):
                return layout
        return self  # well() then names the plate and the well outside it


def resolve_layout(
    saved: dict[str, Any] | None, config: ZarrConfig, row: Any, col: Any, where: str
) -> PlateLayout:
    """Return the layout a well (``row``, ``col``) is written with.

    Parameters
    ----------
    saved
        The plate's ``zarrlake.plate_layout`` attribute, or None for a new plate.
    config
        ``plate_size`` fixes the plate; without it a plate starts at 96 wells and grows
        to 384 and 1536 as wells need.
    row, col
        The well, as the caller gave it.
    where
        The plate's location, for messages.

    Raises
    ------
    InvalidInputError
        When ``config.plate_size`` disagrees with the plate's size.
    """
    if saved:
        size = int(saved["size"])
        layout = PlateLayout(size, int(saved.get("column_width") or column_width(size)))
        if config.plate_size is None:
            return layout.fitting(row, col)
        if config.plate_size != layout.size:
            raise InvalidInputError(
                f"the plate at {where} is a {layout.size}-well plate, not "
                f"{config.plate_size} wells (ZarrConfig.plate_size)",
                subject="plate_size",
                hint=f"drop plate_size or set it to {layout.size}",
            )
        return layout
    if config.plate_size is not None:
        return PlateLayout.of_size(config.plate_size)
    return PlateLayout.of_size(_GROWTH[0]).fitting(row, col)
