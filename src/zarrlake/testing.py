"""Helpers for tests and benchmarks: a real local S3 server (moto's server mode).

``LocalS3Server`` starts ``python -m moto.server`` as a separate process on 127.0.0.1 and
a free port, waits until it answers, and stops it on exit. It needs the ``dev`` extra.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from types import TracebackType
from typing import Any

from zarrlake._deps import require_dependency
from zarrlake.errors import StorageError

__all__ = ["LocalS3Server"]

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
