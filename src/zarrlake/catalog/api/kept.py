"""Answers kept until a SQLite catalog changes, each computed once however many ask.

Protocol: an answer is kept under its key with the catalog's version (the size and
modification time of the database file and its write-ahead log: every commit changes
one of them) and reused while the version is the same. Requests for one answer at once
compute it once: the first computes under the answer's own lock, the others wait for it
and reuse it. An answer may be computed from others (coverage from the groups): locks
are per answer, so a request never waits for itself. A catalog whose version cannot be
read (PostgreSQL, in memory) computes every time.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from zarrlake.catalog._repository import Catalog

_CACHE: OrderedDict[tuple[Any, ...], tuple[Any, Any]] = OrderedDict()
CACHE_SIZE = 256
_GUARD = threading.Lock()  # over _CACHE and _COMPUTING (threads share them)
_COMPUTING: dict[tuple[Any, ...], tuple[threading.Lock, int]] = {}
"""A lock per answer being computed, and how many requests hold or wait for it."""


def catalog_version(catalog: Catalog) -> Any:
    """Return what changes whenever the catalog does (``None``: unknown, do not cache).

    For a SQLite file, the size and modification time of the file and its write-ahead
    log: every commit changes one of them.
    """
    database = catalog.engine.url.database
    if catalog.dialect != "sqlite" or not database or database == ":memory:":
        return None
    stamps: list[tuple[int, int] | None] = []
    for path in (database, f"{database}-wal"):
        try:
            stat = os.stat(path)
        except OSError:
            stamps.append(None)
        else:
            stamps.append((stat.st_mtime_ns, stat.st_size))
    return tuple(stamps)


def cached(catalog: Catalog, key: tuple[Any, ...], compute: Callable[[], Any]) -> Any:
    """Return ``compute()``, reusing the answer while the catalog has not changed.

    Chart queries group every matching row: on 1M records they take seconds, and a
    dashboard asks the same ones again and again. Requests for one answer at once
    compute it once (the others wait for it): a view's requests arrive together, and
    several need the same totals. An answer may be computed from others (coverage from
    the groups): each answer has its own lock, so a request never waits for itself.
    """
    version = catalog_version(catalog)
    if version is None:
        return compute()
    full_key = (id(catalog), *key)
    with _computing(full_key):
        with _GUARD:
            hit = _CACHE.get(full_key)
            if hit is not None and hit[0] == version:
                _CACHE.move_to_end(full_key)
                return hit[1]
        value = compute()
        with _GUARD:
            _CACHE[full_key] = (version, value)
            while len(_CACHE) > CACHE_SIZE:
                _CACHE.popitem(last=False)
        return value


@contextmanager
def _computing(key: tuple[Any, ...]) -> Iterator[None]:
    """Hold the lock of one answer (made for its first request, dropped after its last)."""
    with _GUARD:
        lock, users = _COMPUTING.get(key) or (threading.Lock(), 0)
        _COMPUTING[key] = (lock, users + 1)
    try:
        with lock:
            yield
    finally:
        with _GUARD:
            users = _COMPUTING[key][1] - 1
            if users:
                _COMPUTING[key] = (lock, users)
            else:
                del _COMPUTING[key]


def peek(catalog: Catalog, key: tuple[Any, ...]) -> Any:
    """Return the kept answer for ``key`` if it is current, else ``None`` (never computes)."""
    version = catalog_version(catalog)
    with _GUARD:
        hit = _CACHE.get((id(catalog), *key))
    return hit[1] if hit is not None and version is not None and hit[0] == version else None


def search_key(name: str, params: Any) -> tuple[Any, ...]:
    """Return the key of a search's answer: its name and criteria (not its page)."""
    criteria = params.model_dump(exclude={"sort", "limit", "cursor"})
    return (name, *sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in criteria.items()))
