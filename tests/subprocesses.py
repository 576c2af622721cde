"""Run the CLI and test worker modules in child processes, the same way in every test."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_zarrlake(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    """Run ``python -m zarrlake ARGS`` with a wide, plain terminal and the tests importable."""
    return subprocess.run(
        [sys.executable, "-m", "zarrlake", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        # src first: the CLI runs this checkout's code, also from a git worktree
        env={"COLUMNS": "200", "PATH": "/usr/bin:/bin", "PYTHONPATH": f"{ROOT / 'src'}:{ROOT}"},
    )


def spawn_module(module: str, *args: str, wait_ready: bool = False) -> subprocess.Popen[str]:
    """Start ``python -m MODULE ARGS`` (optionally until it prints READY)."""
    process = subprocess.Popen(
        [sys.executable, "-m", module, *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    if wait_ready:
        line = process.stdout.readline()  # type: ignore[union-attr]
        assert line.strip() == "READY", process.stderr.read()  # type: ignore[union-attr]
    return process
