"""Observation lists in CSV: one row, one record.

The first line names the columns; each further row is an observation whose cells are
mapped like attributes. The text encoding is UTF-8 (with or without a byte-order
mark) or, when the bytes are not UTF-8, Latin-1; the delimiter is the one of ``,``
``;`` tab ``|`` that splits the header and the rows alike. A file that is neither, or
whose delimiter cannot be told, is an error that says so.
"""

from __future__ import annotations

import csv
import io
import math
from typing import Any

from zarrlake.catalog.extractors.base import Extractor, RawObservation, Source
from zarrlake.errors import ExtractionError

ROW_MARK = "#row="
"""A row without a ``file_path`` column is catalogued as ``<csv path>#row=<n>``."""

DELIMITERS = (",", ";", "\t", "|")
"""The delimiters tried, in this order of preference when several fit."""

_SAMPLE_ROWS = 50
_BOM = b"\xef\xbb\xbf"
_C1_CONTROLS = frozenset(range(0x80, 0xA0))


class CsvExtractor(Extractor):
    """Each row is an observation; columns are mapped like attributes.

    A ``file_path`` column names the file the row describes; without one the row is
    catalogued as ``<csv>#row=<n>`` (``n`` counts data rows from 1). An empty cell is
    an attribute without a value (an empty quality cell is unknown quality).
    """

    name = "csv"
    version = "2"
    format = "csv"
    suffixes = (".csv",)

    def read(self, source: Source) -> list[RawObservation]:
        """Read every row (all values as text first, numbers and times parsed by mapping).

        Raises
        ------
        ExtractionError
            For text that is neither UTF-8 nor Latin-1, a delimiter that cannot be
            told, or a file without rows.
        """
        import pandas as pd

        with source.open() as handle:
            data = handle.read()
        text, encoding = decode_text(data, source.path)
        delimiter = detect_delimiter(text, source.path)
        try:
            frame = pd.read_csv(
                io.StringIO(text),
                sep=delimiter,
                dtype=str,
                keep_default_na=False,
                skipinitialspace=True,
            )
        except Exception as exc:
            raise ExtractionError(
                f"{source.path} is not a readable CSV observation list "
                f"({encoding}, delimiter {delimiter!r}): {exc}",
                subject=source.path,
            ) from exc
        if frame.empty:
            raise ExtractionError(
                f"{source.path} has no rows",
                subject=source.path,
                hint="an observation list needs a header and rows",
            )
        columns = {str(c).strip(): c for c in frame.columns}
        path_column = next((c for name, c in columns.items() if name.lower() == "file_path"), None)
        size_column = next((c for name, c in columns.items() if name.lower() == "file_size"), None)
        out = []
        for number, row in enumerate(frame.to_dict("records"), start=1):
            attributes = {
                str(k).strip(): _cell(v)
                for k, v in row.items()
                if k not in (path_column, size_column)
            }
            known: dict[str, Any] = {
                "file_path": (
                    row[path_column].strip()
                    if path_column and row[path_column]
                    else f"{source.path}{ROW_MARK}{number}"
                ),
                "file_size": _size(row[size_column]) if size_column else None,
                "mtime_ns": None,
            }
            extra = {"row": number, "csv_encoding": encoding, "csv_delimiter": delimiter}
            out.append(RawObservation(attributes, known, extra))
        return out


def decode_text(data: bytes, path: str) -> tuple[str, str]:
    """Decode a CSV file's bytes: UTF-8 (a byte-order mark is dropped), else Latin-1.

    Parameters
    ----------
    data
        The file's bytes.
    path
        The file, for the error message.

    Returns
    -------
    tuple
        The text and the encoding used (``utf-8``, ``utf-8-sig`` or ``latin-1``).

    Raises
    ------
    ExtractionError
        For bytes that are not UTF-8 and hold C1 control characters in Latin-1
        (0x80-0x9F: typical of Windows-1252 or binary files), or NUL bytes.
    """
    if data.startswith(_BOM):
        encoding = "utf-8-sig"
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ExtractionError(
            f"{path} is UTF-16 text (byte-order mark); CSV observation lists are read as "
            "UTF-8 or Latin-1",
            subject=path,
            hint="save the file as UTF-8",
        )
    else:
        encoding = "utf-8"
    try:
        return data.decode(encoding), encoding
    except UnicodeDecodeError as exc:
        utf8_error = exc
    if encoding == "utf-8":
        bad = next((i for i, byte in enumerate(data) if byte in _C1_CONTROLS or byte == 0), None)
        if bad is None:
            return data.decode("latin-1"), "latin-1"
        raise ExtractionError(
            f"{path} is neither UTF-8 (byte 0x{data[utf8_error.start]:02x} at offset "
            f"{utf8_error.start} is invalid) nor Latin-1 text (byte 0x{data[bad]:02x} at "
            f"offset {bad} is a control character there; Windows-1252?)",
            subject=path,
            hint="save the file as UTF-8",
        )
    raise ExtractionError(
        f"{path} starts with a UTF-8 byte-order mark but byte 0x{data[utf8_error.start]:02x} "
        f"at offset {utf8_error.start} is not UTF-8",
        subject=path,
        hint="save the file as UTF-8",
    )


def detect_delimiter(text: str, path: str) -> str:
    """Return the delimiter that splits the header and the first rows alike.

    A candidate (``,`` ``;`` tab ``|``) must occur in the header and split it into
    columns no sampled row exceeds (rows may leave trailing cells out). When several
    fit, the one giving the most rows exactly the header's width wins, then the one
    giving more columns, then the order above. A header with none of them is one
    column.

    Raises
    ------
    ExtractionError
        When candidates occur in the header but none splits the rows consistently.
    """
    lines = text.splitlines()
    header = next((line for line in lines if line.strip()), "")
    candidates = [d for d in DELIMITERS if d in header]
    if not candidates:
        return ","
    sample = "\n".join(lines[: _SAMPLE_ROWS + 1])
    cut = len(lines) > _SAMPLE_ROWS + 1  # the sample may end inside a row
    fitting: list[tuple[int, int, int, str]] = []
    for rank, delimiter in enumerate(candidates):
        rows = [row for row in csv.reader(io.StringIO(sample), delimiter=delimiter) if row]
        if cut and len(rows) > 1:
            rows.pop()
        width = len(rows[0])
        if width > 1 and all(len(row) <= width for row in rows[1:]):
            exact = sum(len(row) == width for row in rows[1:])
            fitting.append((exact, width, -rank, delimiter))
    if not fitting:
        shown = ", ".join(repr(d) for d in candidates)
        raise ExtractionError(
            f"cannot tell the delimiter of {path}: the header holds {shown} but with each "
            "some row has more cells than the header has columns",
            subject=path,
            hint="quote cells that contain the delimiter, or give the header every column",
        )
    return max(fitting)[3]


def _cell(value: Any) -> Any:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    text = str(value).strip()
    return text or None


def _size(value: Any) -> int | None:
    text = _cell(value)
    return int(float(text)) if text is not None else None
