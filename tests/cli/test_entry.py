"""The ``zarrlake`` command ends without interpreter teardown, and loses nothing by it."""

from __future__ import annotations

import json

from tests.convert.inputs import write_inputs
from tests.subprocesses import run_zarrlake


def test_output_logs_and_status_survive_the_prompt_exit(tmp_path):
    paths = write_inputs(tmp_path / "in", 3, 4)
    log = tmp_path / "run.log"
    target = str(tmp_path / "out.zarr")
    done = run_zarrlake(
        "--log-level", "info", "--log-file", str(log), "--log-format", "json",
        "convert", "run", *paths, "-O", target, "--workers", "2", "--json",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    payload = json.loads(done.stdout)  # the whole document reached the pipe
    assert payload["steps_written"] == 12
    events = [json.loads(line)["event"] for line in log.read_text().splitlines()]
    assert events[-1] == "convert.run"  # the file handler was flushed and closed
    # a failure keeps its exit status and its message
    failed = run_zarrlake("info", str(tmp_path / "nothing.zarr"))
    assert failed.returncode == 2
    assert "nothing.zarr" in failed.stderr
    # --version's early answer too
    version = run_zarrlake("--version")
    assert version.returncode == 0 and version.stdout.startswith("zarrlake ")
