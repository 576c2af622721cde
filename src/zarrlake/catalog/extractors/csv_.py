"""Observation lists in CSV: one row, one record."""

from __future__ import annotations

import math
from typing import Any

from zarrlake.catalog.extractors.base import Extractor, RawObservation, Source
from zarrlake.errors import ExtractionError

ROW_MARK = "#row="
"""A row without a ``file_path`` column is catalogued as ``<csv path>#row=<n>``."""


class CsvExtractor(Extractor):
    """Each row is an observation; columns are mapped like attributes.

    A ``file_path`` column names the file the row describes; without one the row is
    catalogued as ``<csv>#row=<n>`` (``n`` counts data rows from 1).
    """

    name = "csv"
    version = "1"
    format = "csv"
    suffixes = (".csv",)

    def read(self, source: Source) -> list[RawObservation]:
        """Read every row (all values as text first, numbers and times parsed by mapping)."""
        import pandas as pd

        with source.open() as handle:
            try:
                frame = pd.read_csv(handle, dtype=str, keep_default_na=False, skipinitialspace=True)
            except Exception as exc:
                raise ExtractionError(
                    f"{source.path} is not a readable CSV observation list: {exc}",
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
            attributes = {k: v for k, v in attributes.items() if v is not None}
            known: dict[str, Any] = {
                "file_path": (
                    row[path_column].strip()
                    if path_column and row[path_column]
                    else f"{source.path}{ROW_MARK}{number}"
                ),
                "file_size": _size(row[size_column]) if size_column else None,
                "mtime_ns": None,
            }
            out.append(RawObservation(attributes, known, {"row": number}))
        return out


def _cell(value: Any) -> Any:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    text = str(value).strip()
    return text or None


def _size(value: Any) -> int | None:
    text = _cell(value)
    return int(float(text)) if text is not None else None
