from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from tests.catalog.files import write_fits, write_netcdf
from tests.subprocesses import run_zarrlake


def test_catalog_workflow_from_the_command_line(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    for i in range(5):
        write_fits(data / f"o{i}.fits", OBJECT="M31" if i % 2 else "M33", QUALITY=0.5 + i / 10)
    write_netcdf(data / "c.nc")
    db = ["--catalog", f"sqlite:///{tmp_path / 'cat.db'}"]

    assert run_zarrlake("catalog", "init", *db, "--promote", "EXPTIME:number").returncode == 0
    ingested = run_zarrlake("catalog", "ingest", str(data), *db, "--format", "json")
    assert ingested.returncode == 0, ingested.stderr
    assert json.loads(ingested.stdout)["new"] == 6

    found = run_zarrlake(
        "catalog", "search", *db, "--target", "m31", "--min-quality", "0.6", "--format", "json"
    )
    payload = json.loads(found.stdout)
    assert [r["file_path"] for r in payload["items"]] == [
        str(data / "o1.fits"),
        str(data / "o3.fits"),
    ]
    paged = run_zarrlake("catalog", "search", *db, "--limit", "4", "--format", "json")
    cursor = json.loads(paged.stdout)["next_cursor"]
    rest = run_zarrlake(
        "catalog", "search", *db, "--limit", "4", "--cursor", cursor, "--format", "csv"
    )
    rows = list(csv.DictReader(io.StringIO(rest.stdout)))
    assert len(rows) == 2 and "file_path" in rows[0]
    where = run_zarrlake(
        "catalog",
        "search",
        *db,
        "--where",
        '{"mission_specific.EXPTIME": {"$gte": 30}}',
        "--format",
        "json",
    )
    assert len(json.loads(where.stdout)["items"]) == 5

    summary = json.loads(run_zarrlake("catalog", "summary", *db, "--format", "json").stdout)
    assert {s["mission_id"]: s["observations"] for s in summary} == {"COSMOS-7": 5, "CLIMATE": 1}

    out = tmp_path / "mosaic.zarr"
    registered = run_zarrlake(
        "catalog",
        "register",
        str(out),
        *db,
        "--set",
        "mission_id=COSMOS-7",
        "--set",
        "processing_status=processing",
    )
    assert registered.returncode == 0, registered.stderr
    for i in range(2):
        assert (
            run_zarrlake("catalog", "link", str(data / f"o{i}.fits"), str(out), *db).returncode == 0
        )
    assert (
        run_zarrlake("catalog", "status", str(out), "processed", *db, "--reason", "done").returncode
        == 0
    )
    lineage = json.loads(
        run_zarrlake("catalog", "related", str(out), *db, "--format", "json").stdout
    )
    assert sorted(e["file_path"] for e in lineage) == [str(data / "o0.fits"), str(data / "o1.fits")]
    shown = json.loads(run_zarrlake("catalog", "show", str(out), *db, "--format", "json").stdout)
    assert shown["processing_status"] == "processed"
    # registered as processing (its first event), then processed
    assert [e["new_status"] for e in shown["status_history"]] == ["processing", "processed"]
    table = run_zarrlake("catalog", "show", str(out), *db)
    assert "status history" in table.stdout

    validated = run_zarrlake("catalog", "validate", *db, "--format", "json")
    assert json.loads(validated.stdout)["seen"] == 7


def test_catalog_errors_are_plain_and_change_nothing(tmp_path: Path) -> None:
    db = ["--catalog", f"sqlite:///{tmp_path / 'cat.db'}"]
    missing = run_zarrlake("catalog", "search", *db)
    assert missing.returncode == 1 and "catalog init" in missing.stderr
    assert run_zarrlake("catalog", "init", *db).returncode == 0
    unknown = run_zarrlake("catalog", "show", "42", *db)
    assert unknown.returncode == 2 and "no dataset '42'" in unknown.stderr
    bad_json = run_zarrlake("catalog", "search", *db, "--where", "{nope")
    assert bad_json.returncode == 2 and "--where is not valid JSON" in bad_json.stderr
    bad_status = run_zarrlake(
        "catalog", "register", "/x.fits", *db, "--set", "processing_status=done", "--no-extract"
    )
    assert bad_status.returncode == 2 and "processing_status 'done'" in bad_status.stderr
    nowhere = run_zarrlake("catalog", "ingest", str(tmp_path / "absent"), *db)
    assert nowhere.returncode == 2 and "does not exist" in nowhere.stderr
    folder = run_zarrlake(
        "catalog", "search", "--catalog", f"sqlite:///{tmp_path}/no/such/dir/c.db"
    )
    assert folder.returncode == 1 and "does not exist" in folder.stderr
    bad_url = run_zarrlake("catalog", "search", "--catalog", "mysql://nobody@nowhere/db")
    assert bad_url.returncode == 2 and "cannot open catalog" in bad_url.stderr
    unreachable = run_zarrlake(
        "catalog", "search", "--catalog", "postgresql+psycopg://nobody@127.0.0.1:1/none"
    )
    assert unreachable.returncode == 1 and "cannot connect to catalog" in unreachable.stderr
    assert "Traceback" not in unreachable.stderr
    assert len(unreachable.stderr.strip().splitlines()) <= 2, unreachable.stderr  # error + hint
    empty = json.loads(run_zarrlake("catalog", "search", *db, "--format", "json").stdout)
    assert empty["items"] == []


def test_ingest_exits_1_only_for_files_that_failed_in_this_run(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    write_fits(data / "a.fits")
    (data / "bad.fits").write_bytes(b"bad" * 10)
    db = ["--catalog", f"sqlite:///{tmp_path / 'cat.db'}"]
    first = run_zarrlake("catalog", "ingest", str(data), *db)
    assert first.returncode == 1 and "failed" in first.stdout
    again = run_zarrlake("catalog", "ingest", str(data), *db)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "1 known bad" in again.stdout and "bad.fits" in again.stdout


def test_lineage_from_the_command_line(tmp_path: Path) -> None:
    db = ["--catalog", f"sqlite:///{tmp_path / 'cat.db'}"]
    for name in ("raw", "mosaic", "final"):
        made = run_zarrlake(
            "catalog", "register", f"/d/{name}.fits", *db, "--no-extract",
            "--set", "processing_status=processing",
        )  # fmt: skip
        assert made.returncode == 0, made.stderr
    shown = json.loads(run_zarrlake("catalog", "show", "1", *db, "--format", "json").stdout)
    assert [(e["old_status"], e["new_status"]) for e in shown["status_history"]] == [
        (None, "processing")
    ]
    meta = '{"tool": "swarp"}'
    assert run_zarrlake("catalog", "link", "1", "2", *db, "--meta", meta).returncode == 0
    assert run_zarrlake("catalog", "link", "2", "3", *db).returncode == 0
    assert run_zarrlake("catalog", "link", "1", "2", *db).returncode == 0  # metadata kept
    cycle = run_zarrlake("catalog", "link", "/d/final.fits", "/d/raw.fits", *db)
    assert cycle.returncode == 2 and "cycle" in cycle.stderr
    lineage = json.loads(run_zarrlake("catalog", "related", "2", *db, "--format", "json").stdout)
    assert [(e["direction"], e["id"], e["via"], e["metadata"]) for e in lineage] == [
        ("child", 3, 2, {}),
        ("parent", 1, 2, {"tool": "swarp"}),
    ]
    assert all(isinstance(e["link"], int) for e in lineage)


def test_search_options_are_checked_and_match_in_any_case(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    write_fits(data / "a.fits", INSTRUME="CAM", CALIB="COMPLETE")
    db = ["--catalog", f"sqlite:///{tmp_path / 'cat.db'}"]
    assert run_zarrlake("catalog", "ingest", str(data), *db).returncode == 0
    for option in (
        ["--status", "RAW"],
        ["--data-format", "FITS"],
        ["--calibration", "complete"],
        ["--instrument", "cam"],
        ["--mission", "cosmos-7"],
    ):
        found = run_zarrlake("catalog", "search", *db, *option, "--format", "json")
        assert found.returncode == 0, found.stderr
        assert len(json.loads(found.stdout)["items"]) == 1, option
    for option, message in (
        (["--status", "bogus"], "processing_status 'bogus' is not one of"),
        (["--calibration", "finished"], "no observation has calibration_status 'finished'"),
        (["--limit", "0"], "limit 0 must be at least 1"),
        (["--limit", "-5"], "limit -5 must be at least 1"),
        (["--min-quality", "1.5"], "min_quality 1.5 is outside 0..1"),
    ):
        refused = run_zarrlake("catalog", "search", *db, *option)
        assert refused.returncode == 2 and message in refused.stderr, (option, refused.stderr)


def test_serve_runs_the_service(tmp_path: Path) -> None:
    import socket
    import subprocess
    import sys
    import time
    import urllib.request

    from tests.subprocesses import ROOT

    url = f"sqlite:///{tmp_path / 'cat.db'}"
    assert run_zarrlake("catalog", "init", "--catalog", url).returncode == 0
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "zarrlake",
            "catalog",
            "serve",
            "--catalog",
            url,
            "--port",
            str(port),
            "--token",
            "t0ken",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1) as r:
                    health = json.loads(r.read())
                break
            except OSError:
                assert time.monotonic() < deadline and server.poll() is None, server.stderr
                time.sleep(0.2)
        assert health["status"] == "ok" and health["read_only"] is False
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as page:
            assert b"zarrlake catalog" in page.read()
    finally:
        server.terminate()
        server.wait(10)
