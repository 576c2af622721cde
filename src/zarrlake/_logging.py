"""Logging: one line per event under the ``zarrlake.*`` loggers, text or JSON.

Library code logs through ``logging.getLogger(__name__)`` and configures nothing: an
application decides where records go (``logging.basicConfig(level=logging.INFO)`` shows
them). Each event is one record whose message already holds the figures that matter
(bytes, seconds, MB/s) and whose ``fields`` (passed with :func:`event`) carry the same
figures as data, for the JSON format.

Levels: ``INFO`` for what a batch job's log should show (a run's start and end, each
slice, unit and commit, recoveries, lock breaks, catalog batches); ``DEBUG`` for
detail (lock waits, region determination, each retry's cause); ``WARNING`` for
something to look at that did not stop the work.

The command line calls :func:`configure` from ``--log-level``, ``--log-file`` and
``--log-format``.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

__all__ = ["JsonFormatter", "configure", "event", "rate"]

LogFormat = Literal["text", "json"]
_HANDLER_NAME = "zarrlake-cli"


def rate(size: int, seconds: float) -> float:
    """Return MB/s (10**6 bytes per second) for ``size`` bytes in ``seconds``."""
    return size / seconds / 1e6 if seconds > 0 else 0.0


def event(
    logger: logging.Logger, level: int, name: str, message: str, *args: Any, **fields: Any
) -> None:
    """Log one event: a ``%``-style message and the same figures as ``fields``.

    Parameters
    ----------
    logger
        A ``zarrlake.*`` logger.
    level
        ``logging.INFO``, ``DEBUG``, ...
    name
        The event's name (``append.slice``, ``txn.commit``), for filtering.
    message, args
        The line, formatted lazily as :mod:`logging` does.
    **fields
        The figures and names, kept as data for the JSON format.
    """
    if logger.isEnabledFor(level):
        logger.log(level, message, *args, extra={"event": name, "fields": fields})


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, event, message and the fields."""

    def format(self, record: logging.LogRecord) -> str:
        """Return the record as one line of JSON."""
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": getattr(record, "event", None),
            "message": record.getMessage(),
        }
        entry.update(getattr(record, "fields", {}) or {})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def configure(level: str | None = None, file: Path | None = None, fmt: LogFormat = "text") -> None:
    """Send ``zarrlake.*`` records at ``level`` and above to stderr or ``file``.

    Parameters
    ----------
    level
        ``debug``, ``info``, ``warning`` (default) or ``error``.
    file
        Append the lines to this file instead of stderr.
    fmt
        ``text`` (time, level, logger, message) or ``json`` (one object per line).

    Raises
    ------
    ValueError
        For an unknown level or format.
    """
    name = (level or "warning").upper()
    if name not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise ValueError(f"unknown log level {level!r}: use debug, info, warning or error")
    if fmt not in ("text", "json"):
        raise ValueError(f"unknown log format {fmt!r}: use text or json")
    root = logging.getLogger("zarrlake")
    for old in list(root.handlers):
        if old.get_name() == _HANDLER_NAME:
            root.removeHandler(old)
            old.close()
    handler: logging.Handler = (
        logging.FileHandler(file, encoding="utf-8")
        if file is not None
        else logging.StreamHandler(sys.stderr)
    )
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(
        JsonFormatter()
        if fmt == "json"
        else logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    root.addHandler(handler)
    root.setLevel(getattr(logging, name))
