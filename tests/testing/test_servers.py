"""The test servers zarrlake ships for CI: ``python -m zarrlake.testing``."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from zarrlake.testing import postgres_binaries

SRC = Path(__file__).resolve().parents[2] / "src"


def _testing(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "zarrlake.testing", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(SRC)},
        check=False,
    )


@pytest.mark.skipif(postgres_binaries() is None, reason="no PostgreSQL server binaries")
def test_postgres_creates_its_directory() -> None:
    base = tempfile.mkdtemp(prefix="zarrlake-pg-test-")
    os.chmod(base, 0o755)  # the server may run as another user: it must reach DIR
    directory = os.path.join(base, "new", "cluster")
    try:
        started = _testing("postgres", directory)
        assert started.returncode == 0, started.stderr
        assert started.stdout.startswith("postgresql+psycopg://postgres@127.0.0.1:")
        assert os.path.isdir(os.path.join(directory, "data"))
    finally:
        _testing("postgres-stop", directory)
        shutil.rmtree(base, ignore_errors=True)


def test_errors_are_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "file"
    bad.write_text("not a folder")
    done = _testing("postgres", str(bad / "cluster"))
    assert done.returncode == 1
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
