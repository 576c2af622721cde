"""Catalog database connections: URL resolution, SQLite WAL setup, write transactions.

SQLite is opened in WAL mode with a busy timeout, and every write transaction starts
with ``BEGIN IMMEDIATE``: a watcher, the CLI and the API server can then write and read
one file at once (readers never block; writers queue instead of failing half way with
"database is locked" on a lock upgrade). PostgreSQL needs nothing special.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import Any
from weakref import WeakKeyDictionary

from zarrlake._deps import require_dependency
from zarrlake.errors import InvalidInputError, StorageError

ENV_VAR = "ZARRLAKE_CATALOG"
"""Environment variable with the catalog URL used when none is given."""

DEFAULT_FILE = "zarrlake-catalog.db"
"""SQLite file (in the working directory) used when neither a URL nor the variable is set."""

BUSY_TIMEOUT_MS = 30_000
MMAP_BYTES = 1 << 30


def resolve_catalog_url(url: str | os.PathLike[str] | None = None) -> str:
    """Return the SQLAlchemy URL of the catalog to use.

    Parameters
    ----------
    url
        An SQLAlchemy URL (``sqlite:///catalog.db``, ``postgresql+psycopg://...``), or a
        plain file path (taken as an SQLite file). ``None`` uses ``$ZARRLAKE_CATALOG``,
        else ``zarrlake-catalog.db`` in the working directory.

    Returns
    -------
    str
        The URL.
    """
    if url is None:
        url = os.environ.get(ENV_VAR) or DEFAULT_FILE
    text = os.fspath(url)
    if "://" not in text:
        return f"sqlite:///{Path(text).expanduser().resolve()}"
    if text.startswith("postgresql://") or text.startswith("postgres://"):
        # Use psycopg 3 (installed with the catalog extra), not the psycopg2 default.
        return "postgresql+psycopg://" + text.split("://", 1)[1]
    return text


def create_catalog_engine(url: str | os.PathLike[str] | None = None, **kwargs: Any) -> Any:
    """Create an SQLAlchemy engine for a catalog URL, configured for concurrent use.

    Parameters
    ----------
    url
        See :func:`resolve_catalog_url`.
    **kwargs
        Passed to :func:`sqlalchemy.create_engine`.

    Returns
    -------
    sqlalchemy.engine.Engine
        The engine; SQLite engines use WAL, a busy timeout and ``BEGIN IMMEDIATE`` for
        transactions opened with :func:`write_transaction`.

    Raises
    ------
    InvalidInputError
        For a URL SQLAlchemy cannot parse or a database it has no driver for.
    StorageError
        When an SQLite file's folder does not exist.
    """
    sa = require_dependency("sqlalchemy", "catalog")
    text = resolve_catalog_url(url)
    try:
        parsed = sa.engine.make_url(text)
    except Exception as exc:
        raise InvalidInputError(
            f"catalog URL {text!r} cannot be parsed: {exc}",
            subject=text,
            hint="use sqlite:///path/catalog.db or postgresql+psycopg://user@host/db",
        ) from exc
    is_sqlite = parsed.get_backend_name() == "sqlite"
    if is_sqlite and parsed.database not in (None, "", ":memory:"):
        folder = Path(parsed.database).expanduser().resolve().parent
        if not folder.is_dir():
            raise StorageError(
                f"the folder of SQLite catalog {parsed.database!r} does not exist",
                subject=str(folder),
                hint="create the folder or give another --catalog",
            )
    if not is_sqlite:
        kwargs.setdefault("pool_pre_ping", True)
    elif parsed.database not in (None, "", ":memory:"):
        # A service runs requests in up to 40 threads; a connection closed when the pool
        # overflows loses its page cache and parsed schema, so keep enough of them.
        kwargs.setdefault("pool_size", 20)
        kwargs.setdefault("max_overflow", 40)
    from zarrlake.catalog._values import dump_json

    kwargs.setdefault("json_serializer", dump_json)  # the bulk writers' encoding too
    try:
        engine = sa.create_engine(parsed, **kwargs)
    except Exception as exc:  # unknown dialect or driver
        raise InvalidInputError(
            f"cannot open catalog {parsed.render_as_string(hide_password=True)!r}: {exc}",
            subject=str(parsed.render_as_string(hide_password=True)),
            hint="supported: sqlite:///FILE and postgresql+psycopg://USER@HOST/DB",
        ) from exc
    if is_sqlite:
        _configure_sqlite(engine)
    return engine


def _configure_sqlite(engine: Any) -> None:
    from sqlalchemy import event

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event issue BEGIN itself (pysqlite's own deferred
        # BEGIN would make every writer upgrade a read lock and risk SQLITE_BUSY).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        # Reads through a shared memory map instead of a private page cache per connection.
        cursor.execute(f"PRAGMA mmap_size = {MMAP_BYTES}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        mode = connection.get_execution_options().get("sqlite_begin", "DEFERRED")
        connection.exec_driver_sql(f"BEGIN {mode}")


@contextmanager
def write_transaction(engine: Any) -> Iterator[Any]:
    """Open a connection in a write transaction (``BEGIN IMMEDIATE`` on SQLite).

    Parameters
    ----------
    engine
        A catalog engine from :func:`create_catalog_engine`.

    Yields
    ------
    sqlalchemy.engine.Connection
        Committed when the block ends, rolled back when it raises.
    """
    options = {"sqlite_begin": "IMMEDIATE"} if engine.dialect.name == "sqlite" else {}
    with engine.connect().execution_options(**options) as connection, connection.begin():
        yield connection


_READ_GATES: WeakKeyDictionary[Any, threading.RLock] = WeakKeyDictionary()


def _read_gate(engine: Any) -> AbstractContextManager[Any]:
    # sqlite3 hands the GIL back and forth for every row it steps; with many threads
    # reading at once that costs more than the queries (measured: 755 searches/s on one
    # thread, 345/s on twenty). One reader per process at a time keeps the single-thread
    # rate; other processes still read in parallel. PostgreSQL does the work server-side.
    if engine.dialect.name != "sqlite":
        return nullcontext()
    gate = _READ_GATES.get(engine)
    if gate is None:
        gate = _READ_GATES.setdefault(engine, threading.RLock())
    return gate


@contextmanager
def read_connection(engine: Any, *, scan: bool = False) -> Iterator[Any]:
    """Open a connection for reading (one consistent snapshot for the block).

    Parameters
    ----------
    engine
        A catalog engine.
    scan
        The block's queries read many rows and return few (a count, groups, a page of
        text no index narrows): it reads beside the process's other reads instead of
        after them. SQLite works on such a query without the GIL, so two of them (a
        view's chart and count, say) use two cores; the one-reader gate is for queries
        that return row after row.

    Yields
    ------
    sqlalchemy.engine.Connection
        Rolled back at the end (nothing is written).
    """
    gate = nullcontext() if scan else _read_gate(engine)
    with gate, engine.connect() as connection, connection.begin():
        yield connection
