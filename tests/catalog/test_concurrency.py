"""A watcher, a bulk ingest and a searcher, three processes on one SQLite catalog."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from tests.catalog.files import write_fits
from tests.subprocesses import ROOT
from zarrlake.catalog import Catalog, count

SEARCHER = """
import sys, time
from zarrlake.catalog import Catalog, search, count
db = Catalog(sys.argv[1])
deadline = time.monotonic() + float(sys.argv[2])
rounds = 0
while time.monotonic() < deadline:
    page = search(db, min_quality=0.0, limit=20)
    count(db, mission_id="COSMOS-7")
    db.summary()
    rounds += 1
print(rounds)
"""


def test_watch_ingest_and_search_at_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    Catalog(url).close()
    watched, bulk = tmp_path / "watched", tmp_path / "bulk"
    watched.mkdir()
    bulk.mkdir()
    for i in range(150):
        write_fits(bulk / f"b{i:03d}.fits", OBJECT=f"B{i}")

    def python(*args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, *args],
            cwd=ROOT,
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )

    watcher = python(
        "-m",
        "zarrlake",
        "catalog",
        "watch",
        str(watched),
        "--catalog",
        url,
        "--settle",
        "0.2",
        "--duration",
        "12",
    )
    searcher = python("-c", SEARCHER, url, "10")
    time.sleep(1.0)
    ingester = python(
        "-m",
        "zarrlake",
        "catalog",
        "ingest",
        str(bulk),
        "--catalog",
        url,
        "--jobs",
        "2",
        "--format",
        "json",
    )
    for i in range(40):
        write_fits(watched / f"w{i:03d}.fits", OBJECT=f"W{i}")
        time.sleep(0.05)
    outputs = {}
    for name, process in (("ingest", ingester), ("search", searcher), ("watch", watcher)):
        out, err = process.communicate(timeout=120)
        outputs[name] = (process.returncode, out, err)
    for name, (code, _out, err) in outputs.items():
        assert code == 0, f"{name} failed: {err}"
        assert "locked" not in err.lower() and "Traceback" not in err, f"{name}: {err}"
    assert int(outputs["search"][1].strip()) > 10
    assert "error" not in outputs["watch"][1].lower()
    with Catalog(url) as db:
        assert count(db, text="/bulk/") == 150
        assert count(db, text="/watched/") == 40
        assert db.summary()[0]["observations"] == 190
