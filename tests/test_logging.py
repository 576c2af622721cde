"""zarrlake's events reach standard logging: one line each, with figures; text or JSON."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from tests.convert.inputs import write_inputs
from tests.subprocesses import run_zarrlake
from zarrlake.compat.zarrio import ZarrConverter


def test_create_template_and_write_region_log_what_they_do(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    paths = write_inputs(tmp_path / "in", 2, 3)
    target = str(tmp_path / "t.zarr")
    with caplog.at_level(logging.DEBUG, logger="zarrlake"):
        converter = ZarrConverter()
        converter.create_template(
            paths[0], target, global_start="2020-01-01", global_end="2020-01-06", freq="1D"
        )
        converter.write_region(paths[1], target)
    events = {getattr(r, "event", None): r for r in caplog.records}
    assert events["txn.commit"].getMessage().startswith(f"{target}: committed convert-template")
    region = events["convert.region"]
    assert region.levelno == logging.DEBUG
    assert f"{paths[1]} goes to steps" in region.getMessage()
    assert "matched by label" in region.getMessage()
    written = events["convert.file"]
    assert written.levelno == logging.INFO and written.fields["steps"] == 3  # type: ignore[attr-defined]
    assert all(r.name.startswith("zarrlake.") for r in caplog.records)


def test_the_cli_writes_json_lines_with_each_events_figures(tmp_path: Path) -> None:
    paths = write_inputs(tmp_path / "in", 2, 3)
    log = tmp_path / "run.jsonl"
    result = run_zarrlake(
        "--log-format",
        "json",
        "--log-file",
        str(log),
        "convert",
        "run",
        *paths,
        "-O",
        str(tmp_path / "o.zarr"),
        "--workers",
        "1",
    )
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    by_event = {line["event"]: line for line in lines}
    assert {
        "convert.scan",
        "convert.plan",
        "convert.unit",
        "txn.commit",
        "convert.verify",
        "convert.run",
    } <= set(by_event)
    unit = by_event["convert.unit"]
    assert unit["level"] == "info" and unit["steps"] == 6 and unit["bytes"] > 0
    assert "MB/s" in unit["message"] and unit["seconds"] >= 0
    assert by_event["convert.verify"]["valid"] is True
    assert "convert.scan" not in result.stderr  # the log went to the file only


def test_append_logs_each_slice_as_text_at_info(tmp_path: Path) -> None:
    paths = write_inputs(tmp_path / "in", 2, 3)
    result = run_zarrlake("--log-level", "info", "append", *paths, "-t", str(tmp_path / "a.zarr"))
    assert result.returncode == 0, result.stderr
    slices = [line for line in result.stderr.splitlines() if "zarrlake.append" in line]
    assert len(slices) == 2
    assert " INFO " in slices[0] and f"slice {paths[0]} created: 3 step(s)" in slices[0]
    assert "MB/s" in slices[1] and "appended" in slices[1]


def test_a_bad_log_level_is_refused_by_name(tmp_path: Path) -> None:
    result = run_zarrlake("--log-level", "chatty", "info", str(tmp_path))
    assert result.returncode == 2
    assert "unknown log level 'chatty'" in result.stderr
