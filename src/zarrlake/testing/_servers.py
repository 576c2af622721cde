"""Helpers for tests and benchmarks: real local S3 and PostgreSQL servers.

``LocalS3Server`` starts ``python -m moto.server`` as a separate process on 127.0.0.1 and
a free port, waits until it answers, and stops it on exit. It needs the ``dev`` extra.
``LocalPostgresServer`` creates a throw-away PostgreSQL cluster with the installed
server binaries (as the ``postgres`` user when run as root, which PostgreSQL refuses
to run as) and starts it on 127.0.0.1. ``python -m zarrlake.testing postgres DIR`` starts
one for CI and prints its URL.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from types import TracebackType
from typing import Any

from zarrlake._deps import require_dependency
from zarrlake.errors import StorageError

__all__ = [
    "TEST_CREDENTIALS",
    "LocalPostgresServer",
    "LocalS3Server",
    "create_postgres_database",
    "postgres_binaries",
]

TEST_CREDENTIALS = {"key": "testing", "secret": "testing"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class LocalS3Server:
    """A moto S3 server process on 127.0.0.1.

    Parameters
    ----------
    startup_timeout
        Seconds to wait for the server to answer.

    Examples
    --------
    >>> with LocalS3Server() as server:  # doctest: +SKIP
    ...     bucket = server.create_bucket()
    ...     store = open_store(f"s3://{bucket}/a.zarr", mode="a",
    ...                        storage_options=server.storage_options)
    """

    def __init__(self, startup_timeout: float = 30.0) -> None:
        self.startup_timeout = startup_timeout
        self.port = 0
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def endpoint_url(self) -> str:
        """The server's HTTP endpoint."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def storage_options(self) -> dict[str, Any]:
        """s3fs options that reach this server."""
        return {"endpoint_url": self.endpoint_url, **TEST_CREDENTIALS}

    def start(self) -> LocalS3Server:
        """Start the server process and wait until it answers."""
        require_dependency("moto", "dev")
        for _ in range(5):  # another process may grab the free port first
            self.port = _free_port()
            self._process = subprocess.Popen(
                [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            if self._wait_ready():
                return self
            self.stop()
        raise StorageError(
            "the local S3 server (moto) did not start",
            subject="moto.server",
            hint="check that 'moto[server]' is installed",
        )

    def _wait_ready(self) -> bool:
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self._process is None or self._process.poll() is not None:
                return False
            try:
                with urllib.request.urlopen(f"{self.endpoint_url}/moto-api/", timeout=1):
                    return True
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.05)
        return False

    def stop(self) -> None:
        """Stop the server process."""
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            self._process = None

    def reset(self) -> None:
        """Delete every bucket and object on the server."""
        request = urllib.request.Request(f"{self.endpoint_url}/moto-api/reset", method="POST")
        with urllib.request.urlopen(request, timeout=10):
            pass

    def create_bucket(self, name: str | None = None) -> str:
        """Create a bucket (a fresh random name by default) and return its name."""
        s3fs = require_dependency("s3fs", "s3")
        bucket = name or f"zl-{uuid.uuid4().hex[:16]}"
        fs = s3fs.S3FileSystem(
            client_kwargs={"endpoint_url": self.endpoint_url},
            key=TEST_CREDENTIALS["key"],
            secret=TEST_CREDENTIALS["secret"],
            skip_instance_cache=True,
        )
        fs.mkdir(bucket)
        return bucket

    def __enter__(self) -> LocalS3Server:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def postgres_binaries() -> str | None:
    """Return the folder with ``initdb`` and ``pg_ctl`` (newest version), or ``None``."""
    found = shutil.which("pg_ctl")
    if found and shutil.which("initdb"):
        return os.path.dirname(found)
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), reverse=True)
    return os.path.dirname(candidates[0]) if candidates else None


class LocalPostgresServer:
    """A throw-away PostgreSQL server on 127.0.0.1 (trust authentication, no fsync).

    Parameters
    ----------
    directory
        Where the cluster lives (created when missing; a fresh temporary folder by
        default, removed on stop).
    """

    def __init__(self, directory: str | None = None) -> None:
        self.bin = postgres_binaries()
        self.port = 0
        self._own_dir = directory is None
        self.directory = directory or tempfile.mkdtemp(prefix="zarrlake-pg-")

    @property
    def url(self) -> str:
        """SQLAlchemy URL of the server's ``postgres`` database."""
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        command = list(args)
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        return subprocess.run(command, capture_output=True, text=True, check=False)

    def start(self) -> LocalPostgresServer:
        """Create the cluster and start the server; wait until it accepts connections."""
        if self.bin is None:
            raise StorageError(
                "no PostgreSQL server binaries (initdb, pg_ctl) found",
                subject="postgresql",
                hint="install the postgresql package",
            )
        data = os.path.join(self.directory, "data")
        try:
            os.makedirs(self.directory, exist_ok=True)
        except OSError as exc:
            raise StorageError(
                f"cannot create the PostgreSQL cluster folder {self.directory}: {exc.strerror}",
                subject=self.directory,
                hint="give a folder that exists or can be created",
            ) from exc
        if os.geteuid() == 0:
            shutil.chown(self.directory, "postgres", "postgres")
        done = self._run(
            os.path.join(self.bin, "initdb"),
            "-D",
            data,
            "-A",
            "trust",
            "-U",
            "postgres",
            "--no-sync",
        )
        if done.returncode != 0:
            raise StorageError(f"initdb failed: {done.stderr.strip()}", subject=data)
        for _ in range(5):
            self.port = _free_port()
            options = (
                f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 "
                "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
            )
            done = self._run(
                os.path.join(self.bin, "pg_ctl"),
                "-D",
                data,
                "-o",
                options,
                "-l",
                os.path.join(self.directory, "server.log"),
                "-w",
                "start",
            )
            if done.returncode == 0:
                return self
        raise StorageError(f"PostgreSQL did not start: {done.stderr.strip()}", subject=data)

    def create_database(self, name: str | None = None) -> str:
        """Create a fresh database and return its SQLAlchemy URL."""
        return create_postgres_database(self.url, name)

    def stop(self) -> None:
        """Stop the server and remove a temporary cluster."""
        data = os.path.join(self.directory, "data")
        if self.bin is not None and os.path.exists(os.path.join(data, "postmaster.pid")):
            self._run(os.path.join(self.bin, "pg_ctl"), "-D", data, "-m", "immediate", "stop")
        self.port = 0
        if self._own_dir:
            shutil.rmtree(self.directory, ignore_errors=True)

    def __enter__(self) -> LocalPostgresServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def create_postgres_database(server_url: str, name: str | None = None) -> str:
    """Create a fresh database on the server of ``server_url``; return its URL.

    Parameters
    ----------
    server_url
        SQLAlchemy URL of any database on the server (for example ``.../postgres``).
    name
        The new database's name (random by default).

    Returns
    -------
    str
        The URL of the new database.
    """
    import psycopg
    from sqlalchemy.engine import make_url

    parsed = make_url(server_url)
    name = name or f"zl_{uuid.uuid4().hex[:12]}"
    dsn = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    return parsed.set(database=name).render_as_string(hide_password=False)
